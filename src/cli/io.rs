//! The one way aimc writes to its standard streams: a closed pipe is never a crash.
//!
//! `print!` panics when stdout is a closed pipe (`aimc validate | head -1`). Rust ignores
//! SIGPIPE, so the write fails with `BrokenPipe` instead, which here means "the reader has
//! seen enough": the command's exit code stays what its work decided (ripgrep does the same).

use std::io::{ErrorKind, Write};

/// Writes all of `bytes` to stdout and flushes. A closed pipe is success; any other failure
/// is returned for the caller to report as an I/O error.
pub fn stdout(bytes: &[u8]) -> std::io::Result<()> {
    ignore_broken_pipe(write_to(&mut std::io::stdout().lock(), bytes))
}

/// Writes to stderr, ignoring failure: there is nowhere left to report it.
pub fn stderr(text: &str) {
    let _ = write_to(&mut std::io::stderr().lock(), text.as_bytes());
}

/// `aimc: MESSAGE` on stderr.
pub fn error(message: impl std::fmt::Display) {
    stderr(&format!("aimc: {message}\n"));
}

fn write_to(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes).and_then(|()| out.flush())
}

/// `Ok` for a closed pipe: see the module comment.
pub fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

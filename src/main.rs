use std::process::ExitCode;

// jemalloc serves the many small, short-lived trees of a render better than the system
// allocator (README "Performance"); MSVC has no jemalloc.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    aimc::process::tune_allocator();
    let cli = match aimc::cli::Cli::parse_env() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                aimc::cli::usage_error_code(std::env::args_os())
            } else {
                aimc::cli::exit::OK
            });
        }
    };
    ExitCode::from(cli.command.run())
}

use std::process::ExitCode;

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

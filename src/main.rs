use std::process::ExitCode;

fn main() -> ExitCode {
    match bmctl::cli::main() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("bmctl: {err:#}");
            ExitCode::from(bmctl::error::exit_code(&err) as u8)
        }
    }
}

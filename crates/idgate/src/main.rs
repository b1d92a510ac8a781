use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = idgate::cli::Cli::parse();
    match actix_web::rt::System::new().block_on(idgate::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One readable line: the error and its causes, outermost first.
            eprintln!("error: {err:#}");
            if err.downcast_ref::<idgate::cli::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

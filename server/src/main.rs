//! The server binary: read the configuration, log, serve until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use heartlab_server::{shutdown_signal, Application, Config};

/// Serves the heartlab model artifact over HTTP. Every setting can also be
/// set with a HEARTLAB_SERVER_* environment variable, which wins over the file.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// YAML configuration file.
    #[arg(long, env = "HEARTLAB_SERVER_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("heartlab-server: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = match heartlab_server::telemetry::log_filter(rust_log.as_deref()) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("heartlab-server: RUST_LOG: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = heartlab_server::telemetry::init(config.log_format, filter);

    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config)?;
        app.run_until(shutdown_signal()).await?;
        Ok::<(), anyhow::Error>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the server failed");
            eprintln!("heartlab-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `facekiosk` — everything the kiosk does, without a screen: verify two photos, run a face
//! session from a video or a folder, evaluate and calibrate on a labelled set, benchmark,
//! manage models and keys.
//!
//! Exit codes: 0 success, 1 a negative decision (no match, liveness failed), 2 an error.

mod args;
mod cmd;
mod config;
mod draw;
mod labelled;
mod output;
mod plot;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::output::{Outcome, Output};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let out = Output::new(cli.global.json);
    let result = run(&cli, &out);
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Negative) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(e) => {
            out.error(&e);
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli, out: &Output) -> anyhow::Result<Outcome> {
    let config = config::load(&cli.global)?;
    match &cli.command {
        Command::Runtime => cmd::runtime::run(&config, out),
        Command::Demo => cmd::demo::run(&config, out),
        Command::Detect(a) => cmd::detect::run(&config, a, out),
        Command::Verify(a) => cmd::verify::run(&config, a, out),
        Command::Eval(a) => cmd::eval::run(&config, a, out),
        Command::Calibrate(a) => cmd::calibrate::run(&config, a, out),
        Command::EvalLiveness(a) => cmd::eval_liveness::run(&config, a, out),
        Command::Bench(a) => cmd::bench::run(&config, a, out),
        Command::Models(a) => cmd::models::run(&config, a, out),
        Command::Session(a) => cmd::session::run(&config, a, out),
        Command::Keys(a) => cmd::keys::run(&config, a, out),
        Command::Staff(a) => cmd::staff::run(a, out),
        Command::Texts(a) => cmd::staff::texts(a, out),
        Command::VerifyResult(a) => cmd::keys::verify_result(a, out),
        Command::Serve(a) => cmd::serve::serve(&config, a),
        Command::ApiKey(a) => cmd::serve::api_key(&config, a, out),
        Command::Kiosk(a) => cmd::serve::kiosk(&config, a),
        Command::BenchApi(a) => cmd::bench_api::run(&config, a, out),
        Command::BenchQueue(a) => cmd::bench_queue::run(&config, a, out),
        Command::Sync(a) => cmd::sync::sync(&config, a, out),
        Command::Queue(a) => cmd::sync::queue(&config, a, out),
        Command::Openapi => {
            println!(
                "{}",
                facekiosk_server::openapi_json().map_err(anyhow::Error::msg)?
            );
            Ok(Outcome::Success)
        }
    }
}

fn init_logging(cli: &Cli) {
    // A server logs every request (structured, for collectors); commands only what goes wrong.
    let serving = matches!(cli.command, Command::Serve(_));
    let default = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) if serving => "info,sqlx=warn",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FACEKIOSK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.global.log_json || serving {
        builder.json().init();
    } else {
        builder.init();
    }
}

//! The `wasmilter` command: `run`, `check-config` and `test`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use wasmilter::config::Config;
use wasmilter::testing::{self, EnvelopeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "wasmilter",
    version,
    about = "A milter that runs WebAssembly policies to find PHI and encrypt mail"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the milter in the foreground.
    Run {
        /// Config file; without it the embedded default is used.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate a config file: exit 0, or print FILE:LINE: key: why and exit 1.
    CheckConfig {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the configured policies on message files offline.
    Test {
        /// Config file; without it the embedded default is used.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// One JSON object per file per line.
        #[arg(long)]
        json: bool,
        /// Envelope sender (default: the From header).
        #[arg(long)]
        from: Option<String>,
        /// Envelope recipient, repeatable (default: the To and Cc headers).
        #[arg(long)]
        to: Vec<String>,
        /// Message files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn load(config: Option<&PathBuf>) -> anyhow::Result<Config> {
    Ok(match config {
        Some(path) => Config::load(path)?,
        None => Config::embedded_default()?,
    })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASMILTER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();

    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => run(config),
        Command::CheckConfig { config } => check_config(&config),
        Command::Test {
            config,
            json,
            from,
            to,
            files,
        } => test(config.as_ref(), json, EnvelopeArgs { from, to }, &files),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wasmilter: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = load(config.as_ref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(wasmilter::daemon::run(config))?;
    Ok(ExitCode::SUCCESS)
}

fn check_config(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    match Config::load(path) {
        Ok(config) => {
            // Compiling the policies catches a module that is not a valid component.
            let runtime = wasmilter::policy::Runtime::new()?;
            if let Err(e) = runtime.load_chain(&config.policies) {
                eprintln!("{}:0: policy: {e}", path.display());
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "{}: ok ({} policies)",
                path.display(),
                config.policies.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn test(
    config: Option<&PathBuf>,
    json: bool,
    args: EnvelopeArgs,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let config = load(config)?;
    let runtime = wasmilter::policy::Runtime::new()?;
    let pipeline = wasmilter::daemon::build_pipeline(&runtime, &config)?;
    let mut failed = false;
    for file in files {
        match testing::run_file(&pipeline, file, &args) {
            Ok(report) if json => println!("{}", serde_json::to_string(&report)?),
            Ok(report) => print!("{}", report.text()),
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

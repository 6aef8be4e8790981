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
        /// Run only this policy of the chain.
        #[arg(long)]
        policy: Option<String>,
        /// Write `x.expected.toml` golden files from the current results.
        #[arg(long)]
        bless: bool,
        /// Message files, or directories walked for `*.eml`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the detectors directly on message files and list what they find, per file.
    Scan {
        /// One JSON object per file per line.
        #[arg(long)]
        json: bool,
        /// Print matched values in full instead of masked to their last four characters.
        /// For test fixtures only: the daemon never shows a value.
        #[arg(long)]
        show_matches: bool,
        /// The site's medical record number format, a regular expression.
        #[arg(long, value_name = "REGEX")]
        mrn_pattern: Option<String>,
        /// Message files, or directories walked recursively for `*.eml`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
            policy,
            bless,
            files,
        } => test(
            config.as_ref(),
            json,
            EnvelopeArgs { from, to },
            policy.as_deref(),
            bless,
            &files,
        ),
        Command::Scan {
            json,
            show_matches,
            mrn_pattern,
            paths,
        } => scan(json, show_matches, mrn_pattern, &paths),
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
            let runtime = wasmilter::policy::Runtime::new(config.cache_dir.as_deref())?;
            if let Err(e) = runtime.load_chain(&config.policies) {
                eprintln!("{}:0: policy: {e}", path.display());
                return Ok(ExitCode::FAILURE);
            }
            // The certificates as `run` loads them.
            let certs = config
                .openpgp_certs
                .as_ref()
                .map(|dir| wasmilter::actions::openpgp::CertStore::load(dir));
            if let Some(Err(e)) = certs {
                eprintln!("{}:0: openpgp.certs: {e}", path.display());
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
    only: Option<&str>,
    bless: bool,
    paths: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let mut config = load(config)?;
    if let Some(name) = only {
        config.policies.retain(|p| p.name == name);
        if config.policies.is_empty() {
            anyhow::bail!("no policy named {name:?} in {}", config.source.display());
        }
    }
    let runtime = wasmilter::policy::Runtime::new(config.cache_dir.as_deref())?;
    let pipeline = wasmilter::daemon::build_pipeline(&runtime, &config)?;
    let files = testing::message_files(paths)?;

    let (mut passed, mut failed, mut errors) = (0, 0, 0);
    for file in &files {
        let report = match testing::run_file(&pipeline, file, &args) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                errors += 1;
                continue;
            }
        };
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{}", report.text());
        }
        match testing::check(&report, file, bless) {
            Ok(testing::Check::Unchecked) => {}
            Ok(testing::Check::Passed) => passed += 1,
            Ok(testing::Check::Blessed) => {
                eprintln!("{}: blessed", testing::golden_path(file).display())
            }
            Ok(testing::Check::Failed(diff)) => {
                failed += 1;
                eprintln!(
                    "FAILED {} (golden file {}):",
                    file.display(),
                    testing::golden_path(file).display()
                );
                for line in diff {
                    eprintln!("    {line}");
                }
            }
            Err(e) => {
                eprintln!("{e}");
                errors += 1;
            }
        }
    }
    if passed + failed > 0 {
        eprintln!("{passed} passed, {failed} failed");
    }
    Ok(if failed + errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn scan(
    json: bool,
    show_matches: bool,
    mrn_pattern: Option<String>,
    paths: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    use std::io::Write;

    use wasmilter::dlp::{Options, Scanner, report};

    let scanner = Scanner::with_options(&Options { mrn_pattern })?;
    let mut stdout = std::io::stdout().lock();
    let mut failed = false;
    for file in report::message_files(paths)? {
        let written = match report::scan_file(&scanner, &file, show_matches) {
            Ok(r) if json => writeln!(stdout, "{}", serde_json::to_string(&r)?),
            Ok(r) => write!(stdout, "{}", r.text()),
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                failed = true;
                Ok(())
            }
        };
        match written {
            // A reader that stopped reading (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            other => other?,
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

//! The `wasmilter` daemon under test: a generated config, a child process, its log.
//!
//! The binary is `$WASMILTER_BIN` when set, else `wasmilter` in the first ancestor directory
//! of this test executable that has one (`target/debug/` for `cargo test`). The daemon's
//! stdout and stderr go to `daemon.log` in the test's directory and are shown on failure.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// How long the daemon may take to listen: the first start compiles the policy components.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the daemon may take to exit after SIGTERM.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The ports and paths that go into the daemon's config file.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Port of the milter listener on 127.0.0.1.
    pub milter_port: u16,
    /// Port of the HTTP metrics listener on 127.0.0.1.
    pub metrics_port: u16,
    /// Port on 127.0.0.1 where the audit lines go, RFC 5424 over UDP.
    pub syslog_port: u16,
    /// Directory of recipient OpenPGP certificates.
    pub certs_dir: PathBuf,
}

/// A running (or stopped) daemon.
#[derive(Debug)]
pub struct Daemon {
    binary: PathBuf,
    config_path: PathBuf,
    log_path: PathBuf,
    config: DaemonConfig,
    child: Option<Child>,
}

impl DaemonConfig {
    /// The config file text: the shipped phi-dlp policy, and everything else on loopback.
    pub fn to_toml(&self) -> Result<String> {
        Ok(format!(
            "[milter]\n\
             listen = {}\n\
             \n\
             [metrics]\n\
             listen = {}\n\
             \n\
             [audit]\n\
             syslog = {}\n\
             \n\
             [openpgp]\n\
             certs = {}\n\
             \n\
             [[policy]]\n\
             name = \"phi-dlp\"\n\
             module = \"builtin:phi-dlp\"\n",
            toml_string(&format!("inet:127.0.0.1:{}", self.milter_port))?,
            toml_string(&format!("127.0.0.1:{}", self.metrics_port))?,
            toml_string(&format!("udp:127.0.0.1:{}", self.syslog_port))?,
            toml_string(&self.certs_dir.display().to_string())?,
        ))
    }

    /// The milter address in Postfix's notation, for `smtpd_milters`.
    pub fn postfix_milter(&self) -> String {
        format!("inet:127.0.0.1:{}", self.milter_port)
    }

    /// Where `/metrics` is served.
    pub fn metrics_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.metrics_port))
    }
}

impl Daemon {
    /// Writes the config into `dir` and starts the daemon, waiting until both its milter
    /// and its metrics listener answer.
    pub fn start(dir: &Path, config: DaemonConfig) -> Result<Daemon> {
        let config_path = dir.join("wasmilter.toml");
        fs::write(&config_path, config.to_toml()?)
            .with_context(|| format!("cannot write {}", config_path.display()))?;

        let mut daemon = Daemon {
            binary: binary()?,
            config_path,
            log_path: dir.join("daemon.log"),
            config,
            child: None,
        };
        daemon.spawn()?;
        Ok(daemon)
    }

    /// The config it was started with.
    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    /// The config file it reads (and rereads on SIGHUP).
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Result<u32> {
        match &self.child {
            Some(child) => Ok(child.id()),
            None => bail!("the daemon is not running"),
        }
    }

    /// Sends SIGHUP: reload the config and the policies.
    pub fn signal_hup(&self) -> Result<()> {
        let Some(child) = &self.child else {
            bail!("the daemon is not running");
        };
        crate::run("kill", &["-HUP", &child.id().to_string()])?;
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        self.signal_term()?;
        self.wait()
    }

    /// Starts it again with the same config and ports.
    pub fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("the daemon is still running");
        }
        self.spawn()
    }

    /// Sends SIGTERM without waiting; [`Daemon::wait`] collects the exit status.
    pub fn signal_term(&mut self) -> Result<()> {
        let Some(child) = &self.child else {
            bail!("the daemon is not running");
        };
        crate::run("kill", &["-TERM", &child.id().to_string()])?;
        Ok(())
    }

    /// Waits for a daemon that was sent SIGTERM to exit.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the daemon is not running");
        };
        let what = "the daemon to exit after SIGTERM";
        let status = crate::wait_for(SHUTDOWN_TIMEOUT, what, || Ok(child.try_wait()?));
        if status.is_err() {
            let _ = child.kill();
            let _ = child.wait();
        }
        status
    }

    /// What the daemon printed so far.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log_path.display()))
    }

    /// The daemon's config and the tail of its log, for a failure message.
    pub fn diagnostics(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!(
            "--- {} ---\n{}\n--- daemon log (last 40 lines) ---\n{tail}\n",
            self.config_path.display(),
            fs::read_to_string(&self.config_path).unwrap_or_default(),
        )
    }

    fn spawn(&mut self) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("cannot open {}", self.log_path.display()))?;
        writeln!(&log, "=== starting {}", self.binary.display())?;
        let stderr: File = log.try_clone()?;

        let child = Command::new(&self.binary)
            .arg("run")
            .arg("--config")
            .arg(&self.config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);

        let milter = SocketAddr::from((Ipv4Addr::LOCALHOST, self.config.milter_port));
        let metrics = self.config.metrics_addr();
        let ready = crate::wait_for(STARTUP_TIMEOUT, "the daemon to listen", || {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                bail!("the daemon exited during startup with {status}");
            }
            let up = |addr| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
            Ok((up(milter) && up(metrics)).then_some(()))
        });
        ready.with_context(|| self.diagnostics())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The daemon binary: `$WASMILTER_BIN`, else `wasmilter` beside or above this executable.
pub fn binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("WASMILTER_BIN") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("WASMILTER_BIN is {}, which is not a file", path.display());
        }
        return Ok(path);
    }

    let exe = std::env::current_exe().context("cannot find the test executable")?;
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join("wasmilter"))
        .find(|path| path.is_file())
        .with_context(|| {
            format!(
                "no wasmilter binary above {}: build it with `cargo build -p wasmilter` \
                 or set WASMILTER_BIN",
                exe.display()
            )
        })
}

/// A TOML basic string; refuses what would need escapes beyond `\\` and `\"`.
fn toml_string(value: &str) -> Result<String> {
    if value.chars().any(|c| c.is_control()) {
        bail!("cannot put {value:?} in the test config");
    }
    Ok(format!(
        "\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

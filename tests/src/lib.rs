//! The harness of wasmilter's end-to-end tests: real parts on loopback, driven from Rust.
//!
//! The tests in `tests/postfix.rs` put the `wasmilter` daemon between a real Postfix and a
//! real Maildir and check what a postmaster or an auditor would see. This crate holds the
//! pieces they share, each a thin driver of a real program or protocol:
//!
//! - [`postfix`]: the test Postfix on 127.0.0.1:2525, configured by
//!   `integration/postfix/setup.sh`, fed with `swaks`, read back from its Maildir, its queue
//!   (`postqueue -j`) and its log. One test holds it at a time.
//! - [`daemon`]: the `wasmilter` binary with a generated config, started on free ports and
//!   stopped with SIGTERM.
//! - [`gpg`]: a throwaway GnuPG home with a recipient's key, to export the certificate the
//!   daemon encrypts to and to decrypt what it delivered.
//! - [`syslog`]: a UDP syslog receiver and an RFC 5424 parser, for the audit lines.
//! - [`metrics`]: a plain HTTP/1.1 scrape of `/metrics` and a parser of the Prometheus text
//!   format.
//! - [`mail`]: the messages the tests send and the raw header fields they compare.
//! - [`smtp`]: a minimal SMTP client for the one test that must pause inside a transaction.
//!
//! The tests need root (they rewrite `/etc/postfix` and start Postfix), a free port 2525, and
//! the programs that `integration/postfix/install.sh` installs.

pub mod daemon;
pub mod gpg;
pub mod mail;
pub mod metrics;
pub mod postfix;
pub mod smtp;
pub mod syslog;

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Runs a program to completion and returns its output, failing with its stderr when it
/// does not exit 0.
pub fn run(program: impl AsRef<Path>, args: &[&str]) -> Result<Output> {
    let program = program.as_ref();
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed with {}\nstdout:\n{}\nstderr:\n{}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    Ok(output)
}

/// Calls `probe` every 50 ms until it returns `Some`, or fails after `timeout` with the
/// description of what was awaited.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if start.elapsed() >= timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

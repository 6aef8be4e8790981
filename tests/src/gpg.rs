//! A throwaway GnuPG home: a recipient's key pair, its exported certificate, decryption.
//!
//! This is the Debian GnuPG 2.2 that recipients of wasmilter's mail use; decrypting with it
//! is the interoperability check. The agent that gpg starts is stopped when the value drops.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

/// A GnuPG home directory with keys without passphrase.
#[derive(Debug)]
pub struct Keyring {
    home: TempDir,
}

/// The result of a successful `gpg --decrypt`.
#[derive(Debug)]
pub struct Decrypted {
    /// The decrypted bytes.
    pub plaintext: Vec<u8>,
    /// gpg's `[GNUPG:]` status lines and messages.
    pub status: String,
}

impl Keyring {
    /// An empty GnuPG home under the system temp directory.
    pub fn new() -> Result<Keyring> {
        let home = tempfile::Builder::new()
            .prefix("wm-gpg-")
            .tempdir()
            .context("cannot make a GnuPG home")?;
        Ok(Keyring { home })
    }

    /// Generates a key pair (GnuPG's default algorithms, no expiry, no passphrase) for a
    /// user ID such as `Alice <alice@example.test>`.
    pub fn generate(&self, user_id: &str) -> Result<()> {
        self.gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            user_id,
            "default",
            "default",
            "never",
        ])?;
        Ok(())
    }

    /// Exports the certificate (public key) of `email`, armored, into `dest`.
    pub fn export_cert(&self, email: &str, dest: &Path) -> Result<()> {
        let output = self.gpg(&["--armor", "--export", email])?;
        if output.stdout.is_empty() {
            bail!("gpg exported nothing for {email}");
        }
        std::fs::write(dest, &output.stdout)
            .with_context(|| format!("cannot write {}", dest.display()))
    }

    /// Decrypts an OpenPGP message with the secret keys of this home.
    ///
    /// Fails unless gpg exits 0 and reports both `DECRYPTION_OKAY` and `GOODMDC`: an
    /// integrity-protected message that GnuPG 2.2 can open.
    pub fn decrypt(&self, message: &[u8]) -> Result<Decrypted> {
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, message)?;
        let path = file.path().display().to_string();

        let output = self.gpg(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--status-fd",
            "2",
            "--decrypt",
            &path,
        ])?;
        let status = String::from_utf8_lossy(&output.stderr).into_owned();
        for needed in ["[GNUPG:] DECRYPTION_OKAY", "[GNUPG:] GOODMDC"] {
            if !status.lines().any(|line| line.starts_with(needed)) {
                bail!("gpg did not report {needed}:\n{status}");
            }
        }
        Ok(Decrypted {
            plaintext: output.stdout,
            status,
        })
    }

    fn gpg(&self, args: &[&str]) -> Result<Output> {
        let output = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--no-tty", "--quiet"])
            .args(args)
            .output()
            .context("cannot run gpg")?;
        if !output.status.success() {
            bail!(
                "gpg {} failed with {}:\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(output)
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

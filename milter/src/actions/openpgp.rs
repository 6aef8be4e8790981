//! OpenPGP: recipient certificates from a directory, and RFC 3156 PGP/MIME encryption with
//! sequoia-openpgp.
//!
//! A certificate is used for an address when one of its user IDs, valid under sequoia's
//! standard policy, carries that address, and it has an alive, unrevoked key for transport
//! encryption at the time of the message. Expired and revoked certificates are skipped.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sequoia_openpgp as openpgp;

use openpgp::Cert;
use openpgp::cert::CertParser;
use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use openpgp::types::RevocationStatus;

/// Recipient certificates, indexed by normalised e-mail address.
#[derive(Debug, Default, Clone)]
pub struct CertStore {
    by_email: HashMap<String, Vec<Cert>>,
    files: usize,
}

/// A problem reading the certificate directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory cannot be listed.
    #[error("cannot read the certificate directory {dir:?}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl CertStore {
    /// An empty store (no recipient has a key).
    pub fn empty() -> CertStore {
        CertStore::default()
    }

    /// Loads every certificate in `dir` (armored or binary, one or many per file). Files that
    /// hold no certificate are skipped with a warning; secret key material is never kept.
    pub fn load(dir: &Path) -> Result<CertStore, StoreError> {
        let entries = std::fs::read_dir(dir).map_err(|source| StoreError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
        let mut store = CertStore::default();
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();

        for path in paths {
            if !path.is_file() {
                continue;
            }
            let parser = match CertParser::from_file(&path) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(
                        "skipping {}: not an OpenPGP certificate file: {e}",
                        path.display()
                    );
                    continue;
                }
            };
            let mut any = false;
            for cert in parser {
                match cert {
                    Ok(cert) => {
                        any = true;
                        store.add(cert.strip_secret_key_material());
                    }
                    Err(e) => tracing::warn!("skipping a certificate in {}: {e}", path.display()),
                }
            }
            if any {
                store.files += 1;
            }
        }
        Ok(store)
    }

    /// Adds a certificate under every e-mail address of its user IDs.
    pub fn add(&mut self, cert: Cert) {
        let mut emails: Vec<String> = cert
            .userids()
            .filter_map(|ua| ua.userid().email_normalized().ok().flatten())
            .collect();
        emails.sort();
        emails.dedup();
        for email in emails {
            self.by_email.entry(email).or_default().push(cert.clone());
        }
    }

    /// How many addresses have at least one certificate.
    pub fn addresses(&self) -> usize {
        self.by_email.len()
    }

    /// How many files contributed certificates.
    pub fn files(&self) -> usize {
        self.files
    }

    /// The usable certificate for an address, now.
    pub fn lookup(&self, address: &str) -> Option<&Cert> {
        let email = normalise(address);
        let policy = StandardPolicy::new();
        self.by_email
            .get(&email)?
            .iter()
            .find(|cert| usable_for(cert, &email, &policy))
    }
}

/// Lower-cases an address (the domain always, the local part too, as sequoia normalises).
fn normalise(address: &str) -> String {
    address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

fn usable_for(cert: &Cert, email: &str, policy: &StandardPolicy<'_>) -> bool {
    let Ok(valid) = cert.with_policy(policy, None) else {
        return false;
    };
    if valid.alive().is_err() || matches!(valid.revocation_status(), RevocationStatus::Revoked(_)) {
        return false;
    }
    let uid_ok = valid.userids().any(|ua| {
        ua.userid().email_normalized().ok().flatten().as_deref() == Some(email)
            && !matches!(ua.revocation_status(), RevocationStatus::Revoked(_))
    });
    uid_ok
        && valid
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .next()
            .is_some()
}

/// An encryption failure.
#[derive(Debug, thiserror::Error)]
#[error("openpgp encryption failed: {0}")]
pub struct EncryptError(String);

/// Encrypts `plaintext` once to every certificate's transport-encryption keys, ASCII-armored.
/// For v4 certificates sequoia emits SEIPD v1 (with MDC) unless every recipient announces
/// support for more, so GnuPG 2.2 and Thunderbird can read the result.
pub fn encrypt(plaintext: &[u8], certs: &[&Cert]) -> Result<Vec<u8>, EncryptError> {
    let policy = StandardPolicy::new();
    let err = |e: anyhow::Error| EncryptError(format!("{e:#}"));

    let mut recipients = Vec::new();
    for cert in certs {
        let valid = cert.with_policy(&policy, None).map_err(err)?;
        let keys: Vec<_> = valid
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .collect();
        if keys.is_empty() {
            return Err(EncryptError(format!(
                "certificate {} has no usable encryption key",
                cert.fingerprint()
            )));
        }
        recipients.extend(keys);
    }

    let mut sink = Vec::with_capacity(plaintext.len() * 4 / 3 + 1024);
    {
        let message = Message::new(&mut sink);
        let message = Armorer::new(message).build().map_err(err)?;
        let message = Encryptor::for_recipients(message, recipients)
            .build()
            .map_err(err)?;
        let mut literal = LiteralWriter::new(message).build().map_err(err)?;
        literal
            .write_all(plaintext)
            .map_err(|e| EncryptError(e.to_string()))?;
        literal.finalize().map_err(err)?;
    }
    Ok(sink)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::CertBuilder;
    use openpgp::parse::stream::{
        DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
    };
    use openpgp::serialize::Serialize;
    use std::io::Read;

    fn make_cert(uid: &str) -> Cert {
        let (cert, _) = CertBuilder::general_purpose(Some(uid))
            .generate()
            .expect("generate");
        cert
    }

    struct Helper(Cert);
    impl VerificationHelper for Helper {
        fn get_certs(&mut self, _: &[openpgp::KeyHandle]) -> openpgp::Result<Vec<Cert>> {
            Ok(Vec::new())
        }
        fn check(&mut self, _: MessageStructure) -> openpgp::Result<()> {
            Ok(())
        }
    }
    impl DecryptionHelper for Helper {
        fn decrypt(
            &mut self,
            pkesks: &[openpgp::packet::PKESK],
            _: &[openpgp::packet::SKESK],
            sym_algo: Option<openpgp::types::SymmetricAlgorithm>,
            decrypt: &mut dyn FnMut(
                Option<openpgp::types::SymmetricAlgorithm>,
                &openpgp::crypto::SessionKey,
            ) -> bool,
        ) -> openpgp::Result<Option<Cert>> {
            let p = StandardPolicy::new();
            for ka in self
                .0
                .keys()
                .with_policy(&p, None)
                .secret()
                .for_transport_encryption()
            {
                let mut pair = ka.key().clone().into_keypair()?;
                for pkesk in pkesks {
                    if pkesk
                        .decrypt(&mut pair, sym_algo)
                        .map(|(algo, sk)| decrypt(algo, &sk))
                        .unwrap_or(false)
                    {
                        return Ok(None);
                    }
                }
            }
            Err(anyhow::anyhow!("no key"))
        }
    }

    #[test]
    fn store_matches_by_address_and_encryption_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let alice = make_cert("Alice <Alice@Example.test>");
        let mut file = std::fs::File::create(dir.path().join("alice.pgp")).expect("create");
        alice.serialize(&mut file).expect("serialize");
        std::fs::write(dir.path().join("junk.txt"), b"not a key").expect("write");

        let store = CertStore::load(dir.path()).expect("load");
        assert!(store.lookup("alice@example.test").is_some());
        assert!(store.lookup("<ALICE@example.test>").is_some());
        assert!(store.lookup("bob@example.test").is_none());

        let cert = store.lookup("alice@example.test").expect("alice");
        assert!(!cert.is_tsk(), "secret key material is dropped");
        let armored = encrypt(b"secret body\r\n", &[cert]).expect("encrypt");
        assert!(armored.starts_with(b"-----BEGIN PGP MESSAGE-----"));

        let p = StandardPolicy::new();
        let mut decryptor = DecryptorBuilder::from_bytes(&armored)
            .expect("parse")
            .with_policy(&p, None, Helper(alice))
            .expect("decrypt");
        let mut out = Vec::new();
        decryptor.read_to_end(&mut out).expect("read");
        assert_eq!(out, b"secret body\r\n");
    }

    #[test]
    fn expired_certificates_are_not_used() {
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10 * 86400);
        let (cert, _) = CertBuilder::general_purpose(Some("Old <old@example.test>"))
            .set_creation_time(past)
            .set_validity_period(std::time::Duration::from_secs(86400))
            .generate()
            .expect("generate");
        let mut store = CertStore::empty();
        store.add(cert);
        assert!(store.lookup("old@example.test").is_none());
    }

    #[test]
    fn revoked_certificates_are_not_used() {
        let (cert, rev) = CertBuilder::general_purpose(Some("Rev <rev@example.test>"))
            .generate()
            .expect("generate");
        let (cert, _) = cert.insert_packets(rev).expect("revoke");
        let mut store = CertStore::empty();
        store.add(cert);
        assert!(store.lookup("rev@example.test").is_none());
    }
}

//! The audit trail: exactly one line per message, RFC 5424 syslog (or standard error).
//!
//! A line starts with the queue id and holds `key=value` fields: sender domain, recipient count,
//! each policy's verdict, detector counts, the action, the encryption method and key
//! fingerprints, elapsed milliseconds. It never holds a matched value, body text or a full
//! address. Classic syslog transports cut lines at 1,024 bytes, so a longer record is split
//! into pieces that each start with the queue id and `part=N/M`.

use std::fmt::Write as _;
use std::sync::Mutex;

use syslog::{Facility, Formatter5424, Logger, LoggerBackend};

use crate::config::AuditTarget;
use crate::decision::{PolicyResult, totals};

/// Longest piece written as one syslog message (MSG part).
pub const MAX_LINE: usize = 900;

/// Everything the audit line says about one message.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Queue id, `-` when the MTA did not tell.
    pub queue_id: String,
    /// Sender domain.
    pub sender_domain: String,
    /// Recipient count.
    pub recipients: usize,
    /// Recipients added by policies.
    pub recipients_added: usize,
    /// Recipients removed by policies.
    pub recipients_removed: usize,
    /// `name:action` per policy (`name:error:kind` on failure, `name:monitor:action` in
    /// monitor mode).
    pub policies: Vec<String>,
    /// Detector totals.
    pub findings: Vec<(String, u32)>,
    /// Final action.
    pub action: String,
    /// Encryption method, when encrypted.
    pub method: Option<String>,
    /// Fingerprints of the keys used.
    pub keys: Vec<String>,
    /// Why (quarantine reason, tempfail cause).
    pub reason: Option<String>,
    /// Tags from policies.
    pub tags: Vec<String>,
    /// Processing time.
    pub elapsed_ms: u128,
}

impl Record {
    /// Fills the policy and finding fields from the chain's results.
    pub fn with_results(mut self, results: &[PolicyResult]) -> Record {
        let mut findings = Vec::new();
        for r in results {
            let mode = if r.mode == crate::config::Mode::Monitor {
                "monitor:"
            } else {
                ""
            };
            match &r.outcome {
                Ok(v) => {
                    self.policies.push(format!("{}:{mode}{}", r.name, v.action));
                    findings.extend(v.findings.iter().cloned());
                }
                Err((kind, _)) => {
                    self.policies
                        .push(format!("{}:{mode}error:{}", r.name, kind.as_str()))
                }
            }
        }
        self.findings = totals(&findings);
        self
    }

    /// The fields, in order.
    fn fields(&self) -> Vec<String> {
        let mut f = vec![
            format!("sender_domain={}", token(&self.sender_domain)),
            format!("rcpts={}", self.recipients),
            format!("policies={}", join_or_dash(&self.policies)),
            format!(
                "findings={}",
                if self.findings.is_empty() {
                    "-".to_owned()
                } else {
                    self.findings
                        .iter()
                        .map(|(d, n)| format!("{d}:{n}"))
                        .collect::<Vec<_>>()
                        .join(",")
                }
            ),
            format!("action={}", self.action),
        ];
        if self.recipients_added > 0 {
            f.push(format!("rcpts_added={}", self.recipients_added));
        }
        if self.recipients_removed > 0 {
            f.push(format!("rcpts_removed={}", self.recipients_removed));
        }
        if let Some(method) = &self.method {
            f.push(format!("method={method}"));
        }
        if !self.keys.is_empty() {
            f.push(format!("keys={}", self.keys.join(",")));
        }
        if !self.tags.is_empty() {
            f.push(format!("tags={}", self.tags.join(",")));
        }
        if let Some(reason) = &self.reason {
            f.push(format!("reason=\"{}\"", reason.replace(['"', '\\'], "'")));
        }
        f.push(format!("elapsed_ms={}", self.elapsed_ms));
        f
    }

    /// The audit text: one line, or several pieces of at most [`MAX_LINE`] bytes that each
    /// start with the queue id.
    pub fn lines(&self) -> Vec<String> {
        let queue_id = token(&self.queue_id);
        let fields = self.fields();
        let one = format!("{queue_id}: {}", fields.join(" "));
        if one.len() <= MAX_LINE {
            return vec![one];
        }

        // Split on field boundaries; a single oversized field is cut.
        let mut pieces: Vec<String> = Vec::new();
        let mut current = String::new();
        for field in fields {
            let field: String = field.chars().take(MAX_LINE - 64).collect();
            if !current.is_empty() && current.len() + field.len() + 1 > MAX_LINE - 48 {
                pieces.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&field);
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        let total = pieces.len();
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut line = String::new();
                let _ = write!(line, "{queue_id}: part={}/{total} {p}", i + 1);
                line
            })
            .collect()
    }
}

/// Keeps a value to one safe token (no spaces or control characters).
fn token(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(128)
        .collect();
    if t.is_empty() { "-".into() } else { t }
}

fn join_or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

/// Where audit lines go.
pub struct AuditLog {
    target: AuditTarget,
    logger: Mutex<Option<Logger<LoggerBackend, Formatter5424>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// An audit target that cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the audit log {target:?}: {why}")]
pub struct AuditError {
    target: String,
    why: String,
}

impl AuditLog {
    /// Opens the target. A syslog socket that is not there is an error at startup: a daemon
    /// that cannot audit should not start.
    pub fn open(target: &AuditTarget) -> Result<AuditLog, AuditError> {
        let logger = match target {
            AuditTarget::Stderr => None,
            _ => Some(connect(target).map_err(|why| AuditError {
                target: format!("{target:?}"),
                why,
            })?),
        };
        Ok(AuditLog {
            target: target.clone(),
            logger: Mutex::new(logger),
        })
    }

    /// Writes a record. When syslog fails, the line goes to standard error instead (and a
    /// reconnect is tried next time), so no record is lost silently.
    pub fn write(&self, record: &Record) {
        for line in record.lines() {
            self.write_line(&line);
        }
    }

    fn write_line(&self, line: &str) {
        if self.target == AuditTarget::Stderr {
            eprintln!("wasmilter audit: {line}");
            return;
        }
        let Ok(mut guard) = self.logger.lock() else {
            eprintln!("wasmilter audit: {line}");
            return;
        };
        if guard.is_none() {
            *guard = connect(&self.target).ok();
        }
        let text = if matches!(self.target, AuditTarget::Tcp(_)) {
            format!("{line}\n")
        } else {
            line.to_owned()
        };
        let sent = match guard.as_mut() {
            Some(logger) => logger
                .info((1u32, std::collections::BTreeMap::new(), text))
                .is_ok(),
            None => false,
        };
        if !sent {
            *guard = None;
            tracing::warn!(
                "audit log {:?} unreachable; writing the line to stderr",
                self.target
            );
            eprintln!("wasmilter audit: {line}");
        }
    }
}

fn connect(target: &AuditTarget) -> Result<Logger<LoggerBackend, Formatter5424>, String> {
    let formatter = Formatter5424 {
        facility: Facility::LOG_MAIL,
        hostname: hostname::get().ok().and_then(|h| h.into_string().ok()),
        process: "wasmilter".into(),
        pid: std::process::id(),
    };
    let result = match target {
        AuditTarget::Stderr => return Err("stderr is not a syslog target".into()),
        AuditTarget::Unix(path) => syslog::unix_custom(formatter, path),
        AuditTarget::Udp(server) => {
            let local = if server.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            syslog::udp(formatter, local, server)
        }
        AuditTarget::Tcp(server) => syslog::tcp(formatter, server),
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            queue_id: "4ABC123".into(),
            sender_domain: "example.test".into(),
            recipients: 2,
            policies: vec!["phi-dlp:encrypt".into()],
            findings: vec![("ssn".into(), 1)],
            action: "encrypt".into(),
            method: Some("openpgp".into()),
            keys: vec!["ABCD".into()],
            elapsed_ms: 12,
            ..Default::default()
        }
    }

    #[test]
    fn one_line_starts_with_the_queue_id() {
        let lines = record().lines();
        assert_eq!(
            lines,
            [
                "4ABC123: sender_domain=example.test rcpts=2 policies=phi-dlp:encrypt findings=ssn:1 \
              action=encrypt method=openpgp keys=ABCD elapsed_ms=12"
            ]
        );
    }

    #[test]
    fn long_records_split_and_keep_the_queue_id() {
        let mut r = record();
        r.keys = (0..40).map(|i| format!("{i:040X}")).collect();
        let lines = r.lines();
        assert!(lines.len() > 1);
        for (i, line) in lines.iter().enumerate() {
            assert!(
                line.starts_with(&format!("4ABC123: part={}/{} ", i + 1, lines.len())),
                "{line}"
            );
            assert!(line.len() <= MAX_LINE, "{}", line.len());
        }
    }

    #[test]
    fn udp_syslog_receives_rfc5424() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = server.local_addr().expect("addr");
        let log = AuditLog::open(&AuditTarget::Udp(addr)).expect("open");
        log.write(&record());
        let mut buf = [0u8; 2048];
        let n = server.recv(&mut buf).expect("recv");
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("<22>1 "), "{text}");
        assert!(text.contains(" wasmilter "), "{text}");
        assert!(text.ends_with("4ABC123: sender_domain=example.test rcpts=2 policies=phi-dlp:encrypt findings=ssn:1 action=encrypt method=openpgp keys=ABCD elapsed_ms=12"), "{text}");
    }
}

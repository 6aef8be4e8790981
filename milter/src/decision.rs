//! Verdicts and how a chain of them combines into one decision.
//!
//! The rule, documented in the WIT world and tested below: the strictest action wins
//! (reject > tempfail > discard > quarantine > encrypt > accept), header edits apply in chain
//! order, findings and tags are merged, and a policy that marks its verdict `final` stops the
//! chain. A policy in monitor mode is evaluated and reported but changes nothing.

use std::fmt;

use crate::config::{Mode, OnError};

/// What happens to a message, ordered from the mildest to the strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Deliver.
    Accept,
    /// Deliver encrypted, or hold when that is impossible.
    Encrypt,
    /// Hold for review.
    Quarantine,
    /// Accept and drop.
    Discard,
    /// Ask the MTA to retry.
    Tempfail,
    /// Refuse permanently.
    Reject,
}

impl Action {
    /// Every action, mildest first.
    pub const ALL: [Action; 6] = [
        Action::Accept,
        Action::Encrypt,
        Action::Quarantine,
        Action::Discard,
        Action::Tempfail,
        Action::Reject,
    ];

    /// Lower-case name, as in the config, metrics and audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Encrypt => "encrypt",
            Action::Quarantine => "quarantine",
            Action::Discard => "discard",
            Action::Tempfail => "tempfail",
            Action::Reject => "reject",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header change requested by a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Add a header.
    Add(String, String),
    /// Replace all headers of that name by one.
    Set(String, String),
    /// Remove all headers of that name.
    Remove(String),
    /// Prefix the Subject.
    PrefixSubject(String),
}

/// An encryption method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// RFC 3156 PGP/MIME.
    OpenPgp,
    /// RFC 8551 S/MIME.
    Smime,
}

/// What an `encrypt` becomes when not every recipient can be encrypted to, mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Fallback {
    /// Deliver only over verified TLS (needs routing config; held otherwise).
    TlsRequired,
    /// Hold the message.
    #[default]
    Quarantine,
    /// 451 4.7.1.
    Tempfail,
    /// 550 5.7.1.
    Reject,
}

/// How to encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncryptOptions {
    /// Method to try first.
    pub prefer: Option<Method>,
    /// What to do when impossible.
    pub fallback: Option<Fallback>,
}

/// A change to the envelope recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeEdit {
    /// Add a recipient.
    AddRecipient(String),
    /// Remove a recipient.
    RemoveRecipient(String),
}

/// A reject reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// 5xx (or 4xx for tempfail).
    pub code: u16,
    /// Enhanced status code.
    pub enhanced: String,
    /// Text.
    pub text: String,
}

impl Reply {
    /// `451 4.7.1 text`: the MTA keeps the message and retries.
    pub fn tempfail(text: impl Into<String>) -> Reply {
        Reply {
            code: 451,
            enhanced: "4.7.1".into(),
            text: text.into(),
        }
    }

    /// `550 5.7.1 text`: refused for good.
    pub fn reject(text: impl Into<String>) -> Reply {
        Reply {
            code: 550,
            enhanced: "5.7.1".into(),
            text: text.into(),
        }
    }
}

/// Counted findings of one detector, as reported by a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Detector name.
    pub detector: String,
    /// `low`, `medium`, `high`.
    pub confidence: &'static str,
    /// Count.
    pub count: u32,
    /// Part id or `header`.
    pub part: String,
}

/// A policy's verdict, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Action.
    pub action: Action,
    /// For encrypt: method and fallback.
    pub encrypt: Option<EncryptOptions>,
    /// Reason text.
    pub reason: Option<String>,
    /// Reject reply.
    pub reply: Option<Reply>,
    /// Header edits.
    pub header_edits: Vec<HeaderEdit>,
    /// Envelope edits.
    pub envelope_edits: Vec<EnvelopeEdit>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Tags.
    pub tags: Vec<String>,
    /// Stop the chain after this policy.
    pub is_final: bool,
}

impl Verdict {
    /// A plain accept.
    pub fn accept() -> Verdict {
        Verdict {
            action: Action::Accept,
            encrypt: None,
            reason: None,
            reply: None,
            header_edits: Vec::new(),
            envelope_edits: Vec::new(),
            findings: Vec::new(),
            tags: Vec::new(),
            is_final: false,
        }
    }
}

/// Why a policy produced no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The guest trapped (panic, unreachable, bad memory access).
    Trap,
    /// The deadline passed.
    Deadline,
    /// The memory cap was hit.
    Memory,
    /// The verdict broke the contract (bad header name, bad reply code, ...).
    BadVerdict,
    /// The component could not be instantiated.
    Instantiate,
}

impl ErrorKind {
    /// Lower-case name, used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Trap => "trap",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Memory => "memory",
            ErrorKind::BadVerdict => "bad_verdict",
            ErrorKind::Instantiate => "instantiate",
        }
    }
}

/// One policy's result for one message.
#[derive(Debug, Clone)]
pub struct PolicyResult {
    /// Policy name.
    pub name: String,
    /// Its mode.
    pub mode: Mode,
    /// The verdict, or why there is none.
    pub outcome: Result<Verdict, (ErrorKind, String)>,
    /// What the failure means, from the config.
    pub on_error: OnError,
    /// Evaluation time.
    pub elapsed: std::time::Duration,
    /// Largest linear memory of the instance, in bytes.
    pub memory_peak: usize,
}

impl PolicyResult {
    /// The action this result stands for: the verdict's, or the `on_error` action.
    pub fn effective_action(&self) -> Action {
        match &self.outcome {
            Ok(v) => v.action,
            Err(_) => match self.on_error {
                OnError::Tempfail => Action::Tempfail,
                OnError::Accept => Action::Accept,
                OnError::Quarantine => Action::Quarantine,
            },
        }
    }

    /// Whether the chain stops after this result.
    pub fn is_final(&self) -> bool {
        matches!(&self.outcome, Ok(v) if v.is_final)
    }
}

/// The combined decision for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The strictest enforced action.
    pub action: Action,
    /// The reason that goes with it (from the policy that set the action).
    pub reason: Option<String>,
    /// The reply, for reject and tempfail.
    pub reply: Option<Reply>,
    /// Header edits of the enforcing policies, in chain order.
    pub header_edits: Vec<HeaderEdit>,
    /// Envelope edits of the enforcing policies, in chain order.
    pub envelope_edits: Vec<EnvelopeEdit>,
    /// Encryption options: the first preference stated, the strictest fallback.
    pub encrypt: EncryptOptions,
    /// Findings of every policy (monitor ones included: they are facts, not actions).
    pub findings: Vec<Finding>,
    /// Tags of every policy.
    pub tags: Vec<String>,
}

/// Combines the chain's results.
pub fn combine(results: &[PolicyResult]) -> Decision {
    let mut decision = Decision {
        action: Action::Accept,
        reason: None,
        reply: None,
        header_edits: Vec::new(),
        envelope_edits: Vec::new(),
        encrypt: EncryptOptions::default(),
        findings: Vec::new(),
        tags: Vec::new(),
    };

    for result in results {
        if let Ok(v) = &result.outcome {
            decision.findings.extend(v.findings.iter().cloned());
            decision.tags.extend(v.tags.iter().cloned());
        }
        if result.mode == Mode::Monitor {
            continue;
        }

        let action = result.effective_action();
        if action > decision.action {
            decision.action = action;
            match &result.outcome {
                Ok(v) => {
                    decision.reason = v.reason.clone();
                    decision.reply = v.reply.clone();
                }
                Err((kind, _)) => {
                    decision.reason =
                        Some(format!("policy {} failed: {}", result.name, kind.as_str()));
                    decision.reply = None;
                }
            }
        }
        if let Ok(v) = &result.outcome {
            decision.header_edits.extend(v.header_edits.iter().cloned());
            decision
                .envelope_edits
                .extend(v.envelope_edits.iter().cloned());
            if let Some(options) = v.encrypt {
                decision.encrypt.prefer = decision.encrypt.prefer.or(options.prefer);
                decision.encrypt.fallback = decision.encrypt.fallback.max(options.fallback);
            }
        }
    }
    decision
}

/// Sums findings by detector, for the audit line and metrics.
pub fn totals(findings: &[Finding]) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = Vec::new();
    for f in findings {
        match out.iter_mut().find(|(d, _)| *d == f.detector) {
            Some((_, n)) => *n += f.count,
            None => out.push((f.detector.clone(), f.count)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn result(name: &str, action: Action, mode: Mode) -> PolicyResult {
        PolicyResult {
            name: name.into(),
            mode,
            outcome: Ok(Verdict {
                action,
                ..Verdict::accept()
            }),
            on_error: OnError::Tempfail,
            elapsed: Duration::ZERO,
            memory_peak: 0,
        }
    }

    #[test]
    fn strictest_action_wins() {
        for (i, a) in Action::ALL.iter().enumerate() {
            for b in &Action::ALL[i..] {
                let d = combine(&[
                    result("a", *a, Mode::Enforce),
                    result("b", *b, Mode::Enforce),
                ]);
                assert_eq!(d.action, *b, "{a} + {b}");
                let d = combine(&[
                    result("b", *b, Mode::Enforce),
                    result("a", *a, Mode::Enforce),
                ]);
                assert_eq!(d.action, *b, "{b} + {a}");
            }
        }
    }

    #[test]
    fn edits_keep_chain_order_and_monitor_changes_nothing() {
        let mut first = result("a", Action::Accept, Mode::Enforce);
        let mut second = result("b", Action::Accept, Mode::Enforce);
        let mut watcher = result("m", Action::Reject, Mode::Monitor);
        if let Ok(v) = &mut first.outcome {
            v.header_edits
                .push(HeaderEdit::Add("X-A".into(), "1".into()));
        }
        if let Ok(v) = &mut second.outcome {
            v.header_edits.push(HeaderEdit::Remove("X-A".into()));
        }
        if let Ok(v) = &mut watcher.outcome {
            v.header_edits
                .push(HeaderEdit::Add("X-M".into(), "1".into()));
            v.findings.push(Finding {
                detector: "ssn".into(),
                confidence: "high",
                count: 2,
                part: "1".into(),
            });
        }
        let d = combine(&[first, watcher, second]);
        assert_eq!(d.action, Action::Accept);
        assert_eq!(
            d.header_edits,
            vec![
                HeaderEdit::Add("X-A".into(), "1".into()),
                HeaderEdit::Remove("X-A".into())
            ]
        );
        assert_eq!(totals(&d.findings), vec![("ssn".to_owned(), 2)]);
    }

    #[test]
    fn the_strictest_fallback_and_the_first_preference_win() {
        let with = |prefer, fallback| {
            let mut r = result("p", Action::Encrypt, Mode::Enforce);
            if let Ok(v) = &mut r.outcome {
                v.encrypt = Some(EncryptOptions { prefer, fallback });
            }
            r
        };
        let d = combine(&[
            with(None, Some(Fallback::TlsRequired)),
            with(Some(Method::Smime), Some(Fallback::Reject)),
            with(Some(Method::OpenPgp), None),
        ]);
        assert_eq!(
            d.encrypt,
            EncryptOptions {
                prefer: Some(Method::Smime),
                fallback: Some(Fallback::Reject)
            }
        );
    }

    #[test]
    fn failures_map_to_on_error() {
        let failed = |on_error| PolicyResult {
            name: "p".into(),
            mode: Mode::Enforce,
            outcome: Err((ErrorKind::Deadline, "deadline".into())),
            on_error,
            elapsed: Duration::ZERO,
            memory_peak: 0,
        };
        assert_eq!(
            combine(&[failed(OnError::Tempfail)]).action,
            Action::Tempfail
        );
        assert_eq!(combine(&[failed(OnError::Accept)]).action, Action::Accept);
        assert_eq!(
            combine(&[failed(OnError::Quarantine)]).action,
            Action::Quarantine
        );
        assert_eq!(
            combine(&[failed(OnError::Tempfail)]).reason.as_deref(),
            Some("policy p failed: deadline")
        );
    }
}

//! One message, start to finish, without the MTA: parse, run the policy chain, combine the
//! verdicts, and plan what to do (header operations, a new body, the final action). The milter
//! session and `wasmilter test` both call [`Pipeline::process`].

use std::sync::Arc;
use std::time::Instant;

use crate::actions::{self, HeaderOp, Headers, openpgp::CertStore};
use crate::audit::Record;
use crate::config::Mode;
use crate::decision::{self, Action, Decision, EnvelopeEdit, Fallback, PolicyResult, Reply};
use crate::mail::{Envelope, Mail};
use crate::policy::Chain;

/// The header that names the action taken.
pub const STATUS_HEADER: &str = "X-Wasmilter";
/// The header that shows what monitor-mode policies would have done.
pub const MONITOR_HEADER: &str = "X-Wasmilter-Monitor";

/// What the pipeline needs: the compiled chain and the recipients' certificates.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The policy chain.
    pub chain: Chain,
    /// OpenPGP certificates.
    pub certs: Arc<CertStore>,
    /// The host's detectors, to find which headers must not stay outside the encryption.
    pub scanner: Arc<crate::dlp::Scanner>,
}

/// A message as the MTA handed it over.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The envelope.
    pub envelope: Envelope,
    /// Headers as received (name, value), in order.
    pub headers: Vec<(String, String)>,
    /// The whole message: header block, blank line, body.
    pub message: &'a [u8],
    /// Where the body starts in `message`.
    pub body_offset: usize,
}

/// A recipient's key, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientKey {
    /// The address.
    pub recipient: String,
    /// The fingerprint of the certificate used, if any.
    pub fingerprint: Option<String>,
}

/// A change to the envelope recipients, in milter terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientOp {
    /// Add this recipient.
    Add(String),
    /// Remove this recipient (as the MTA gave it).
    Remove(String),
}

/// What to do with the message.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The final action.
    pub action: Action,
    /// Header operations to send.
    pub header_ops: Vec<HeaderOp>,
    /// Recipient operations to send.
    pub recipient_ops: Vec<RecipientOp>,
    /// The recipients after the operations.
    pub recipients_after: Vec<String>,
    /// The headers after the operations.
    pub headers_after: Vec<(String, String)>,
    /// A replacement body.
    pub new_body: Option<Vec<u8>>,
    /// Why the message is held, for the MTA's quarantine.
    pub quarantine_reason: Option<String>,
    /// The SMTP reply for reject and tempfail.
    pub reply: Option<Reply>,
    /// Each policy's result.
    pub results: Vec<PolicyResult>,
    /// The combined decision before encryption was attempted.
    pub decision: Decision,
    /// For encrypt: each recipient and its key.
    pub keys: Vec<RecipientKey>,
    /// The audit record (queue id, counts, action; elapsed is set by the caller).
    pub record: Record,
}

impl Pipeline {
    /// Processes one message. Blocking (policies and crypto run here): call it from a
    /// blocking thread.
    pub fn process(&self, incoming: &Incoming<'_>) -> Outcome {
        let started = Instant::now();
        let mail = Arc::new(Mail::parse(incoming.message, incoming.envelope.clone()));

        // Policies.
        let results = self.chain.evaluate(&mail);
        let decision = decision::combine(&results);

        // Header edits of the enforcing policies.
        let mut headers = Headers::new(incoming.headers.clone());
        headers.remove(STATUS_HEADER);
        headers.remove(MONITOR_HEADER);
        for edit in &decision.header_edits {
            headers.apply(edit);
        }
        for r in results.iter().filter(|r| r.mode == Mode::Monitor) {
            let what = match &r.outcome {
                Ok(v) => v.action.as_str().to_owned(),
                Err((kind, _)) => format!("error:{}", kind.as_str()),
            };
            headers.add(MONITOR_HEADER, &format!("policy={} action={what}", r.name));
        }

        let mut outcome = Outcome {
            action: decision.action,
            header_ops: Vec::new(),
            headers_after: Vec::new(),
            recipient_ops: Vec::new(),
            recipients_after: incoming.envelope.recipients.clone(),
            new_body: None,
            quarantine_reason: None,
            reply: None,
            results,
            decision: decision.clone(),
            keys: Vec::new(),
            record: Record {
                queue_id: incoming
                    .envelope
                    .queue_id
                    .clone()
                    .unwrap_or_else(|| "-".into()),
                sender_domain: incoming.envelope.sender_domain(),
                recipients: incoming.envelope.recipients.len(),
                ..Record::default()
            },
        };
        outcome.record.tags = decision.tags.clone();

        // Envelope edits of the enforcing policies; encryption must cover the final list.
        for edit in &decision.envelope_edits {
            apply_envelope_edit(
                edit,
                &mut outcome.recipients_after,
                &mut outcome.recipient_ops,
            );
        }
        outcome.record.recipients_added = outcome
            .recipient_ops
            .iter()
            .filter(|op| matches!(op, RecipientOp::Add(_)))
            .count();
        outcome.record.recipients_removed = outcome
            .recipient_ops
            .iter()
            .filter(|op| matches!(op, RecipientOp::Remove(_)))
            .count();

        // The action.
        match decision.action {
            Action::Accept | Action::Discard => {}
            Action::Encrypt => self.encrypt(incoming, &mail, &mut headers, &mut outcome),
            Action::Quarantine => {
                outcome.quarantine_reason = Some(
                    decision
                        .reason
                        .clone()
                        .unwrap_or_else(|| "held by policy".into()),
                );
            }
            Action::Tempfail => {
                let text = decision
                    .reason
                    .clone()
                    .unwrap_or_else(|| "message could not be checked".into());
                outcome.reply = Some(Reply::tempfail(text));
            }
            Action::Reject => {
                outcome.reply = Some(decision.reply.clone().unwrap_or_else(|| {
                    Reply::reject(
                        decision
                            .reason
                            .clone()
                            .unwrap_or_else(|| "message refused by policy".into()),
                    )
                }));
            }
        }

        headers.add(STATUS_HEADER, &format!("action={}", outcome.action));
        let (ops, after) = headers.finish();
        outcome.header_ops = ops;
        outcome.headers_after = after;

        outcome.record = std::mem::take(&mut outcome.record).with_results(&outcome.results);
        outcome.record.action = outcome.action.as_str().to_owned();
        if outcome.record.reason.is_none() {
            outcome.record.reason =
                outcome
                    .quarantine_reason
                    .clone()
                    .or_else(|| match outcome.action {
                        Action::Tempfail | Action::Reject => {
                            outcome.reply.as_ref().map(|r| r.text.clone())
                        }
                        _ => None,
                    });
        }
        outcome.record.elapsed_ms = started.elapsed().as_millis();
        outcome
    }

    /// Names of the headers in which a detector finds an identifier (medium confidence or
    /// more; e-mail addresses and phone numbers do not count), judged on the decoded value.
    fn sensitive_headers(&self, incoming: &Incoming<'_>, mail: &Mail) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (i, (name, raw)) in incoming.headers.iter().enumerate() {
            let decoded = mail
                .headers
                .get(i)
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .map_or(raw.as_str(), |h| h.value.as_str());
            let hit = [decoded, raw.as_str()].iter().any(|text| {
                self.scanner.findings(text, &[]).iter().any(|f| {
                    f.confidence >= crate::dlp::Confidence::Medium
                        && !matches!(f.detector, "email" | "phone")
                })
            });
            if hit && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                names.push(name.clone());
            }
        }
        names
    }

    fn encrypt(
        &self,
        incoming: &Incoming<'_>,
        mail: &Mail,
        headers: &mut Headers,
        outcome: &mut Outcome,
    ) {
        // Already encrypted, and the detectors saw nothing in the clear: pass it through. A
        // wrapper that only claims to be encrypted but carries readable identifiers is
        // encrypted like any other message.
        if mail.already_encrypted && outcome.decision.findings.is_empty() {
            // Encrypting again would help nobody and break the recipient's client.
            outcome.action = Action::Accept;
            outcome.record.method = Some("already-encrypted".into());
            return;
        }

        let recipients = outcome.recipients_after.clone();
        let recipients = &recipients;
        let mut certs = Vec::with_capacity(recipients.len());
        let mut missing = 0;
        for r in recipients {
            let cert = self.certs.lookup(r);
            outcome.keys.push(RecipientKey {
                recipient: r.clone(),
                fingerprint: cert.map(|c| c.fingerprint().to_hex()),
            });
            match cert {
                Some(c) => certs.push(c),
                None => missing += 1,
            }
        }
        if recipients.is_empty() || missing > 0 {
            let why = format!(
                "encryption required but {missing} of {} recipient(s) have no usable key",
                recipients.len()
            );
            outcome.record.method = Some("none".into());
            match outcome.decision.encrypt.fallback.unwrap_or_default() {
                Fallback::Quarantine => {
                    outcome.action = Action::Quarantine;
                    outcome.quarantine_reason = Some(why);
                }
                // TLS-only routing needs the MTA side configured (a later feature); until
                // then the safe thing is to hold the message.
                Fallback::TlsRequired => {
                    outcome.action = Action::Quarantine;
                    outcome.quarantine_reason =
                        Some(format!("{why}; tls-required routing is not configured"));
                }
                Fallback::Tempfail => {
                    outcome.action = Action::Tempfail;
                    outcome.reply = Some(Reply::tempfail(why));
                }
                Fallback::Reject => {
                    outcome.action = Action::Reject;
                    outcome.reply = Some(Reply::reject(why));
                }
            }
            return;
        }

        let body = incoming
            .message
            .get(incoming.body_offset..)
            .unwrap_or_default();
        // Header protection (RFC 9788 style): when a detector found something in the
        // headers, the protected headers travel inside the encryption and the outer Subject
        // is replaced, so the finding is not delivered in the clear.
        let protect = outcome.decision.findings.iter().any(|f| f.part == "header");
        let sensitive = if protect {
            self.sensitive_headers(incoming, mail)
        } else {
            Vec::new()
        };
        let entity = if protect {
            actions::protected_entity(&incoming.headers, &sensitive, body)
        } else {
            actions::inner_entity(&incoming.headers, body)
        };
        let armored = match actions::openpgp::encrypt(&entity, &certs) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("{}: {e}", outcome.record.queue_id);
                outcome.action = Action::Tempfail;
                outcome.record.method = Some("openpgp".into());
                outcome.reply = Some(Reply::tempfail("encryption failed, try again later"));
                return;
            }
        };

        let boundary = actions::boundary();
        outcome.new_body = Some(actions::pgp_mime_body(&armored, &boundary));
        let content_headers: Vec<String> = incoming
            .headers
            .iter()
            .filter(|(n, _)| {
                actions::is_content_header(n) && !n.eq_ignore_ascii_case("content-type")
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in content_headers {
            headers.remove(&name);
        }
        headers.set("Content-Type", &actions::pgp_mime_content_type(&boundary));
        if protect {
            for name in &sensitive {
                if !name.eq_ignore_ascii_case("subject") {
                    headers.remove(name);
                }
            }
            headers.set("Subject", actions::PROTECTED_SUBJECT);
            outcome.record.tags.push("headers-protected".into());
        }
        if headers.get("MIME-Version").is_empty() {
            headers.add("MIME-Version", "1.0");
        }
        outcome.record.method = Some("openpgp".into());
        outcome.record.keys = outcome
            .keys
            .iter()
            .filter_map(|k| k.fingerprint.clone())
            .collect();
        outcome.record.keys.dedup();
    }
}

/// Applies one envelope edit to the recipient list, recording the milter operation.
fn apply_envelope_edit(
    edit: &EnvelopeEdit,
    recipients: &mut Vec<String>,
    ops: &mut Vec<RecipientOp>,
) {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match edit {
        EnvelopeEdit::AddRecipient(address) => {
            if !recipients.iter().any(|r| same(r, address)) {
                recipients.push(address.clone());
                ops.push(RecipientOp::Add(address.clone()));
            }
        }
        EnvelopeEdit::RemoveRecipient(address) => {
            if let Some(i) = recipients.iter().position(|r| same(r, address)) {
                let removed = recipients.remove(i);
                // An address we added earlier in this chain was never sent: drop that op.
                if let Some(j) = ops
                    .iter()
                    .position(|op| matches!(op, RecipientOp::Add(a) if same(a, address)))
                {
                    ops.remove(j);
                } else {
                    ops.push(RecipientOp::Remove(removed));
                }
            }
        }
    }
}

/// Builds the header block for a message from the MTA's headers (the MTA sends names and
/// values; the parser needs the text).
pub fn header_block(headers: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&actions::crlf(value.as_bytes()));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Splits a message file into headers (name, unfolded-as-received value) and the body offset,
/// the way an MTA would hand them to a milter. Used by `wasmilter test`.
pub fn split_message(raw: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.is_empty() {
            return (headers, end);
        }
        if matches!(trimmed.first(), Some(b' ' | b'\t')) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str("\r\n");
                value.push_str(&String::from_utf8_lossy(trimmed));
            }
        } else if let Some(colon) = trimmed.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&trimmed[..colon]).trim().to_owned();
            let value = String::from_utf8_lossy(&trimmed[colon + 1..]);
            let value = value.strip_prefix(' ').unwrap_or(&value).to_owned();
            headers.push((name, value));
        } else {
            // Not a header line: the body starts here (a message without a blank line).
            return (headers, pos);
        }
        pos = end;
    }
    (headers, raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_message_unfolds_and_finds_the_body() {
        let raw = b"Subject: a\r\n b\r\nFrom: x@y\r\n\r\nbody\r\n";
        let (headers, offset) = split_message(raw);
        assert_eq!(
            headers,
            vec![
                ("Subject".into(), "a\r\n b".into()),
                ("From".into(), "x@y".into())
            ]
        );
        assert_eq!(&raw[offset..], b"body\r\n");
    }

    #[test]
    fn envelope_edits_keep_the_list_and_the_operations_in_step() {
        let mut rcpts = vec!["a@x.test".to_owned()];
        let mut ops = Vec::new();
        for edit in [
            EnvelopeEdit::AddRecipient("journal@x.test".into()),
            EnvelopeEdit::AddRecipient("A@x.test".into()),
            EnvelopeEdit::RemoveRecipient("a@x.test".into()),
            EnvelopeEdit::AddRecipient("tmp@x.test".into()),
            EnvelopeEdit::RemoveRecipient("tmp@x.test".into()),
        ] {
            apply_envelope_edit(&edit, &mut rcpts, &mut ops);
        }
        assert_eq!(rcpts, ["journal@x.test"]);
        assert_eq!(
            ops,
            [
                RecipientOp::Add("journal@x.test".into()),
                RecipientOp::Remove("a@x.test".into())
            ]
        );
    }

    #[test]
    fn header_block_round_trips() {
        let headers = vec![("Subject".to_owned(), "a\n b".to_owned())];
        assert_eq!(header_block(&headers), b"Subject: a\r\n b\r\n\r\n");
    }
}

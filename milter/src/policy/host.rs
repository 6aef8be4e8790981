//! The host side of the `wasmilter:policy` world: what a policy may ask of the host, and the
//! checks on what it answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use super::wasmilter::policy::{detectors, host, mail, types};
use super::{MAX_INSTANCES, MAX_TABLE_ELEMENTS, MAX_TABLES};
use crate::decision::{
    Action, EncryptOptions, EnvelopeEdit, Fallback, Finding, HeaderEdit, Method, Reply, Verdict,
};
use crate::dlp::{Confidence, Scanner};
use crate::mail::Mail;

/// The message resource: the message itself lives in [`HostState`].
#[derive(Debug)]
pub struct MessageHandle;

/// A part resource: an index into the message's parts.
#[derive(Debug)]
pub struct PartHandle(usize);

/// Most matches `match-part` returns for one part.
const MAX_MATCHES: usize = 1000;

/// How many log lines one policy may write per message.
const LOG_BUDGET: u32 = 20;
/// Longest log line accepted from a policy.
const LOG_MAX: usize = 400;

/// What one store (one policy evaluating one message) holds.
pub struct HostState {
    pub(super) table: ResourceTable,
    pub(super) limits: Limits,
    mail: Arc<Mail>,
    scanner: Arc<Scanner>,
    policy: String,
    settings: Arc<BTreeMap<String, String>>,
    log_budget: u32,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HostState {
    pub(super) fn new(
        mail: Arc<Mail>,
        scanner: Arc<Scanner>,
        policy: String,
        settings: Arc<BTreeMap<String, String>>,
        memory_bytes: usize,
    ) -> HostState {
        HostState {
            table: ResourceTable::new(),
            limits: Limits {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory_bytes)
                    .instances(MAX_INSTANCES)
                    .tables(MAX_TABLES)
                    .table_elements(MAX_TABLE_ELEMENTS)
                    .build(),
                denied: false,
                peak: 0,
            },
            mail,
            scanner,
            policy,
            settings,
            log_budget: LOG_BUDGET,
        }
    }

    fn part(&self, handle: &Resource<PartHandle>) -> wasmtime::Result<&crate::mail::Part> {
        let index = self.table.get(handle)?.0;
        self.mail
            .parts
            .get(index)
            .ok_or_else(|| wasmtime::Error::msg("part index out of range"))
    }
}

/// Store limits that remember whether a request was refused, so that the trap that follows
/// (a guest allocator aborting) is reported as a memory overrun.
pub(super) struct Limits {
    inner: StoreLimits,
    denied: bool,
    peak: usize,
}

impl Limits {
    pub(super) fn denied(&self) -> bool {
        self.denied
    }

    /// The largest linear memory granted, in bytes.
    pub(super) fn peak(&self) -> usize {
        self.peak
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        self.denied |= !ok;
        if ok {
            self.peak = self.peak.max(desired);
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.table_growing(current, desired, maximum)?;
        self.denied |= !ok;
        Ok(ok)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl types::Host for HostState {}

impl mail::Host for HostState {}

impl mail::HostMessage for HostState {
    fn envelope(&mut self, _: Resource<MessageHandle>) -> wasmtime::Result<mail::Envelope> {
        let e = &self.mail.envelope;
        Ok(mail::Envelope {
            sender: e.sender.clone(),
            recipients: e.recipients.clone(),
            queue_id: e.queue_id.clone(),
            client_address: e.client_address.clone(),
            client_name: e.client_name.clone(),
            helo: e.helo.clone(),
            tls_version: e.tls_version.clone(),
            auth_user: e.auth_user.clone(),
        })
    }

    fn headers(&mut self, _: Resource<MessageHandle>) -> wasmtime::Result<Vec<types::Header>> {
        Ok(self
            .mail
            .headers
            .iter()
            .map(|h| types::Header {
                name: h.name.clone(),
                value: h.value.clone(),
            })
            .collect())
    }

    fn header(
        &mut self,
        _: Resource<MessageHandle>,
        name: String,
    ) -> wasmtime::Result<Vec<String>> {
        Ok(self.mail.header(&name))
    }

    fn subject(&mut self, _: Resource<MessageHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.mail.subject.clone())
    }

    fn parts(&mut self, _: Resource<MessageHandle>) -> wasmtime::Result<Vec<Resource<PartHandle>>> {
        (0..self.mail.parts.len())
            .map(|i| {
                self.table
                    .push(PartHandle(i))
                    .map_err(wasmtime::Error::from)
            })
            .collect()
    }

    fn size(&mut self, _: Resource<MessageHandle>) -> wasmtime::Result<u64> {
        Ok(self.mail.size)
    }

    fn drop(&mut self, handle: Resource<MessageHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl mail::HostPart for HostState {
    fn id(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<String> {
        Ok(self.part(&h)?.id.clone())
    }

    fn content_type(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<String> {
        Ok(self.part(&h)?.content_type.clone())
    }

    fn charset(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.part(&h)?.charset.clone())
    }

    fn disposition(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.part(&h)?.disposition.clone())
    }

    fn filename(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.part(&h)?.filename.clone())
    }

    fn size(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<u64> {
        Ok(self.part(&h)?.bytes.len() as u64)
    }

    fn is_text(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<bool> {
        Ok(self.part(&h)?.text.is_some())
    }

    fn text(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.part(&h)?.text.as_deref().map(str::to_owned))
    }

    fn bytes(&mut self, h: Resource<PartHandle>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.part(&h)?.bytes.to_vec())
    }

    fn drop(&mut self, handle: Resource<PartHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

fn wit_findings(found: Vec<crate::dlp::Finding>, part: &str) -> Vec<types::Finding> {
    found
        .into_iter()
        .map(|f| types::Finding {
            detector: f.detector.to_owned(),
            confidence: match f.confidence {
                Confidence::Low => types::Confidence::Low,
                Confidence::Medium => types::Confidence::Medium,
                Confidence::High => types::Confidence::High,
            },
            count: f.count,
            part: part.to_owned(),
        })
        .collect()
}

impl detectors::Host for HostState {
    fn available(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(crate::dlp::DETECTORS
            .iter()
            .map(|s| (*s).to_owned())
            .collect())
    }

    fn scan_part(
        &mut self,
        h: Resource<PartHandle>,
        which: Vec<String>,
    ) -> wasmtime::Result<Vec<types::Finding>> {
        let which: Vec<&str> = which.iter().map(String::as_str).collect();
        let part = self.part(&h)?;
        Ok(wit_findings(
            self.scanner.part_findings(part, &which),
            &part.id,
        ))
    }

    fn match_part(
        &mut self,
        h: Resource<PartHandle>,
        which: Vec<String>,
    ) -> wasmtime::Result<Vec<detectors::MaskedMatch>> {
        let which: Vec<&str> = which.iter().map(String::as_str).collect();
        let part = self.part(&h)?;
        Ok(self
            .scanner
            .part_matches(part, &which)
            .into_iter()
            .take(MAX_MATCHES)
            .map(|m| detectors::MaskedMatch {
                detector: m.detector.to_owned(),
                confidence: match m.confidence {
                    Confidence::Low => types::Confidence::Low,
                    Confidence::Medium => types::Confidence::Medium,
                    Confidence::High => types::Confidence::High,
                },
                masked: m.masked(),
            })
            .collect())
    }

    fn scan_headers(
        &mut self,
        _: Resource<MessageHandle>,
        which: Vec<String>,
    ) -> wasmtime::Result<Vec<types::Finding>> {
        let which: Vec<&str> = which.iter().map(String::as_str).collect();
        Ok(wit_findings(
            self.scanner.findings(&self.mail.header_text, &which),
            "header",
        ))
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: host::Level, text: String) -> wasmtime::Result<()> {
        if self.log_budget == 0 {
            return Ok(());
        }
        self.log_budget -= 1;
        let mut text: String = text
            .chars()
            .filter(|c| !c.is_control())
            .take(LOG_MAX)
            .collect();
        if self.log_budget == 0 {
            text.push_str(" (further lines from this policy suppressed for this message)");
        }
        let queue_id = self.mail.envelope.queue_id.as_deref().unwrap_or("-");
        let policy = &self.policy;
        match level {
            host::Level::Debug => tracing::debug!("{queue_id}: policy {policy}: {text}"),
            host::Level::Info => tracing::info!("{queue_id}: policy {policy}: {text}"),
            host::Level::Warn => tracing::warn!("{queue_id}: policy {policy}: {text}"),
            host::Level::Error => tracing::error!("{queue_id}: policy {policy}: {text}"),
        }
        Ok(())
    }

    fn setting(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.settings.get(&key).cloned())
    }
}

/// Longest header value a policy may set.
const MAX_HEADER_VALUE: usize = 998;
/// Most header edits one verdict may carry.
const MAX_EDITS: usize = 100;

/// Checks a policy's verdict against the contract and turns it into the host's type.
pub(super) fn convert_verdict(v: types::Verdict) -> Result<Verdict, String> {
    let action = match v.action {
        types::Action::Accept => Action::Accept,
        types::Action::Encrypt => Action::Encrypt,
        types::Action::Quarantine => Action::Quarantine,
        types::Action::Discard => Action::Discard,
        types::Action::Tempfail => Action::Tempfail,
        types::Action::Reject => Action::Reject,
    };
    if v.header_edits.len() > MAX_EDITS {
        return Err(format!(
            "{} header edits (at most {MAX_EDITS})",
            v.header_edits.len()
        ));
    }

    let reason = v.reason.map(|r| clean_text(&r)).transpose()?;
    let reply = match v.reply {
        Some(r) => {
            if !(500..=599).contains(&r.code) {
                return Err(format!("reject code {} is not 5xx", r.code));
            }
            let parts: Vec<&str> = r.enhanced.split('.').collect();
            let valid = parts.len() == 3
                && parts[0] == "5"
                && parts[1..].iter().all(|p| {
                    !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit())
                });
            if !valid {
                return Err(format!(
                    "enhanced status code {:?} is not 5.x.y",
                    r.enhanced
                ));
            }
            Some(Reply {
                code: r.code,
                enhanced: r.enhanced,
                text: clean_text(&r.text)?,
            })
        }
        None => None,
    };

    let mut header_edits = Vec::with_capacity(v.header_edits.len());
    for edit in v.header_edits {
        header_edits.push(match edit {
            types::HeaderEdit::Add(h) => {
                HeaderEdit::Add(header_name(&h.name)?, header_value(&h.value)?)
            }
            types::HeaderEdit::Set(h) => {
                HeaderEdit::Set(header_name(&h.name)?, header_value(&h.value)?)
            }
            types::HeaderEdit::Remove(name) => HeaderEdit::Remove(header_name(&name)?),
            types::HeaderEdit::PrefixSubject(prefix) => {
                HeaderEdit::PrefixSubject(header_value(&prefix)?)
            }
        });
    }

    if v.envelope_edits.len() > MAX_EDITS {
        return Err(format!(
            "{} envelope edits (at most {MAX_EDITS})",
            v.envelope_edits.len()
        ));
    }
    let envelope_edits = v
        .envelope_edits
        .into_iter()
        .map(|e| match e {
            types::EnvelopeEdit::AddRecipient(a) => address(&a).map(EnvelopeEdit::AddRecipient),
            types::EnvelopeEdit::RemoveRecipient(a) => {
                address(&a).map(EnvelopeEdit::RemoveRecipient)
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    let encrypt = v.encrypt.map(|o| EncryptOptions {
        prefer: o.prefer.map(|m| match m {
            types::EncryptionMethod::Openpgp => Method::OpenPgp,
            types::EncryptionMethod::Smime => Method::Smime,
        }),
        fallback: o.fallback.map(|f| match f {
            types::EncryptFallback::Quarantine => Fallback::Quarantine,
            types::EncryptFallback::Reject => Fallback::Reject,
            types::EncryptFallback::Tempfail => Fallback::Tempfail,
            types::EncryptFallback::TlsRequired => Fallback::TlsRequired,
        }),
    });

    let findings = v
        .findings
        .into_iter()
        .map(|f| {
            Ok(Finding {
                detector: label(&f.detector)?,
                confidence: match f.confidence {
                    types::Confidence::Low => "low",
                    types::Confidence::Medium => "medium",
                    types::Confidence::High => "high",
                },
                count: f.count,
                part: label(&f.part)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let tags = v
        .tags
        .iter()
        .map(|t| label(t))
        .collect::<Result<Vec<_>, String>>()?;

    Ok(Verdict {
        action,
        encrypt,
        reason,
        reply,
        header_edits,
        envelope_edits,
        findings,
        tags,
        is_final: v.final_,
    })
}

/// Header names: printable ASCII without colon or space, as RFC 5322 says.
fn header_name(name: &str) -> Result<String, String> {
    if name.is_empty()
        || name.len() > 76
        || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
    {
        return Err(format!("invalid header name {name:?}"));
    }
    Ok(name.to_owned())
}

/// Header values: one line, no NUL, bounded.
fn header_value(value: &str) -> Result<String, String> {
    if value.len() > MAX_HEADER_VALUE || value.chars().any(|c| c == '\0' || c == '\r' || c == '\n')
    {
        return Err(format!(
            "invalid header value ({} bytes, or with CR, LF or NUL)",
            value.len()
        ));
    }
    Ok(value.to_owned())
}

/// Envelope addresses: one `local@domain` without spaces, angle brackets, separators or
/// control characters, at most 254 bytes.
fn address(a: &str) -> Result<String, String> {
    let a = a.trim();
    let ok = !a.is_empty()
        && a.len() <= 254
        && a.contains('@')
        && !a.starts_with('@')
        && !a.ends_with('@')
        && !a
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"\\".contains(c));
    if !ok {
        return Err(format!("invalid envelope address {a:?}"));
    }
    Ok(a.to_owned())
}

/// Reasons and reply texts: one line, bounded.
fn clean_text(text: &str) -> Result<String, String> {
    if text.len() > 400 || text.chars().any(char::is_control) {
        return Err("reason or reply text is over 400 bytes or has control characters".into());
    }
    Ok(text.to_owned())
}

/// Detector names, part ids and tags: short tokens that are safe in metrics and audit lines.
fn label(s: &str) -> Result<String, String> {
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(format!(
            "invalid label {s:?}: use 1-64 letters, digits, '-', '_', '.', ':'"
        ));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> types::Verdict {
        types::Verdict {
            action: types::Action::Reject,
            encrypt: None,
            envelope_edits: vec![types::EnvelopeEdit::AddRecipient(
                "journal@example.test".into(),
            )],
            reason: None,
            reply: Some(types::Reply {
                code: 550,
                enhanced: "5.7.1".into(),
                text: "no".into(),
            }),
            header_edits: vec![types::HeaderEdit::Add(types::Header {
                name: "X-A".into(),
                value: "1".into(),
            })],
            findings: Vec::new(),
            tags: vec!["t".into()],
            final_: true,
        }
    }

    #[test]
    fn good_verdict_converts() {
        let v = convert_verdict(verdict()).expect("valid");
        assert_eq!(v.action, Action::Reject);
        assert!(v.is_final);
    }

    #[test]
    fn bad_verdicts_are_refused() {
        let mut v = verdict();
        v.reply = Some(types::Reply {
            code: 250,
            enhanced: "5.7.1".into(),
            text: "x".into(),
        });
        assert!(convert_verdict(v).is_err());

        let mut v = verdict();
        v.header_edits = vec![types::HeaderEdit::Add(types::Header {
            name: "Bad Name".into(),
            value: "1".into(),
        })];
        assert!(convert_verdict(v).is_err());

        let mut v = verdict();
        v.header_edits = vec![types::HeaderEdit::Add(types::Header {
            name: "X-A".into(),
            value: "a\r\nBcc: x@y".into(),
        })];
        assert!(convert_verdict(v).is_err(), "header injection");

        let mut v = verdict();
        v.tags = vec!["has space".into()];
        assert!(convert_verdict(v).is_err());

        for bad in ["", "nobody", "a@b>\r\nRCPT TO:<x@y", "a b@c", "@x"] {
            let mut v = verdict();
            v.envelope_edits = vec![types::EnvelopeEdit::AddRecipient(bad.into())];
            assert!(convert_verdict(v).is_err(), "{bad:?}");
        }
    }
}

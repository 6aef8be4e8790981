//! Building a [`Verdict`].
//!
//! Start from the action, then add what goes with it:
//!
//! ```
//! use wasmilter_policy_sdk::Verdict;
//!
//! let verdict = Verdict::quarantine("subject matched")
//!     .with_tag("review")
//!     .add_header("X-Reviewed-By", "wasmilter");
//! ```
//!
//! [`Action`] orders by strictness (accept < encrypt < quarantine < discard < tempfail <
//! reject), the order in which a chain of policies resolves: `a.max(b)` is the stricter one.

use crate::{
    Action, EncryptFallback, EncryptOptions, EncryptionMethod, EnvelopeEdit, Finding, Header,
    HeaderEdit, Reply, Verdict,
};

impl Verdict {
    /// A verdict with `action` and nothing else.
    pub fn new(action: Action) -> Self {
        Verdict {
            action,
            encrypt: None,
            reason: None,
            reply: None,
            header_edits: Vec::new(),
            envelope_edits: Vec::new(),
            findings: Vec::new(),
            tags: Vec::new(),
            final_: false,
        }
    }

    /// Deliver the message as it is (after header edits).
    pub fn accept() -> Self {
        Self::new(Action::Accept)
    }

    /// Deliver the message only encrypted to every recipient.
    pub fn encrypt() -> Self {
        Self::new(Action::Encrypt)
    }

    /// Hold the message for review, for `reason`. The reason is audited: no matched values.
    pub fn quarantine(reason: impl Into<String>) -> Self {
        Self::new(Action::Quarantine).with_reason(reason)
    }

    /// Accept the message and deliver it to nobody, for `reason`.
    pub fn discard(reason: impl Into<String>) -> Self {
        Self::new(Action::Discard).with_reason(reason)
    }

    /// Ask the sending MTA to try again later; `reason` is the text of the 4xx reply.
    pub fn tempfail(reason: impl Into<String>) -> Self {
        Self::new(Action::Tempfail).with_reason(reason)
    }

    /// Refuse the message with the SMTP reply `code` (a 5xx), the enhanced status code
    /// `enhanced` (for example `5.7.1`) and `text`, which the sender sees.
    pub fn reject(code: u16, enhanced: impl Into<String>, text: impl Into<String>) -> Self {
        let mut verdict = Self::new(Action::Reject);
        verdict.reply = Some(Reply {
            code,
            enhanced: enhanced.into(),
            text: text.into(),
        });
        verdict
    }

    /// Sets why: the quarantine reason, the tempfail text. Audited: no matched values.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds a finding for the audit line and the metrics.
    pub fn with_finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }

    /// Adds findings for the audit line and the metrics.
    pub fn with_findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(findings);
        self
    }

    /// Adds a free-form label to the audit line.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds the header `name: value` after the existing ones.
    pub fn add_header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.edit(HeaderEdit::Add(header(name, value)))
    }

    /// Replaces every header `name` by one with `value`, adding it if absent.
    pub fn set_header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.edit(HeaderEdit::Set(header(name, value)))
    }

    /// Removes every header `name`.
    pub fn remove_header(self, name: impl Into<String>) -> Self {
        self.edit(HeaderEdit::Remove(name.into()))
    }

    /// Puts `prefix` in front of the Subject.
    pub fn prefix_subject(self, prefix: impl Into<String>) -> Self {
        self.edit(HeaderEdit::PrefixSubject(prefix.into()))
    }

    /// Adds a header edit. Edits apply in order, after those of earlier policies in the chain.
    pub fn edit(mut self, edit: HeaderEdit) -> Self {
        self.header_edits.push(edit);
        self
    }

    /// For `encrypt`: the method to try first.
    pub fn prefer(mut self, method: EncryptionMethod) -> Self {
        self.encrypt
            .get_or_insert(EncryptOptions {
                prefer: None,
                fallback: None,
            })
            .prefer = Some(method);
        self
    }

    /// For `encrypt`: what to do when not every recipient can be encrypted to (the host holds
    /// the message when this is not set). Never plaintext.
    pub fn fallback(mut self, fallback: EncryptFallback) -> Self {
        self.encrypt
            .get_or_insert(EncryptOptions {
                prefer: None,
                fallback: None,
            })
            .fallback = Some(fallback);
        self
    }

    /// Adds an envelope recipient (for example a journaling mailbox).
    pub fn add_recipient(mut self, address: impl Into<String>) -> Self {
        self.envelope_edits
            .push(EnvelopeEdit::AddRecipient(address.into()));
        self
    }

    /// Removes an envelope recipient.
    pub fn remove_recipient(mut self, address: impl Into<String>) -> Self {
        self.envelope_edits
            .push(EnvelopeEdit::RemoveRecipient(address.into()));
        self
    }

    /// Stops the chain: no later policy runs for this message.
    pub fn stop_chain(mut self) -> Self {
        self.final_ = true;
        self
    }
}

fn header(name: impl Into<String>, value: impl Into<String>) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Action, Confidence, Finding, HeaderEdit, Verdict};

    #[test]
    fn accept_starts_empty() {
        let verdict = Verdict::accept();

        assert_eq!(verdict.action, Action::Accept);
        assert!(verdict.reason.is_none() && verdict.reply.is_none());
        assert!(verdict.header_edits.is_empty() && verdict.findings.is_empty());
        assert!(verdict.tags.is_empty());
        assert!(!verdict.final_);
    }

    #[test]
    fn reject_carries_its_reply() {
        let verdict = Verdict::reject(550, "5.7.1", "policy says no");

        assert_eq!(verdict.action, Action::Reject);
        let reply = verdict
            .reply
            .as_ref()
            .map(|r| (r.code, &*r.enhanced, &*r.text));
        assert_eq!(reply, Some((550, "5.7.1", "policy says no")));
    }

    #[test]
    fn quarantine_and_tempfail_carry_their_reason() {
        let quarantine = Verdict::quarantine("subject matched");
        let tempfail = Verdict::tempfail("try later");

        assert_eq!(quarantine.action, Action::Quarantine);
        assert_eq!(quarantine.reason.as_deref(), Some("subject matched"));
        assert_eq!(tempfail.action, Action::Tempfail);
        assert_eq!(tempfail.reason.as_deref(), Some("try later"));
    }

    #[test]
    fn header_edits_keep_their_order() {
        let verdict = Verdict::accept()
            .add_header("X-A", "1")
            .set_header("X-B", "2")
            .remove_header("X-C")
            .prefix_subject("[secure] ");

        let edits: Vec<String> = verdict.header_edits.iter().map(describe).collect();
        assert_eq!(
            edits,
            ["add X-A: 1", "set X-B: 2", "remove X-C", "prefix [secure] "]
        );
    }

    #[test]
    fn findings_tags_and_stop_chain_are_recorded() {
        let finding = Finding {
            detector: "ssn".into(),
            confidence: Confidence::High,
            count: 2,
            part: "1".into(),
        };

        let verdict = Verdict::encrypt()
            .with_finding(finding.clone())
            .with_findings([finding])
            .with_tag("secure-subject")
            .stop_chain();

        assert_eq!(verdict.action, Action::Encrypt);
        assert_eq!(verdict.findings.len(), 2);
        assert_eq!(verdict.tags, ["secure-subject"]);
        assert!(verdict.final_);
    }

    #[test]
    fn actions_order_by_strictness() {
        let order = [
            Action::Accept,
            Action::Encrypt,
            Action::Quarantine,
            Action::Discard,
            Action::Tempfail,
            Action::Reject,
        ];

        assert!(order.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(Action::Encrypt.max(Action::Quarantine), Action::Quarantine);
    }

    fn describe(edit: &HeaderEdit) -> String {
        match edit {
            HeaderEdit::Add(h) => format!("add {}: {}", h.name, h.value),
            HeaderEdit::Set(h) => format!("set {}: {}", h.name, h.value),
            HeaderEdit::Remove(name) => format!("remove {name}"),
            HeaderEdit::PrefixSubject(prefix) => format!("prefix {prefix}"),
        }
    }
}

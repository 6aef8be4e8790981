//! Test fixture: adds the setting `mailbox` as an envelope recipient and removes the setting
//! `drop` (when given), then returns the setting `action` (`accept` or `encrypt`, default
//! `accept`). Lets the host's tests check envelope edits, and that encryption covers an added
//! recipient.

use wasmilter_policy_sdk::{Message, Policy, Verdict, settings};

struct Journal;

impl Policy for Journal {
    fn evaluate(_message: &Message) -> Verdict {
        let mut verdict = match settings::get("action").as_deref() {
            Some("encrypt") => Verdict::encrypt(),
            _ => Verdict::accept(),
        };
        if let Some(mailbox) = settings::get("mailbox") {
            verdict = verdict.add_recipient(mailbox);
        }
        if let Some(address) = settings::get("drop") {
            verdict = verdict.remove_recipient(address);
        }
        verdict.with_tag("journaled")
    }
}

wasmilter_policy_sdk::export_policy!(Journal);

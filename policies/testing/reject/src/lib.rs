//! Test fixture: rejects every message with `550 5.7.1 policy says no`.

use wasmilter_policy_sdk::{Message, Policy, Verdict};

struct Reject;

impl Policy for Reject {
    fn evaluate(_message: &Message) -> Verdict {
        Verdict::reject(550, "5.7.1", "policy says no")
    }
}

wasmilter_policy_sdk::export_policy!(Reject);

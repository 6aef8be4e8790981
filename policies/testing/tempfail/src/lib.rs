//! Test fixture: tempfails every message, with the reason `policy asks to try again later`.

use wasmilter_policy_sdk::{Message, Policy, Verdict};

struct Tempfail;

impl Policy for Tempfail {
    fn evaluate(_message: &Message) -> Verdict {
        Verdict::tempfail("policy asks to try again later")
    }
}

wasmilter_policy_sdk::export_policy!(Tempfail);

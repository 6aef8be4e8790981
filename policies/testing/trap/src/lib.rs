//! Test fixture: panics inside `evaluate`. Policies are built with `panic = "abort"`, so the
//! panic ends the call with a wasm trap, as a bug in a real policy would.

use wasmilter_policy_sdk::{Message, Policy, Verdict};

struct Trap;

impl Policy for Trap {
    fn evaluate(_message: &Message) -> Verdict {
        panic!("the trap fixture panics on purpose")
    }
}

wasmilter_policy_sdk::export_policy!(Trap);

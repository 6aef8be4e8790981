//! Write [wasmilter] policies in Rust.
//!
//! A policy is a WebAssembly component that the wasmilter host calls once per message, in a
//! fresh instance, with a read-only view of the message. It answers with a [`Verdict`]: accept,
//! encrypt, quarantine, discard, tempfail or reject, plus header edits, findings and tags. The
//! contract is the `wasmilter:policy@1.0.0` WIT world shipped in this crate's `wit/` folder; this
//! crate wraps the bindings `wit-bindgen` generates for it in a smaller API.
//!
//! A policy touches the world only through the host: the message ([`Message`], [`Part`]), the
//! host's native detectors ([`Part::scan`], [`Message::scan_headers`]), its settings
//! ([`settings`]) and the daemon's log ([`log`]). It has no files, network or clock.
//!
//! # Example
//!
//! Encrypt every message in which the host's detectors find a US social security number:
//!
//! ```
//! use wasmilter_policy_sdk::{Message, Policy, Verdict};
//!
//! struct EncryptSsn;
//!
//! impl Policy for EncryptSsn {
//!     fn evaluate(message: &Message) -> Verdict {
//!         let mut findings = Vec::new();
//!         for part in message.text_parts() {
//!             findings.extend(part.scan(&["ssn"]));
//!         }
//!
//!         if findings.is_empty() {
//!             Verdict::accept()
//!         } else {
//!             Verdict::encrypt().with_findings(findings)
//!         }
//!     }
//! }
//!
//! wasmilter_policy_sdk::export_policy!(EncryptSsn);
//! ```
//!
//! Build it as a `cdylib` for `wasm32-unknown-unknown` and turn the module into a component;
//! `policy-sdk/README.md` in the wasmilter repository has the commands and a template crate.
//!
//! # What the host guarantees
//!
//! - Every call of [`Policy::evaluate`] runs in a new instance: statics start fresh for every
//!   message, and nothing a policy keeps survives to the next one.
//! - A panic ends the call with a trap. The host treats it as a failed policy, and a failed
//!   policy never lets a message through unchecked (the MTA is told to retry).
//! - The host bounds each call in time and memory.
//!
//! # Privacy
//!
//! Findings carry counts, never matched text. Keep it that way in what the policy writes:
//! reasons, tags, header values and log lines must not contain values from the message body.
//!
//! [wasmilter]: https://example.invalid/wasmilter

#![deny(missing_docs)]

// Lets the generated code and the export macro name this crate by one path, both from inside
// the crate and from the policies that use it.
extern crate self as wasmilter_policy_sdk;

mod message;
mod verdict;

pub mod log;
pub mod settings;

/// The raw bindings `wit-bindgen` generates for the `policy` world.
///
/// Not part of the stable API: use the re-exports at the crate root instead.
#[doc(hidden)]
#[allow(
    unsafe_code,
    reason = "the generated canonical ABI glue is unsafe by nature"
)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "policy",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_policy_world",
        default_bindings_module: "::wasmilter_policy_sdk::bindings",
        runtime_path: "::wasmilter_policy_sdk::__wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use bindings::wasmilter::policy::detectors::MaskedMatch;
pub use bindings::wasmilter::policy::host::Level;
pub use bindings::wasmilter::policy::mail::{Envelope, Message, Part};
pub use bindings::wasmilter::policy::types::{
    Action, Confidence, EncryptFallback, EncryptOptions, EncryptionMethod, EnvelopeEdit, Finding,
    Header, HeaderEdit, Reply, Verdict,
};

/// The names of the detectors the host offers, for example `ssn` and `card`.
pub fn available_detectors() -> Vec<String> {
    bindings::wasmilter::policy::detectors::available()
}

/// A mail policy: decides what happens to one message.
///
/// Implement it on a unit struct and export that struct with [`export_policy!`].
pub trait Policy {
    /// Decides what happens to `message`.
    ///
    /// Called once per message, in a fresh instance of the component.
    fn evaluate(message: &Message) -> Verdict;
}

/// Exports a type that implements [`Policy`] as the component's `evaluate` function.
///
/// Use it once, at the top level of the policy crate:
///
/// ```
/// # use wasmilter_policy_sdk::{Message, Policy, Verdict};
/// struct AcceptAll;
///
/// impl Policy for AcceptAll {
///     fn evaluate(_message: &Message) -> Verdict {
///         Verdict::accept()
///     }
/// }
///
/// wasmilter_policy_sdk::export_policy!(AcceptAll);
/// ```
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        const _: () = {
            struct ExportedPolicy;

            impl $crate::bindings::Guest for ExportedPolicy {
                fn evaluate(message: &$crate::Message) -> $crate::Verdict {
                    <$policy as $crate::Policy>::evaluate(message)
                }
            }

            $crate::bindings::__export_policy_world!(
                ExportedPolicy with_types_in $crate::bindings
            );
        };
    };
}

//! wasmilter: a milter that runs every message through a chain of sandboxed WebAssembly policy
//! components, finds protected health information with native detectors, and carries the
//! decision out inline: deliver, encrypt (OpenPGP PGP/MIME), quarantine, reject or tempfail.
//!
//! The message path, one module per step:
//! [`session`] (milter protocol, spooling) → [`mail`] (MIME parsed once) → [`policy`] (the
//! wasm chain, with [`dlp`] detectors as host imports) → [`decision`] (verdicts combined) →
//! [`pipeline`] (the plan for the message) → [`actions`] (header edits, encryption) →
//! [`audit`] and [`metrics`].
//!
//! Logging policy: `error` means the MTA cannot be served properly (it gets a tempfail);
//! `warn` a bad config, a misbehaving policy or an unreachable log target; `info` startup,
//! reload and shutdown; the audit line (one per message, starting with the queue id) goes to
//! the audit target, not the operational log; `debug` stages; `trace` the protocol. No log
//! line, metric label or header ever carries a matched value or body text.

pub mod actions;
pub mod audit;
pub mod config;
pub mod daemon;
pub mod decision;
pub mod dlp;
pub mod mail;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod session;
pub mod testing;

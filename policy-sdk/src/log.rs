//! Lines in the daemon's log.
//!
//! The host tags every line with the policy's name and the message's queue id, and limits how
//! many lines a policy may write. Log what the policy decided and why, never what the message
//! says: no matched values, addresses or body text.

use crate::Level;
use crate::bindings::wasmilter::policy::host;

/// Writes `text` to the daemon's log at `level`.
pub fn write(level: Level, text: &str) {
    host::log(level, text);
}

/// Writes a debug line: detail for whoever develops the policy.
pub fn debug(text: &str) {
    write(Level::Debug, text);
}

/// Writes an info line.
pub fn info(text: &str) {
    write(Level::Info, text);
}

/// Writes a warning: something the postmaster should look at, such as a bad setting.
pub fn warn(text: &str) {
    write(Level::Warn, text);
}

/// Writes an error line.
pub fn error(text: &str) {
    write(Level::Error, text);
}

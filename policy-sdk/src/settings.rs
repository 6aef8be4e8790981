//! The policy's settings: the `[policy.settings]` table of the host's config.
//!
//! Values are strings; the helpers here cover the common shapes. A setting that is absent is
//! `None`, so a policy can fall back to its documented default.

use crate::bindings::wasmilter::policy::host;

/// The value of the setting `key`, when the config sets it.
pub fn get(key: &str) -> Option<String> {
    host::setting(key)
}

/// The value of the setting `key`, or `default` when the config does not set it.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_string())
}

/// The setting `key` read as a comma-separated list, items trimmed and empty items dropped;
/// `None` when the config does not set it.
///
/// `"ssn, card,"` gives `["ssn", "card"]`.
pub fn list(key: &str) -> Option<Vec<String>> {
    get(key).map(|value| split_list(&value))
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_list;

    #[test]
    fn list_items_are_trimmed_and_empty_ones_dropped() {
        assert_eq!(split_list(" ssn, card,, "), ["ssn", "card"]);
    }

    #[test]
    fn blank_list_is_empty() {
        assert!(split_list(" , ").is_empty());
    }
}

//! Helpers on the message and its parts: text parts, headers and the host's detectors.

use crate::bindings::wasmilter::policy::detectors;
use crate::{Finding, MaskedMatch, Message, Part};

impl Message {
    /// The leaf parts the host offers as text (plain text, and HTML reduced to text), in
    /// message order. Attachments that are not text are left out.
    pub fn text_parts(&self) -> impl Iterator<Item = Part> {
        self.parts().into_iter().filter(Part::is_text)
    }

    /// The first value of the header `name` (case-insensitive), when present.
    pub fn first_header(&self, name: &str) -> Option<String> {
        self.header(name).into_iter().next()
    }

    /// Runs the named host detectors over the message's decoded headers (Subject and the other
    /// human-readable headers). An empty list runs every detector; unknown names are ignored.
    pub fn scan_headers(&self, detectors: &[&str]) -> Vec<Finding> {
        detectors::scan_headers(self, &owned(detectors))
    }
}

impl Part {
    /// Runs the named host detectors over the text of this part. An empty list runs every
    /// detector; unknown names are ignored. A part that is not text has no findings.
    pub fn scan(&self, detectors: &[&str]) -> Vec<Finding> {
        detectors::scan_part(self, &owned(detectors))
    }

    /// The individual matches of the named detectors in this part, each value masked to its
    /// last four characters.
    pub fn matches(&self, detectors: &[&str]) -> Vec<MaskedMatch> {
        detectors::match_part(self, &owned(detectors))
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

//! Carrying a decision out: header edits as milter operations, and the encrypted body.
//!
//! Nothing here talks to the MTA: it computes what to ask for. The session then sends the
//! operations, so the same plan serves the daemon and `wasmilter test`.

pub mod openpgp;

use crate::decision::HeaderEdit;

/// One header operation, in milter terms. `index` counts headers of that name, from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Append a header.
    Add {
        /// Name.
        name: String,
        /// Value.
        value: String,
    },
    /// Replace (Some) or delete (None) the `index`-th header of that name.
    Change {
        /// Name.
        name: String,
        /// 1-based index among headers of that name.
        index: i32,
        /// New value, or None to delete.
        value: Option<String>,
    },
}

/// The headers as they will be after the operations so far, to compute indexes.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    list: Vec<(String, String)>,
    ops: Vec<HeaderOp>,
}

impl Headers {
    /// Starts from the headers the MTA sent.
    pub fn new(list: Vec<(String, String)>) -> Headers {
        Headers {
            list,
            ops: Vec::new(),
        }
    }

    /// The operations so far.
    pub fn ops(&self) -> &[HeaderOp] {
        &self.ops
    }

    /// Consumes the model, giving the operations and the resulting header list.
    pub fn finish(self) -> (Vec<HeaderOp>, Vec<(String, String)>) {
        (self.ops, self.list)
    }

    /// The values of every header of that name.
    pub fn get(&self, name: &str) -> Vec<&str> {
        self.list
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Applies a policy's edit.
    pub fn apply(&mut self, edit: &HeaderEdit) {
        match edit {
            HeaderEdit::Add(name, value) => self.add(name, value),
            HeaderEdit::Set(name, value) => self.set(name, value),
            HeaderEdit::Remove(name) => self.remove(name),
            HeaderEdit::PrefixSubject(prefix) => {
                let current = self.get("Subject").first().map(|s| s.to_string());
                match current {
                    Some(subject) if subject.trim_start().starts_with(prefix.trim()) => {}
                    Some(subject) => {
                        self.set("Subject", &format!("{prefix}{}", subject.trim_start()))
                    }
                    None => self.add("Subject", prefix.trim()),
                }
            }
        }
    }

    /// Appends a header.
    pub fn add(&mut self, name: &str, value: &str) {
        self.list.push((name.to_owned(), value.to_owned()));
        self.ops.push(HeaderOp::Add {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }

    /// Replaces every header of that name by one, in the place of the first.
    pub fn set(&mut self, name: &str, value: &str) {
        let count = self.get(name).len();
        if count == 0 {
            self.add(name, value);
            return;
        }
        // Delete the extra ones from the last, so indexes stay right, then change the first.
        for index in (2..=count).rev() {
            self.delete_nth(name, index);
        }
        if let Some(slot) = self
            .list
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            slot.1 = value.to_owned();
        }
        self.ops.push(HeaderOp::Change {
            name: name.to_owned(),
            index: 1,
            value: Some(value.to_owned()),
        });
    }

    /// Removes every header of that name.
    pub fn remove(&mut self, name: &str) {
        let count = self.get(name).len();
        for index in (1..=count).rev() {
            self.delete_nth(name, index);
        }
    }

    fn delete_nth(&mut self, name: &str, index: usize) {
        let position = self
            .list
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| n.eq_ignore_ascii_case(name))
            .nth(index - 1)
            .map(|(i, _)| i);
        if let Some(i) = position {
            let (real_name, _) = self.list.remove(i);
            self.ops.push(HeaderOp::Change {
                name: real_name,
                index: index as i32,
                value: None,
            });
        }
    }
}

/// Whether a header belongs to the MIME entity (and so moves inside the encryption).
pub fn is_content_header(name: &str) -> bool {
    name.len() > 8 && name[..8].eq_ignore_ascii_case("content-")
}

/// The original MIME entity: its Content-* headers, a blank line and the body, with CRLF line
/// endings in the headers (the body comes from the MTA with CRLF already).
pub fn inner_entity(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 512);
    for (name, value) in headers.iter().filter(|(n, _)| is_content_header(n)) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&crlf(value.as_bytes()));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The outer Subject of a message whose headers are protected.
pub const PROTECTED_SUBJECT: &str = "[...]";

/// Headers copied inside the encryption when headers are protected.
const PROTECTED: [&str; 11] = [
    "Subject",
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Keywords",
    "Comments",
];

/// The original MIME entity with the protected headers inside it, marked `hp="cipher"` on its
/// Content-Type (RFC 9788), so a reader shows the real Subject after decryption.
/// `sensitive` names further headers that move inside (and are removed outside).
pub fn protected_entity(
    headers: &[(String, String)],
    sensitive: &[String],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1024);
    let mut push = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&crlf(value.as_bytes()));
        out.extend_from_slice(b"\r\n");
    };
    let mut has_type = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-type") {
            has_type = true;
            push(
                name,
                &format!("{}; hp=\"cipher\"", value.trim_end().trim_end_matches(';')),
            );
        } else if is_content_header(name)
            || PROTECTED.iter().any(|p| p.eq_ignore_ascii_case(name))
            || sensitive.iter().any(|s| s.eq_ignore_ascii_case(name))
        {
            push(name, value);
        }
    }
    if !has_type {
        push(
            "Content-Type",
            "text/plain; charset=us-ascii; hp=\"cipher\"",
        );
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Normalises bare LF (and bare CR) to CRLF.
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A fresh MIME boundary that cannot occur in base64 or armored data.
pub fn boundary() -> String {
    format!("=_wasmilter_{:032x}", rand::random::<u128>())
}

/// The RFC 3156 body around an armored OpenPGP message.
pub fn pgp_mime_body(armored: &[u8], boundary: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(armored.len() + 600);
    out.extend_from_slice(b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n");
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(b"Content-Type: application/pgp-encrypted\r\n");
    out.extend_from_slice(b"Content-Description: PGP/MIME version identification\r\n\r\n");
    out.extend_from_slice(b"Version: 1\r\n\r\n");
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(b"Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n");
    out.extend_from_slice(b"Content-Description: OpenPGP encrypted message\r\n");
    out.extend_from_slice(b"Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n");
    out.extend_from_slice(&crlf(armored));
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// The Content-Type of a PGP/MIME message.
pub fn pgp_mime_content_type(boundary: &str) -> String {
    format!("multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{boundary}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(list: &[(&str, &str)]) -> Headers {
        Headers::new(
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn set_replaces_first_and_deletes_the_rest() {
        let mut h = model(&[("Subject", "a"), ("X-T", "1"), ("x-t", "2"), ("X-T", "3")]);
        h.set("X-T", "new");
        assert_eq!(
            h.ops(),
            &[
                HeaderOp::Change {
                    name: "X-T".into(),
                    index: 3,
                    value: None
                },
                HeaderOp::Change {
                    name: "x-t".into(),
                    index: 2,
                    value: None
                },
                HeaderOp::Change {
                    name: "X-T".into(),
                    index: 1,
                    value: Some("new".into())
                },
            ]
        );
        assert_eq!(h.get("x-t"), ["new"]);
    }

    #[test]
    fn set_of_the_first_header_changes_it_in_place() {
        // Pitfall: the target header is the first line of the message.
        let mut h = model(&[("Subject", "hello"), ("From", "a@b")]);
        h.apply(&HeaderEdit::PrefixSubject("[SECURE] ".into()));
        assert_eq!(
            h.ops(),
            &[HeaderOp::Change {
                name: "Subject".into(),
                index: 1,
                value: Some("[SECURE] hello".into())
            }]
        );
        // Applying the prefix twice does not stack it.
        h.apply(&HeaderEdit::PrefixSubject("[SECURE] ".into()));
        assert_eq!(h.ops().len(), 1);
    }

    #[test]
    fn remove_deletes_from_the_last() {
        let mut h = model(&[("X-W", "1"), ("X-W", "2")]);
        h.remove("x-w");
        assert_eq!(
            h.ops(),
            &[
                HeaderOp::Change {
                    name: "X-W".into(),
                    index: 2,
                    value: None
                },
                HeaderOp::Change {
                    name: "X-W".into(),
                    index: 1,
                    value: None
                },
            ]
        );
        assert!(h.get("X-W").is_empty());
    }

    #[test]
    fn inner_entity_keeps_content_headers_and_body() {
        let headers = vec![
            ("Subject".to_owned(), "s".to_owned()),
            (
                "Content-Type".to_owned(),
                "text/plain;\n\tcharset=utf-8".to_owned(),
            ),
            ("Content-Transfer-Encoding".to_owned(), "8bit".to_owned()),
        ];
        let entity = inner_entity(&headers, b"body\r\n");
        assert_eq!(
            entity,
            b"Content-Type: text/plain;\r\n\tcharset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn protected_entity_carries_the_headers_and_marks_the_type() {
        let headers = vec![
            ("Subject".to_owned(), "SSN 123-45-6789".to_owned()),
            ("X-Other".to_owned(), "kept outside".to_owned()),
            (
                "Content-Type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            ),
        ];
        let entity = String::from_utf8(protected_entity(&headers, &[], b"body\r\n")).expect("utf8");
        assert_eq!(
            entity,
            "Subject: SSN 123-45-6789\r\nContent-Type: text/plain; charset=utf-8; hp=\"cipher\"\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn pgp_mime_body_has_both_parts() {
        let b = boundary();
        let body = String::from_utf8(pgp_mime_body(
            b"-----BEGIN PGP MESSAGE-----\n\nx\n-----END PGP MESSAGE-----\n",
            &b,
        ))
        .expect("utf8");
        assert!(body.contains("Content-Type: application/pgp-encrypted\r\n"));
        assert!(body.contains("Version: 1\r\n"));
        assert!(body.contains("-----END PGP MESSAGE-----\r\n"));
        assert!(body.ends_with(&format!("--{b}--\r\n")));
        assert_eq!(body.matches(&format!("--{b}\r\n")).count(), 2);
    }
}

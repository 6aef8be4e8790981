//! The messages the tests send, and raw header fields to compare them with what arrived.
//!
//! Comparisons are on bytes: a header wasmilter does not touch must arrive byte for byte as
//! it was sent. Postfix's local delivery writes LF line endings, so delivered messages are
//! turned back to CRLF before they are compared with what was sent.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A token no other message of this or an earlier run carries, to find a message again.
pub fn unique_token() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("e2e-{}-{n}-{nanos:x}", std::process::id())
}

/// A single-part text/plain message with CRLF line endings.
#[derive(Debug, Clone)]
pub struct TestMessage {
    /// The token in the Message-ID, to find the message in the Maildir.
    pub token: String,
    /// The header section, one entry per field, without line endings.
    pub headers: Vec<String>,
    /// The body lines, without line endings.
    pub body_lines: Vec<String>,
}

impl TestMessage {
    /// A message from `from` to `to` with `subject` and the body `lines`.
    pub fn new(from: &str, to: &[&str], subject: &str, lines: &[&str]) -> TestMessage {
        let token = unique_token();
        let headers = vec![
            format!("From: Sender <{from}>"),
            format!("To: {}", to.join(", ")),
            format!("Subject: {subject}"),
            "Date: Mon, 06 Jan 2025 10:00:00 +0000".to_owned(),
            format!("Message-ID: <{token}@e2e.example.test>"),
            "MIME-Version: 1.0".to_owned(),
            "Content-Type: text/plain; charset=us-ascii".to_owned(),
            "Content-Transfer-Encoding: 7bit".to_owned(),
        ];
        TestMessage {
            token,
            headers,
            body_lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    /// The header fields as sent, each with its CRLF.
    pub fn header_fields(&self) -> Vec<Vec<u8>> {
        self.headers
            .iter()
            .map(|h| format!("{h}\r\n").into_bytes())
            .collect()
    }

    /// The fields whose name starts with `Content-`: what a MIME entity carries.
    pub fn content_fields(&self) -> Vec<Vec<u8>> {
        self.header_fields()
            .into_iter()
            .filter(|f| is_content_field(f))
            .collect()
    }

    /// The body as sent: every line ends in CRLF.
    pub fn body(&self) -> Vec<u8> {
        self.body_lines
            .iter()
            .flat_map(|l| format!("{l}\r\n").into_bytes())
            .collect()
    }

    /// The whole message: header fields, a blank line, the body.
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes: Vec<u8> = self.header_fields().concat();
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body());
        bytes
    }
}

/// A message split into raw header fields and body, with CRLF line endings.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// Each header field with its continuation lines and final CRLF.
    pub fields: Vec<Vec<u8>>,
    /// Everything after the blank line.
    pub body: Vec<u8>,
}

impl RawMessage {
    /// Splits `bytes` (LF or CRLF line endings) into header fields and body.
    pub fn parse(bytes: &[u8]) -> RawMessage {
        let bytes = to_crlf(bytes);
        let (header, body) = RawMessage::split(&bytes);

        let mut fields: Vec<Vec<u8>> = Vec::new();
        for line in header.split_inclusive(|&b| b == b'\n') {
            match (line.first(), fields.last_mut()) {
                (Some(b' ' | b'\t'), Some(field)) => field.extend_from_slice(line),
                _ => fields.push(line.to_vec()),
            }
        }
        RawMessage {
            fields,
            body: body.to_vec(),
        }
    }

    /// Splits at the first empty line: the header section (with the last field's line
    /// ending) and the body. Without an empty line, all of it is header.
    pub fn split(bytes: &[u8]) -> (&[u8], &[u8]) {
        let mut start = 0;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            if line == b"\r\n" || line == b"\n" {
                return (&bytes[..start], &bytes[start + line.len()..]);
            }
            start += line.len();
        }
        (bytes, &[])
    }

    /// The raw fields named `name` (case-insensitive), in order.
    pub fn fields_named(&self, name: &str) -> Vec<&[u8]> {
        self.fields
            .iter()
            .filter(|f| field_name(f).eq_ignore_ascii_case(name))
            .map(Vec::as_slice)
            .collect()
    }

    /// The unfolded value of each field named `name`, trimmed.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.fields_named(name)
            .into_iter()
            .map(|f| {
                let text = String::from_utf8_lossy(f);
                let value = text.split_once(':').map(|(_, v)| v).unwrap_or("");
                value.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect()
    }

    /// The header section as text, for failure messages.
    pub fn header_text(&self) -> String {
        String::from_utf8_lossy(&self.fields.concat()).into_owned()
    }
}

/// The name of a raw header field: the bytes before the colon, as text.
pub fn field_name(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).trim().to_owned()
}

/// Whether a raw field's name starts with `Content-` (case-insensitive).
pub fn is_content_field(field: &[u8]) -> bool {
    field_name(field)
        .to_ascii_lowercase()
        .starts_with("content-")
}

/// `bytes` with every bare LF turned into CRLF.
pub fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut previous = 0u8;
    for &b in bytes {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// Fields rendered one per line, for failure messages.
pub fn show_fields(fields: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&fields.concat()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_fields_stay_whole_and_lf_becomes_crlf() {
        let raw = RawMessage::parse(b"A: 1\nB: two\n\tlines\nC:3\n\nbody\nend\n");

        assert_eq!(
            raw.fields,
            vec![
                b"A: 1\r\n".to_vec(),
                b"B: two\r\n\tlines\r\n".to_vec(),
                b"C:3\r\n".to_vec()
            ]
        );
        assert_eq!(raw.body, b"body\r\nend\r\n");
        assert_eq!(raw.values("b"), vec!["two lines".to_owned()]);
    }

    #[test]
    fn sent_message_parses_back_to_its_parts() {
        let message = TestMessage::new("a@x.test", &["b@y.test"], "hi", &["one", "", "two"]);

        let raw = RawMessage::parse(&message.bytes());

        assert_eq!(raw.fields, message.header_fields());
        assert_eq!(raw.body, b"one\r\n\r\ntwo\r\n");
        assert_eq!(message.content_fields().len(), 2);
    }
}

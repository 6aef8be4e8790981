//! The message as policies see it: the envelope, the headers and the leaf MIME parts, parsed
//! once with `mail-parser` and decoded (transfer encodings, charsets, HTML reduced to text).

pub mod spool;

use std::borrow::Cow;
use std::sync::Arc;

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

/// The SMTP envelope and connection facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM, without angle brackets.
    pub sender: String,
    /// RCPT TO addresses, without angle brackets.
    pub recipients: Vec<String>,
    /// The MTA's queue id.
    pub queue_id: Option<String>,
    /// Client IP address.
    pub client_address: Option<String>,
    /// Client host name.
    pub client_name: Option<String>,
    /// HELO argument.
    pub helo: Option<String>,
    /// TLS version, when TLS was used.
    pub tls_version: Option<String>,
    /// SASL login.
    pub auth_user: Option<String>,
}

impl Envelope {
    /// The domain of the sender, lower case, or `-` for the null sender.
    pub fn sender_domain(&self) -> String {
        match self.sender.rsplit_once('@') {
            Some((_, domain)) if !domain.is_empty() => domain.to_ascii_lowercase(),
            _ => "-".into(),
        }
    }
}

/// A header as a policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name as written.
    pub name: String,
    /// Unfolded value, RFC 2047 decoded where the header is text.
    pub value: String,
}

/// One leaf MIME part.
#[derive(Debug, Clone)]
pub struct Part {
    /// Position in the tree: `1`, `1.2`.
    pub id: String,
    /// Media type without parameters, lower case.
    pub content_type: String,
    /// `charset` parameter.
    pub charset: Option<String>,
    /// `inline` / `attachment`.
    pub disposition: Option<String>,
    /// Decoded file name.
    pub filename: Option<String>,
    /// Decoded text, for text parts (HTML reduced to text).
    pub text: Option<Arc<str>>,
    /// Decoded bytes.
    pub bytes: Arc<[u8]>,
}

/// A parsed message: what the policy host hands to policies.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// The envelope.
    pub envelope: Envelope,
    /// Headers in order.
    pub headers: Vec<Header>,
    /// Decoded Subject.
    pub subject: Option<String>,
    /// Leaf parts in order.
    pub parts: Vec<Part>,
    /// Size as received.
    pub size: u64,
    /// Whether the message is already encrypted (PGP/MIME or S/MIME enveloped data).
    pub already_encrypted: bool,
}

impl Mail {
    /// Parses a whole message (headers and body). Malformed MIME never fails: whatever
    /// `mail-parser` can recover is used, and a message it cannot parse at all is treated as
    /// one text part holding the raw bytes, so that detectors still see everything.
    pub fn parse(raw: &[u8], envelope: Envelope) -> Mail {
        let size = raw.len() as u64;
        let Some(message) = MessageParser::default().parse(raw) else {
            return Mail {
                envelope,
                headers: Vec::new(),
                subject: None,
                parts: vec![Part {
                    id: "1".into(),
                    content_type: "text/plain".into(),
                    charset: None,
                    disposition: None,
                    filename: None,
                    text: Some(Arc::from(String::from_utf8_lossy(raw).as_ref())),
                    bytes: Arc::from(raw),
                }],
                size,
                already_encrypted: false,
            };
        };

        let headers = message
            .root_part()
            .headers()
            .iter()
            .map(|h| Header {
                name: h.name().to_owned(),
                value: header_text(raw, h),
            })
            .collect();
        let subject = message.subject().map(str::to_owned);
        let already_encrypted = is_encrypted(message.root_part());

        let mut parts = Vec::new();
        collect_parts(&message, 0, "", &mut parts, 0);

        Mail {
            envelope,
            headers,
            subject,
            parts,
            size,
            already_encrypted,
        }
    }

    /// Values of every header of that name, in order.
    pub fn header(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.clone())
            .collect()
    }
}

/// How deep nested messages and multiparts are followed.
const MAX_DEPTH: usize = 32;

fn collect_parts(
    message: &mail_parser::Message<'_>,
    index: usize,
    prefix: &str,
    out: &mut Vec<Part>,
    depth: usize,
) {
    let Some(part) = message.parts.get(index) else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    let id_of = |n: usize| {
        if prefix.is_empty() {
            n.to_string()
        } else {
            format!("{prefix}.{n}")
        }
    };

    match &part.body {
        PartType::Multipart(children) => {
            for (n, child) in children.iter().enumerate() {
                let child_prefix = id_of(n + 1);
                collect_child(message, *child as usize, &child_prefix, out, depth + 1);
            }
        }
        _ => collect_child(message, index, &id_of(1), out, depth),
    }
}

fn collect_child(
    message: &mail_parser::Message<'_>,
    index: usize,
    id: &str,
    out: &mut Vec<Part>,
    depth: usize,
) {
    let Some(part) = message.parts.get(index) else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    let (content_type, charset) = match part.content_type() {
        Some(ct) => (
            match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            },
            ct.attribute("charset").map(str::to_owned),
        ),
        None => ("text/plain".to_owned(), None),
    };
    let disposition = part
        .content_disposition()
        .map(|d| d.ctype().to_ascii_lowercase());
    let filename = part.attachment_name().map(str::to_owned);
    let leaf = |text: Option<Arc<str>>, bytes: Arc<[u8]>| Part {
        id: id.to_owned(),
        content_type: content_type.clone(),
        charset: charset.clone(),
        disposition: disposition.clone(),
        filename: filename.clone(),
        text,
        bytes,
    };

    match &part.body {
        PartType::Multipart(children) => {
            for (n, child) in children.iter().enumerate() {
                collect_child(
                    message,
                    *child as usize,
                    &format!("{id}.{}", n + 1),
                    out,
                    depth + 1,
                );
            }
        }
        PartType::Message(inner) => {
            // The nested message's headers are readable text too.
            let header_text: String = inner
                .root_part()
                .headers()
                .iter()
                .map(|h| format!("{}: {}\n", h.name(), header_text(inner.raw_message(), h)))
                .collect();
            out.push(leaf(
                Some(Arc::from(header_text.as_str())),
                Arc::from(header_text.as_bytes()),
            ));
            collect_parts(inner, 0, id, out, depth + 1);
        }
        PartType::Text(text) => out.push(leaf(
            Some(Arc::from(text.as_ref())),
            Arc::from(text.as_bytes()),
        )),
        PartType::Html(html) => {
            let text = mail_parser::decoders::html::html_to_text(html);
            out.push(leaf(
                Some(Arc::from(text.as_str())),
                Arc::from(html.as_bytes()),
            ));
        }
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            out.push(leaf(None, Arc::from(bytes.as_ref())))
        }
    }
}

/// A header's value as text: decoded for text headers, the unfolded raw value otherwise.
fn header_text(raw: &[u8], header: &mail_parser::Header<'_>) -> String {
    match header.value() {
        HeaderValue::Text(text) => return text.to_string(),
        HeaderValue::TextList(list) => {
            return list.iter().map(Cow::as_ref).collect::<Vec<_>>().join(", ");
        }
        _ => {}
    }
    let start = header.offset_start() as usize;
    let end = header.offset_end() as usize;
    let value = raw.get(start..end).unwrap_or_default();
    let value = String::from_utf8_lossy(value);
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_encrypted(root: &mail_parser::MessagePart<'_>) -> bool {
    let Some(ct) = root.content_type() else {
        return false;
    };
    let ctype = ct.ctype().to_ascii_lowercase();
    let sub = ct.subtype().unwrap_or_default().to_ascii_lowercase();
    let param = |name: &str| ct.attribute(name).unwrap_or_default().to_ascii_lowercase();
    match (ctype.as_str(), sub.as_str()) {
        ("multipart", "encrypted") => param("protocol") == "application/pgp-encrypted",
        ("application", "pkcs7-mime" | "x-pkcs7-mime") => {
            let kind = param("smime-type");
            kind == "enveloped-data" || kind == "authenveloped-data" || kind.is_empty()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Mail {
        Mail::parse(raw.as_bytes(), Envelope::default())
    }

    #[test]
    fn plain_message_is_one_text_part() {
        let m = parse("Subject: hi\r\nFrom: a@b.test\r\n\r\nhello\r\n");
        assert_eq!(m.subject.as_deref(), Some("hi"));
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].id, "1");
        assert_eq!(m.parts[0].text.as_deref(), Some("hello\r\n"));
    }

    #[test]
    fn multipart_parts_are_numbered_and_decoded() {
        let raw = "Subject: =?utf-8?q?caf=C3=A9?=\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            num 4111 1111 11=\r\n11 1111\r\n\
            --b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            PHA+MTIzLTQ1LTY3ODk8L3A+\r\n\
            --b\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\nContent-Disposition: attachment; filename=\"x.pdf\"\r\n\r\n%PDF\r\n\
            --b--\r\n";
        let m = parse(raw);
        assert_eq!(m.subject.as_deref(), Some("café"));
        let ids: Vec<_> = m.parts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert!(
            m.parts[0]
                .text
                .as_deref()
                .unwrap_or_default()
                .contains("4111 1111 1111 1111")
        );
        assert!(
            m.parts[1]
                .text
                .as_deref()
                .unwrap_or_default()
                .contains("123-45-6789")
        );
        assert_eq!(m.parts[2].text, None);
        assert_eq!(m.parts[2].filename.as_deref(), Some("x.pdf"));
        assert_eq!(m.parts[2].disposition.as_deref(), Some("attachment"));
    }

    #[test]
    fn encrypted_mail_is_recognised() {
        let m = parse(
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=x\r\n\r\n--x--\r\n",
        );
        assert!(m.already_encrypted);
        assert!(!parse("Subject: x\r\n\r\nbody").already_encrypted);
    }

    #[test]
    fn sender_domain() {
        let env = |s: &str| Envelope {
            sender: s.into(),
            ..Default::default()
        };
        assert_eq!(env("a@Example.TEST").sender_domain(), "example.test");
        assert_eq!(env("").sender_domain(), "-");
    }
}

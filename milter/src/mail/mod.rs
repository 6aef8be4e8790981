//! The message as policies see it: the envelope, the headers and the leaf MIME parts, parsed
//! once with `mail-parser` and decoded so that detectors read what a person would: transfer
//! encodings, RFC 2047 and RFC 2231, charsets, HTML reduced to text (`html.rs`), nested
//! messages, and through `extract.rs` the text of attachments (sniffed text, uuencoded files,
//! ZIP archives, office documents) under documented [`Limits`].

mod extract;
mod html;
pub mod spool;

pub use extract::{Limits, Reason, Unscanned};

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
    /// The headers a person reads, one per line, decoded, for the detectors: trace,
    /// authentication and MIME structure headers left out, address headers reduced to their
    /// display names.
    pub header_text: String,
    /// Content that decoding did not reach (a limit, encryption, a corrupt archive).
    pub unscanned: Vec<Unscanned>,
}

impl Mail {
    /// Parses a whole message (headers and body). Malformed MIME never fails: whatever
    /// `mail-parser` can recover is used, and a message it cannot parse at all is treated as
    /// one text part holding the raw bytes, so that detectors still see everything.
    pub fn parse(raw: &[u8], envelope: Envelope) -> Mail {
        Mail::parse_with(raw, envelope, &Limits::default())
    }

    /// [`Mail::parse`] with decoding limits other than the defaults.
    pub fn parse_with(raw: &[u8], envelope: Envelope, limits: &Limits) -> Mail {
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
                    text: Some(Arc::from(normalise(&String::from_utf8_lossy(raw)).as_ref())),
                    bytes: Arc::from(raw),
                }],
                size,
                already_encrypted: false,
                header_text: String::new(),
                unscanned: Vec::new(),
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
        let header_text = readable_headers(raw, message.root_part(), false);

        let mut decoder = extract::Decoder::new(limits);
        let mut parts = Vec::new();
        collect_parts(&message, 0, "", &mut parts, 0, &mut decoder);

        Mail {
            envelope,
            headers,
            subject,
            parts,
            size,
            already_encrypted,
            header_text,
            unscanned: decoder.unscanned,
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
    decoder: &mut extract::Decoder<'_>,
) {
    // A multipart root numbers its children under the prefix; a single-part root is part 1.
    let Some(part) = message.parts.get(index) else {
        return;
    };
    let id = match &part.body {
        PartType::Multipart(_) => prefix.to_owned(),
        _ => child_id(prefix, 1),
    };
    collect_child(message, index, &id, out, depth, decoder);
}

/// The id of the `n`-th child (from 1) of the part `parent` (`""` for the root).
fn child_id(parent: &str, n: usize) -> String {
    if parent.is_empty() {
        n.to_string()
    } else {
        format!("{parent}.{n}")
    }
}

fn collect_child(
    message: &mail_parser::Message<'_>,
    index: usize,
    id: &str,
    out: &mut Vec<Part>,
    depth: usize,
    decoder: &mut extract::Decoder<'_>,
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
    let filename = part
        .attachment_name()
        .map(|name| normalise(name).into_owned());
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
                    &child_id(id, n + 1),
                    out,
                    depth + 1,
                    decoder,
                );
            }
        }
        PartType::Message(inner) => {
            // The nested message's headers are readable text too.
            let header_text = readable_headers(inner.raw_message(), inner.root_part(), true);
            out.push(leaf(
                Some(Arc::from(header_text.as_str())),
                Arc::from(header_text.as_bytes()),
            ));
            collect_parts(inner, 0, id, out, depth + 1, decoder);
        }
        PartType::Text(text) => {
            // Text decoded with the wrong charset (UTF-16 labelled as something else) keeps
            // its NULs; nobody sees them.
            let text = normalise(text);
            let text = if text.contains('\0') {
                Cow::Owned(text.replace('\0', ""))
            } else {
                text
            };
            let text = if is_directory(&content_type) {
                Cow::Owned(extract::directory_text(&text))
            } else {
                text
            };
            decoder.complete(
                leaf(Some(Arc::from(text.as_ref())), Arc::from(text.as_bytes())),
                0,
                out,
            );
        }
        PartType::Html(html) => {
            let text = html::to_text(html);
            decoder.complete(
                leaf(
                    Some(Arc::from(normalise(&text).as_ref())),
                    Arc::from(html.as_bytes()),
                ),
                0,
                out,
            );
        }
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            decoder.complete(leaf(None, Arc::from(bytes.as_ref())), 0, out)
        }
    }
}

/// iCalendar and vCard, whose text is escaped.
fn is_directory(content_type: &str) -> bool {
    matches!(
        content_type,
        "text/calendar" | "text/vcard" | "text/x-vcard" | "text/directory"
    )
}

/// Characters that change how a text reads to a program but not to a person: unusual spaces
/// become spaces, dashes and minus signs `-`, full-width digits ASCII digits, and invisible
/// characters (zero-width spaces, soft hyphens, byte-order marks) go.
pub fn normalise(text: &str) -> Cow<'_, str> {
    let needs = |c: char| {
        !c.is_ascii()
            && matches!(c,
                '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
                | '\u{2010}'..='\u{2013}' | '\u{2212}' | '\u{fe63}' | '\u{ff0d}'
                | '\u{ff10}'..='\u{ff19}'
                | '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
    };
    if text.is_ascii() || !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => {
                    Some(' ')
                }
                '\u{2010}'..='\u{2013}' | '\u{2212}' | '\u{fe63}' | '\u{ff0d}' => Some('-'),
                '\u{ff10}'..='\u{ff19}' => char::from_u32(c as u32 - 0xff10 + u32::from(b'0')),
                '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// Headers that machines write and people do not read: trace, authentication, threading,
/// MIME structure, mailing-list plumbing, and vendors' filtering stamps. Names are lower case;
/// a trailing `*` matches any suffix.
const MACHINE_HEADERS: &[&str] = &[
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "dkim-signature",
    "domainkey-signature",
    "arc-*",
    "authentication-results",
    "received-spf",
    "x-received",
    "message-id",
    "content-id",
    "in-reply-to",
    "references",
    "resent-message-id",
    "date",
    "resent-date",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-length",
    "content-md5",
    "list-*",
    "precedence",
    "x-mailer",
    "user-agent",
    "x-mimeole",
    "thread-index",
    "x-originating-ip",
    "autocrypt",
    "openpgp",
    "feedback-id",
    "x-feedback-id",
    "x-priority",
    "x-msmail-priority",
    "importance",
    "x-auto-response-suppress",
    "x-spam*",
    "x-virus*",
    "x-ms-*",
    "x-microsoft-*",
    "x-forefront-*",
    "x-exchange-*",
    "x-google-*",
    "x-gm-*",
    "x-proofpoint-*",
    "x-mimecast-*",
    "x-ironport-*",
    "x-barracuda-*",
    "x-sophos-*",
    "x-ses-*",
    "x-sg-*",
    "x-wasmilter*",
];

fn is_machine_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    MACHINE_HEADERS.iter().any(|m| match m.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *m,
    })
}

/// The headers a person reads, decoded and unfolded, one per line (`Name: value` when
/// `with_names`). Address headers give their display names only: the addresses are the
/// correspondents, not the content.
fn readable_headers(raw: &[u8], part: &mail_parser::MessagePart<'_>, with_names: bool) -> String {
    let mut out = String::new();
    for h in part.headers() {
        if is_machine_header(h.name()) {
            continue;
        }
        let value = match h.value() {
            HeaderValue::Address(address) => {
                let mut names: Vec<&str> = Vec::new();
                if let Some(groups) = address.as_group() {
                    names.extend(groups.iter().filter_map(|g| g.name.as_deref()));
                }
                names.extend(address.iter().filter_map(|a| a.name()));
                names.join(", ")
            }
            _ => header_text(raw, h),
        };
        let value: String = value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if value.is_empty() {
            continue;
        }
        if with_names {
            out.push_str(h.name());
            out.push_str(": ");
        }
        out.push_str(&normalise(&value));
        out.push('\n');
    }
    out
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
        assert_eq!(
            m.unscanned,
            [Unscanned {
                part: "3".into(),
                reason: Reason::Unsupported
            }]
        );
    }

    #[test]
    fn header_text_is_what_people_read() {
        let m = parse(
            "Received: from x by y; Mon, 3 Mar 2025 09:00:00 -0500\r\n\
             From: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>\r\n\
             To: a@example.net, Bob <b@example.net>\r\n\
             Subject: Payment card\r\n 5105105105105100 declined\r\n\
             Message-ID: <123-45-6789@example.org>\r\n\
             X-Billing-Ref: order=77812;\r\n\tcard=4000056655665556\r\n\r\nbody",
        );
        assert_eq!(
            m.header_text,
            "Zoë\nBob\nPayment card 5105105105105100 declined\n\
             order=77812; card=4000056655665556\n"
        );
    }

    #[test]
    fn binary_attachments_that_are_text_are_read() {
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: application/octet-stream; name=\"statement-287-65-4312.txt\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nbm90aGluZyBzZW5zaXRpdmUgaGVyZQo=\r\n\
            --b\r\nContent-Type: application/octet-stream\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nAAAA4111111111111111BBBB536228841xyzCCCC\r\n\
            --b--\r\n";
        let m = parse(raw);
        assert_eq!(m.parts[0].text.as_deref(), Some("nothing sensitive here\n"));
        assert_eq!(
            m.parts[0].filename.as_deref(),
            Some("statement-287-65-4312.txt")
        );
        assert_eq!(m.parts[1].text, None, "binary stays binary");
    }

    #[test]
    fn uuencoded_body_becomes_a_part() {
        let raw = "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
            begin 644 note.txt\r\n>1$5!($9-,C@T-C$Y,R!34TX@-#@P+3,V+3$Q,C<*\r\n`\r\nend\r\n";
        let m = parse(raw);
        let ids: Vec<_> = m.parts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["1", "1.u1"]);
        assert_eq!(m.parts[0].text.as_deref(), Some(""));
        assert_eq!(m.parts[1].filename.as_deref(), Some("note.txt"));
        assert_eq!(
            m.parts[1].text.as_deref(),
            Some("DEA FM2846193 SSN 480-36-1127\n")
        );
    }

    #[test]
    fn calendar_text_is_unescaped() {
        let raw = "Content-Type: text/calendar; charset=utf-8\r\n\r\n\
            BEGIN:VEVENT\r\nDESCRIPTION:Card 36227206271667\\nSSN 536-22-8841\r\nEND:VEVENT\r\n";
        let m = parse(raw);
        assert!(
            m.parts[0]
                .text
                .as_deref()
                .unwrap_or_default()
                .contains("36227206271667\nSSN 536-22-8841")
        );
    }

    #[test]
    fn invisible_and_unusual_characters_are_normalised() {
        assert_eq!(
            normalise("4111\u{a0}1111\u{200b}1111 1111"),
            "4111 11111111 1111"
        );
        assert_eq!(normalise("１２３\u{2013}45\u{2212}6789"), "123-45-6789");
        assert!(matches!(normalise("plain"), Cow::Borrowed(_)));
        assert!(matches!(normalise("café"), Cow::Borrowed(_)));
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

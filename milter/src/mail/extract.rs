//! Text out of what is not plain text: attachments sniffed for text (byte-order marks,
//! UTF-8), uuencoded blocks, ZIP archives (recursively) and the office documents that are ZIP
//! archives of XML (DOCX, XLSX, PPTX, OpenDocument).
//!
//! Everything here works under [`Limits`]: bytes produced, archive depth, entries per archive,
//! expansion ratio per entry, time per message. What a limit stops, or what cannot be read at
//! all (an encrypted or corrupt archive), is recorded as [`Unscanned`] so that policies can act
//! on content nobody looked at; a zip bomb ends there, not in memory exhaustion.

use std::borrow::Cow;
use std::io::{Cursor, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use encoding_rs::Encoding;
use quick_xml::events::Event;

use super::Part;

/// Limits on what decoding may produce for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes that archives, documents and uuencoded blocks may expand to, for the whole
    /// message. Default 32 MiB: three times Postfix's default message size limit, and what
    /// twenty messages in flight can hold at once without trouble.
    pub max_decoded_bytes: usize,
    /// How many archives deep entries are opened (an archive in a message is depth 1).
    /// Default 4.
    pub max_depth: usize,
    /// Entries read from one archive. Default 1000.
    pub max_entries: usize,
    /// Largest uncompressed-to-compressed ratio of one archive entry. Default 200: text
    /// compresses ten to fifty times; zip bombs a thousand times.
    pub max_ratio: u64,
    /// Time spent on attachments of one message. Default 5 seconds.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decoded_bytes: 32 << 20,
            max_depth: 4,
            max_entries: 1000,
            max_ratio: 200,
            max_time: Duration::from_secs(5),
        }
    }
}

/// Why some content was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The message's decoded-bytes budget ran out.
    TooLarge,
    /// Archives nested deeper than the limit.
    TooDeep,
    /// An archive with more entries than the limit.
    TooManyEntries,
    /// An archive entry that expands more than the ratio allows.
    Ratio,
    /// The time for the message ran out.
    Timeout,
    /// Encrypted content (a password-protected archive entry).
    Encrypted,
    /// An archive or document that cannot be read.
    Corrupt,
    /// A document format whose text is not extracted yet (PDF).
    Unsupported,
}

impl Reason {
    /// A short lower-case label, safe for audit lines and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooLarge => "too-large",
            Reason::TooDeep => "too-deep",
            Reason::TooManyEntries => "too-many-entries",
            Reason::Ratio => "ratio",
            Reason::Timeout => "timeout",
            Reason::Encrypted => "encrypted",
            Reason::Corrupt => "corrupt",
            Reason::Unsupported => "unsupported",
        }
    }
}

/// Content that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unscanned {
    /// The part (or archive entry) id.
    pub part: String,
    /// Why.
    pub reason: Reason,
}

/// The decoding state of one message: what is left of the budget, and what was skipped.
#[derive(Debug)]
pub(super) struct Decoder<'l> {
    limits: &'l Limits,
    budget: usize,
    deadline: Instant,
    pub(super) unscanned: Vec<Unscanned>,
}

impl<'l> Decoder<'l> {
    pub(super) fn new(limits: &'l Limits) -> Decoder<'l> {
        Decoder {
            limits,
            budget: limits.max_decoded_bytes,
            deadline: Instant::now() + limits.max_time,
            unscanned: Vec::new(),
        }
    }

    fn skip(&mut self, part: &str, reason: Reason) {
        let entry = Unscanned {
            part: part.to_owned(),
            reason,
        };
        if !self.unscanned.contains(&entry) {
            self.unscanned.push(entry);
        }
    }

    /// Takes `n` bytes from the budget, or records that it ran out.
    fn spend(&mut self, part: &str, n: usize) -> bool {
        if n > self.budget {
            self.budget = 0;
            self.skip(part, Reason::TooLarge);
            return false;
        }
        self.budget -= n;
        true
    }

    fn in_time(&mut self, part: &str) -> bool {
        if Instant::now() > self.deadline {
            self.skip(part, Reason::Timeout);
            return false;
        }
        true
    }

    /// Completes a leaf part that was just decoded from MIME: finds the text of binary content,
    /// takes uuencoded blocks out of text, opens archives and documents. Parts found inside it
    /// (archive entries, uuencoded files) follow it in `out`, numbered below its id.
    pub(super) fn complete(&mut self, mut part: Part, depth: usize, out: &mut Vec<Part>) {
        let mut children = Vec::new();

        if part.text.is_none() && self.in_time(&part.id) {
            if is_zip(&part.bytes) {
                if depth >= self.limits.max_depth {
                    self.skip(&part.id, Reason::TooDeep);
                } else {
                    part.text = self.zip(&part.id, &part.bytes, &mut children);
                }
            } else if part.content_type == "application/pdf" || part.bytes.starts_with(b"%PDF-") {
                self.skip(&part.id, Reason::Unsupported);
            } else if !binary_type(&part.content_type) {
                part.text = sniff_text(&part.bytes, part.charset.as_deref()).map(Arc::from);
            }
        }

        if let Some(text) = part.text.clone() {
            let (rest, files) = take_uuencoded(&text);
            if !files.is_empty() {
                part.text = Some(Arc::from(rest.as_str()));
                for (n, (name, bytes)) in files.into_iter().enumerate() {
                    let id = format!("{}.u{}", part.id, n + 1);
                    if self.spend(&id, bytes.len()) {
                        children.push(entry_part(id, name, bytes));
                    }
                }
            }
        }

        out.push(part);
        for child in children {
            self.complete(child, depth + 1, out);
        }
    }

    /// Opens a ZIP archive. An office document gives its text; a plain archive gives its
    /// entries as parts (pushed to `children`) and no text.
    fn zip(&mut self, id: &str, bytes: &[u8], children: &mut Vec<Part>) -> Option<Arc<str>> {
        let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
            self.skip(id, Reason::Corrupt);
            return None;
        };
        let names: Vec<String> = (0..archive.len())
            .map(|i| {
                archive
                    .name_for_index(i)
                    .and_then(Result::ok)
                    .map(Cow::into_owned)
                    .unwrap_or_default()
            })
            .collect();

        if let Some(kind) = document_kind(&mut archive, &names) {
            return self.document(id, &mut archive, &names, kind);
        }

        let mut n = 0;
        for (i, name) in names.iter().enumerate() {
            if name.ends_with('/') {
                continue;
            }
            n += 1;
            let entry_id = format!("{id}.{n}");
            if n > self.limits.max_entries {
                self.skip(id, Reason::TooManyEntries);
                break;
            }
            if !self.in_time(&entry_id) {
                break;
            }
            match self.read_entry(&mut archive, i, &entry_id) {
                Some(data) => children.push(entry_part(entry_id, name.clone(), data)),
                None => {
                    // The name is still worth scanning.
                    children.push(entry_part(entry_id, name.clone(), Vec::new()));
                }
            }
        }
        None
    }

    /// Reads one archive entry within the budget and the ratio limit.
    fn read_entry<R: Read + std::io::Seek>(
        &mut self,
        archive: &mut zip::ZipArchive<R>,
        index: usize,
        id: &str,
    ) -> Option<Vec<u8>> {
        let (encrypted, compressed) = match archive.by_index_raw(index) {
            Ok(f) => (f.encrypted(), f.compressed_size()),
            Err(_) => {
                self.skip(id, Reason::Corrupt);
                return None;
            }
        };
        if encrypted {
            self.skip(id, Reason::Encrypted);
            return None;
        }
        let Ok(file) = archive.by_index(index) else {
            self.skip(id, Reason::Corrupt);
            return None;
        };
        let declared = file.size();
        let allowed = compressed.max(1).saturating_mul(self.limits.max_ratio);
        if declared > allowed {
            self.skip(id, Reason::Ratio);
            return None;
        }
        // Sizes in the archive can lie: read at most what the ratio and the budget allow, and
        // one byte more to know whether there was more.
        let cap = allowed.min(self.budget as u64);
        let mut data = Vec::new();
        if file.take(cap + 1).read_to_end(&mut data).is_err() {
            self.skip(id, Reason::Corrupt);
            return None;
        }
        if data.len() as u64 > cap {
            let reason = if cap == allowed {
                Reason::Ratio
            } else {
                Reason::TooLarge
            };
            self.skip(id, reason);
            return None;
        }
        self.spend(id, data.len()).then_some(data)
    }

    /// The text of an office document: its XML parts that hold what a reader sees.
    fn document<R: Read + std::io::Seek>(
        &mut self,
        id: &str,
        archive: &mut zip::ZipArchive<R>,
        names: &[String],
        kind: DocumentKind,
    ) -> Option<Arc<str>> {
        let mut text = String::new();
        let mut read = 0;
        for (i, name) in names.iter().enumerate() {
            if !kind.holds_text(name) {
                continue;
            }
            read += 1;
            if read > self.limits.max_entries {
                self.skip(id, Reason::TooManyEntries);
                break;
            }
            if !self.in_time(id) {
                break;
            }
            let Some(xml) = self.read_entry(archive, i, id) else {
                continue;
            };
            let xml = String::from_utf8_lossy(&xml);
            if !xml_text(&xml, &mut text) {
                self.skip(id, Reason::Corrupt);
            }
            text.push('\n');
        }
        Some(Arc::from(text.trim_end()))
    }
}

/// A part made from an archive entry or an uuencoded file.
fn entry_part(id: String, name: String, bytes: Vec<u8>) -> Part {
    Part {
        id,
        content_type: guess_type(&name).to_owned(),
        charset: None,
        disposition: Some("attachment".into()),
        filename: Some(name),
        text: None,
        bytes: Arc::from(bytes),
    }
}

/// The media type a file name suggests.
fn guess_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "text" | "md" => "text/plain",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "ics" => "text/calendar",
        "xml" => "text/xml",
        "json" => "application/json",
        "zip" => "application/zip",
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        _ => "application/octet-stream",
    }
}

/// Media types whose content is never text, whatever its bytes look like.
fn binary_type(content_type: &str) -> bool {
    ["image/", "audio/", "video/", "font/", "model/"]
        .iter()
        .any(|p| content_type.starts_with(p))
}

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The office formats whose text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocumentKind {
    /// Office Open XML: DOCX, XLSX, PPTX.
    Ooxml,
    /// OpenDocument: ODT, ODS, ODP.
    Odf,
}

impl DocumentKind {
    /// Whether the archive entry holds text a reader sees.
    fn holds_text(self, name: &str) -> bool {
        match self {
            DocumentKind::Ooxml => {
                let xml = name.ends_with(".xml");
                xml && (name == "word/document.xml"
                    || name == "xl/sharedStrings.xml"
                    || name == "docProps/core.xml"
                    || [
                        "word/header",
                        "word/footer",
                        "word/footnotes",
                        "word/endnotes",
                        "word/comments",
                        "xl/worksheets/sheet",
                        "xl/comments",
                        "ppt/slides/slide",
                        "ppt/notesSlides/",
                        "ppt/comments/",
                    ]
                    .iter()
                    .any(|p| name.starts_with(p)))
            }
            DocumentKind::Odf => matches!(name, "content.xml" | "styles.xml" | "meta.xml"),
        }
    }
}

fn document_kind<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &[String],
) -> Option<DocumentKind> {
    if names.iter().any(|n| n == "[Content_Types].xml") {
        return Some(DocumentKind::Ooxml);
    }
    if names.iter().any(|n| n == "mimetype") {
        let mut mimetype = String::new();
        let file = archive.by_name("mimetype").ok()?;
        file.take(100).read_to_string(&mut mimetype).ok()?;
        if mimetype.starts_with("application/vnd.oasis.opendocument") {
            return Some(DocumentKind::Odf);
        }
    }
    None
}

/// Appends the text of an office XML part to `out`: text nodes, with paragraphs and rows as
/// line breaks and cells and tabs as tabs. Spreadsheet cells that index the shared strings are
/// skipped (the strings are read from their own part). False when the XML is malformed.
fn xml_text(xml: &str, out: &mut String) -> bool {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut shared_index = false;
    let mut in_value = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.local_name();
                match name.as_ref() {
                    "c" => {
                        shared_index = e
                            .try_get_attribute("t")
                            .ok()
                            .flatten()
                            .is_some_and(|a| &*a.value == "s");
                    }
                    "v" => in_value = true,
                    _ => {}
                }
            }
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "p" | "h" | "tr" | "row" | "br" | "list-item" => out.push('\n'),
                "tc" | "c" | "table-cell" => out.push('\t'),
                "v" => in_value = false,
                // Office XML splits a paragraph into runs; a run ends without a break.
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "tab" | "s" => out.push(' '),
                "br" | "cr" | "line-break" => out.push('\n'),
                _ => {}
            },
            Ok(Event::Text(t)) => {
                if !(in_value && shared_index) {
                    out.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_xml_entity(&r) {
                    out.push_str(s);
                }
            }
            Ok(Event::Eof) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

/// The text of bytes that are text though not labelled so: a byte-order mark, the declared
/// charset, or valid UTF-8; in every case with no NUL and almost no control characters.
pub(super) fn sniff_text(bytes: &[u8], charset: Option<&str>) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let decoded: Cow<'_, str> = if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        encoding
            .decode_without_bom_handling(bytes.get(bom..).unwrap_or_default())
            .0
    } else if let Some(encoding) = charset.and_then(|c| Encoding::for_label(c.as_bytes())) {
        let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
        if had_errors {
            return None;
        }
        text
    } else {
        Cow::Borrowed(std::str::from_utf8(bytes).ok()?)
    };
    readable(&decoded).then(|| decoded.into_owned())
}

/// Text a person could read: no NUL, at most one control character in a hundred.
fn readable(text: &str) -> bool {
    let mut chars = 0usize;
    let mut control = 0usize;
    for c in text.chars() {
        if c == '\0' {
            return false;
        }
        chars += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') {
            control += 1;
        }
    }
    chars > 0 && control * 100 <= chars
}

/// The text of an iCalendar or vCard object as a reader sees it: folded lines joined, the
/// escapes `\n`, `\,`, `\;` and `\\` undone.
pub(super) fn directory_text(text: &str) -> String {
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "")
        .replace("\n\t", "");
    let mut out = String::with_capacity(unfolded.len());
    let mut chars = unfolded.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Takes the uuencoded blocks (`begin MODE NAME` … `end`) out of a text: the text without them,
/// and each block's file name and decoded bytes.
pub(super) fn take_uuencoded(text: &str) -> (String, Vec<(String, Vec<u8>)>) {
    let mut rest = String::new();
    let mut files = Vec::new();
    if !text.contains("begin ") {
        return (rest, files);
    }
    let mut lines = text.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let Some(name) = uu_begin(line) else {
            rest.push_str(line);
            continue;
        };
        let mut data = Vec::new();
        let mut ended = false;
        for body in lines.by_ref() {
            let body = body.trim_end_matches(['\r', '\n']);
            if body == "end" {
                ended = true;
                break;
            }
            uu_line(body, &mut data);
        }
        if ended || !data.is_empty() {
            files.push((name, data));
        }
    }
    (rest, files)
}

/// The file name of a `begin 644 name` line.
fn uu_begin(line: &str) -> Option<String> {
    let mut words = line.trim_end().splitn(3, ' ');
    let (Some("begin"), Some(mode), Some(name)) = (words.next(), words.next(), words.next()) else {
        return None;
    };
    let octal = (3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
    (octal && !name.is_empty()).then(|| name.to_owned())
}

/// Decodes one uuencoded line: a length character, then four characters for three bytes.
fn uu_line(line: &str, out: &mut Vec<u8>) {
    let b = line.as_bytes();
    let Some(&first) = b.first() else {
        return;
    };
    let len = usize::from(first.wrapping_sub(b' ') & 0x3f);
    let six = |c: u8| c.wrapping_sub(b' ') & 0x3f;
    let mut produced = 0;
    for quad in b[1..].chunks(4) {
        let q = [0, 1, 2, 3].map(|i| six(quad.get(i).copied().unwrap_or(b' ')));
        let bytes = [
            (q[0] << 2) | (q[1] >> 4),
            (q[1] << 4) | (q[2] >> 2),
            (q[2] << 6) | q[3],
        ];
        for byte in bytes {
            if produced < len {
                out.push(byte);
                produced += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, data) in entries {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            w.start_file(*name, options)
                .unwrap_or_else(|e| panic!("{e}"));
            w.write_all(data).unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}"));
        buf.into_inner()
    }

    fn part(bytes: Vec<u8>) -> Part {
        Part {
            id: "2".into(),
            content_type: "application/octet-stream".into(),
            charset: None,
            disposition: None,
            filename: None,
            text: None,
            bytes: Arc::from(bytes),
        }
    }

    fn complete(p: Part, limits: &Limits) -> (Vec<Part>, Vec<Unscanned>) {
        let mut d = Decoder::new(limits);
        let mut out = Vec::new();
        d.complete(p, 0, &mut out);
        (out, d.unscanned)
    }

    #[test]
    fn uudecode() {
        let text =
            "hello\nbegin 644 note.txt\n>1$5!($9-,C@T-C$Y,R!34TX@-#@P+3,V+3$Q,C<*\n`\nend\nbye\n";
        let (rest, files) = take_uuencoded(text);
        assert_eq!(rest, "hello\nbye\n");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "note.txt");
        assert_eq!(
            String::from_utf8_lossy(&files[0].1),
            "DEA FM2846193 SSN 480-36-1127\n"
        );
    }

    #[test]
    fn calendar_escapes() {
        let ics =
            "DESCRIPTION:Card 36227206271667 to be charged\\nSSN 536-22-\r\n 8841\\, ok\\;\r\n";
        assert_eq!(
            directory_text(ics),
            "DESCRIPTION:Card 36227206271667 to be charged\nSSN 536-22-8841, ok;\r\n"
        );
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff_text(b"plain words\n", None).as_deref(),
            Some("plain words\n")
        );
        assert_eq!(sniff_text(b"\xff\xfeh\0i\0", None).as_deref(), Some("hi"));
        assert_eq!(
            sniff_text(b"caf\xe9", Some("iso-8859-1")).as_deref(),
            Some("café")
        );
        assert_eq!(sniff_text(b"GIF89a\x01\0\x01\0\x80\0\0", None), None);
        assert_eq!(sniff_text(b"\x00\x01binary", None), None);
    }

    #[test]
    fn zip_entries_become_parts() {
        let inner = zip_of(&[("deep.txt", b"SSN 123-45-6789")]);
        let outer = zip_of(&[("a.txt", b"MRN: 00482915"), ("dir/inner.zip", &inner)]);
        let (parts, unscanned) = complete(part(outer), &Limits::default());
        let ids: Vec<&str> = parts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["2", "2.1", "2.2", "2.2.1"]);
        assert_eq!(parts[1].text.as_deref(), Some("MRN: 00482915"));
        assert_eq!(parts[2].filename.as_deref(), Some("dir/inner.zip"));
        assert_eq!(parts[3].text.as_deref(), Some("SSN 123-45-6789"));
        assert!(unscanned.is_empty(), "{unscanned:?}");
    }

    #[test]
    fn zip_bomb_is_stopped_by_ratio_and_budget() {
        let zeros = vec![b'0'; 20 << 20];
        let bomb = zip_of(&[("zeros.txt", &zeros)]);
        assert!(bomb.len() < 100 << 10);
        let (parts, unscanned) = complete(part(bomb.clone()), &Limits::default());
        assert_eq!(parts.len(), 2, "the entry is listed, by name only");
        assert!(parts[1].bytes.is_empty());
        assert_eq!(unscanned[0].reason, Reason::Ratio);

        let tight = Limits {
            max_ratio: u64::MAX / 2,
            max_decoded_bytes: 1 << 20,
            ..Limits::default()
        };
        let (_, unscanned) = complete(part(bomb), &tight);
        assert_eq!(unscanned[0].reason, Reason::TooLarge);
    }

    #[test]
    fn depth_and_entries_are_limited() {
        let mut nested = zip_of(&[("x.txt", b"x")]);
        for _ in 0..6 {
            nested = zip_of(&[("n.zip", &nested)]);
        }
        let (_, unscanned) = complete(part(nested), &Limits::default());
        assert_eq!(unscanned.last().map(|u| u.reason), Some(Reason::TooDeep));

        let many: Vec<(String, Vec<u8>)> =
            (0..20).map(|i| (format!("{i}.txt"), vec![b'a'])).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let limits = Limits {
            max_entries: 5,
            ..Limits::default()
        };
        let (parts, unscanned) = complete(part(zip_of(&refs)), &limits);
        assert_eq!(parts.len(), 6);
        assert_eq!(unscanned[0].reason, Reason::TooManyEntries);
    }

    #[test]
    fn corrupt_archive_is_recorded() {
        let mut bytes = zip_of(&[("a.txt", b"hello")]);
        bytes.truncate(bytes.len() - 10);
        let (_, unscanned) = complete(part(bytes), &Limits::default());
        assert_eq!(unscanned[0].reason, Reason::Corrupt);
    }

    #[test]
    fn docx_text() {
        let doc = br#"<?xml version="1.0"?><w:document xmlns:w="w"><w:body>
            <w:p><w:r><w:t>SSN 123-</w:t></w:r><w:r><w:t>45-6789</w:t></w:r></w:p>
            <w:p><w:r><w:t>a &amp; b</w:t></w:r></w:p></w:body></w:document>"#;
        let docx = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", doc),
        ]);
        let (parts, _) = complete(part(docx), &Limits::default());
        assert_eq!(parts.len(), 1);
        let text = parts[0].text.as_deref().unwrap_or_default();
        assert!(text.contains("SSN 123-45-6789\n"), "{text:?}");
        assert!(text.contains("a & b"), "{text:?}");
    }

    #[test]
    fn xlsx_text_skips_string_indexes() {
        let sheet = br#"<worksheet><sheetData><row><c t="s"><v>0</v></c><c><v>123456789</v></c></row></sheetData></worksheet>"#;
        let strings = br#"<sst><si><t>SSN</t></si></sst>"#;
        let xlsx = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/sharedStrings.xml", strings),
            ("xl/worksheets/sheet1.xml", sheet),
        ]);
        let (parts, _) = complete(part(xlsx), &Limits::default());
        let text = parts[0].text.as_deref().unwrap_or_default();
        assert_eq!(text, "SSN\n\t123456789");
    }

    #[test]
    fn odt_text() {
        let content = br#"<office:document-content><office:body><office:text>
            <text:p>MRN:<text:s/>00482915</text:p></office:text></office:body></office:document-content>"#;
        let odt = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content),
        ]);
        let (parts, _) = complete(part(odt), &Limits::default());
        assert!(
            parts[0]
                .text
                .as_deref()
                .unwrap_or_default()
                .contains("MRN: 00482915")
        );
    }
}

//! HTML reduced to the text a reader sees: tags removed (inline ones without a trace, so a
//! number split by `<span>` tags stays one number; block ones as line breaks, table cells as
//! tabs), entities decoded, scripts, styles and comments dropped, white space collapsed.

use mail_parser::decoders::html::add_html_token;

/// Elements that start a new line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "title",
    "tr",
    "ul",
];

/// Elements whose content nobody reads.
const HIDDEN: &[&str] = &["script", "style", "template", "noscript"];

/// Longest entity looked for after an `&`.
const MAX_ENTITY: usize = 40;

/// The text of an HTML document.
pub fn to_text(html: &str) -> String {
    let mut out = Text {
        buf: String::with_capacity(html.len() / 2),
        space: false,
    };
    let mut hidden: Option<String> = None;
    let mut rest = html;

    while let Some(pos) = rest.find(['<', '&']) {
        if hidden.is_none() {
            out.push_text(&rest[..pos]);
        }
        rest = &rest[pos..];

        if rest.starts_with('&') {
            let entity = rest
                .char_indices()
                .take(MAX_ENTITY)
                .find(|(_, c)| *c == ';' || *c == '<' || c.is_whitespace());
            match entity {
                Some((end, ';')) if hidden.is_none() => {
                    let mut decoded = String::new();
                    add_html_token(&mut decoded, &rest.as_bytes()[..=end], false);
                    out.push_text(&decoded);
                    rest = &rest[end + 1..];
                }
                _ => {
                    if hidden.is_none() {
                        out.push_text("&");
                    }
                    rest = &rest[1..];
                }
            }
            continue;
        }

        // Comments, CDATA, doctype and processing instructions.
        if let Some(body) = rest.strip_prefix("<!--") {
            rest = body.find("-->").map_or("", |end| &body[end + 3..]);
            continue;
        }
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let end = body.find("]]>").unwrap_or(body.len());
            if hidden.is_none() {
                out.push_text(&body[..end]);
            }
            rest = body.get(end + 3..).unwrap_or("");
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
            continue;
        }

        // A tag: `<`, an optional `/`, a name, attributes (quotes respected), `>`.
        let Some((name, closing, end)) = tag(rest) else {
            if hidden.is_none() {
                out.push_text("<");
            }
            rest = &rest[1..];
            continue;
        };
        rest = &rest[end..];
        if let Some(h) = &hidden {
            if closing && *h == name {
                hidden = None;
            }
            continue;
        }
        if HIDDEN.contains(&name.as_str()) {
            if !closing {
                hidden = Some(name);
            }
        } else if name == "td" || name == "th" {
            out.push_break('\t');
        } else if BLOCKS.contains(&name.as_str()) {
            out.push_break('\n');
        }
    }
    if hidden.is_none() {
        out.push_text(rest);
    }
    let mut text = out.buf;
    text.truncate(text.trim_end().len());
    text
}

/// The name (lower case), whether it closes, and the byte length of the tag at the start of
/// `s`; none when `s` does not start a well-formed tag.
fn tag(s: &str) -> Option<(String, bool, usize)> {
    let inner = s.strip_prefix('<')?;
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(i) => (true, i),
        None => (false, inner),
    };
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-'))
        .unwrap_or(inner.len());
    if name_len == 0 || !inner.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = inner[..name_len].to_ascii_lowercase();

    let mut quote = None;
    for (i, c) in inner[name_len..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                let consumed = s.len() - inner.len() + name_len + i + 1;
                return Some((name, closing, consumed));
            }
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// The text being built: white space collapsed, breaks not repeated.
struct Text {
    buf: String,
    /// A space is owed before the next word.
    space: bool,
}

impl Text {
    fn push_text(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_ascii_whitespace() {
                self.space = true;
            } else {
                if self.space && !self.buf.is_empty() && !self.buf.ends_with(['\n', '\t', ' ']) {
                    self.buf.push(' ');
                }
                self.space = false;
                self.buf.push(c);
            }
        }
    }

    fn push_break(&mut self, c: char) {
        self.space = false;
        if self.buf.is_empty() || self.buf.ends_with('\n') {
            return;
        }
        if self.buf.ends_with(['\t', ' ']) {
            self.buf.pop();
        }
        self.buf.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn inline_tags_leave_no_trace() {
        assert_eq!(
            to_text(
                "<div>Card: <span>6011</span> <span>1111</span> <span>1111</span> <span>1117</span></div>"
            ),
            "Card: 6011 1111 1111 1117"
        );
        assert_eq!(to_text("<b>41</b><i>11</i>"), "4111");
    }

    #[test]
    fn blocks_and_cells_separate() {
        let html = "<p>NPI: <b>1245318062</b></p><table><tr><td>Dx</td><td>E11.9</td></tr>\
                    <tr><td>Dx</td><td>I10</td></tr></table>";
        assert_eq!(to_text(html), "NPI: 1245318062\nDx\tE11.9\nDx\tI10");
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            to_text("<p>SSN on file: &#49;&#53;&#48;&#45;&#51;&#49;&#45;&#55;&#55;&#54;&#52;</p>"),
            "SSN on file: 150-31-7764"
        );
        assert_eq!(
            to_text("a &amp; b &lt;c&gt; &#x41; &nosuch; & x"),
            "a & b <c> A &nosuch; & x"
        );
    }

    #[test]
    fn hidden_content_is_dropped() {
        let html = "<html><head><style>p{}</style><script>var x='<p>123-45-6789</p>';</script>\
                    </head><body><!-- 234-56-7890 -->text</body></html>";
        assert_eq!(to_text(html), "text");
    }

    #[test]
    fn broken_markup_does_not_lose_text() {
        assert_eq!(to_text("a < b and 3<4"), "a < b and 3<4");
        assert_eq!(to_text("x <b unterminated"), "x <b unterminated");
        assert_eq!(to_text("<p title='a>b'>t</p>"), "t");
        assert_eq!(to_text("<!-- open"), "");
    }
}

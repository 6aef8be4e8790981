//! A scrape of `/metrics` as Prometheus does it, and the samples of the text format.
//!
//! The request is a literal HTTP/1.1 GET over a `TcpStream`; the reply is read to the end
//! (the request asks the server to close) and may come with a length or chunked.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// One sample line: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, with its `_bucket`/`_sum`/`_count` suffix if any.
    pub name: String,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// Every sample of one exposition.
#[derive(Debug, Clone)]
pub struct Exposition {
    /// The samples in the order served.
    pub samples: Vec<Sample>,
    /// The text as served, for failure messages.
    pub text: String,
}

/// Fetches `http://addr/metrics` and parses it.
pub fn scrape(addr: SocketAddr) -> Result<Exposition> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("cannot connect to the metrics listener {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
    )?;

    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .context("cannot read the /metrics response")?;

    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the /metrics response has no end of header")?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = &response[split + 4..];

    let status = head.lines().next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        bail!("GET /metrics answered {status:?}:\n{head}");
    }
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let content_type = header("content-type").unwrap_or_default();
    if !content_type.starts_with("text/plain") {
        bail!("GET /metrics answered content type {content_type:?}, not text/plain");
    }
    let body = match header("transfer-encoding") {
        Some(te) if te.eq_ignore_ascii_case("chunked") => dechunk(body)?,
        _ => body.to_vec(),
    };

    let text = String::from_utf8(body).context("the /metrics body is not UTF-8")?;
    Exposition::parse(&text)
}

impl Exposition {
    /// Parses the Prometheus text format (version 0.0.4).
    pub fn parse(text: &str) -> Result<Exposition> {
        let samples = text
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| parse_sample(line).with_context(|| format!("bad sample line {line:?}")))
            .collect::<Result<_>>()?;
        Ok(Exposition {
            samples,
            text: text.to_owned(),
        })
    }

    /// The samples named `name` whose labels include all of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The value of the one sample named `name` with `labels`, or an error that shows the
    /// exposition when there is none or more than one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Result<f64> {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        match found.as_slice() {
            [one] => Ok(one.value),
            _ => bail!(
                "expected one sample {name}{labels:?}, found {}; /metrics:\n{}",
                found.len(),
                self.text
            ),
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .context("no value")?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];

    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            // `}` or `label="value"` followed by `,` or `}`.
            while chars.next_if(|(_, c)| *c == ',' || *c == ' ').is_some() {}
            let (start, c) = chars.next().context("unterminated labels")?;
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            let mut key = String::from(c);
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                bail!("label {key} has no quoted value");
            }
            let mut value = String::new();
            loop {
                match chars.next().context("unterminated label value")?.1 {
                    '\\' => match chars.next().context("unterminated escape")?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    other => value.push(other),
                }
            }
            labels.insert(key.trim().to_owned(), value);
        }
    }

    let value_text = rest.split_whitespace().next().context("no value")?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .with_context(|| format!("bad value {other:?}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunk size line")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).context("truncated chunk")?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).context("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_with_and_without_labels() -> Result<()> {
        let text = "# HELP m_total Messages.\n# TYPE m_total counter\n\
                    m_total{action=\"accept\"} 3\n\
                    m_total{action=\"encrypt\",note=\"a \\\"q\\\", b\"} 1\n\
                    h_bucket{policy=\"p\",le=\"+Inf\"} 2\n\
                    up 1 1700000000000\n";

        let exposition = Exposition::parse(text)?;

        assert_eq!(exposition.value("m_total", &[("action", "accept")])?, 3.0);
        let encrypt = exposition
            .matching("m_total", &[("action", "encrypt")])
            .next();
        assert_eq!(
            encrypt
                .and_then(|s| s.labels.get("note"))
                .map(String::as_str),
            Some("a \"q\", b")
        );
        assert_eq!(exposition.value("h_bucket", &[("le", "+Inf")])?, 2.0);
        assert_eq!(exposition.value("up", &[])?, 1.0);
        assert!(
            exposition.value("m_total", &[]).is_err(),
            "two samples match"
        );
        Ok(())
    }

    #[test]
    fn chunked_body() -> Result<()> {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")?, b"abcde");
        assert!(dechunk(b"5\r\nab").is_err());
        Ok(())
    }
}

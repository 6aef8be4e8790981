//! A syslog receiver on UDP loopback, and a parser of RFC 5424 messages.
//!
//! The daemon sends one audit line per message. The receiver keeps every datagram, so a
//! test can check both that a message's line arrived and that no line leaks anything.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a test waits for an audit line.
pub const AUDIT_TIMEOUT: Duration = Duration::from_secs(15);

/// A UDP socket on 127.0.0.1 that collects syslog datagrams.
#[derive(Debug)]
pub struct Receiver {
    socket: UdpSocket,
    datagrams: Vec<String>,
}

/// The parts of an RFC 5424 syslog message (section 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc5424 {
    /// Facility * 8 + severity.
    pub priority: u8,
    /// The protocol version; always 1.
    pub version: u8,
    /// RFC 3339 time, or "-".
    pub timestamp: String,
    /// HOSTNAME, or "-".
    pub hostname: String,
    /// APP-NAME, or "-".
    pub app_name: String,
    /// PROCID, or "-".
    pub proc_id: String,
    /// MSGID, or "-".
    pub msg_id: String,
    /// STRUCTURED-DATA as it appeared: "-" or one or more `[...]` elements.
    pub structured_data: String,
    /// MSG without a leading BOM; empty when there is none.
    pub msg: String,
}

impl Receiver {
    /// Binds 127.0.0.1 on a free port.
    pub fn bind() -> Result<Receiver> {
        let socket =
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a UDP socket")?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(Receiver {
            socket,
            datagrams: Vec::new(),
        })
    }

    /// The port to put in the daemon's `audit.syslog`.
    pub fn port(&self) -> Result<u16> {
        Ok(self.socket.local_addr()?.port())
    }

    /// Every datagram received so far, after reading what is waiting.
    pub fn datagrams(&mut self) -> Result<&[String]> {
        while self.receive()? {}
        Ok(&self.datagrams)
    }

    /// Waits for the audit line of `queue_id`: the first datagram whose MSG starts with
    /// `<queue_id>: `. Fails when a datagram is not RFC 5424.
    pub fn wait_for_queue_id(&mut self, queue_id: &str) -> Result<Rfc5424> {
        let prefix = format!("{queue_id}: ");
        let start = Instant::now();
        let mut checked = 0;
        loop {
            for datagram in &self.datagrams[checked..] {
                let parsed = parse(datagram)?;
                if parsed.msg.starts_with(&prefix) {
                    return Ok(parsed);
                }
            }
            checked = self.datagrams.len();

            if start.elapsed() >= AUDIT_TIMEOUT {
                bail!(
                    "no audit line for {queue_id} within {AUDIT_TIMEOUT:?}; received:\n{}",
                    self.datagrams.join("\n")
                );
            }
            self.receive()?;
        }
    }

    /// Reads one datagram if one arrives within the read timeout.
    fn receive(&mut self) -> Result<bool> {
        let mut buf = vec![0u8; 65536];
        match self.socket.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8(buf[..n].to_vec())
                    .context("a syslog datagram is not UTF-8")?;
                self.datagrams.push(text);
                Ok(true)
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                Ok(false)
            }
            Err(e) => Err(e).context("cannot read from the syslog socket"),
        }
    }
}

impl Rfc5424 {
    /// The `key=value` words of MSG after the `queue id: ` prefix, in order.
    pub fn fields(&self) -> Vec<(&str, &str)> {
        let rest = self.msg.split_once(": ").map(|(_, r)| r).unwrap_or("");
        rest.split_whitespace()
            .filter_map(|word| word.split_once('='))
            .collect()
    }

    /// The value of the first MSG field named `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// Parses one syslog message in the RFC 5424 format.
pub fn parse(datagram: &str) -> Result<Rfc5424> {
    let fail = |why: &str| anyhow::anyhow!("not an RFC 5424 message ({why}): {datagram:?}");

    let rest = datagram.strip_prefix('<').ok_or_else(|| fail("no '<'"))?;
    let (pri, rest) = rest.split_once('>').ok_or_else(|| fail("no '>'"))?;
    let priority: u8 = match pri.parse() {
        Ok(p) if p <= 191 && (pri == "0" || !pri.starts_with('0')) => p,
        _ => return Err(fail("bad PRI")),
    };

    let mut header = rest.splitn(7, ' ');
    let mut next = |what: &str| {
        header
            .next()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| fail(what))
    };
    let version = next("no VERSION")?;
    if version != "1" {
        return Err(fail("VERSION is not 1"));
    }
    let timestamp = next("no TIMESTAMP")?.to_owned();
    let hostname = next("no HOSTNAME")?.to_owned();
    let app_name = next("no APP-NAME")?.to_owned();
    let proc_id = next("no PROCID")?.to_owned();
    let msg_id = next("no MSGID")?.to_owned();
    let rest = header.next().ok_or_else(|| fail("no STRUCTURED-DATA"))?;

    let sd_len = structured_data_len(rest).ok_or_else(|| fail("bad STRUCTURED-DATA"))?;
    let (structured_data, msg) = rest.split_at(sd_len);
    let msg = match msg {
        "" => "",
        _ => msg
            .strip_prefix(' ')
            .ok_or_else(|| fail("no space before MSG"))?,
    };
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);

    Ok(Rfc5424 {
        priority,
        version: 1,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data: structured_data.to_owned(),
        msg: msg.to_owned(),
    })
}

/// The length of the STRUCTURED-DATA at the start of `text`: "-", or `[...]` elements
/// whose quoted parameter values may hold escaped `"`, `\` and `]`.
fn structured_data_len(text: &str) -> Option<usize> {
    if text.starts_with('-') {
        return Some(1);
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while bytes.get(i) == Some(&b'[') {
        let mut in_value = false;
        i += 1;
        loop {
            match (*bytes.get(i)?, in_value) {
                (b'\\', true) => i += 1,
                (b'"', _) => in_value = !in_value,
                (b']', false) => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    (i > 0).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_without_structured_data() -> Result<()> {
        let line = "<134>1 2025-01-06T10:00:00.5Z mx wasmilter 42 7 - 4Xq1: action=accept n=1";

        let parsed = parse(line)?;

        assert_eq!(parsed.priority, 134);
        assert_eq!(parsed.app_name, "wasmilter");
        assert_eq!(parsed.structured_data, "-");
        assert_eq!(parsed.msg, "4Xq1: action=accept n=1");
        assert_eq!(parsed.field("action"), Some("accept"));
        Ok(())
    }

    #[test]
    fn structured_data_with_escapes_and_a_bom() -> Result<()> {
        let line = "<14>1 - - app - - [a@1 k=\"x\\\"] y\"][b@1] \u{feff}ID: k=v";

        let parsed = parse(line)?;

        assert_eq!(parsed.structured_data, "[a@1 k=\"x\\\"] y\"][b@1]");
        assert_eq!(parsed.msg, "ID: k=v");
        Ok(())
    }

    #[test]
    fn bsd_syslog_is_refused() {
        assert!(parse("<13>Jan  6 10:00:00 mx wasmilter[42]: 4Xq1: action=accept").is_err());
        assert!(parse("<192>1 - - - - - - msg").is_err());
        assert!(parse("<13>1 - - - - - [unterminated").is_err());
    }
}

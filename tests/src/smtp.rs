//! A minimal SMTP client that can stop half-way through a transaction.
//!
//! swaks sends a message in one go; the shutdown test must hold a transaction open while
//! the daemon gets SIGTERM, then finish it. This client does only that: commands, replies
//! (multi-line ones too), and the DATA body sent in two steps.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// An SMTP reply: the code and the text of its lines.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// Every line as received, joined with newlines.
    pub text: String,
}

impl Reply {
    /// The queue id in Postfix's "250 2.0.0 Ok: queued as ID".
    pub fn queue_id(&self) -> Option<&str> {
        let at = self.text.find("queued as ")? + "queued as ".len();
        self.text[at..].split_whitespace().next()
    }
}

/// An open SMTP connection, with the dialogue so far.
#[derive(Debug)]
pub struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Everything sent (`C: `) and received (`S: `), for failure messages.
    pub transcript: String,
}

impl Session {
    /// Connects and reads the greeting, which must be 220.
    pub fn connect(addr: &str) -> Result<Session> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut session = Session {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            transcript: String::new(),
        };
        session.expect(220)?;
        Ok(session)
    }

    /// Sends one command line and reads the reply.
    pub fn command(&mut self, line: &str) -> Result<Reply> {
        self.transcript.push_str(&format!("C: {line}\n"));
        write!(self.writer, "{line}\r\n")?;
        self.reply()
    }

    /// Sends one command line and fails unless the reply has code `code`.
    pub fn command_expect(&mut self, line: &str, code: u16) -> Result<Reply> {
        self.transcript.push_str(&format!("C: {line}\n"));
        write!(self.writer, "{line}\r\n")?;
        self.expect(code)
    }

    /// Sends message bytes inside DATA, dot-stuffed, without ending the message.
    pub fn send_data(&mut self, bytes: &[u8]) -> Result<()> {
        let mut stuffed = Vec::with_capacity(bytes.len() + 16);
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                stuffed.push(b'.');
            }
            stuffed.extend_from_slice(line);
        }
        self.transcript
            .push_str(&format!("C: ({} bytes of message)\n", stuffed.len()));
        self.writer.write_all(&stuffed)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Ends DATA with `.` and reads the reply.
    pub fn end_data(&mut self) -> Result<Reply> {
        self.command(".")
    }

    fn expect(&mut self, code: u16) -> Result<Reply> {
        let reply = self.reply()?;
        if reply.code != code {
            bail!(
                "expected SMTP {code}, got {}; dialogue:\n{}",
                reply.code,
                self.transcript
            );
        }
        Ok(reply)
    }

    fn reply(&mut self) -> Result<Reply> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line)?;
            if n == 0 {
                bail!(
                    "the server closed the connection; dialogue:\n{}",
                    self.transcript
                );
            }
            self.transcript.push_str(&format!("S: {}", line));
            text.push_str(&line);
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .with_context(|| format!("bad SMTP reply line {line:?}"))?;
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, text });
            }
        }
    }
}

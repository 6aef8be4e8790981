//! The test Postfix on 127.0.0.1:2525, and what can be seen of it from outside.
//!
//! Configuration, start and stop go through the scripts in `integration/postfix/`, the same
//! ones a developer runs by hand. Postfix is one per machine, so [`Postfix::start`] takes a
//! process-wide lock that the returned value holds until it is dropped; dropping it stops
//! Postfix. Every start empties the queue and the Maildir, so a test sees only its own mail.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::mail::RawMessage;

/// Where the test Postfix accepts SMTP.
pub const SMTP_ADDR: &str = "127.0.0.1:2525";

/// The local user whose Maildir receives every test message (see `setup.sh`).
const MAIL_USER: &str = "wmtest";

/// Postfix's own log (`maillog_file` in the generated main.cf).
const LOG: &str = "/var/log/postfix.log";

/// How long a test waits for a message to reach the Maildir or a queue. Delivery on
/// loopback takes well under a second; the margin is for a loaded CI machine.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

static LOCK: Mutex<()> = Mutex::new(());

/// The running test Postfix, held by one test at a time.
#[derive(Debug)]
pub struct Postfix {
    maildir: PathBuf,
    log_start: u64,
    _lock: MutexGuard<'static, ()>,
}

/// What `swaks` reported for one message.
#[derive(Debug)]
pub struct Submission {
    /// The SMTP dialogue as swaks printed it.
    pub transcript: String,
    /// swaks's exit code: 0 when the message was accepted.
    pub exit_code: Option<i32>,
}

/// One message in the Maildir.
#[derive(Debug)]
pub struct Delivered {
    /// The Maildir file.
    pub path: PathBuf,
    /// The file's bytes, as the local delivery agent wrote them (LF line endings).
    pub bytes: Vec<u8>,
}

/// One entry of `postqueue -j`.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    /// "incoming", "active", "deferred", "hold" or "maildrop".
    pub queue_name: String,
    /// Postfix's queue id.
    pub queue_id: String,
    /// The recipients still to be delivered.
    pub recipients: Vec<String>,
}

impl Postfix {
    /// Configures Postfix with `milter` (a Postfix milter address, or `None` for no milter),
    /// starts it with an empty queue and Maildir, and waits until it accepts SMTP.
    pub fn start(milter: Option<&str>) -> Result<Postfix> {
        let lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);

        let uid = fs::metadata("/proc/self")
            .context("cannot read /proc/self")?
            .uid();
        if uid != 0 {
            bail!(
                "the Postfix end-to-end tests must run as root: they rewrite /etc/postfix and \
                 start Postfix (uid is {uid})"
            );
        }
        for program in ["postfix", "swaks", "gpg"] {
            if !Path::new("/usr/sbin").join(program).exists()
                && !Path::new("/usr/bin").join(program).exists()
            {
                bail!("{program} is not installed: run integration/postfix/install.sh");
            }
        }

        ctl(&["stop"])?;
        crate::run(script("setup.sh"), &[milter.unwrap_or("none")])?;
        let log_start = fs::metadata(LOG).map(|m| m.len()).unwrap_or(0);
        ctl(&["start"])?;
        ctl(&["clean"])?;

        // Look for the listening socket rather than connect: a connection would already
        // call the milter, which may not be up yet.
        crate::wait_for(Duration::from_secs(10), "Postfix to listen on 2525", || {
            Ok(is_listening_on_2525()?.then_some(()))
        })?;

        Ok(Postfix {
            maildir: maildir()?,
            log_start,
            _lock: lock,
        })
    }

    /// Sends `data` (a whole message, headers and body) with swaks from `from` to `rcpts`.
    ///
    /// A refusal is not an error here: the caller looks at the [`Submission`].
    pub fn send(&self, from: &str, rcpts: &[&str], data: &[u8]) -> Result<Submission> {
        // swaks ends DATA with CRLF "." CRLF after the data it is given, so the message's
        // own last CRLF is left out; it does the dot-stuffing. Its %TOKEN% replacement would
        // change a message with such tokens: the tests send none.
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, data)?;
        let data_arg = format!("@{}", file.path().display());
        let to = rcpts.join(",");

        let output = Command::new("swaks")
            .args(["--server", SMTP_ADDR, "--helo", "client.e2e.test"])
            .args(["--from", from, "--to", &to, "--data", &data_arg])
            .args(["--timeout", "60"])
            .output()
            .context("cannot run swaks")?;

        let mut transcript = String::from_utf8_lossy(&output.stdout).into_owned();
        transcript.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(Submission {
            transcript,
            exit_code: output.status.code(),
        })
    }

    /// Every Maildir file whose header section contains `token`.
    pub fn deliveries(&self, token: &str) -> Result<Vec<Delivered>> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.maildir.join(sub);
            let entries =
                fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                let bytes = match fs::read(&path) {
                    Ok(bytes) => bytes,
                    // Moved from new/ to cur/ between the listing and the read.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e).context(format!("cannot read {}", path.display())),
                };
                let header = RawMessage::split(&bytes).0;
                if contains(header, token.as_bytes()) {
                    found.push(Delivered { path, bytes });
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    /// Waits until the message `queue_id`, whose header contains `token`, is in the Maildir.
    /// Fails at once if it lands on the hold queue instead.
    pub fn wait_delivered(&self, queue_id: &str, token: &str) -> Result<Delivered> {
        let what = format!("message {queue_id} ({token}) in the Maildir");
        crate::wait_for(DELIVERY_TIMEOUT, &what, || {
            if let Some(delivered) = self.deliveries(token)?.into_iter().next() {
                return Ok(Some(delivered));
            }
            let queue = self.queue()?;
            if queue
                .iter()
                .any(|e| e.queue_id == queue_id && e.queue_name == "hold")
            {
                bail!("message {queue_id} was put on hold instead of delivered");
            }
            Ok(None)
        })
    }

    /// Every message in the queue, held ones included.
    pub fn queue(&self) -> Result<Vec<QueueEntry>> {
        let output = crate::run("postqueue", &["-j"])?;
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(parse_queue_entry)
            .collect()
    }

    /// Waits until the message `queue_id` is in the queue named `queue_name`.
    pub fn wait_in_queue(&self, queue_id: &str, queue_name: &str) -> Result<QueueEntry> {
        let what = format!("message {queue_id} in the {queue_name} queue");
        crate::wait_for(DELIVERY_TIMEOUT, &what, || {
            Ok(self
                .queue()?
                .into_iter()
                .find(|e| e.queue_id == queue_id && e.queue_name == queue_name))
        })
    }

    /// Deletes one message from whatever queue it is in.
    pub fn delete(&self, queue_id: &str) -> Result<()> {
        crate::run("postsuper", &["-d", queue_id])?;
        Ok(())
    }

    /// Postfix's log since this instance started.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(LOG) {
            let mut bytes = Vec::new();
            if file.seek(SeekFrom::Start(self.log_start)).is_ok()
                && file.read_to_end(&mut bytes).is_ok()
            {
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        text
    }

    /// Postfix's log, queue and Maildir, for a failure message.
    pub fn diagnostics(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");

        let queue = match crate::run("postqueue", &["-j"]) {
            Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
            Err(e) => format!("{e:#}"),
        };

        let mut maildir = String::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = fs::read_dir(self.maildir.join(sub)) {
                for entry in entries.flatten() {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    maildir.push_str(&format!("{} ({size} bytes)\n", entry.path().display()));
                }
            }
        }

        format!(
            "--- Postfix log since start (last 40 lines) ---\n{tail}\n\
             --- postqueue -j ---\n{queue}\n\
             --- Maildir ---\n{maildir}"
        )
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if let Err(e) = ctl(&["stop"]) {
            eprintln!("could not stop the test Postfix: {e:#}");
        }
    }
}

impl Submission {
    /// The queue id from swaks's "250 ... queued as ID", when the message was accepted.
    pub fn queue_id(&self) -> Option<&str> {
        let at = self.transcript.find("queued as ")? + "queued as ".len();
        let id: &str = self.transcript[at..].split_whitespace().next()?;
        Some(id)
    }

    /// The queue id of an accepted message, or an error showing the dialogue.
    pub fn accepted(&self) -> Result<&str> {
        match (self.exit_code, self.queue_id()) {
            (Some(0), Some(id)) => Ok(id),
            _ => bail!(
                "Postfix did not accept the message (swaks exit code {:?}):\n{}",
                self.exit_code,
                self.transcript
            ),
        }
    }

    /// The server replies that swaks marked as errors (`<** 451 ...`).
    pub fn error_replies(&self) -> Vec<&str> {
        self.transcript
            .lines()
            .filter_map(|line| line.strip_prefix("<** "))
            .collect()
    }
}

impl Delivered {
    /// The delivered message, parsed into raw header fields and body.
    pub fn raw(&self) -> RawMessage {
        RawMessage::parse(&self.bytes)
    }

    /// The delivered bytes as text, for failure messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

fn parse_queue_entry(line: &str) -> Result<QueueEntry> {
    let value: Value =
        serde_json::from_str(line).with_context(|| format!("bad postqueue -j line: {line}"))?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("postqueue -j line without {name}: {line}"))
    };
    let recipients = value["recipients"]
        .as_array()
        .map(|rcpts| {
            rcpts
                .iter()
                .filter_map(|r| r["address"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(QueueEntry {
        queue_name: field("queue_name")?,
        queue_id: field("queue_id")?,
        recipients,
    })
}

/// Whether /proc/net/tcp has a socket listening on 127.0.0.1:2525.
fn is_listening_on_2525() -> Result<bool> {
    let table = fs::read_to_string("/proc/net/tcp").context("cannot read /proc/net/tcp")?;
    // local_address is 0100007F:09DD for 127.0.0.1:2525 and st 0A is LISTEN.
    Ok(table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"0100007F:09DD") && fields.get(3) == Some(&"0A")
    }))
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../integration/postfix")
        .join(name)
}

fn ctl(args: &[&str]) -> Result<()> {
    crate::run(script("ctl.sh"), args)?;
    Ok(())
}

fn maildir() -> Result<PathBuf> {
    let passwd = fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
    let home = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&MAIL_USER))
        .and_then(|fields| fields.get(5).map(|home| home.to_string()))
        .with_context(|| format!("no user {MAIL_USER}: setup.sh should have made it"))?;
    Ok(Path::new(&home).join("Maildir"))
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

//! wasmilter between a real Postfix and a real Maildir, seen from the outside.
//!
//! Each test starts its own daemon (the shipped `phi-dlp` policy, Alice's certificate, a UDP
//! syslog receiver, metrics on a free port) and points the test Postfix at it, so the tests
//! do not depend on each other or on their order; they take turns on Postfix. Mail goes in
//! with swaks on 127.0.0.1:2525 and is looked for in the Maildir, the hold queue, the audit
//! lines and `/metrics`. A failure prints the Postfix log, the queue, the Maildir, the daemon's
//! log and the audit lines received.
//!
//! Needs root, a free port 2525, the packages of `integration/postfix/install.sh`, and the
//! daemon binary (`target/debug/wasmilter`, or `$WASMILTER_BIN`).

use std::fs;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use mail_parser::{MessageParser, MimeHeaders};
use tempfile::TempDir;
use wasmilter_e2e::daemon::{Daemon, DaemonConfig};
use wasmilter_e2e::gpg::Keyring;
use wasmilter_e2e::mail::{RawMessage, TestMessage, is_content_field, show_fields};
use wasmilter_e2e::metrics::{self, Exposition};
use wasmilter_e2e::postfix::{Delivered, Postfix, SMTP_ADDR, contains};
use wasmilter_e2e::{free_port, smtp, syslog, wait_for};

const SENDER: &str = "clinic@sender.test";
const ALICE: &str = "alice@example.test";
/// A recipient with no certificate in the daemon's certs directory.
const BOB: &str = "bob@example.test";

/// A valid SSN: area not 000, 666 or 9xx, group not 00, serial not 0000.
const SSN: &str = "536-22-8147";
/// The same number in the other spellings a leak could take.
const SSN_FORMS: [&str; 3] = ["536-22-8147", "536228147", "536 22 8147"];

/// Fields that Postfix's smtpd and local delivery add on the way to the Maildir.
const ADDED_BY_POSTFIX: [&str; 4] = ["Return-Path", "X-Original-To", "Delivered-To", "Received"];

/// Postfix alone, without a milter, delivers a message to the Maildir unchanged.
///
/// This checks the harness itself (setup.sh, swaks, the Maildir reader), so that a failure
/// of the other tests can be told apart from a broken test Postfix.
#[test]
fn harness_postfix_without_milter_delivers_unchanged() -> Result<()> {
    let postfix = Postfix::start(None)?;
    let message = TestMessage::new(SENDER, &[ALICE], "harness check", &["plain", ".dot", ""]);

    let outcome = (|| {
        let submission = postfix.send(SENDER, &[ALICE], &message.bytes())?;
        let queue_id = submission.accepted()?;
        let delivered = postfix.wait_delivered(queue_id, &message.token)?;
        let raw = delivered.raw();

        ensure!(
            raw.fields_named("X-Wasmilter").is_empty(),
            "no milter, yet:\n{}",
            delivered.text()
        );
        ensure_headers_kept(&message, &raw, &[])?;
        ensure_body(&message, &raw, &delivered)
    })();

    outcome.map_err(|e| anyhow::anyhow!("{e:?}\n\n{}", postfix.diagnostics()))
}

/// A clean message arrives byte for byte as sent, with one `X-Wasmilter: action=accept`
/// header added.
#[test]
fn clean_message_is_delivered_with_only_the_verdict_header_added() -> Result<()> {
    Fixture::start()?.run(|f| {
        let message = TestMessage::new(
            SENDER,
            &[ALICE],
            "Rota for next week",
            &[
                "Hi Alice,",
                "",
                "the rota is unchanged: clinic 2 on Tuesday, ward 7 on Friday.  ",
                "\tRoom numbers follow.",
                ".A line that starts with a dot.",
                "-- ",
                "Sam",
            ],
        );

        let delivered = f.send_and_deliver(&message, &[ALICE])?;
        let raw = delivered.raw();

        ensure!(
            verdict(&raw)? == "accept",
            "expected action=accept:\n{}",
            delivered.text()
        );
        ensure_headers_kept(&message, &raw, &["X-Wasmilter"])?;
        ensure_body(&message, &raw, &delivered)
    })
}

/// A message with a valid SSN to a recipient with a certificate arrives as RFC 3156
/// PGP/MIME that the recipient's GnuPG decrypts back to the original entity, and the
/// delivered file holds neither the number nor the body text.
#[test]
fn ssn_message_is_delivered_as_pgp_mime_that_gnupg_decrypts() -> Result<()> {
    Fixture::start()?.run(|f| {
        let message = phi_message(&[ALICE]);

        let delivered = f.send_and_deliver(&message, &[ALICE])?;
        ensure_encrypted_for_alice(f, &message, &delivered)
    })
}

/// A message with a valid SSN to Alice (certificate) and Bob (none) is quarantined on
/// Postfix's hold queue, and no copy is delivered in the clear.
#[test]
fn ssn_message_to_a_recipient_without_certificate_is_held() -> Result<()> {
    Fixture::start()?.run(|f| {
        let message = phi_message(&[ALICE, BOB]);

        let submission = f.postfix.send(SENDER, &[ALICE, BOB], &message.bytes())?;
        let queue_id = submission.accepted()?.to_owned();
        let held = f.postfix.wait_in_queue(&queue_id, "hold")?;

        let mut recipients = held.recipients.clone();
        recipients.sort();
        ensure!(
            recipients == [ALICE, BOB],
            "held with recipients {recipients:?}"
        );
        let hold_logged = f.postfix.log().lines().any(|line| {
            line.contains(&format!("{queue_id}: milter-hold:"))
                && line.contains("milter triggers HOLD action")
        });
        ensure!(
            hold_logged,
            "Postfix did not log that the milter held {queue_id}"
        );

        // Held mail stays held: nothing reaches the Maildir.
        thread::sleep(Duration::from_secs(1));
        let delivered = f.postfix.deliveries(&message.token)?;
        ensure!(
            delivered.is_empty(),
            "a held message was also delivered:\n{}",
            delivered.iter().map(Delivered::text).collect::<String>()
        );

        f.postfix.delete(&queue_id)
    })
}

/// Numbers that only look like an SSN or a card number (area 000; a failed Luhn check)
/// leave the message as it was; the same card number with a valid check digit is encrypted,
/// so the policy does look at card numbers.
#[test]
fn invalid_ssn_and_luhn_failing_card_are_not_encrypted() -> Result<()> {
    Fixture::start()?.run(|f| {
        let lookalikes = TestMessage::new(
            SENDER,
            &[ALICE],
            "Order reference",
            &[
                "Your reference is 000-12-3456.",
                "The test card 4111 1111 1111 1112 was declined.",
            ],
        );

        let delivered = f.send_and_deliver(&lookalikes, &[ALICE])?;
        let raw = delivered.raw();

        ensure!(
            verdict(&raw)? == "accept",
            "look-alike numbers were acted on:\n{}",
            delivered.text()
        );
        ensure_headers_kept(&lookalikes, &raw, &["X-Wasmilter"])?;
        ensure_body(&lookalikes, &raw, &delivered)?;

        // The control: one digit changed, and the number passes Luhn.
        let card = TestMessage::new(
            SENDER,
            &[ALICE],
            "Order reference",
            &["The card 4111 1111 1111 1111 was charged."],
        );

        let delivered = f.send_and_deliver(&card, &[ALICE])?;

        ensure!(
            verdict(&delivered.raw())? == "encrypt",
            "a Luhn-valid card number was not encrypted:\n{}",
            delivered.text()
        );
        ensure!(
            !contains(&delivered.bytes, b"4111 1111 1111 1111"),
            "the card number was delivered in the clear:\n{}",
            delivered.text()
        );
        Ok(())
    })
}

/// With the daemon stopped, Postfix answers the SMTP client with a 4xx (the client keeps the
/// message and retries); once the daemon is back, mail flows and is filtered again.
#[test]
fn milter_down_means_4xx_and_restart_restores_flow() -> Result<()> {
    Fixture::start()?.run(|f| {
        let status = f.daemon.stop()?;
        ensure!(status.success(), "SIGTERM ended the daemon with {status}");

        let refused = TestMessage::new(SENDER, &[ALICE], "while down", &["hello"]);
        let submission = f.postfix.send(SENDER, &[ALICE], &refused.bytes())?;
        let errors = submission.error_replies();
        ensure!(
            submission.queue_id().is_none() && !errors.is_empty(),
            "Postfix took a message while the milter was down:\n{}",
            submission.transcript
        );
        ensure!(
            errors.iter().all(|reply| reply.starts_with('4')),
            "a milter that is down must mean 4xx, got:\n{}",
            submission.transcript
        );
        ensure!(
            f.postfix.queue()?.is_empty() && f.postfix.deliveries(&refused.token)?.is_empty(),
            "the refused message was queued or delivered anyway"
        );

        f.daemon.restart()?;

        let later = TestMessage::new(SENDER, &[ALICE], "after restart", &["hello again"]);
        let delivered = f.send_and_deliver(&later, &[ALICE])?;
        ensure!(
            verdict(&delivered.raw())? == "accept",
            "after the restart:\n{}",
            delivered.text()
        );
        Ok(())
    })
}

/// SIGTERM while a message is half-way through DATA: the daemon exits 0, and the message is
/// either tempfailed (the client retries) or delivered encrypted, never in the clear and
/// never lost.
#[test]
fn sigterm_during_a_transaction_never_lets_mail_through_unfiltered() -> Result<()> {
    Fixture::start()?.run(|f| {
        let message = phi_message(&[ALICE]);

        let mut session = smtp::Session::connect(SMTP_ADDR)?;
        session.command_expect("EHLO client.e2e.test", 250)?;
        session.command_expect(&format!("MAIL FROM:<{SENDER}>"), 250)?;
        session.command_expect(&format!("RCPT TO:<{ALICE}>"), 250)?;
        session.command_expect("DATA", 354)?;
        session.send_data(&message.bytes())?;

        f.daemon.signal_term()?;
        thread::sleep(Duration::from_millis(500));
        let reply = session.end_data()?;
        let _ = session.command("QUIT");

        let status = f.daemon.wait()?;
        ensure!(status.success(), "SIGTERM ended the daemon with {status}");

        println!("end of DATA after SIGTERM: {}", reply.text.trim());
        match reply.code {
            250 => {
                let queue_id = reply.queue_id().context("250 without a queue id")?;
                let delivered = f.postfix.wait_delivered(queue_id, &message.token)?;
                ensure_encrypted_for_alice(f, &message, &delivered)
            }
            400..=499 => {
                thread::sleep(Duration::from_secs(1));
                ensure!(
                    f.postfix.queue()?.is_empty()
                        && f.postfix.deliveries(&message.token)?.is_empty(),
                    "a tempfailed message was queued or delivered anyway"
                );
                Ok(())
            }
            _ => bail!(
                "end of DATA after SIGTERM must be 250 or 4xx:\n{}",
                session.transcript
            ),
        }
    })
}

/// With Content-Type as the very first header line, the encrypted message still carries
/// exactly one Content-Type. Postfix treats a change of header index 1 differently when that
/// header opens the message; other milters ended up with two (go-milter #31).
#[test]
fn content_type_as_first_header_is_replaced_not_duplicated() -> Result<()> {
    Fixture::start()?.run(|f| {
        let mut message = phi_message(&[ALICE]);
        message
            .headers
            .sort_by_key(|field| !field.starts_with("Content-"));

        let delivered = f.send_and_deliver(&message, &[ALICE])?;
        ensure_encrypted_for_alice(f, &message, &delivered)
    })
}

/// A message of about 1 MB with an SSN is encrypted (about 1.4 MB, so the new body goes to
/// Postfix in several body-replace packets of at most 64 KiB) and decrypts byte for byte.
#[test]
fn one_megabyte_message_is_encrypted_whole() -> Result<()> {
    Fixture::start()?.run(|f| {
        let mut lines = vec![
            format!("Chart export for patient SSN {SSN}."),
            String::new(),
        ];
        lines.extend((0..14_000).map(|n| {
            format!("entry {n:05}: vitals stable, no change in medication, next review as planned")
        }));
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let message = TestMessage::new(SENDER, &[ALICE], "Chart export", &lines);
        ensure!(
            message.body().len() > 1_000_000,
            "the test body is too small"
        );

        let delivered = f.send_and_deliver(&message, &[ALICE])?;
        ensure!(
            delivered.bytes.len() > 1_300_000,
            "the encrypted message is only {} bytes",
            delivered.bytes.len()
        );
        ensure_encrypted_for_alice(f, &message, &delivered)
    })
}

/// Every message leaves one RFC 5424 audit line that starts with its Postfix queue id and
/// names its action, and `/metrics` counts each action, the policy's runs and the
/// encryption; neither holds the SSN.
#[test]
fn metrics_and_audit_lines_account_for_every_message() -> Result<()> {
    Fixture::start()?.run(|f| {
        let clean = TestMessage::new(SENDER, &[ALICE], "Lunch", &["Noon at the usual place?"]);
        let phi = phi_message(&[ALICE]);
        let held = phi_message(&[ALICE, BOB]);

        // Send all three; the third waits on the hold queue.
        let clean_id = f.postfix.send(SENDER, &[ALICE], &clean.bytes())?;
        let clean_id = clean_id.accepted()?.to_owned();
        let phi_id = f.postfix.send(SENDER, &[ALICE], &phi.bytes())?;
        let phi_id = phi_id.accepted()?.to_owned();
        let held_id = f.postfix.send(SENDER, &[ALICE, BOB], &held.bytes())?;
        let held_id = held_id.accepted()?.to_owned();

        for (message, queue_id) in [(&clean, &clean_id), (&phi, &phi_id)] {
            let delivered = f.postfix.wait_delivered(queue_id, &message.token)?;
            let received = delivered.raw().values("Received").join("\n");
            ensure!(
                received.contains(&format!(" id {queue_id}")),
                "the delivered Received header does not name queue id {queue_id}:\n{received}"
            );
        }
        f.postfix.wait_in_queue(&held_id, "hold")?;

        // One audit line per message, led by the queue id Postfix gave it.
        for (queue_id, action) in [
            (&clean_id, "accept"),
            (&phi_id, "encrypt"),
            (&held_id, "quarantine"),
        ] {
            let line = f.syslog.wait_for_queue_id(queue_id)?;
            ensure!(
                line.field("action") == Some(action),
                "audit line of {queue_id} should say action={action}: {line:?}"
            );
            let finds_ssn = line.msg.contains("ssn:1");
            ensure!(
                finds_ssn == (action != "accept"),
                "audit line of {queue_id} should{} report ssn:1: {line:?}",
                if action == "accept" { " not" } else { "" }
            );
        }

        let datagrams = f.syslog.datagrams()?.to_vec();
        for datagram in &datagrams {
            ensure!(
                !SSN_FORMS.iter().any(|ssn| datagram.contains(ssn)),
                "an audit line holds the SSN: {datagram:?}"
            );
            ensure!(
                datagram.len() <= 1024,
                "an audit line of {} bytes would be cut by classic syslog: {datagram:?}",
                datagram.len()
            );
        }
        for queue_id in [&clean_id, &phi_id, &held_id] {
            let count = datagrams
                .iter()
                .filter_map(|d| syslog::parse(d).ok())
                .filter(|d| d.msg.starts_with(&format!("{queue_id}: ")))
                .count();
            ensure!(count == 1, "{count} audit lines for {queue_id}");
        }

        // The counters are updated by the time the audit line is out; allow a moment.
        let addr = f.daemon.config().metrics_addr();
        let exposition = wait_for(Duration::from_secs(10), "three messages counted", || {
            let exposition = metrics::scrape(addr)?;
            let total: f64 = exposition
                .matching("wasmilter_messages_total", &[])
                .map(|s| s.value)
                .sum();
            Ok((total >= 3.0).then_some(exposition))
        })?;
        ensure_metrics(&exposition)?;

        f.postfix.delete(&held_id)
    })
}

fn ensure_metrics(exposition: &Exposition) -> Result<()> {
    let policy = [("policy", "phi-dlp")];
    let expected = [
        ("wasmilter_messages_total", vec![("action", "accept")], 1.0),
        ("wasmilter_messages_total", vec![("action", "encrypt")], 1.0),
        (
            "wasmilter_messages_total",
            vec![("action", "quarantine")],
            1.0,
        ),
        (
            "wasmilter_encryptions_total",
            vec![("method", "openpgp"), ("result", "ok")],
            1.0,
        ),
        (
            "wasmilter_policy_duration_seconds_count",
            policy.to_vec(),
            3.0,
        ),
        (
            "wasmilter_policy_duration_seconds_bucket",
            vec![("policy", "phi-dlp"), ("le", "+Inf")],
            3.0,
        ),
    ];
    for (name, labels, value) in expected {
        let found = exposition.value(name, &labels)?;
        ensure!(
            found == value,
            "{name}{labels:?} is {found}, expected {value}; /metrics:\n{}",
            exposition.text
        );
    }

    let sum = exposition.value("wasmilter_policy_duration_seconds_sum", &policy)?;
    ensure!(
        sum >= 0.0 && sum.is_finite(),
        "policy duration sum is {sum}"
    );

    let errors: Vec<_> = exposition
        .matching("wasmilter_policy_errors_total", &[])
        .filter(|s| s.value != 0.0)
        .collect();
    ensure!(errors.is_empty(), "policy errors counted: {errors:?}");

    ensure!(
        exposition.matching("wasmilter_build_info", &[]).count() == 1,
        "no wasmilter_build_info; /metrics:\n{}",
        exposition.text
    );
    ensure!(
        !SSN_FORMS.iter().any(|ssn| exposition.text.contains(ssn)),
        "/metrics holds the SSN:\n{}",
        exposition.text
    );
    Ok(())
}

/// A daemon with Alice's certificate, the test Postfix pointed at it, and the receivers of
/// what it reports.
struct Fixture {
    // Dropped in this order: the daemon first, then Postfix (which frees it for the next
    // test), then the keyring and the files.
    daemon: Daemon,
    postfix: Postfix,
    syslog: syslog::Receiver,
    keyring: Keyring,
    _dir: TempDir,
}

impl Fixture {
    fn start() -> Result<Fixture> {
        let dir = tempfile::Builder::new().prefix("wm-e2e-").tempdir()?;
        let syslog = syslog::Receiver::bind()?;

        let keyring = Keyring::new()?;
        keyring.generate(&format!("Alice <{ALICE}>"))?;
        let certs_dir = dir.path().join("certs");
        fs::create_dir(&certs_dir)?;
        keyring.export_cert(ALICE, &certs_dir.join("alice.asc"))?;

        let config = DaemonConfig {
            milter_port: free_port()?,
            metrics_port: free_port()?,
            syslog_port: syslog.port()?,
            certs_dir,
        };
        let postfix = Postfix::start(Some(&config.postfix_milter()))?;
        let daemon = Daemon::start(dir.path(), config)?;

        Ok(Fixture {
            daemon,
            postfix,
            syslog,
            keyring,
            _dir: dir,
        })
    }

    /// Runs a test body; a failure comes back with everything there is to see.
    fn run(mut self, test: impl FnOnce(&mut Fixture) -> Result<()>) -> Result<()> {
        match test(&mut self) {
            Ok(()) => Ok(()),
            Err(e) => bail!("{e:?}\n\n{}", self.diagnostics()),
        }
    }

    /// The daemon's pid, for a thread that sends it signals.
    fn daemon_hup_command(&self) -> Result<String> {
        self.daemon.pid().map(|pid| pid.to_string())
    }

    /// Sends `message` to `rcpts` and waits for it in the Maildir.
    fn send_and_deliver(&self, message: &TestMessage, rcpts: &[&str]) -> Result<Delivered> {
        let submission = self.postfix.send(SENDER, rcpts, &message.bytes())?;
        let queue_id = submission.accepted()?;
        self.postfix.wait_delivered(queue_id, &message.token)
    }

    fn diagnostics(&mut self) -> String {
        let audit = match self.syslog.datagrams() {
            Ok(lines) => lines.join("\n"),
            Err(e) => format!("{e:#}"),
        };
        format!(
            "{}{}--- audit lines received ---\n{audit}\n",
            self.postfix.diagnostics(),
            self.daemon.diagnostics()
        )
    }
}

/// A message whose body carries a valid SSN.
fn phi_message(to: &[&str]) -> TestMessage {
    TestMessage::new(
        SENDER,
        to,
        "Follow-up appointment",
        &[
            "Dear Dr. Rivera,",
            "",
            &format!("patient Jane Roe, SSN {SSN}, is due for her follow-up on the 14th."),
            "",
            "Regards,",
            "Front desk",
        ],
    )
}

/// The action in the one `X-Wasmilter` header, which must read `X-Wasmilter: action=...`.
fn verdict(raw: &RawMessage) -> Result<String> {
    let fields = raw.fields_named("X-Wasmilter");
    let [field] = fields.as_slice() else {
        bail!(
            "expected one X-Wasmilter header, found {}:\n{}",
            fields.len(),
            raw.header_text()
        );
    };
    let text = String::from_utf8_lossy(field);
    let value = text.strip_prefix("X-Wasmilter: ").with_context(|| {
        format!("the verdict header is not written `X-Wasmilter: value`: {text:?}")
    })?;
    let action = value
        .split(|c: char| c == ';' || c.is_whitespace())
        .find_map(|word| word.strip_prefix("action="))
        .with_context(|| format!("no action= in {text:?}"))?;
    Ok(action.to_owned())
}

/// The delivered header is the sent one, field for field and byte for byte, once the fields
/// Postfix adds in transit and those named in `added` are set aside.
fn ensure_headers_kept(sent: &TestMessage, raw: &RawMessage, added: &[&str]) -> Result<()> {
    let kept: Vec<Vec<u8>> = raw
        .fields
        .iter()
        .filter(|f| {
            let name = wasmilter_e2e::mail::field_name(f);
            !ADDED_BY_POSTFIX
                .iter()
                .chain(added)
                .any(|a| a.eq_ignore_ascii_case(&name))
        })
        .cloned()
        .collect();
    ensure!(
        kept == sent.header_fields(),
        "header fields changed in transit\n--- sent ---\n{}--- delivered ---\n{}",
        show_fields(&sent.header_fields()),
        raw.header_text()
    );
    Ok(())
}

fn ensure_body(sent: &TestMessage, raw: &RawMessage, delivered: &Delivered) -> Result<()> {
    ensure!(
        raw.body == sent.body(),
        "body changed in transit\n--- sent ---\n{}\n--- delivered ({}) ---\n{}",
        String::from_utf8_lossy(&sent.body()),
        delivered.path.display(),
        delivered.text()
    );
    Ok(())
}

/// `delivered` is `sent` encrypted to Alice as RFC 3156 PGP/MIME: the header kept but for
/// the Content-* fields and the verdict, no SSN and no body text in the clear, and GnuPG
/// decrypts the second part to the original entity, byte for byte.
fn ensure_encrypted_for_alice(
    f: &Fixture,
    sent: &TestMessage,
    delivered: &Delivered,
) -> Result<()> {
    let raw = delivered.raw();
    let shown = delivered.text();

    ensure!(
        verdict(&raw)? == "encrypt",
        "expected action=encrypt:\n{shown}"
    );
    for ssn in SSN_FORMS {
        ensure!(
            !contains(&delivered.bytes, ssn.as_bytes()),
            "the SSN ({ssn}) is in the delivered message:\n{shown}"
        );
    }
    // The first lines are enough, and keep this quick for a large body.
    for line in sent.body_lines.iter().filter(|l| l.len() > 8).take(20) {
        ensure!(
            !contains(&delivered.bytes, line.as_bytes()),
            "body text {line:?} is in the delivered message:\n{shown}"
        );
    }

    // Every sent field but the Content-* ones is still there, unchanged, once.
    for field in sent.header_fields().iter().filter(|f| !is_content_field(f)) {
        let count = raw.fields.iter().filter(|d| *d == field).count();
        ensure!(
            count == 1,
            "sent header {:?} is there {count} times:\n{}",
            String::from_utf8_lossy(field),
            raw.header_text()
        );
    }
    ensure!(
        raw.fields_named("Content-Type").len() == 1
            && raw.fields_named("Content-Transfer-Encoding").len() <= 1,
        "expected one Content-Type and at most one Content-Transfer-Encoding:\n{}",
        raw.header_text()
    );

    // RFC 3156 section 4: multipart/encrypted with the control part, then the ciphertext.
    let parsed = MessageParser::default()
        .parse(&delivered.bytes)
        .context("mail-parser cannot parse the delivered message")?;
    let ctype = parsed
        .content_type()
        .context("the delivered message has no Content-Type")?;
    ensure!(
        ctype.ctype().eq_ignore_ascii_case("multipart")
            && ctype
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("encrypted"))
            && ctype.attribute("protocol") == Some("application/pgp-encrypted"),
        "not multipart/encrypted; protocol=\"application/pgp-encrypted\": {ctype:?}\n{shown}"
    );
    let parts = parsed.root_part().sub_parts().unwrap_or_default();
    let [control, payload] = parts else {
        bail!("expected 2 MIME parts, found {}:\n{shown}", parts.len());
    };
    let control = parsed.part(*control).context("no control part")?;
    let payload = parsed.part(*payload).context("no payload part")?;

    let is_type = |part: &mail_parser::MessagePart, t: &str, s: &str| {
        part.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case(t)
                && c.subtype().is_some_and(|x| x.eq_ignore_ascii_case(s))
        })
    };
    ensure!(
        is_type(control, "application", "pgp-encrypted")
            && String::from_utf8_lossy(control.contents())
                .lines()
                .any(|l| l.trim() == "Version: 1"),
        "the first part is not application/pgp-encrypted with Version: 1:\n{shown}"
    );
    ensure!(
        is_type(payload, "application", "octet-stream")
            && contains(payload.contents(), b"-----BEGIN PGP MESSAGE-----"),
        "the second part is not application/octet-stream with an armored message:\n{shown}"
    );

    // Alice's GnuPG gets back the original entity: Content-* fields, blank line, body.
    let decrypted = f.keyring.decrypt(payload.contents())?;
    let mut entity = sent.content_fields().concat();
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&sent.body());
    ensure!(
        decrypted.plaintext == entity,
        "the decrypted entity differs from the original\n--- expected ---\n{:?}\n--- decrypted ---\n{:?}",
        String::from_utf8_lossy(&entity),
        String::from_utf8_lossy(&decrypted.plaintext)
    );
    Ok(())
}

/// Every message of the DLP corpus (`shared/corpus/dlp`) through Postfix and the daemon, to a
/// recipient with a key: no identifier the corpus lists appears in an audit line, in
/// `/metrics`, or in a header the daemon adds; and where a message was encrypted, the SSNs
/// and card numbers it carries appear nowhere in the clear in what is delivered, headers
/// included (header protection).
#[test]
fn no_dlp_value_leaks_into_audit_metrics_or_headers() -> Result<()> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/dlp");
    let expected: serde_json::Value =
        serde_json::from_slice(&fs::read(corpus.join("expected.json"))?)?;
    let files = expected["files"]
        .as_object()
        .context("expected.json has no files")?;

    Fixture::start()?.run(|f| {
        // Send them all first, then look.
        let mut sent = Vec::new();
        for (name, spec) in files {
            let token = wasmilter_e2e::mail::unique_token();
            let mut data = format!("X-E2E-Token: {token}\r\n").into_bytes();
            data.extend(wasmilter_e2e::mail::to_crlf(&fs::read(corpus.join(name))?));
            let submission = f.postfix.send(SENDER, &[ALICE], &data)?;
            let queue_id = submission.accepted()?.to_owned();
            let values: Vec<(String, String)> = spec["must_find"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| Some((v["type"].as_str()?.to_owned(), v["value"].as_str()?.to_owned())))
                .collect();
            sent.push((name.clone(), queue_id, token, values));
        }

        let spellings = |kind: &str, value: &str| -> Vec<String> {
            let mut forms = vec![value.to_owned()];
            if matches!(kind, "ssn" | "credit_card" | "npi") {
                forms.push(value.chars().filter(char::is_ascii_digit).collect());
            }
            forms
        };

        let mut all_values = Vec::new();
        for (name, queue_id, token, values) in &sent {
            let delivered = f.postfix.wait_delivered(queue_id, token)?;
            let raw = delivered.raw();
            let encrypted = raw.values("X-Wasmilter").iter().any(|v| v.contains("action=encrypt"));
            let (header, _) = RawMessage::split(&delivered.bytes);
            let header = String::from_utf8_lossy(header);
            for (kind, value) in values {
                for form in spellings(kind, value) {
                    all_values.push(form.clone());
                    for added in raw.values("X-Wasmilter").iter().chain(raw.values("X-Wasmilter-Monitor").iter()) {
                        ensure!(!added.contains(&form), "{name}: a daemon header carries a {kind}: {added}");
                    }
                    if encrypted && matches!(kind.as_str(), "ssn" | "credit_card") {
                        ensure!(
                            !contains(&delivered.bytes, form.as_bytes()),
                            "{name}: encrypted, yet its {kind} is in the clear in what was delivered:\n{header}"
                        );
                    }
                }
            }
        }

        let datagrams = f.syslog.datagrams()?.to_vec();
        ensure!(datagrams.len() >= sent.len(), "{} audit lines for {} messages", datagrams.len(), sent.len());
        let exposition = metrics::scrape(f.daemon.config().metrics_addr())?;
        let metrics_text = format!("{exposition:?}");
        for value in &all_values {
            for line in &datagrams {
                ensure!(!line.contains(value.as_str()), "an audit line carries a corpus value: {line}");
            }
            ensure!(!metrics_text.contains(value.as_str()), "/metrics carries a corpus value");
        }
        Ok(())
    })
}

/// A stream of messages through Postfix while the policy chain is swapped by SIGHUP every
/// 150 ms: every message is delivered exactly once, with exactly one of the two policies'
/// marks (the chain that was current when it arrived), none is refused or held.
#[test]
fn reloads_under_load_lose_no_message() -> Result<()> {
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/testing");
    let block = |module: &str, settings: &str| {
        format!(
            "[[policy]]\nname = \"p\"\nmodule = \"{}\"\n{settings}",
            policies.join(module).display()
        )
    };
    let accept_all = block("accept-all.wasm", "");
    let word = block(
        "quarantine-word.wasm",
        "[policy.settings]\nword = \"never-in-a-subject\"\n",
    );

    Fixture::start()?.run(|f| {
        let path = f.daemon.config_path().to_owned();
        let original = fs::read_to_string(&path)?;
        let shipped = "[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n";
        ensure!(original.contains(shipped), "unexpected config:\n{original}");
        let with = |policy: &str| original.replace(shipped, policy);

        // Start from a known chain.
        fs::write(&path, with(&accept_all))?;
        f.daemon.signal_hup()?;
        thread::sleep(Duration::from_millis(500));

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let (path, a, b) = (path.clone(), with(&accept_all), with(&word));
            let pid_hup = f.daemon_hup_command()?;
            thread::spawn(move || -> Result<u32> {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    fs::write(&path, if n % 2 == 0 { &b } else { &a })?;
                    wasmilter_e2e::run("kill", &["-HUP", &pid_hup])?;
                    n += 1;
                    thread::sleep(Duration::from_millis(150));
                }
                Ok(n)
            })
        };

        let mut sent = Vec::new();
        for i in 0..30 {
            let message = TestMessage::new(
                SENDER,
                &[ALICE],
                &format!("Stream {i}"),
                &["Nothing sensitive."],
            );
            let submission = f.postfix.send(SENDER, &[ALICE], &message.bytes());
            let queue_id = submission.and_then(|s| Ok(s.accepted()?.to_owned()));
            sent.push((message, queue_id));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let reloads = swapper
            .join()
            .map_err(|_| anyhow::anyhow!("the swapper thread panicked"))??;
        ensure!(reloads >= 10, "only {reloads} reloads during the stream");

        for (message, queue_id) in &sent {
            let queue_id = queue_id.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
            f.postfix.wait_delivered(queue_id, &message.token)?;
            let copies = f.postfix.deliveries(&message.token)?;
            ensure!(
                copies.len() == 1,
                "{queue_id}: delivered {} times",
                copies.len()
            );
            let raw = copies[0].raw();
            let marks = raw.values("X-Test-Policy").len() + raw.values("X-Word-Checked").len();
            ensure!(
                marks == 1,
                "{queue_id}: {marks} policy marks, expected exactly one chain's"
            );
        }
        Ok(())
    })
}

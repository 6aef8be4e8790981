//! Protocol-level tests: the real `wasmilter` binary, started on loopback with a config per
//! test, driven stage by stage by a milter client (`indymilter-test`) the way Postfix drives
//! it. No MTA is involved; the end-to-end tests with a real Postfix live in `tests/`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a failed test setup step should stop the test loudly"
)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use indymilter_test::{EomAction, Status, TestConnection};
use openpgp::cert::CertBuilder;
use openpgp::serialize::Serialize;
use sequoia_openpgp as openpgp;

/// A running daemon; killed when dropped.
struct Daemon {
    child: Child,
    milter: SocketAddr,
    metrics: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

fn policy_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/testing")
        .join(format!("{name}.wasm"))
}

/// Starts the daemon with the given `[[policy]]` blocks and certificates.
fn start(policies: &str, certs: &[openpgp::Cert]) -> Daemon {
    start_with("", policies, certs)
}

/// Starts the daemon with extra `[milter]` keys.
fn start_with(milter_extra: &str, policies: &str, certs: &[openpgp::Cert]) -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs_dir = dir.path().join("certs");
    std::fs::create_dir(&certs_dir).expect("mkdir");
    for (i, cert) in certs.iter().enumerate() {
        let mut f = std::fs::File::create(certs_dir.join(format!("{i}.pgp"))).expect("create");
        cert.serialize(&mut f).expect("serialize");
    }
    let milter = free_port();
    let metrics = free_port();
    let config = format!(
        "[milter]\nlisten = \"inet:{milter}\"\n{milter_extra}[metrics]\nlisten = \"{metrics}\"\n[audit]\nsyslog = \"stderr\"\n\
         [openpgp]\ncerts = \"{}\"\n{policies}",
        certs_dir.display()
    );
    let config_path = dir.path().join("wasmilter.toml");
    std::fs::write(&config_path, config).expect("write config");

    let child = Command::new(env!("CARGO_BIN_EXE_wasmilter"))
        .args(["run", "--config"])
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn wasmilter");
    let daemon = Daemon {
        child,
        milter,
        metrics,
        _dir: dir,
    };

    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(milter).is_err() {
        assert!(
            Instant::now() < deadline,
            "wasmilter did not start listening on {milter}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon
}

const PHI_DLP: &str = "[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n";

fn cert(uid: &str) -> openpgp::Cert {
    CertBuilder::general_purpose(Some(uid))
        .generate()
        .expect("generate")
        .0
}

/// Sends one message and returns the end-of-message status and actions.
async fn send(
    addr: SocketAddr,
    rcpts: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Status, Vec<EomAction>) {
    let mut conn = TestConnection::open(addr).await.expect("open");
    assert_eq!(
        conn.connect("client.test", ([127, 0, 0, 1], 40000))
            .await
            .expect("connect"),
        Status::Continue
    );
    assert_eq!(
        conn.helo("client.test").await.expect("helo"),
        Status::Continue
    );
    conn.macros(indymilter_test::MacroStage::Mail, [("i", "QID1")])
        .await
        .expect("macros");
    assert_eq!(
        conn.mail(["<sender@example.test>"]).await.expect("mail"),
        Status::Continue
    );
    for r in rcpts {
        assert_eq!(
            conn.rcpt([format!("<{r}>")]).await.expect("rcpt"),
            Status::Continue
        );
    }
    assert_eq!(conn.data().await.expect("data"), Status::Continue);
    for (n, v) in headers {
        assert_eq!(conn.header(*n, *v).await.expect("header"), Status::Continue);
    }
    assert_eq!(conn.eoh().await.expect("eoh"), Status::Continue);
    for chunk in body.chunks(65535) {
        assert_eq!(
            conn.body(chunk.to_vec()).await.expect("body"),
            Status::Continue
        );
    }
    let (actions, status) = conn.eom().await.expect("eom");
    conn.close().await.expect("close");
    (status, actions.actions)
}

fn replaced_body(actions: &[EomAction]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            EomAction::ReplaceBody { chunk } => Some(chunk.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn has_header(actions: &[EomAction], name: &str, value: &str) -> bool {
    actions.iter().any(|a| {
        matches!(a, EomAction::AddHeader { name: n, value: v } if n.to_bytes() == name.as_bytes() && v.to_bytes() == value.as_bytes())
    })
}

fn scrape(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect metrics");
    use std::io::Write;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

const PLAIN: &[(&str, &str)] = &[
    ("From", "Sender <sender@example.test>"),
    ("To", "alice@example.test"),
    ("Subject", "lab results"),
    ("Content-Type", "text/plain; charset=utf-8"),
];

#[tokio::test(flavor = "multi_thread")]
async fn clean_message_is_accepted_with_the_status_header() {
    let d = start(PHI_DLP, &[]);
    let (status, actions) = send(
        d.milter,
        &["alice@example.test"],
        PLAIN,
        b"See you on Monday.\r\n",
    )
    .await;
    assert_eq!(status, Status::Accept);
    assert!(
        has_header(&actions, "X-Wasmilter", "action=accept"),
        "{actions:?}"
    );
    assert!(replaced_body(&actions).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn ssn_to_a_recipient_with_a_key_is_encrypted() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(PHI_DLP, std::slice::from_ref(&alice));
    let body = b"Patient SSN 123-45-6789, follow up.\r\n";
    let (status, actions) = send(d.milter, &["alice@example.test"], PLAIN, body).await;
    assert_eq!(status, Status::Accept);
    assert!(
        has_header(&actions, "X-Wasmilter", "action=encrypt"),
        "{actions:?}"
    );
    let new_body = String::from_utf8(replaced_body(&actions)).expect("utf8");
    assert!(
        new_body.contains("-----BEGIN PGP MESSAGE-----"),
        "{new_body}"
    );
    assert!(!new_body.contains("123-45-6789"));
    assert!(actions.iter().any(|a| matches!(a,
        EomAction::ChangeHeader { name, index: 1, value }
            if name.to_bytes() == b"Content-Type"
            && value.to_str().unwrap_or_default().starts_with("multipart/encrypted; protocol=\"application/pgp-encrypted\""))),
        "{actions:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_without_a_key_means_quarantine() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(PHI_DLP, &[alice]);
    let body = b"card 4111 1111 1111 1111\r\n";
    let (status, actions) = send(
        d.milter,
        &["alice@example.test", "bob@example.test"],
        PLAIN,
        body,
    )
    .await;
    assert_eq!(status, Status::Accept);
    assert!(
        replaced_body(&actions).is_empty(),
        "no body change when held"
    );
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, EomAction::Quarantine { .. })),
        "{actions:?}"
    );
    assert!(
        has_header(&actions, "X-Wasmilter", "action=quarantine"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_numbers_are_not_encrypted() {
    let d = start(PHI_DLP, &[]);
    let body = b"ref 000-12-3456 and card 4111 1111 1111 1112\r\n";
    let (status, actions) = send(d.milter, &["alice@example.test"], PLAIN, body).await;
    assert_eq!(status, Status::Accept);
    assert!(
        has_header(&actions, "X-Wasmilter", "action=accept"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_64k_is_replaced_in_chunks_and_spooled() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(PHI_DLP, &[alice]);
    let mut body = Vec::new();
    while body.len() < 3 * 1024 * 1024 {
        body.extend_from_slice(
            b"lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\r\n",
        );
    }
    body.extend_from_slice(b"SSN 234-56-7890\r\n");
    let (status, actions) = send(d.milter, &["alice@example.test"], PLAIN, &body).await;
    assert_eq!(status, Status::Accept);
    let chunks = actions
        .iter()
        .filter(|a| matches!(a, EomAction::ReplaceBody { .. }))
        .count();
    assert!(chunks > 1, "body replaced in {chunks} chunk(s)");
    for a in &actions {
        if let EomAction::ReplaceBody { chunk } = a {
            assert!(chunk.len() <= 65535);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_that_loops_is_stopped_and_mail_keeps_flowing() {
    let policies = format!(
        "[[policy]]\nname = \"looper\"\nmodule = \"{}\"\ndeadline_ms = 200\n",
        policy_path("loop").display()
    );
    let d = start(&policies, &[]);
    let started = Instant::now();
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert!(matches!(status, Status::Tempfail { .. }), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    // The daemon still serves the next message.
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"again\r\n").await;
    assert!(matches!(status, Status::Tempfail { .. }), "{status:?}");
    let metrics = scrape(d.metrics);
    assert!(
        metrics.contains("wasmilter_policy_errors_total{kind=\"deadline\",policy=\"looper\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_that_hogs_memory_is_stopped_at_its_cap() {
    let policies = format!(
        "[[policy]]\nname = \"hog\"\nmodule = \"{}\"\nmemory_mb = 16\non_error = \"quarantine\"\n",
        policy_path("hog").display()
    );
    let d = start(&policies, &[]);
    let (status, actions) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert_eq!(status, Status::Accept);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, EomAction::Quarantine { .. })),
        "on_error = quarantine: {actions:?}"
    );
    let metrics = scrape(d.metrics);
    assert!(
        metrics.contains("wasmilter_policy_errors_total{kind=\"memory\",policy=\"hog\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapping_policy_tempfails_or_accepts_as_configured() {
    let policies = format!(
        "[[policy]]\nname = \"trap\"\nmodule = \"{0}\"\n[[policy]]\nname = \"trap-lenient\"\nmodule = \"{0}\"\non_error = \"accept\"\n",
        policy_path("trap").display()
    );
    let d = start(&policies, &[]);
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert!(
        matches!(status, Status::Tempfail { .. }),
        "strictest wins: {status:?}"
    );
    let metrics = scrape(d.metrics);
    assert!(
        metrics.contains("wasmilter_policy_errors_total{kind=\"trap\",policy=\"trap\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wasmilter_messages_total{action=\"tempfail\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reject_carries_the_policy_reply() {
    let policies = format!(
        "[[policy]]\nname = \"no\"\nmodule = \"{}\"\n",
        policy_path("reject").display()
    );
    let d = start(&policies, &[]);
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    match status {
        Status::Reject { message: Some(m) } => {
            assert_eq!(m.to_str().unwrap_or_default(), "550 5.7.1 policy says no")
        }
        other => panic!("expected a 550 reject, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn monitor_mode_changes_only_the_header() {
    let policies = format!(
        "[[policy]]\nname = \"no\"\nmodule = \"{}\"\nmode = \"monitor\"\n",
        policy_path("reject").display()
    );
    let d = start(&policies, &[]);
    let (status, actions) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert_eq!(status, Status::Accept);
    assert!(
        has_header(&actions, "X-Wasmilter-Monitor", "policy=no action=reject"),
        "{actions:?}"
    );
    assert!(
        has_header(&actions, "X-Wasmilter", "action=accept"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spoofed_status_header_is_removed() {
    let d = start(PHI_DLP, &[]);
    let headers = [("X-Wasmilter", "action=encrypt"), ("Subject", "hi")];
    let (_, actions) = send(d.milter, &["alice@example.test"], &headers, b"hello\r\n").await;
    assert!(
        actions.iter().any(|a| matches!(a, EomAction::DeleteHeader { name, index: 1 } if name.to_bytes() == b"X-Wasmilter")),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_over_the_size_limit_is_refused_with_552() {
    let d = start_with("max_message_bytes = 65536\n", PHI_DLP, &[]);
    let body = vec![b'a'; 100_000];
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, &body).await;
    match status {
        Status::Reject { message: Some(m) } => assert!(
            m.to_str().unwrap_or_default().starts_with("552 5.3.4"),
            "{m:?}"
        ),
        other => panic!("expected 552, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_daemon_with_exit_0() {
    let mut d = start(PHI_DLP, &[]);
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert_eq!(status, Status::Accept);
    let killed = Command::new("kill")
        .args(["-TERM", &d.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = d.child.try_wait().expect("wait") {
            assert!(exit.success(), "exit status {exit}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "wasmilter did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        TcpStream::connect(d.milter).is_err(),
        "still listening after exit"
    );
}

fn journal_policy(settings: &str) -> String {
    format!(
        "[[policy]]\nname = \"journal\"\nmodule = \"{}\"\n[policy.settings]\n{settings}",
        policy_path("journal").display()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_can_add_and_remove_recipients() {
    let d = start(
        &journal_policy("mailbox = \"journal@example.test\"\ndrop = \"bob@example.test\"\n"),
        &[],
    );
    let (status, actions) = send(
        d.milter,
        &["alice@example.test", "bob@example.test"],
        PLAIN,
        b"hello\r\n",
    )
    .await;
    assert_eq!(status, Status::Accept);
    assert!(
        actions.iter().any(|a| matches!(a, EomAction::AddRecipient { rcpt, .. } if rcpt.to_bytes() == b"<journal@example.test>")),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| matches!(a, EomAction::DeleteRecipient { rcpt } if rcpt.to_bytes() == b"<bob@example.test>")),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_covers_an_added_recipient() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(
        &journal_policy("mailbox = \"journal@example.test\"\naction = \"encrypt\"\n"),
        &[alice],
    );
    let (_, actions) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    // Alice has a key, the journal mailbox has none: held, not delivered in the clear.
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, EomAction::Quarantine { .. })),
        "{actions:?}"
    );
    assert!(replaced_body(&actions).is_empty());

    let journal = cert("Journal <journal@example.test>");
    let alice = cert("Alice <alice@example.test>");
    let d = start(
        &journal_policy("mailbox = \"journal@example.test\"\naction = \"encrypt\"\n"),
        &[alice, journal],
    );
    let (_, actions) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert!(
        has_header(&actions, "X-Wasmilter", "action=encrypt"),
        "{actions:?}"
    );
    assert!(!replaced_body(&actions).is_empty());
}

fn sighup(d: &Daemon) {
    let ok = Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// Waits until the reload counter shows `n` reloads with `result`.
fn wait_reloads(d: &Daemon, result: &str, n: u32) {
    let want = format!("wasmilter_reloads_total{{result=\"{result}\"}} {n}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if scrape(d.metrics).contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "no {want} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_swaps_the_policies_and_a_bad_reload_keeps_the_old_set() {
    let accept = format!(
        "[[policy]]\nname = \"p\"\nmodule = \"{}\"\n",
        policy_path("accept-all").display()
    );
    let reject = format!(
        "[[policy]]\nname = \"p\"\nmodule = \"{}\"\n",
        policy_path("reject").display()
    );
    let d = start(&accept, &[]);
    let config_path = d._dir.path().join("wasmilter.toml");
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert_eq!(status, Status::Accept);

    // A good reload swaps the chain.
    let text = std::fs::read_to_string(&config_path).expect("read config");
    std::fs::write(&config_path, text.replace(&accept, &reject)).expect("write config");
    sighup(&d);
    wait_reloads(&d, "ok", 1);
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert!(matches!(status, Status::Reject { .. }), "{status:?}");

    // A bad reload (broken TOML, then a module that is not a component) keeps the old set.
    std::fs::write(&config_path, "[milter\nlisten = ").expect("write config");
    sighup(&d);
    wait_reloads(&d, "error", 1);
    let junk = d._dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm at all").expect("write junk");
    std::fs::write(
        &config_path,
        text.replace(
            &accept,
            &format!(
                "[[policy]]\nname = \"p\"\nmodule = \"{}\"\n",
                junk.display()
            ),
        ),
    )
    .expect("write config");
    sighup(&d);
    wait_reloads(&d, "error", 2);
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert!(
        matches!(status, Status::Reject { .. }),
        "still the reject policy: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memory_peak_is_reported_per_policy() {
    let accept = format!(
        "[[policy]]\nname = \"p\"\nmodule = \"{}\"\n",
        policy_path("accept-all").display()
    );
    let d = start(&accept, &[]);
    let (status, _) = send(d.milter, &["alice@example.test"], PLAIN, b"hello\r\n").await;
    assert_eq!(status, Status::Accept);
    let metrics = scrape(d.metrics);
    let line = metrics
        .lines()
        .find(|l| l.starts_with("wasmilter_policy_memory_peak_bytes{policy=\"p\"}"))
        .unwrap_or_else(|| panic!("no memory peak in {metrics}"));
    let bytes: u64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("number");
    assert!(bytes >= 65536, "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ssn_in_the_subject_does_not_travel_in_the_clear() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(PHI_DLP, &[alice]);
    let headers = [
        ("Subject", "SSN 123-45-6789 results"),
        ("X-Billing-Ref", "order=77812; card=4000056655665556"),
        ("Content-Type", "text/plain"),
    ];
    let (status, actions) = send(
        d.milter,
        &["alice@example.test"],
        &headers,
        b"see subject\r\n",
    )
    .await;
    assert_eq!(status, Status::Accept);
    assert!(
        has_header(&actions, "X-Wasmilter", "action=encrypt"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(
            |a| matches!(a, EomAction::ChangeHeader { name, index: 1, value }
            if name.to_bytes() == b"Subject" && value.to_bytes() == b"[...]")
        ),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, EomAction::DeleteHeader { name, index: 1 }
            if name.to_bytes() == b"X-Billing-Ref")),
        "a header with a card number is moved inside: {actions:?}"
    );
    for a in &actions {
        let text = format!("{a:?}");
        assert!(
            !text.contains("123-45-6789") && !text.contains("4000056655665556"),
            "leak in {a:?}"
        );
    }
}

/// A wrapper that claims to be PGP/MIME but carries a readable SSN is encrypted, not passed.
#[tokio::test(flavor = "multi_thread")]
async fn a_fake_encrypted_wrapper_does_not_bypass_encryption() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(PHI_DLP, &[alice]);
    let headers = [
        ("Subject", "hello"),
        (
            "Content-Type",
            "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"x\"",
        ),
    ];
    let body = b"--x\r\nContent-Type: text/plain\r\n\r\nPatient SSN 536-22-8147\r\n--x--\r\n";
    let (_, actions) = send(d.milter, &["alice@example.test"], &headers, body).await;
    assert!(
        has_header(&actions, "X-Wasmilter", "action=encrypt"),
        "{actions:?}"
    );
    assert!(!String::from_utf8_lossy(&replaced_body(&actions)).contains("536-22-8147"));
}

/// An SSN only in the file name of a binary attachment is found by the shipped policy.
#[tokio::test(flavor = "multi_thread")]
async fn an_ssn_in_an_attachment_name_is_found() {
    let alice = cert("Alice <alice@example.test>");
    let d = start(PHI_DLP, &[alice]);
    let headers = [
        ("Subject", "statement"),
        ("Content-Type", "multipart/mixed; boundary=\"b\""),
    ];
    let body = b"--b\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n--b\r\n\
        Content-Type: application/pdf; name=\"ssn-536-22-8147.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"ssn-536-22-8147.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IK\r\n--b--\r\n";
    let (_, actions) = send(d.milter, &["alice@example.test"], &headers, body).await;
    assert!(
        has_header(&actions, "X-Wasmilter", "action=encrypt"),
        "{actions:?}"
    );
}

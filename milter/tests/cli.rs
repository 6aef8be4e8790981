//! The command line as postmasters and policy authors use it: `check-config` and `test`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a failed test setup step should stop the test loudly"
)]

mod common;

use std::path::Path;
use std::process::Command;

fn wasmilter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasmilter"))
}

#[test]
fn check_config_reports_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n\n[metrics]\nlisten = 9190\n")
        .expect("write");
    let out = wasmilter()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:6: metrics.listen: ", path.display())),
        "{stderr}"
    );
}

#[test]
fn check_config_accepts_a_good_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("good.toml");
    std::fs::write(&path, "[audit]\nsyslog = \"stderr\"\n[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n")
        .expect("write");
    let out = wasmilter()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_refuses_a_module_that_is_not_a_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.wasm"), b"\0asm\x01\0\0\0").expect("write");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[[policy]]\nname = \"x\"\nmodule = \"x.wasm\"\n").expect("write");
    let out = wasmilter()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a component"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The DLP corpus through `wasmilter test --json` with the embedded default: the shipped
/// policy encrypts what carries a valid SSN or card number and leaves every negative alone.
#[test]
fn test_command_reports_json_per_file() {
    let dlp = common::corpus().join("dlp");
    let files = [
        "dlp-001-plain-ssn-dashed.eml",
        "dlp-003-plain-cc-visa-spaced.eml",
        "dlp-032-neg-ssn-invalid-areas.eml",
        "dlp-034-neg-cc-luhn-fail.eml",
    ];
    let out = wasmilter()
        .args(["test", "--json", "--to", "nobody@example.test"])
        .args(files.iter().map(|f| dlp.join(f)))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 4);

    // Encrypt wanted, but nobody has a key: held.
    assert_eq!(lines[0]["policies"]["phi-dlp"], "encrypt");
    assert_eq!(lines[0]["action"], "quarantine");
    assert_eq!(lines[0]["findings"]["ssn"], 1);
    assert_eq!(
        lines[0]["recipients"]["nobody@example.test"],
        serde_json::Value::Null
    );
    assert_eq!(lines[1]["findings"]["card"], 1);
    for neg in &lines[2..] {
        assert_eq!(neg["action"], "accept", "{neg}");
        assert_eq!(neg["findings"], serde_json::json!({}), "{neg}");
    }
}

/// Every message of the shared corpus goes through the pipeline without a crash, and every
/// negative look-alike of the DLP set is accepted.
#[test]
fn the_whole_corpus_goes_through_without_a_crash() {
    let files = common::corpus_messages();
    assert!(files.len() > 400, "corpus has {} files", files.len());
    let out = wasmilter()
        .args(["test", "--json", "--to", "x@example.test"])
        .args(&files)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), files.len());
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let file = v["file"].as_str().unwrap_or_default();
        assert_ne!(v["action"], "tempfail", "{line}");
        if file.contains("/dlp/") && file.contains("-neg-") {
            assert_eq!(v["action"], "accept", "{line}");
        }
    }
}

/// With `[wasm] cache_dir`, compiled policy code lands on disk, so the next start reuses it.
#[test]
fn compiled_policies_are_cached_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        format!(
            "[wasm]\ncache_dir = \"{}\"\n[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n",
            cache.display()
        ),
    )
    .expect("write");
    let out = wasmilter()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut files = 0;
    let mut stack = vec![cache.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
            }
        }
    }
    assert!(files > 0, "nothing cached in {}", cache.display());
}

/// The policy author's harness: golden files beside messages, `--bless` to write them, a
/// readable difference and a failing exit on a mismatch, directories walked.
#[test]
fn golden_files_pass_fail_and_bless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/testing/quarantine-word.wasm");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[[policy]]\nname = \"word\"\nmodule = \"{}\"\n[policy.settings]\nword = \"bananas\"\n",
            policy.display()
        ),
    )
    .expect("write");
    let msgs = dir.path().join("msgs/nested");
    std::fs::create_dir_all(&msgs).expect("mkdir");
    std::fs::write(
        msgs.join("hit.eml"),
        "Subject: bananas today\r\nTo: a@example.test\r\n\r\nhi\r\n",
    )
    .expect("write");
    std::fs::write(
        msgs.join("miss.eml"),
        "Subject: apples\r\nTo: a@example.test\r\n\r\nhi\r\n",
    )
    .expect("write");

    let run = |extra: &[&str]| {
        wasmilter()
            .args(["test", "--config"])
            .arg(&config)
            .args(extra)
            .arg(dir.path().join("msgs"))
            .output()
            .expect("run")
    };

    // Bless writes one golden file per message.
    let out = run(&["--bless"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = std::fs::read_to_string(msgs.join("hit.expected.toml")).expect("golden written");
    assert!(golden.contains("action = \"quarantine\""), "{golden}");
    let golden_miss =
        std::fs::read_to_string(msgs.join("miss.expected.toml")).expect("golden written");
    assert!(
        golden_miss.contains("add X-Word-Checked: yes"),
        "{golden_miss}"
    );

    // Now they pass.
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.lines().any(|l| l == "2 passed, 0 failed"),
        "{stderr}"
    );

    // A wrong expectation fails with a readable difference.
    std::fs::write(msgs.join("miss.expected.toml"), "action = \"reject\"\n").expect("write");
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("action: expected \"reject\", got \"accept\""),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l == "1 passed, 1 failed"),
        "{stderr}"
    );
}

/// A policy that wants files (a C guest calling `fopen`, built with a WASI adapter) is
/// refused when it is loaded: the host links no WASI, so the imports do not exist.
#[test]
fn a_policy_that_imports_wasi_is_refused_at_load() {
    let module =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm-examples/fixtures/wants-files.wasm");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        format!(
            "[[policy]]\nname = \"sneaky\"\nmodule = \"{}\"\n",
            module.display()
        ),
    )
    .expect("write");
    let out = wasmilter()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("sneaky") && stderr.contains("wasi:"),
        "{stderr}"
    );
}

/// Relative paths in a config given by a relative path still work (the compiled-code cache
/// needs an absolute folder).
#[test]
fn relative_paths_resolve_from_the_config_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.toml"),
        "[wasm]\ncache_dir = \"cache\"\n[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n",
    )
    .expect("write");
    let out = wasmilter()
        .current_dir(dir.path())
        .args(["check-config", "--config", "c.toml"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("cache").is_dir());
}

//! The daemon's configuration: a TOML file, or the embedded default when none is given.
//!
//! Every key is documented with its default in `docs/config.md`. Unknown and duplicate keys are
//! errors, and every error names the file, the line and the key (`FILE:LINE: key: why`), so a
//! postmaster can fix a typo without reading the source.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The name under which the shipped policy is built into the binary.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config came from, for messages (`<default>` for the embedded one).
    pub source: PathBuf,
    /// Where the milter listens.
    pub listen: ListenAddr,
    /// Bodies up to this size stay in memory; larger ones go to a temporary file.
    pub spool_memory_bytes: usize,
    /// Where temporary spool files go.
    pub spool_dir: Option<PathBuf>,
    /// Messages larger than this are refused with 552.
    pub max_message_bytes: u64,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Where audit lines go.
    pub audit: AuditTarget,
    /// Directory of recipient OpenPGP certificates.
    pub openpgp_certs: Option<PathBuf>,
    /// Where compiled policy code is cached between restarts (none: compile every start).
    pub cache_dir: Option<PathBuf>,
    /// The policy chain, in order.
    pub policies: Vec<PolicyConfig>,
}

/// The milter socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `inet:HOST:PORT`
    Inet(SocketAddr),
    /// `unix:/path`
    Unix(PathBuf),
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Inet(addr) => write!(f, "inet:{addr}"),
            ListenAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Where audit lines are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    /// Standard error, one line per message (no syslog framing).
    Stderr,
    /// A local syslog socket, RFC 5424.
    Unix(PathBuf),
    /// Syslog over UDP, RFC 5424.
    Udp(SocketAddr),
    /// Syslog over TCP, RFC 5424.
    Tcp(SocketAddr),
}

/// What a policy's verdict does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The verdict is acted on.
    Enforce,
    /// The verdict is computed, counted and audited, but not acted on.
    Monitor,
}

/// What a policy failure (trap, deadline, memory cap, bad verdict) means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Ask the MTA to retry later (the default: nothing is lost, nothing leaks).
    Tempfail,
    /// Treat the policy as if it had accepted.
    Accept,
    /// Hold the message.
    Quarantine,
}

/// One `[[policy]]` entry.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Name used in logs, metrics and the audit line.
    pub name: String,
    /// `builtin:NAME` or a path to a component file.
    pub module: ModuleSource,
    /// Enforce or monitor.
    pub mode: Mode,
    /// What a failure of this policy means.
    pub on_error: OnError,
    /// Wall-clock budget for one evaluation.
    pub deadline_ms: u64,
    /// Linear memory cap.
    pub memory_mb: u64,
    /// Handed to the policy through `host.setting`.
    pub settings: BTreeMap<String, String>,
}

/// Where a policy's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// Shipped inside the binary.
    Builtin(String),
    /// A component file.
    File(PathBuf),
}

impl fmt::Display for ModuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleSource::Builtin(name) => write!(f, "{BUILTIN_PREFIX}{name}"),
            ModuleSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A configuration error: the file, the line and the key it concerns, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line, 0 when the error is not about one place.
    pub line: usize,
    /// Dotted key path, for example `milter.listen`.
    pub key: String,
    /// What is wrong.
    pub why: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.key,
            self.why
        )
    }
}

impl std::error::Error for ConfigError {}

/// Default milter socket.
pub const DEFAULT_LISTEN: &str = "inet:127.0.0.1:8890";
/// Default metrics address.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9190";
/// Default audit target when a config file is given.
pub const DEFAULT_SYSLOG: &str = "unix:/dev/log";
/// Default in-memory spool size.
pub const DEFAULT_SPOOL_MEMORY: usize = 1024 * 1024;
/// Default largest message accepted.
pub const DEFAULT_MAX_MESSAGE: u64 = 64 * 1024 * 1024;
/// Default deadline per policy evaluation.
pub const DEFAULT_DEADLINE_MS: u64 = 2000;
/// Default memory cap per policy instance.
pub const DEFAULT_MEMORY_MB: u64 = 64;

/// The config used by `wasmilter run` without `--config`.
pub const EMBEDDED_DEFAULT: &str = r#"
[milter]
listen = "inet:127.0.0.1:8890"

[metrics]
listen = "127.0.0.1:9190"

[audit]
syslog = "stderr"

[openpgp]
certs = "./keys/openpgp"

[[policy]]
name = "phi-dlp"
module = "builtin:phi-dlp"
"#;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    milter: RawMilter,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    openpgp: RawOpenPgp,
    #[serde(default)]
    wasm: RawWasm,
    #[serde(default)]
    policy: Vec<Spanned<RawPolicy>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMilter {
    listen: Option<Spanned<String>>,
    spool_memory_bytes: Option<usize>,
    spool_dir: Option<PathBuf>,
    max_message_bytes: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    /// Empty string disables the endpoint.
    listen: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    syslog: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOpenPgp {
    certs: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWasm {
    cache_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    module: Spanned<String>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    on_error: Option<OnError>,
    deadline_ms: Option<Spanned<u64>>,
    memory_mb: Option<Spanned<u64>>,
    #[serde(default)]
    settings: BTreeMap<String, SettingValue>,
}

/// Settings are handed to policies as strings; TOML numbers and booleans are accepted too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SettingValue {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl SettingValue {
    fn into_string(self) -> String {
        match self {
            SettingValue::String(s) => s,
            SettingValue::Integer(i) => i.to_string(),
            SettingValue::Float(f) => f.to_string(),
            SettingValue::Bool(b) => b.to_string(),
        }
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: 0,
            key: "-".into(),
            why: format!("cannot read the file: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// The embedded default config (`wasmilter run` without `--config`).
    pub fn embedded_default() -> Result<Config, ConfigError> {
        let mut config = Config::parse(EMBEDDED_DEFAULT, Path::new("<default>"))?;

        // The default certificate directory is optional: use it only when it exists.
        if config
            .openpgp_certs
            .as_ref()
            .is_some_and(|dir| !dir.is_dir())
        {
            config.openpgp_certs = None;
        }
        Ok(config)
    }

    /// Parses and validates config text; `file` is only used in messages and to resolve
    /// relative module paths.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span();
            let (line, key) = match &span {
                Some(span) => (line_of(text, span.start), key_at(text, span)),
                None => (0, "-".to_owned()),
            };
            ConfigError {
                file: file.to_owned(),
                line,
                key,
                why: e.message().trim().to_owned(),
            }
        })?;

        let err = |span: Range<usize>, key: &str, why: String| ConfigError {
            file: file.to_owned(),
            line: line_of(text, span.start),
            key: key.to_owned(),
            why,
        };

        // [milter]
        let listen = match &raw.milter.listen {
            Some(s) => {
                parse_listen(s.get_ref()).map_err(|why| err(s.span(), "milter.listen", why))?
            }
            None => parse_listen(DEFAULT_LISTEN).map_err(|why| err(0..0, "milter.listen", why))?,
        };

        // [metrics]
        let metrics_listen = match &raw.metrics.listen {
            Some(s) if s.get_ref().is_empty() => None,
            Some(s) => Some(s.get_ref().parse::<SocketAddr>().map_err(|e| {
                err(
                    s.span(),
                    "metrics.listen",
                    format!("{e}: expected HOST:PORT, e.g. {DEFAULT_METRICS:?}"),
                )
            })?),
            None => DEFAULT_METRICS.parse().ok(),
        };

        // [audit]
        let audit = match &raw.audit.syslog {
            Some(s) => {
                parse_audit(s.get_ref()).map_err(|why| err(s.span(), "audit.syslog", why))?
            }
            None => AuditTarget::Unix(PathBuf::from("/dev/log")),
        };

        // [openpgp]
        let base = file.parent().unwrap_or(Path::new("."));
        let openpgp_certs = raw
            .openpgp
            .certs
            .as_ref()
            .map(|p| resolve(base, p.get_ref()));

        // [[policy]]
        let mut policies = Vec::new();
        for (i, spanned) in raw.policy.into_iter().enumerate() {
            let span = spanned.span();
            let p = spanned.into_inner();
            let name = p.name.get_ref().trim().to_owned();
            let key = |k: &str| format!("policy[{i}].{k}");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(err(
                    p.name.span(),
                    &key("name"),
                    format!("{name:?} is not a valid name: use letters, digits, '-', '_' or '.'"),
                ));
            }
            if policies.iter().any(|q: &PolicyConfig| q.name == name) {
                return Err(err(
                    p.name.span(),
                    &key("name"),
                    format!("policy {name:?} is defined twice"),
                ));
            }
            let module = match p.module.get_ref().strip_prefix(BUILTIN_PREFIX) {
                Some(builtin) => {
                    if crate::policy::builtin(builtin).is_none() {
                        return Err(err(
                            p.module.span(),
                            &key("module"),
                            format!(
                                "no builtin policy {builtin:?}; builtins: {}",
                                crate::policy::BUILTIN_NAMES.join(", ")
                            ),
                        ));
                    }
                    ModuleSource::Builtin(builtin.to_owned())
                }
                None => {
                    let path = resolve(base, Path::new(p.module.get_ref()));
                    if !path.is_file() {
                        return Err(err(
                            p.module.span(),
                            &key("module"),
                            format!(
                                "module file {:?} does not exist",
                                path.display().to_string()
                            ),
                        ));
                    }
                    ModuleSource::File(path)
                }
            };
            let deadline_ms = match &p.deadline_ms {
                Some(d) if *d.get_ref() == 0 || *d.get_ref() > 60_000 => {
                    return Err(err(
                        d.span(),
                        &key("deadline_ms"),
                        "must be between 1 and 60000".into(),
                    ));
                }
                Some(d) => *d.get_ref(),
                None => DEFAULT_DEADLINE_MS,
            };
            let memory_mb = match &p.memory_mb {
                Some(m) if *m.get_ref() == 0 || *m.get_ref() > crate::policy::MAX_MEMORY_MB => {
                    return Err(err(
                        m.span(),
                        &key("memory_mb"),
                        "must be between 1 and 1024".into(),
                    ));
                }
                Some(m) => *m.get_ref(),
                None => DEFAULT_MEMORY_MB,
            };
            let _ = span;
            policies.push(PolicyConfig {
                name,
                module,
                mode: p.mode.unwrap_or(Mode::Enforce),
                on_error: p.on_error.unwrap_or(OnError::Tempfail),
                deadline_ms,
                memory_mb,
                settings: p
                    .settings
                    .into_iter()
                    .map(|(k, v)| (k, v.into_string()))
                    .collect(),
            });
        }
        if policies.is_empty() {
            return Err(ConfigError {
                file: file.to_owned(),
                line: 0,
                key: "policy".into(),
                why: "no [[policy]] is configured: every message would pass unchecked".into(),
            });
        }

        let spool_dir = raw.milter.spool_dir.map(|p| resolve(base, &p));
        if let Some(dir) = spool_dir.as_ref().filter(|d| !d.is_dir()) {
            return Err(ConfigError {
                file: file.to_owned(),
                line: 0,
                key: "milter.spool_dir".into(),
                why: format!(
                    "{:?} is not a directory: large messages could not be spooled",
                    dir.display().to_string()
                ),
            });
        }
        let max_message_bytes = raw.milter.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE);
        if max_message_bytes < 64 * 1024 {
            return Err(ConfigError {
                file: file.to_owned(),
                line: 0,
                key: "milter.max_message_bytes".into(),
                why: format!("{max_message_bytes} would refuse ordinary mail: use at least 65536"),
            });
        }

        Ok(Config {
            source: file.to_owned(),
            listen,
            spool_memory_bytes: raw
                .milter
                .spool_memory_bytes
                .unwrap_or(DEFAULT_SPOOL_MEMORY),
            spool_dir,
            max_message_bytes,
            metrics_listen,
            audit,
            openpgp_certs,
            cache_dir: raw.wasm.cache_dir.map(|p| resolve(base, &p)),
            policies,
        })
    }
}

/// A path from the config: relative ones are relative to the config file's folder, and made
/// absolute (wasmtime's cache, for one, refuses relative paths).
fn resolve(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    };
    std::path::absolute(&joined).unwrap_or(joined)
}

/// Parses `inet:HOST:PORT` or `unix:/path`.
pub fn parse_listen(s: &str) -> Result<ListenAddr, String> {
    if let Some(rest) = s.strip_prefix("inet:") {
        // Sendmail style `inet:PORT@HOST` is accepted too.
        let normalized = match rest.split_once('@') {
            Some((port, host)) => format!("{host}:{port}"),
            None => rest.to_owned(),
        };
        normalized
            .parse::<SocketAddr>()
            .map(ListenAddr::Inet)
            .map_err(|e| format!("{s:?}: {e}: expected \"inet:HOST:PORT\""))
    } else if let Some(path) = s.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("unix socket path is empty".into());
        }
        Ok(ListenAddr::Unix(PathBuf::from(path)))
    } else {
        Err(format!(
            "{s:?}: expected \"inet:HOST:PORT\" or \"unix:/path\""
        ))
    }
}

/// Parses `stderr`, `unix:/dev/log`, `udp:HOST:PORT` or `tcp:HOST:PORT`.
pub fn parse_audit(s: &str) -> Result<AuditTarget, String> {
    let addr = |rest: &str| {
        rest.parse::<SocketAddr>()
            .map_err(|e| format!("{s:?}: {e}: expected HOST:PORT"))
    };
    if s == "stderr" {
        Ok(AuditTarget::Stderr)
    } else if let Some(path) = s.strip_prefix("unix:") {
        Ok(AuditTarget::Unix(PathBuf::from(path)))
    } else if let Some(rest) = s.strip_prefix("udp:") {
        addr(rest).map(AuditTarget::Udp)
    } else if let Some(rest) = s.strip_prefix("tcp:") {
        addr(rest).map(AuditTarget::Tcp)
    } else {
        Err(format!(
            "{s:?}: expected \"stderr\", \"unix:/dev/log\", \"udp:HOST:PORT\" or \"tcp:HOST:PORT\""
        ))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Finds the dotted key whose key or value covers `span`, using the spans of a TOML document
/// model.
fn key_at(text: &str, span: &Range<usize>) -> String {
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return "-".into();
    };
    let mut best: Option<String> = None;
    walk_table(doc.as_table(), "", span.start, &mut best);
    best.unwrap_or_else(|| "-".into())
}

fn walk_table(table: &toml_edit::Table, prefix: &str, at: usize, best: &mut Option<String>) {
    for (k, item) in table.iter() {
        let path = if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        };
        let key_span = table.key(k).and_then(|key| key.span());
        let covers = |r: Option<Range<usize>>| {
            r.is_some_and(|r| r.start <= at && at < r.end.max(r.start + 1))
        };
        if covers(key_span) || covers(item.span()) {
            *best = Some(path.clone());
        }
        match item {
            toml_edit::Item::Table(t) => walk_table(t, &path, at, best),
            toml_edit::Item::ArrayOfTables(array) => {
                for (i, t) in array.iter().enumerate() {
                    walk_table(t, &format!("{path}[{i}]"), at, best);
                }
            }
            toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                for (ik, iv) in t.iter() {
                    let ipath = format!("{path}.{ik}");
                    if covers(iv.span()) {
                        *best = Some(ipath);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/wasmilter/wasmilter.toml"))
    }

    const MINIMAL: &str = "[[policy]]\nname = \"phi-dlp\"\nmodule = \"builtin:phi-dlp\"\n";

    #[test]
    fn embedded_default_parses() {
        let config = Config::embedded_default().expect("embedded default");
        assert_eq!(
            config.listen,
            ListenAddr::Inet("127.0.0.1:8890".parse().expect("addr"))
        );
        assert_eq!(
            config.metrics_listen,
            Some("127.0.0.1:9190".parse().expect("addr"))
        );
        assert_eq!(config.audit, AuditTarget::Stderr);
        assert_eq!(
            config.policies[0].module,
            ModuleSource::Builtin("phi-dlp".into())
        );
    }

    #[test]
    fn defaults_apply() {
        let config = parse(MINIMAL).expect("minimal");
        assert_eq!(config.policies[0].on_error, OnError::Tempfail);
        assert_eq!(config.policies[0].mode, Mode::Enforce);
        assert_eq!(config.policies[0].deadline_ms, DEFAULT_DEADLINE_MS);
        assert_eq!(config.audit, AuditTarget::Unix("/dev/log".into()));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = format!("[milter]\nlisten = \"inet:127.0.0.1:1\"\nlistne = 3\n{MINIMAL}");
        let e = parse(&text).expect_err("unknown key");
        assert_eq!(e.line, 3);
        assert_eq!(e.key, "milter.listne");
        assert!(e.why.contains("unknown field"), "{e}");
        assert!(
            e.to_string()
                .starts_with("/etc/wasmilter/wasmilter.toml:3: milter.listne: "),
            "{e}"
        );
    }

    #[test]
    fn bad_listen_names_its_line() {
        let text = format!("{MINIMAL}\n[milter]\nlisten = \"tcp:nowhere\"\n");
        let e = parse(&text).expect_err("bad listen");
        assert_eq!((e.line, e.key.as_str()), (6, "milter.listen"));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = format!("{MINIMAL}deadline_ms = \"soon\"\n");
        let e = parse(&text).expect_err("bad type");
        assert_eq!((e.line, e.key.as_str()), (4, "policy[0].deadline_ms"));
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let text = format!("[audit]\nsyslog = \"stderr\"\nsyslog = \"stderr\"\n{MINIMAL}");
        let e = parse(&text).expect_err("duplicate");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn unknown_builtin_and_missing_file_are_errors() {
        let e =
            parse("[[policy]]\nname = \"x\"\nmodule = \"builtin:nope\"\n").expect_err("builtin");
        assert_eq!((e.line, e.key.as_str()), (3, "policy[0].module"));
        let e = parse("[[policy]]\nname = \"x\"\nmodule = \"/nonexistent/x.wasm\"\n")
            .expect_err("file");
        assert!(e.why.contains("does not exist"), "{e}");
    }

    #[test]
    fn no_policy_is_an_error() {
        let e = parse("[milter]\n").expect_err("no policy");
        assert_eq!(e.key, "policy");
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            parse_listen("unix:/run/w.sock"),
            Ok(ListenAddr::Unix("/run/w.sock".into()))
        );
        assert_eq!(
            parse_listen("inet:8890@127.0.0.1"),
            Ok(ListenAddr::Inet("127.0.0.1:8890".parse().expect("addr")))
        );
        assert!(parse_listen("8890").is_err());
        assert_eq!(
            parse_audit("udp:127.0.0.1:514"),
            Ok(AuditTarget::Udp("127.0.0.1:514".parse().expect("addr")))
        );
    }
}

//! The policy host: compiles policy components once, then runs each message through a fresh
//! instance of every policy in the chain, sandboxed.
//!
//! Sandbox, per policy: a deadline enforced by epoch interruption (a ticker thread advances the
//! engine's epoch), a linear-memory cap and instance/table limits enforced by a resource
//! limiter, the pooling allocator, and no WASI at all: a policy can reach the world only through
//! the imports of the `wasmilter:policy` world. A trap, a deadline, a memory overrun or a
//! malformed verdict becomes a [`PolicyResult`] with an error kind; it never panics the daemon.

mod host;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config as EngineConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};

use crate::config::{ModuleSource, PolicyConfig};
use crate::decision::{ErrorKind, PolicyResult};
use crate::dlp::Scanner;
use crate::mail::Mail;

pub use host::HostState;

/// The names of the policies built into the binary.
pub const BUILTIN_NAMES: &[&str] = &["phi-dlp"];

/// The component of a builtin policy.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "phi-dlp" => Some(include_bytes!("../../../policies/phi-dlp/phi-dlp.wasm")),
        _ => None,
    }
}

/// The WIT package policies must target, and its major version.
pub const WIT_PACKAGE: &str = "wasmilter:policy";
/// The major version of the WIT package this host implements.
pub const WIT_MAJOR: u64 = 1;
/// The full version, for messages.
pub const WIT_VERSION: &str = "1.0.0";

/// How often the epoch advances; deadlines are rounded up to it.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Per-store limits on instances and tables (a policy is one component; this leaves room for
/// the core instances a toolchain's component is made of).
const MAX_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Largest memory cap a policy may ask for (the pooling allocator reserves this much address
/// space per memory slot).
pub const MAX_MEMORY_MB: u64 = 1024;

wasmtime::component::bindgen!({
    path: "../policy-sdk/wit",
    world: "policy",
    imports: { default: trappable },
    with: {
        "wasmilter:policy/mail.message": crate::policy::host::MessageHandle,
        "wasmilter:policy/mail.part": crate::policy::host::PartHandle,
    },
});

/// A policy-loading error: which module, and why.
#[derive(Debug, thiserror::Error)]
#[error("policy {name:?} ({module}): {why}")]
pub struct LoadError {
    /// Policy name.
    pub name: String,
    /// Module source.
    pub module: String,
    /// Why it cannot be used.
    pub why: String,
}

/// The process-wide engine and the epoch ticker that enforces deadlines.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    scanner: Arc<Scanner>,
    _ticker: Arc<Ticker>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Creates the engine (component model, epoch interruption, pooling allocator, and an
    /// on-disk cache of compiled code when `cache_dir` is given) and starts the epoch ticker.
    pub fn new(cache_dir: Option<&std::path::Path>) -> anyhow::Result<Runtime> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(512)
            .total_core_instances(2048)
            .total_memories(1024)
            .total_tables(2048)
            .max_memory_size((MAX_MEMORY_MB as usize) << 20)
            .max_memories_per_component(8)
            .max_tables_per_component(16)
            .table_elements(MAX_TABLE_ELEMENTS);

        let mut config = EngineConfig::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if let Some(dir) = cache_dir {
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            let cache = wasmtime::Cache::new(cache_config).map_err(|e| {
                anyhow::anyhow!("cannot use the policy cache {}: {e}", dir.display())
            })?;
            config.cache(Some(cache));
        }
        let engine = Engine::new(&config)
            .map_err(|e| anyhow::anyhow!("cannot create the wasm engine: {e}"))?;

        let stop = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let ticker_stop = stop.clone();
        thread::Builder::new()
            .name("wasmilter-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;

        Ok(Runtime {
            engine,
            scanner: Arc::new(Scanner::new()),
            _ticker: Arc::new(Ticker { stop }),
        })
    }

    /// The shared detectors.
    pub fn scanner(&self) -> &Arc<Scanner> {
        &self.scanner
    }

    /// Compiles every policy of the chain.
    pub fn load_chain(&self, configs: &[PolicyConfig]) -> Result<Chain, LoadError> {
        let policies = configs
            .iter()
            .map(|c| self.load(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Chain { policies })
    }

    fn load(&self, config: &PolicyConfig) -> Result<LoadedPolicy, LoadError> {
        let fail = |why: String| LoadError {
            name: config.name.clone(),
            module: config.module.to_string(),
            why,
        };

        let bytes: std::borrow::Cow<'static, [u8]> = match &config.module {
            ModuleSource::Builtin(name) => builtin(name)
                .map(Into::into)
                .ok_or_else(|| fail("no such builtin policy".into()))?,
            ModuleSource::File(path) => std::fs::read(path)
                .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?
                .into(),
        };
        if wasmparser_is_core_module(&bytes) {
            return Err(fail(
                "this is a core wasm module, not a component: componentize it first".into(),
            ));
        }
        let component = Component::new(&self.engine, &bytes).map_err(|e| {
            // wasmparser's message can carry byte arrays over many lines: keep the first.
            let text = format!("{e:#}");
            fail(format!(
                "not a valid component: {}",
                text.lines().next().unwrap_or_default()
            ))
        })?;
        check_version(&self.engine, &component).map_err(fail)?;

        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        Policy::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| fail(format!("cannot link the host interfaces: {e:#}")))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            fail(format!(
                "the component does not fit the {WIT_PACKAGE}@{WIT_VERSION} world: {e:#}"
            ))
        })?;
        let pre = PolicyPre::new(pre)
            .map_err(|e| fail(format!("the component does not export `evaluate`: {e:#}")))?;

        Ok(LoadedPolicy {
            config: config.clone(),
            settings: Arc::new(config.settings.clone()),
            pre,
            engine: self.engine.clone(),
            scanner: self.scanner.clone(),
        })
    }
}

/// Whether these bytes are a core module (version 1) rather than a component.
fn wasmparser_is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[0..4] == b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}

/// Refuses a component that imports the policy package under another major version.
fn check_version(engine: &Engine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    let names: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .chain(ty.exports(engine).map(|(name, _)| name.to_owned()))
        .collect();
    for name in names {
        let Some(rest) = name.strip_prefix(WIT_PACKAGE) else {
            continue;
        };
        let Some((_, version)) = rest.split_once('@') else {
            return Err(format!(
                "it imports {name:?} without a version; this host offers {WIT_PACKAGE}@{WIT_VERSION}"
            ));
        };
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u64>().ok());
        if major != Some(WIT_MAJOR) {
            return Err(format!(
                "it was built for {WIT_PACKAGE}@{version}; this host offers {WIT_PACKAGE}@{WIT_VERSION}"
            ));
        }
    }
    Ok(())
}

/// A compiled chain of policies, ready to evaluate messages. Cheap to share.
#[derive(Clone)]
pub struct Chain {
    policies: Vec<LoadedPolicy>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.policies.iter().map(|p| &p.config.name))
            .finish()
    }
}

#[derive(Clone)]
struct LoadedPolicy {
    config: PolicyConfig,
    settings: Arc<BTreeMap<String, String>>,
    pre: PolicyPre<HostState>,
    engine: Engine,
    scanner: Arc<Scanner>,
}

impl Chain {
    /// The policies' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.policies
            .iter()
            .map(|p| p.config.name.as_str())
            .collect()
    }

    /// Runs the chain over a message: a fresh instance per policy, stopping after a policy
    /// that marks its verdict final. Blocking; call from a blocking thread.
    pub fn evaluate(&self, mail: &Arc<Mail>) -> Vec<PolicyResult> {
        let mut results = Vec::with_capacity(self.policies.len());
        for policy in &self.policies {
            let result = policy.evaluate(mail);
            let stop = result.is_final() && result.mode == crate::config::Mode::Enforce;
            results.push(result);
            if stop {
                break;
            }
        }
        results
    }
}

impl LoadedPolicy {
    fn evaluate(&self, mail: &Arc<Mail>) -> PolicyResult {
        let started = Instant::now();
        let (outcome, memory_peak) = self.run(mail);
        PolicyResult {
            name: self.config.name.clone(),
            mode: self.config.mode,
            outcome,
            on_error: self.config.on_error,
            elapsed: started.elapsed(),
            memory_peak,
        }
    }

    /// One fresh instance, one call; gives the verdict and the memory peak.
    fn run(
        &self,
        mail: &Arc<Mail>,
    ) -> (Result<crate::decision::Verdict, (ErrorKind, String)>, usize) {
        let memory_bytes = (self.config.memory_mb.min(MAX_MEMORY_MB) as usize) << 20;
        let state = HostState::new(
            mail.clone(),
            self.scanner.clone(),
            self.config.name.clone(),
            self.settings.clone(),
            memory_bytes,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);

        // The deadline covers instantiation (start functions) and the call.
        let ticks = self
            .config
            .deadline_ms
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            .max(1);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();

        let outcome = self.call(&mut store);
        (outcome, store.data().limits.peak())
    }

    fn call(
        &self,
        store: &mut Store<HostState>,
    ) -> Result<crate::decision::Verdict, (ErrorKind, String)> {
        let instance = self
            .pre
            .instantiate(&mut *store)
            .map_err(|e| classify(store, e, ErrorKind::Instantiate))?;
        let message = store
            .data_mut()
            .table
            .push(host::MessageHandle)
            .map_err(|e| (ErrorKind::Instantiate, format!("resource table: {e}")))?;
        let verdict = instance
            .call_evaluate(
                &mut *store,
                wasmtime::component::Resource::new_borrow(message.rep()),
            )
            .map_err(|e| classify(store, e, ErrorKind::Trap))?;

        host::convert_verdict(verdict).map_err(|why| (ErrorKind::BadVerdict, why))
    }
}

/// Sorts a wasmtime error into the kind of failure it stands for, with a one-line reason.
fn classify(
    store: &Store<HostState>,
    error: wasmtime::Error,
    default: ErrorKind,
) -> (ErrorKind, String) {
    if store.data().limits.denied() {
        return (ErrorKind::Memory, "the policy hit its memory cap".into());
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => (
            ErrorKind::Deadline,
            "the policy ran past its deadline".into(),
        ),
        Some(trap) => (default, format!("wasm trap: {trap}")),
        None => {
            let text = format!("{error:#}");
            // The first line: backtraces are for the debug log.
            (default, text.lines().next().unwrap_or_default().to_owned())
        }
    }
}

//! The per-message cost of a policy beside the raw wasmtime floor, measured in the same run:
//! `cargo bench -p wasmilter --bench policy`.
//!
//! - `policy_accept_all`: the minimal Rust policy (`policies/testing/accept-all.wasm`) through
//!   the chain as the daemon runs it: a fresh store and instance (pooling allocator, epoch
//!   deadline, memory limits), the `evaluate` call with the message resource, the verdict
//!   checked, the instance torn down;
//! - `policy_phi_dlp`: the shipped policy, which also reads every part and calls the detectors;
//! - `raw_empty_call`: a fresh store and instance of a core module with one empty exported
//!   function, and a call to it, on an engine with the same allocator: the least any
//!   per-message sandbox can cost.

#![allow(
    clippy::expect_used,
    reason = "a benchmark whose setup fails should stop loudly"
)]

use std::sync::Arc;

use divan::Bencher;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store,
};

use wasmilter::config::{Config as WasmilterConfig, ModuleSource, PolicyConfig};
use wasmilter::mail::{Envelope, Mail};
use wasmilter::policy::Runtime;

fn main() {
    divan::main();
}

/// `(module (func (export "f")))`, written out.
const EMPTY_MODULE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x02, 0x01, 0x00, // function section
    0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00, // export "f"
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: empty body
];

fn mail() -> Arc<Mail> {
    let raw = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: lab results\r\n\
        Content-Type: text/plain\r\n\r\nThe results are in; see you on Monday at 10:30.\r\n";
    Arc::new(Mail::parse(
        raw,
        Envelope {
            recipients: vec!["b@example.test".into()],
            ..Envelope::default()
        },
    ))
}

fn chain(module: ModuleSource) -> wasmilter::policy::Chain {
    let mut config = WasmilterConfig::embedded_default().expect("default config");
    config.policies = vec![PolicyConfig {
        name: "p".into(),
        module,
        ..config.policies[0].clone()
    }];
    let runtime = Runtime::new(None).expect("runtime");
    runtime.load_chain(&config.policies).expect("chain")
}

#[divan::bench]
fn policy_accept_all(bencher: Bencher) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/testing/accept-all.wasm");
    let chain = chain(ModuleSource::File(path));
    let mail = mail();
    bencher.bench_local(|| chain.evaluate(&mail));
}

#[divan::bench]
fn policy_phi_dlp(bencher: Bencher) {
    let chain = chain(ModuleSource::Builtin("phi-dlp".into()));
    let mail = mail();
    bencher.bench_local(|| chain.evaluate(&mail));
}

#[divan::bench]
fn raw_empty_call(bencher: Bencher) {
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(
            PoolingAllocationConfig::default(),
        ));
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(&engine, EMPTY_MODULE).expect("module");
    let pre = Linker::<()>::new(&engine)
        .instantiate_pre(&module)
        .expect("pre");
    bencher.bench_local(|| {
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(1000);
        let instance = pre.instantiate(&mut store).expect("instantiate");
        let f = instance
            .get_typed_func::<(), ()>(&mut store, "f")
            .expect("f");
        f.call(&mut store, ()).expect("call");
    });
}

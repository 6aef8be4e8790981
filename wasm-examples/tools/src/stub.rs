//! A `wasi_snapshot_preview1` adapter that gives a policy no outside world.
//!
//! Go's `wasip1` port calls WASI preview 1 from its runtime (clock, random seed, stdout for
//! panics, preopened directories at start-up). The usual adapter turns those calls into WASI 0.2
//! imports, which the wasmilter host does not link. This one answers them inside the component
//! instead, as a sandbox with nothing in it would:
//!
//! - no arguments, no environment variables, no preopened directories, no file descriptors;
//! - writes to stdout and stderr are accepted and dropped, other descriptors are `EBADF`;
//! - the clocks count 1 µs per call from zero: time moves forward, but says nothing real;
//! - no randomness (`ENOSYS`; Go's runtime then seeds itself from the clock);
//! - `proc_exit` traps, so a panicking policy ends as a trap, which the host handles;
//! - any other WASI function returns `ENOSYS`.
//!
//! The adapter is a core module written out as WAT, for the imports the module actually has.

use anyhow::{Context, Result, bail};
use wasmparser::{Parser, Payload, TypeRef, ValType};

/// The module name of WASI preview 1 imports.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// `errno::badf`: the descriptor does not exist.
const EBADF: i32 = 8;
/// `errno::nosys`: the function is not supported.
const ENOSYS: i32 = 52;

/// One function the module imports from [`MODULE`]: its name and its core signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    name: String,
    params: Vec<ValType>,
    results: Vec<ValType>,
}

/// The functions `module` imports from [`MODULE`].
pub fn wasi_imports(module: &[u8]) -> Result<Vec<Import>> {
    let mut types = Vec::new();
    let mut imports = Vec::new();

    for payload in Parser::new(0).parse_all(module) {
        match payload.context("cannot parse the core module")? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.context("bad function type")?;
                    types.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.context("bad import")?;
                    if import.module != MODULE {
                        continue;
                    }
                    let TypeRef::Func(index) = import.ty else {
                        bail!("\"{MODULE}\" import \"{}\" is not a function", import.name);
                    };
                    let (params, results) = types
                        .get(index as usize)
                        .with_context(|| format!("import \"{}\" has no type", import.name))?
                        .clone();
                    let import = Import {
                        name: import.name.to_string(),
                        params,
                        results,
                    };

                    // Go imports some functions twice (runtime and syscall): one stub each.
                    match imports
                        .iter()
                        .find(|known: &&Import| known.name == import.name)
                    {
                        None => imports.push(import),
                        Some(known) if *known == import => {}
                        Some(_) => bail!("\"{MODULE}.{}\" is imported with two types", import.name),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(imports)
}

/// The adapter module, exporting one function for each of `imports`.
pub fn adapter(imports: &[Import]) -> Result<Vec<u8>> {
    let mut wat = String::from(
        "(module\n  (import \"env\" \"memory\" (memory 0))\n  (global $clock (mut i64) (i64.const 0))\n",
    );
    for import in imports {
        wat.push_str(&function(import)?);
    }
    wat.push_str(")\n");

    wat::parse_str(&wat).context("cannot assemble the stub adapter")
}

/// The WAT of the function that answers `import`.
fn function(import: &Import) -> Result<String> {
    use ValType::{I32, I64};

    let signature = (import.params.as_slice(), import.results.as_slice());
    let body = match (import.name.as_str(), signature) {
        // No arguments and no environment: zero entries in zero bytes.
        ("args_sizes_get" | "environ_sizes_get", ([I32, I32], [I32])) => {
            "(i32.store (local.get 0) (i32.const 0))\n    \
             (i32.store (local.get 1) (i32.const 0))\n    \
             (i32.const 0)"
                .to_string()
        }
        ("args_get" | "environ_get" | "sched_yield", (_, [I32])) => "(i32.const 0)".to_string(),

        // A clock that only counts calls.
        ("clock_time_get", ([I32, I64, I32], [I32])) => {
            "(global.set $clock (i64.add (global.get $clock) (i64.const 1000)))\n    \
             (i64.store (local.get 2) (global.get $clock))\n    \
             (i32.const 0)"
                .to_string()
        }

        // stdout and stderr swallow what they are given; nothing else is open.
        ("fd_write", ([I32, I32, I32, I32], [I32])) => format!(
            "(local $total i32)\n    \
             (if (i32.gt_u (local.get 0) (i32.const 2)) (then (return (i32.const {EBADF}))))\n    \
             (block $done\n      \
               (loop $next\n        \
                 (br_if $done (i32.eqz (local.get 2)))\n        \
                 (local.set $total (i32.add (local.get $total)\n          \
                   (i32.load offset=4 (local.get 1))))\n        \
                 (local.set 1 (i32.add (local.get 1) (i32.const 8)))\n        \
                 (local.set 2 (i32.sub (local.get 2) (i32.const 1)))\n        \
                 (br $next)))\n    \
             (i32.store (local.get 3) (local.get $total))\n    \
             (i32.const 0)"
        ),
        (
            "fd_close"
            | "fd_fdstat_get"
            | "fd_fdstat_set_flags"
            | "fd_prestat_get"
            | "fd_prestat_dir_name",
            (_, [I32]),
        ) => format!("(i32.const {EBADF})"),

        ("proc_exit", ([I32], [])) => "(unreachable)".to_string(),

        // Go's bindings pause the clock around allocations; a counting clock has nothing to
        // pause.
        ("adapter_monotonic_clock_set_paused", ([I32], [])) => String::new(),

        (_, (_, [I32])) => format!("(i32.const {ENOSYS})"),
        _ => bail!(
            "no stub for \"{MODULE}.{}\" with signature {:?} -> {:?}",
            import.name,
            import.params,
            import.results
        ),
    };

    let params: String = import.params.iter().map(|ty| format!(" {ty}")).collect();
    let params = if params.is_empty() {
        String::new()
    } else {
        format!(" (param{params})")
    };
    let results: String = import.results.iter().map(|ty| format!(" {ty}")).collect();
    let results = if results.is_empty() {
        String::new()
    } else {
        format!(" (result{results})")
    };
    Ok(format!(
        "  (func (export \"{}\"){params}{results}\n    {body})\n",
        import.name
    ))
}

//! Build helpers for the policy examples in `wasm-examples/`, run by their `build.sh` scripts.
//!
//! - `bindgen c|go WIT_DIR WORLD OUT_DIR` writes the bindings `wit-bindgen` generates for a
//!   world, in C (also used by the Zig example) or Go, as `wit-bindgen c` and `wit-bindgen go`
//!   would: the same generators, used as libraries, so no extra binary has to be installed.
//! - `componentize-wasip1 IN.wasm OUT.wasm WIT_DIR WORLD` makes a component of a core module
//!   built for `wasip1` (Go): it embeds the world's component type, then satisfies the module's
//!   `wasi_snapshot_preview1` imports with a stub adapter that lives inside the component (see
//!   [`stub`]). The component then imports only what the world imports: the host links no WASI.

mod stub;

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wit_component::{ComponentEncoder, StringEncoding};

const USAGE: &str = "usage:
  wasm-examples-tools bindgen c|go WIT_DIR WORLD OUT_DIR
  wasm-examples-tools componentize-wasip1 IN.wasm OUT.wasm WIT_DIR WORLD";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let result = match args.as_slice() {
        ["bindgen", "c", wit, world, out] => bindgen_c(Path::new(wit), world, Path::new(out)),
        ["bindgen", "go", wit, world, out] => bindgen_go(Path::new(wit), world, Path::new(out)),
        ["componentize-wasip1", input, output, wit, world] => {
            componentize_wasip1(Path::new(input), Path::new(output), Path::new(wit), world)
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Writes every generated file under `out`, creating folders as needed.
fn write_files<'a>(out: &Path, files: impl Iterator<Item = (&'a str, &'a [u8])>) -> Result<()> {
    for (name, contents) in files {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create \"{}\"", parent.display()))?;
        }
        fs::write(&path, contents)
            .with_context(|| format!("cannot write \"{}\"", path.display()))?;
    }
    Ok(())
}

/// The C bindings (`<world>.h`, `<world>.c` and `<world>_component_type.o`).
fn bindgen_c(wit: &Path, world: &str, out: &Path) -> Result<()> {
    use wit_bindgen_core::wit_parser::Resolve;

    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("cannot read the WIT in \"{}\"", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;

    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&resolve, world, &mut files)
        .context("cannot generate the C bindings")?;
    write_files(out, files.iter())
}

/// The Go bindings: a `wit_component` module with one package per interface.
fn bindgen_go(wit: &Path, world: &str, out: &Path) -> Result<()> {
    use wit_bindgen_core_go::wit_parser::Resolve;

    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("cannot read the WIT in \"{}\"", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;

    let mut files = wit_bindgen_core_go::Files::default();
    wit_bindgen_go::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("cannot generate the Go bindings")?;
    write_files(out, files.iter())
}

/// Embeds the world into a wasip1 core module and encodes it as a component, with the
/// `wasi_snapshot_preview1` imports served by the stub adapter.
fn componentize_wasip1(input: &Path, output: &Path, wit: &Path, world: &str) -> Result<()> {
    use wit_bindgen_core::wit_parser::Resolve;

    let mut module =
        fs::read(input).with_context(|| format!("cannot read \"{}\"", input.display()))?;

    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("cannot read the WIT in \"{}\"", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .context("cannot embed the world's component type")?;

    let wanted = stub::wasi_imports(&module)?;
    if wanted.is_empty() {
        bail!(
            "\"{}\" imports nothing from wasi_snapshot_preview1",
            input.display()
        );
    }
    let adapter = stub::adapter(&wanted)?;

    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .with_context(|| format!("cannot read the component type of \"{}\"", input.display()))?
        .adapter(stub::MODULE, &adapter)
        .context("cannot use the stub adapter")?
        .encode()
        .with_context(|| format!("cannot make a component of \"{}\"", input.display()))?;

    fs::write(output, component)
        .with_context(|| format!("cannot write \"{}\"", output.display()))?;
    Ok(())
}

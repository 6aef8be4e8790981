//! Build helpers for policy components, run as `cargo run -p xtask -- <command>`.
//!
//! - `componentize IN.wasm OUT.wasm` turns a core module that carries a `component-type`
//!   custom section (as emitted by `wit-bindgen`) into a validated component.
//! - `wit COMPONENT.wasm` prints the WIT world a component targets, with the interfaces it
//!   imports and exports.
//! - `imports COMPONENT.wasm [--only PREFIX]` lists the component's imports, one per line, with
//!   their kind; with `--only`, fails when an import the host must provide (anything but a type
//!   alias such as the world's `use`) does not start with `PREFIX`.
//!
//! This is the `wit-component` library that `wasm-tools component new` uses, kept in the
//! workspace so CI needs no extra binary.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wasmparser::{ComponentTypeRef, Encoding, Parser, Payload};
use wit_component::{ComponentEncoder, WitPrinter};

const USAGE: &str = "usage:
  xtask componentize IN.wasm OUT.wasm
  xtask wit COMPONENT.wasm
  xtask imports COMPONENT.wasm [--only PREFIX]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let result = match args.as_slice() {
        ["componentize", input, output] => componentize(Path::new(input), Path::new(output)),
        ["wit", component] => print_wit(Path::new(component)),
        ["imports", component] => print_imports(Path::new(component), None),
        ["imports", component, "--only", prefix] => {
            print_imports(Path::new(component), Some(prefix))
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

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read \"{}\"", path.display()))
}

/// Encodes the core module at `input` as a component and writes it to `output`.
fn componentize(input: &Path, output: &Path) -> Result<()> {
    let module = read(input)?;

    // Without the section wit-component would make a component of nothing: say so instead.
    let has_type = Parser::new(0).parse_all(&module).any(|payload| {
        matches!(payload, Ok(Payload::CustomSection(section))
            if section.name().starts_with("component-type"))
    });
    if !has_type {
        bail!(
            "\"{}\" has no component-type section: is it built with wit-bindgen?",
            input.display()
        );
    }

    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .with_context(|| format!("cannot read the component type of \"{}\"", input.display()))?
        .encode()
        .with_context(|| format!("cannot make a component of \"{}\"", input.display()))?;

    fs::write(output, &component)
        .with_context(|| format!("cannot write \"{}\"", output.display()))?;
    Ok(())
}

/// Prints the WIT world the component at `path` targets, and the packages it uses.
fn print_wit(path: &Path) -> Result<()> {
    let bytes = read(path)?;
    let decoded = wit_component::decode(&bytes)
        .with_context(|| format!("cannot decode the component \"{}\"", path.display()))?;

    // The interfaces the world uses live in other packages: print those too, nested.
    let resolve = decoded.resolve();
    let others: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != decoded.package())
        .collect();

    let mut printer = WitPrinter::default();
    printer
        .print(resolve, decoded.package(), &others)
        .context("cannot print the decoded world")?;
    print!("{}", printer.output);
    Ok(())
}

/// Prints the top-level imports of the component at `path`; with `only`, fails when an import
/// that the host must provide does not start with it.
fn print_imports(path: &Path, only: Option<&str>) -> Result<()> {
    let bytes = read(path)?;
    let mut names = Vec::new();
    let mut depth = 0usize;

    for payload in Parser::new(0).parse_all(&bytes) {
        let payload = payload.with_context(|| format!("cannot parse \"{}\"", path.display()))?;

        match payload {
            Payload::Version {
                encoding: Encoding::Module,
                ..
            } if depth == 0 => {
                bail!("\"{}\" is a core module, not a component", path.display());
            }
            // Nested modules and components have their own imports: only the outermost ones
            // are what the host must provide.
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.context("bad component import")?;
                    let kind = match import.ty {
                        ComponentTypeRef::Module(_) => "module",
                        ComponentTypeRef::Func(_) => "func",
                        ComponentTypeRef::Value(_) => "value",
                        ComponentTypeRef::Type(_) => "type",
                        ComponentTypeRef::Instance(_) => "instance",
                        ComponentTypeRef::Component(_) => "component",
                    };
                    names.push((kind, import.name.0.to_string()));
                }
            }
            _ => {}
        }
    }

    for (kind, name) in &names {
        println!("{kind:9} {name}");
    }

    // A type import is the world naming a type of an imported interface (`use types.{verdict}`):
    // an alias the host need not provide.
    if let Some(prefix) = only {
        let foreign: Vec<&str> = names
            .iter()
            .filter(|(kind, name)| *kind != "type" && !name.starts_with(prefix))
            .map(|(_, name)| name.as_str())
            .collect();
        if !foreign.is_empty() {
            bail!(
                "\"{}\" imports {} outside \"{prefix}\": {foreign:?}",
                path.display(),
                foreign.len()
            );
        }
    }
    Ok(())
}

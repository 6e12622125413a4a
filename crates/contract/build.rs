//! docs/chaincode.md's contract examples are fenced `rust,ignore` there,
//! because ccaas-shim compiles that page's blocks and cannot see this
//! crate. This writes a copy of the page to OUT_DIR where the blocks that
//! use `ccaas_contract` are plain Rust again, and lib.rs compiles that copy
//! as this crate's doctests: every contract example on the page is checked.

use std::path::Path;

fn main() {
    let guide = Path::new("../../docs/chaincode.md");
    println!("cargo:rerun-if-changed={}", guide.display());
    let text = std::fs::read_to_string(guide).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let fence = line.trim_end();
        let ignored = matches!(fence, "```rust,ignore" | "```rust,no_run,ignore");
        if ignored {
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.trim_end() == "```")
                .map_or(lines.len(), |p| i + 1 + p);
            let body = &lines[i + 1..end.min(lines.len())];
            let uses_contract = body.iter().any(|l| l.contains("ccaas_contract"));
            let opening = match (uses_contract, fence) {
                (true, "```rust,no_run,ignore") => "```rust,no_run",
                (true, _) => "```rust",
                // Not ours: keep it out of the doctests.
                (false, _) => "```text",
            };
            out.push_str(opening);
            out.push('\n');
            for l in body {
                out.push_str(l);
                out.push('\n');
            }
            i = end;
            continue;
        }
        // Every other Rust block is the shim's, compiled there.
        if fence.starts_with("```rust") {
            out.push_str("```text\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
        i += 1;
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("chaincode-guide.md");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}

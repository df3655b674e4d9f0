//! Embeds the browser app (web/app, web/sdk, web/example) into the binary, so that running the server
//! needs no Node.js and no build step. Generates a table of (URL path, bytes, content type).

use std::fmt::Write;
use std::path::{Path, PathBuf};

const SERVED: &[(&str, &str)] = &[("app", "/app/"), ("sdk", "/sdk/"), ("example", "/example/")];
const SKIP_DIRS: &[&str] = &["node_modules", "tests", "test-results", "artifacts"];

fn main() {
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let mut table = String::from("pub static FILES: &[(&str, &[u8], &str)] = &[\n");
    for (dir, prefix) in SERVED {
        let root = web.join(dir);
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        collect(&root, &mut files);
        files.sort();
        for f in files {
            let Some(ctype) = content_type(&f) else {
                continue;
            };
            let rel = f
                .strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            println!("cargo:rerun-if-changed={}", f.display());
            let _ = writeln!(
                table,
                "    ({:?}, include_bytes!({:?}), {:?}),",
                format!("{prefix}{rel}"),
                f.canonicalize().expect("file exists").display().to_string(),
                ctype
            );
        }
    }
    table.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("web_files.rs");
    std::fs::write(out, table).expect("write the embedded file table");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                println!("cargo:rerun-if-changed={}", p.display());
                collect(&p, out);
            }
        } else if !name.starts_with('.') {
            out.push(p);
        }
    }
}

fn content_type(p: &Path) -> Option<&'static str> {
    Some(match p.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "md" => "text/markdown; charset=utf-8",
        _ => return None,
    })
}

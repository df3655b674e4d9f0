//! Embeds the browser app (web/app, web/sdk, web/example) into the binary, so that running the server
//! needs no Node.js and no build step. Each file is copied into OUT_DIR with a gzip copy (when that is
//! smaller) and a strong ETag (a hash of its bytes), and a table of them is generated: all three come
//! from one read, so they always describe the same content.
//!
//! Freshness: cargo re-runs this script when anything under the three folders is added, changed or
//! removed (it scans a folder named by `rerun-if-changed` recursively). The folders are named by paths
//! relative to this package: cargo stores those relative and so checks the checkout it builds, also
//! when the target folder was last used by another checkout (absolute paths named the other one's
//! files, and a binary could embed that checkout's web files).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const SERVED: &[(&str, &str)] = &[("app", "/app/"), ("sdk", "/sdk/"), ("example", "/example/")];
const SKIP_DIRS: &[&str] = &["node_modules", "tests", "test-results", "artifacts"];

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let copies = out.join("web");
    // Start empty, so a removed file leaves no copy behind.
    let _ = std::fs::remove_dir_all(&copies);
    std::fs::create_dir_all(&copies).expect("create OUT_DIR/web");

    let mut table = String::from("pub static FILES: &[WebFile] = &[\n");
    let mut n = 0usize;
    for (dir, prefix) in SERVED {
        let relative = Path::new("../../web").join(dir);
        println!("cargo:rerun-if-changed={}", relative.display());
        let root = manifest.join(&relative);
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
            let bytes = std::fs::read(&f).expect("read a web file");
            let _ = writeln!(
                table,
                "    {},",
                embed(&copies, n, &format!("{prefix}{rel}"), &bytes, ctype)
            );
            n += 1;
        }
    }
    table.push_str("];\n");
    std::fs::write(out.join("web_files.rs"), table).expect("write the embedded file table");
}

/// Writes file number `n`'s copies and returns its table entry.
fn embed(copies: &Path, n: usize, url: &str, bytes: &[u8], ctype: &str) -> String {
    std::fs::write(copies.join(n.to_string()), bytes).expect("copy a web file");
    // Included through OUT_DIR at compile time, so the table holds no absolute path of this build.
    let include =
        |name: String| format!("include_bytes!(concat!(env!(\"OUT_DIR\"), \"/web/{name}\"))");
    let gzip = gzip(ctype, bytes).map(|gz| {
        std::fs::write(copies.join(format!("{n}.gz")), gz).expect("copy a gzip file");
        include(format!("{n}.gz"))
    });
    let digest = Sha256::digest(bytes);
    let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "WebFile {{ path: {url:?}, body: {}, gzip: {}, content_type: {ctype:?}, etag: {:?}, \
         gzip_etag: {:?} }}",
        include(n.to_string()),
        gzip.map_or("None".to_owned(), |g| format!("Some({g})")),
        format!("\"{tag}\""),
        // Another encoding is another representation: a strong validator differs with it.
        format!("\"{tag}-gzip\""),
    )
}

/// The gzip copy of a text file, when it is smaller. Images here are compressed already.
fn gzip(ctype: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let compressible = ctype.starts_with("text/")
        || ctype.starts_with("image/svg")
        || ctype.starts_with("application/manifest");
    if !compressible {
        return None;
    }
    // GzEncoder writes a header without a timestamp, so the output depends on the bytes only.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("gzip into memory");
    let gz = enc.finish().expect("gzip into memory");
    (gz.len() < bytes.len()).then_some(gz)
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

//! Uploaded files: the name a client gives (`?name=` of the upload), its `Content-Disposition` on
//! download, the type sniffed from the first bytes, and, for an image, the header check and the
//! preview decoder under the server's limits (files/upload.rs does the same, in this order).
#![no_main]

use convene_fuzz::bytes::Bytes;
use convene_server::files::{download, name, preview, sniff};
use libfuzzer_sys::fuzz_target;

/// A small `files.image_max_pixels` (the default is 50 million), so that each run stays fast; the
/// limit's logic is the same.
const MAX_PIXELS: u64 = 1 << 20;

/// libFuzzer's panic hook aborts on every panic. A panic inside an image decoder is one the server
/// contains (preview.rs: the upload is kept without a preview), so that one is let unwind; any
/// other still aborts, as a crash.
static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let crash = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !preview::containing_a_decoder() {
                crash(info);
            }
        }));
    });
    let mut b = Bytes::new(data);
    let raw_name = String::from_utf8_lossy(b.until(0)).into_owned();
    let body = b.rest();

    let clean = name::sanitize(&raw_name);
    let n = clean.chars().count();
    assert!(n >= 1 && n <= name::MAX_NAME_CHARS, "{clean:?}: {n} characters");
    assert!(!clean.contains(['/', '\\']), "{clean:?} keeps a path");
    assert!(!clean.chars().any(char::is_control), "{clean:?}");
    assert!(!clean.starts_with('.'), "{clean:?} is a hidden file's name");
    assert_eq!(clean.trim(), clean, "{clean:?} is not trimmed");
    assert_eq!(name::sanitize(&clean), clean, "sanitizing twice changes {clean:?}");
    let header = download::attachment(&clean);
    assert_ne!(header.as_bytes(), b"attachment", "{clean:?} lost from Content-Disposition");

    // The upload keeps the first 256 KiB as the head; fuzz inputs are shorter.
    let head = body;
    let ty = sniff::content_type(head);
    let served = sniff::served_as(ty);
    assert!(served != "text/html" && served != "image/svg+xml", "{ty} served as itself");
    if sniff::is_previewable_image(ty) {
        if let Some((w, h)) = preview::dimensions(head) {
            let _ = preview::check_pixels(w, h, MAX_PIXELS);
        }
        if let Ok(p) = preview::make(body, MAX_PIXELS) {
            assert!(u64::from(p.width) * u64::from(p.height) <= MAX_PIXELS);
            assert!(!p.bytes.is_empty());
        }
    }
});

//! What a file is, from its first bytes: the client's `Content-Type` and the name's extension are
//! not taken (a page could call an HTML file `cat.png`). Only the types the app shows differently
//! are told apart; everything else is `application/octet-stream`.

/// Bytes of the start of a file that [`content_type`] looks at.
pub const SNIFF_BYTES: usize = 512;

/// The content type of a file that begins with `head` (at least [`SNIFF_BYTES`] of it, or all).
pub fn content_type(head: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1a\x45\xdf\xa3", "video/webm"),
        (b"OggS", "audio/ogg"),
        (b"ID3", "audio/mpeg"),
        (b"\x1f\x8b", "application/gzip"),
    ];
    if let Some((_, ty)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return ty;
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" {
        match &head[8..12] {
            b"WEBP" => return "image/webp",
            b"WAVE" => return "audio/wav",
            _ => {}
        }
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return "video/mp4";
    }
    if is_markup(
        head,
        &[b"<!doctype html", b"<html", b"<head", b"<body", b"<script"],
    ) {
        return "text/html";
    }
    if is_markup(head, &[b"<svg"]) || (is_markup(head, &[b"<?xml"]) && contains(head, b"<svg")) {
        return "image/svg+xml";
    }
    if is_text(head) {
        return "text/plain";
    }
    "application/octet-stream"
}

/// Whether files of this type may be shown in the page (as a preview or a download the browser
/// opens). Everything else is served as `application/octet-stream`: HTML and SVG never run as our
/// origin, whatever else stops them.
pub fn served_as(content_type: &str) -> &str {
    match content_type {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "application/pdf"
        | "video/webm" | "video/mp4" | "audio/ogg" | "audio/mpeg" | "audio/wav" => content_type,
        "text/plain" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether the server makes a preview of this type.
pub fn is_previewable_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

fn is_markup(head: &[u8], tags: &[&[u8]]) -> bool {
    let start = head
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(head);
    let trimmed = start
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &start[i..]);
    tags.iter()
        .any(|t| trimmed.len() >= t.len() && trimmed[..t.len()].eq_ignore_ascii_case(t))
}

fn contains(head: &[u8], needle: &[u8]) -> bool {
    head.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// UTF-8 (a character cut at the end of `head` allowed) without NULs or other binary controls.
fn is_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    valid
        && !head
            .iter()
            .any(|b| b.is_ascii_control() && !matches!(b, b'\n' | b'\r' | b'\t' | b'\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_say_what_a_file_is() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(content_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"%PDF-1.7"), "application/pdf");
        assert_eq!(content_type(b"\0\0\0\x18ftypmp42"), "video/mp4");
        assert_eq!(content_type(b"  <!DOCTYPE html><p>"), "text/html");
        assert_eq!(content_type(b"<script>alert(1)</script>"), "text/html");
        assert_eq!(
            content_type(b"<?xml version=\"1.0\"?><svg>"),
            "image/svg+xml"
        );
        assert_eq!(content_type(b"<svg onload=alert(1)>"), "image/svg+xml");
        assert_eq!(content_type("plain text, été\n".as_bytes()), "text/plain");
        assert_eq!(content_type(b"MZ\x90\0\x03"), "application/octet-stream");
        assert_eq!(content_type(b""), "application/octet-stream");
        // A multi-byte character cut by the end of the sniffed bytes is still text.
        assert_eq!(content_type(&"é".as_bytes()[..1]), "text/plain");
    }

    #[test]
    fn active_content_is_never_served_as_itself() {
        assert_eq!(served_as("text/html"), "application/octet-stream");
        assert_eq!(served_as("image/svg+xml"), "application/octet-stream");
        assert_eq!(served_as("image/png"), "image/png");
        assert_eq!(served_as("text/plain"), "text/plain; charset=utf-8");
        assert!(is_previewable_image("image/gif") && !is_previewable_image("image/svg+xml"));
    }
}

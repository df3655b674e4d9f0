//! A shared file's name as the server keeps it: the last part of whatever path the client sent, in
//! NFC, without control or bidirectional-override characters, trimmed, and at most
//! [`MAX_NAME_CHARS`] characters (the extension kept). Shown to everyone and put in
//! `Content-Disposition`, so it must never smuggle a path, a line break or a spoofed extension.

use unicode_normalization::UnicodeNormalization;

pub const MAX_NAME_CHARS: usize = 200;
/// The extension kept when a long name is shortened.
const MAX_EXTENSION_CHARS: usize = 16;

pub fn sanitize(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .nfc()
        .filter(|c| !c.is_control() && !is_format_override(*c))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let name = if trimmed.is_empty() { "file" } else { trimmed };
    shorten(name)
}

/// Bidirectional overrides and isolates (which can make `exe.pdf` read as `fdp.exe`) and other
/// invisible format characters.
fn is_format_override(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_owned();
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= MAX_EXTENSION_CHARS);
    match ext {
        Some(ext) => {
            let keep = MAX_NAME_CHARS - ext.chars().count() - 1;
            let stem: String = name.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => name.chars().take(MAX_NAME_CHARS).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_controls_and_overrides() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("C:\\Users\\ada\\report.pdf"), "report.pdf");
        assert_eq!(sanitize("a\r\nb\u{0}.txt"), "ab.txt");
        assert_eq!(sanitize("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(sanitize("  .hidden  "), "hidden");
        assert_eq!(sanitize(""), "file");
        assert_eq!(sanitize("dir/"), "file");
        assert_eq!(sanitize("..."), "file");
        assert_eq!(sanitize("e\u{301}te\u{301}.txt"), "été.txt", "NFC");
        assert_eq!(sanitize("会议记录.docx"), "会议记录.docx");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.pdf", "a".repeat(500));
        let short = sanitize(&long);
        assert_eq!(short.chars().count(), MAX_NAME_CHARS);
        assert!(short.ends_with(".pdf"));
        let no_ext = "b".repeat(300);
        assert_eq!(sanitize(&no_ext).chars().count(), MAX_NAME_CHARS);
        let at_limit = format!("{}.txt", "c".repeat(MAX_NAME_CHARS - 4));
        assert_eq!(sanitize(&at_limit), at_limit);
    }
}

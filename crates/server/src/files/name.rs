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
    // Filtered before NFC: a removed character between two combining marks would otherwise
    // leave them side by side out of canonical order, not NFC (found by fuzzing).
    let filtered: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_format_override(*c))
        .collect();
    let cleaned: String = filtered.nfc().collect();
    // Dots and spaces in any order: `. .bashrc` must not become `.bashrc` (found by fuzzing).
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
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
        // The cut may end on a space (found by fuzzing).
        None => name
            .chars()
            .take(MAX_NAME_CHARS)
            .collect::<String>()
            .trim_end()
            .to_owned(),
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

    /// Inputs from the fuzz target (fuzz/fuzz_targets/files.rs): a name is never a hidden file's,
    /// never ends in a space, and sanitizing it again changes nothing.
    #[test]
    fn no_hidden_or_untrimmed_name_comes_out() {
        for raw in [". .x", " . .bashrc", ".\u{3000}.profile"] {
            let clean = sanitize(raw);
            assert!(!clean.starts_with('.'), "{raw:?} gave {clean:?}");
            assert_eq!(sanitize(&clean), clean);
        }
        assert_eq!(sanitize(". .bashrc"), "bashrc");
        let cut_on_space = format!("{} tail", "a".repeat(MAX_NAME_CHARS - 1));
        let clean = sanitize(&cut_on_space);
        assert_eq!(clean, "a".repeat(MAX_NAME_CHARS - 1));
        assert_eq!(sanitize(&clean), clean);
        // Marks a control character kept apart come out in canonical order: the name is NFC.
        assert_eq!(sanitize("x\u{594}\u{1}\u{5b0}"), "x\u{5b0}\u{594}");
        assert_eq!(
            sanitize("x\u{594}\u{202e}\u{5b0}.txt"),
            "x\u{5b0}\u{594}.txt"
        );
    }
}

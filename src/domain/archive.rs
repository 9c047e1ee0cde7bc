//! Names inside a "download all" ZIP: one per file, safe to extract anywhere, never clashing.

/// Characters that cannot appear in a file name on some system people unzip on.
const UNSAFE: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// A display name made safe as a ZIP entry: only its last path part, no control, bidi (which
/// could make `exe.pdf` of `fdp.exe`) or reserved characters, no leading dots or trailing dots and spaces; `file-{n}` when nothing is left.
/// So an entry can never point outside the folder it is extracted into (`../`, `/etc/…`, `C:`).
pub fn safe_entry_name(display_name: &str, n: usize) -> String {
    let last = display_name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !super::is_bidi_control(*c))
        .map(|c| if c.is_control() || UNSAFE.contains(&c) { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).trim();
    if trimmed.is_empty() { format!("file-{n}") } else { trimmed.to_owned() }
}

/// Entry names for files shown as `display_names`, in order: each made safe, and a name
/// already taken (letter case aside) gets ` (2)`, ` (3)`… before its extension.
pub fn archive_names<S: AsRef<str>>(display_names: &[S]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    let mut names = Vec::with_capacity(display_names.len());
    for (i, display_name) in display_names.iter().enumerate() {
        let name = safe_entry_name(display_name.as_ref(), i + 1);
        let (stem, extension) = match name.rfind('.') {
            Some(dot) if dot > 0 => name.split_at(dot),
            _ => (name.as_str(), ""),
        };
        let mut candidate = name.clone();
        let mut k = 2;
        while !taken.insert(candidate.to_lowercase()) {
            candidate = format!("{stem} ({k}){extension}");
            k += 1;
        }
        names.push(candidate);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_get_a_number() {
        let names = archive_names(&["a.pdf", "a.pdf", "A.PDF", "a (2).pdf", "notes", "notes"]);
        assert_eq!(names, ["a.pdf", "a (2).pdf", "A (3).PDF", "a (2) (2).pdf", "notes", "notes (2)"]);
    }

    #[test]
    fn names_cannot_escape_the_folder() {
        assert_eq!(safe_entry_name("../../etc/passwd", 1), "passwd");
        assert_eq!(safe_entry_name("/abs/path.txt", 1), "path.txt");
        assert_eq!(safe_entry_name("C:\\Windows\\evil.dll", 1), "evil.dll");
        assert_eq!(safe_entry_name("C:evil.dll", 1), "C_evil.dll");
        assert_eq!(safe_entry_name("..", 3), "file-3");
        assert_eq!(safe_entry_name("../", 4), "file-4");
        assert_eq!(safe_entry_name("  .hidden ", 1), "hidden");
        assert_eq!(safe_entry_name("report. ", 1), "report");
        assert_eq!(safe_entry_name("tab\there", 1), "tab_here");
        assert_eq!(safe_entry_name("Über Straße.pdf", 1), "Über Straße.pdf");
        assert_eq!(safe_entry_name("invoice\u{202E}fdp.exe", 1), "invoicefdp.exe");
        assert_eq!(safe_entry_name("\u{2066}\u{200F}", 5), "file-5");
    }
}

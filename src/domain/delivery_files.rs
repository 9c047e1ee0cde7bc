//! The file list of a delivery, as the API and the dashboard's product form both check it:
//! at most [`MAX_FILES`](super::MAX_FILES), each an uploaded file, each with a usable name.

use super::{DeliveryFile, DisplayName, Invalid};

/// One row of a file list once its file was looked up.
#[derive(Debug, Clone)]
pub enum ListedFile<'a> {
    /// No uploaded file of the merchant's has this id (or it was deleted).
    Missing,
    /// The uploaded file, and the name the customer is to see.
    Found {
        /// The uploaded file (blob) id.
        file_id: String,
        /// The display name as given (the uploaded file name when none was).
        display_name: &'a str,
    },
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// The file does not exist (any more).
    Missing,
    /// The display name is unusable.
    BadName(Invalid),
}

/// A checked file list: the usable files, and each row's problem by position (from 0).
#[derive(Debug, Clone, Default)]
pub struct CheckedFiles {
    /// The rows without a problem, in order.
    pub files: Vec<DeliveryFile>,
    /// (row, problem), in row order.
    pub problems: Vec<(usize, FileProblem)>,
}

/// Checks each looked-up row: the file exists and its display name is usable.
pub fn check_listed_files<'a>(rows: impl IntoIterator<Item = ListedFile<'a>>) -> CheckedFiles {
    let mut checked = CheckedFiles::default();
    for (i, row) in rows.into_iter().enumerate() {
        match row {
            ListedFile::Missing => checked.problems.push((i, FileProblem::Missing)),
            ListedFile::Found { file_id, display_name } => {
                match DisplayName::parse("files.display_name", display_name) {
                    Ok(display_name) => checked.files.push(DeliveryFile { file_id, display_name }),
                    Err(invalid) => checked.problems.push((i, FileProblem::BadName(invalid))),
                }
            }
        }
    }
    checked
}

/// The extension of a file name (`pdf` of `guide.pdf`): 1 to 8 letters or digits, at least one
/// a letter, after the last dot of a name that has something before it. `Vol. 1` and `v1.2`
/// have none, so a version number is never taken for one.
pub fn extension_of(name: &str) -> Option<&str> {
    let (stem, ext) = name.trim().rsplit_once('.')?;
    let plain = (1..=8).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric());
    (plain && !stem.trim().is_empty() && ext.chars().any(|c| c.is_ascii_alphabetic())).then_some(ext)
}

/// A display name edited on the dashboard keeps the uploaded file's extension: `Guide` for
/// `guide.pdf` becomes `Guide.pdf`, so the customer's download still opens with the right
/// program. A name given its own extension (`Guide.txt`) is kept as typed, as is an empty one
/// (refused by [`DisplayName`]).
pub fn keep_extension(display_name: &str, uploaded_name: &str) -> String {
    let name = display_name.trim();
    match extension_of(uploaded_name) {
        Some(ext) if !name.is_empty() && extension_of(name).is_none() => format!("{name}.{ext}"),
        _ => display_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_name_keeps_the_extension() {
        assert_eq!(keep_extension("Guide", "guide.pdf"), "Guide.pdf");
        assert_eq!(keep_extension("  Guide ", "guide.PDF"), "Guide.PDF");
        assert_eq!(keep_extension("Guide.pdf", "guide.pdf"), "Guide.pdf");
        assert_eq!(keep_extension("Guide.txt", "guide.pdf"), "Guide.txt", "an extension typed on purpose");
        assert_eq!(keep_extension("Guide v1.2", "guide.pdf"), "Guide v1.2.pdf", "a version is no extension");
        assert_eq!(keep_extension("Vol. 1", "book.epub"), "Vol. 1.epub");
        assert_eq!(keep_extension("Readme", "README"), "Readme", "nothing to keep");
        assert_eq!(keep_extension(" ", "guide.pdf"), " ", "left for DisplayName to refuse");
        assert_eq!(keep_extension("Mix", ".bashrc"), "Mix", "a dot file has no extension");
        assert_eq!(extension_of("archive.tar.gz"), Some("gz"));
    }

    #[test]
    fn each_row_has_its_problem() {
        let rows = [
            ListedFile::Found { file_id: "a".into(), display_name: "A.pdf" },
            ListedFile::Missing,
            ListedFile::Found { file_id: "c".into(), display_name: " " },
        ];
        let checked = check_listed_files(rows);
        assert_eq!(checked.files.len(), 1);
        assert_eq!(checked.problems[0], (1, FileProblem::Missing));
        assert!(matches!(checked.problems[1], (2, FileProblem::BadName(_))));
    }
}

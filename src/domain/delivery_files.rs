//! The file list of a delivery, as the API and the dashboard's product form both check it:
//! at most [`MAX_FILES`](super::MAX_FILES), each an uploaded file, each with a usable name.

use super::{Delivery, DeliveryFile, DeliveryMode, DisplayName, Invalid};

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

/// Files listed with a mode other than `files` are refused by the API (the dashboard simply
/// ignores its hidden panel), and more than the most a product delivers is refused before
/// anything is looked up.
pub fn files_fit_mode(mode: DeliveryMode, count: usize) -> Result<(), Invalid> {
    if mode != DeliveryMode::Files && count > 0 {
        return Err(Invalid::new(
            "files",
            format!("files are only used with mode \"files\", not \"{}\"", mode.as_str()),
        ));
    }
    Delivery::check_file_count(count)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(files_fit_mode(DeliveryMode::None, 1).is_err());
        assert!(files_fit_mode(DeliveryMode::Files, 11).is_err());
        assert!(files_fit_mode(DeliveryMode::Files, 10).is_ok());
    }
}

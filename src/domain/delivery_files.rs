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
    }
}

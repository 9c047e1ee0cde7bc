//! Digital Product Delivery: what a product hands over after payment.

use super::stored::stored_enum;
use super::{DisplayName, Instructions, Invalid};

/// A product delivers at most this many files (DESIGN rule 1).
pub const MAX_FILES: usize = 10;

stored_enum! {
    /// How a product is delivered.
    pub enum DeliveryMode {
        /// Nothing to download (yet).
        None = "none",
        /// Up to ten uploaded files.
        Files = "files",
        /// One external download link.
        ExternalLink = "external_link",
    }
}

/// An external download link: `http` or `https` only, so `javascript:` and `data:` never reach a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUrl(String);

impl ExternalUrl {
    /// Parses and checks the scheme and host.
    pub fn parse(field: &'static str, raw: &str) -> Result<ExternalUrl, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::new(field, "is required for an external download link"));
        }
        if raw.len() > 2048 {
            return Err(Invalid::new(field, "is longer than 2048 characters"));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| Invalid::new(field, "must be a full URL like https://example.com/file.zip"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::new(field, format!("must use https:// or http://, not {}:", url.scheme())));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::new(field, "must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new(field, "must not contain a user name or password"));
        }
        // Normalizing percent-encodes spaces and non-ASCII (`é` is 2 bytes, `%C3%A9` 6): the
        // stored form must keep the limit too, or reading the link back and sending it again fails.
        if url.as_str().len() > 2048 {
            return Err(Invalid::new(field, "is longer than 2048 characters once percent-encoded"));
        }
        Ok(ExternalUrl(url.into()))
    }

    /// The normalized URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One file of a delivery: an uploaded file (by id) and the name the customer sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFile {
    /// The uploaded file (blob) id.
    pub file_id: String,
    /// The name shown and used when saving.
    pub display_name: DisplayName,
}

/// A product's complete, valid delivery settings. A product keeps both its file list and its
/// link whatever the mode: the mode only chooses which one customers get, so switching to a
/// link and back loses no files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    mode: DeliveryMode,
    files: Vec<DeliveryFile>,
    external_url: Option<ExternalUrl>,
    instructions: Instructions,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl Delivery {
    /// Builds a delivery from its parts as a form or the API sends them, checking rule 1: at
    /// most 10 distinct files whatever the mode, at least one in files mode; a link (when
    /// given, or in link mode) must be http(s). An empty link is no link.
    pub fn new(
        mode: DeliveryMode,
        files: Vec<DeliveryFile>,
        external_url: Option<&str>,
        instructions: Instructions,
    ) -> Result<Delivery, DeliveryError> {
        if mode == DeliveryMode::Files && files.is_empty() {
            return Err(Invalid::new("files", "choose at least one file for the \"files\" delivery mode").into());
        }
        Self::check_file_count(files.len())?;
        for (i, file) in files.iter().enumerate() {
            if files[..i].iter().any(|f| f.file_id == file.file_id) {
                return Err(Invalid::new("files", format!("file {} is listed twice", file.file_id)).into());
            }
        }
        let external_url = match external_url.map(str::trim).filter(|raw| !raw.is_empty()) {
            Some(raw) => Some(ExternalUrl::parse("external_url", raw)?),
            None if mode == DeliveryMode::ExternalLink => {
                return Err(Invalid::new("external_url", "is required for an external download link").into());
            }
            None => None,
        };
        Ok(Delivery { mode, files, external_url, instructions })
    }

    /// Refuses more than [`MAX_FILES`] files, before anything else is looked at.
    pub fn check_file_count(count: usize) -> Result<(), Invalid> {
        if count > MAX_FILES {
            return Err(Invalid::new(
                "files",
                format!("a product can deliver at most {MAX_FILES} files; {count} were given"),
            ));
        }
        Ok(())
    }

    /// What customers get: the files, the link, or nothing.
    pub fn mode(&self) -> DeliveryMode {
        self.mode
    }

    /// The file list, in the order customers see it (kept in every mode, delivered in files mode).
    pub fn files(&self) -> &[DeliveryFile] {
        &self.files
    }

    /// The external link (kept in every mode, delivered in link mode).
    pub fn external_url(&self) -> Option<&ExternalUrl> {
        self.external_url.as_ref()
    }

    /// The instructions, whatever the mode.
    pub fn instructions(&self) -> &Instructions {
        &self.instructions
    }
}

/// Whether a product with this delivery mode can be bought: a product is a draft until its
/// delivery is set (a files-mode product always has a file, a link-mode one a link).
pub fn has_something_to_deliver(mode: DeliveryMode) -> bool {
    mode != DeliveryMode::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> DeliveryFile {
        DeliveryFile { file_id: format!("f{n}"), display_name: DisplayName::parse("x", &format!("{n}.pdf")).unwrap() }
    }

    #[test]
    fn ten_files_are_accepted_and_eleven_refused() {
        let ten = (0..10).map(file).collect();
        assert!(Delivery::new(DeliveryMode::Files, ten, None, Instructions::default()).is_ok());
        let eleven = (0..11).map(file).collect();
        let DeliveryError::Invalid(err) =
            Delivery::new(DeliveryMode::Files, eleven, None, Instructions::default()).unwrap_err();
        assert_eq!(err.field, "files");
        assert!(err.message.contains("at most 10"));
    }

    #[test]
    fn files_mode_needs_a_file() {
        let DeliveryError::Invalid(err) =
            Delivery::new(DeliveryMode::Files, vec![], None, Instructions::default()).unwrap_err();
        assert_eq!(err.field, "files");
    }

    #[test]
    fn both_setups_are_kept_whatever_the_mode() {
        let url = "https://example.com/book.zip";
        let link = Some(url);
        let delivery = Delivery::new(DeliveryMode::ExternalLink, vec![file(1)], link, Instructions::default()).unwrap();
        assert_eq!((delivery.files().len(), delivery.external_url().unwrap().as_str()), (1, url));
        let delivery = Delivery::new(DeliveryMode::None, vec![file(1)], link, Instructions::default()).unwrap();
        assert_eq!(delivery.mode(), DeliveryMode::None);
        assert_eq!(delivery.files().len(), 1);
        // Link mode needs a link; another mode takes an empty one as none, but not a bad one.
        let DeliveryError::Invalid(err) =
            Delivery::new(DeliveryMode::ExternalLink, vec![file(1)], Some(" "), Instructions::default()).unwrap_err();
        assert_eq!((err.field, err.message.as_str()), ("external_url", "is required for an external download link"));
        let files = Delivery::new(DeliveryMode::Files, vec![file(1)], Some(""), Instructions::default()).unwrap();
        assert!(files.external_url().is_none());
        let DeliveryError::Invalid(err) =
            Delivery::new(DeliveryMode::Files, vec![file(1)], Some("ftp://x.org/f"), Instructions::default())
                .unwrap_err();
        assert_eq!(err.field, "external_url");
        assert!(!has_something_to_deliver(DeliveryMode::None));
        assert!(has_something_to_deliver(DeliveryMode::Files) && has_something_to_deliver(DeliveryMode::ExternalLink));
    }

    #[test]
    fn only_http_links_are_accepted() {
        for bad in
            ["javascript:alert(1)", "data:text/html,hi", "ftp://x.org/f", "file:///etc/passwd", "https://", "nope"]
        {
            let err = ExternalUrl::parse("external_url", bad).unwrap_err();
            assert_eq!(err.field, "external_url", "{bad}");
        }
        assert_eq!(
            ExternalUrl::parse("external_url", " https://Example.com/a b ").unwrap().as_str(),
            "https://example.com/a%20b"
        );
        assert!(ExternalUrl::parse("external_url", "http://drive.example.org/x?y=1").is_ok());
    }

    /// Found by `cargo fuzz run names` (fuzz/corpus/names/seed-10): 1,415 bytes were accepted
    /// and stored as 4,215, which the same parser then refused when the link was sent back.
    #[test]
    fn the_stored_url_keeps_the_length_limit() {
        let long = format!("https://ex.com/{}", "é".repeat(700));
        assert!(long.len() <= 2048);
        let err = ExternalUrl::parse("external_url", &long).unwrap_err();
        assert_eq!(err.field, "external_url");
        let fits = format!("https://ex.com/{}", "é".repeat(300));
        let stored = ExternalUrl::parse("external_url", &fits).unwrap();
        assert_eq!(ExternalUrl::parse("external_url", stored.as_str()).unwrap(), stored);
    }
}

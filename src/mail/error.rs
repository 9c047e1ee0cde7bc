//! What can go wrong with one email. The outbox records the message of the error on the email's
//! row, where the merchant reads it, so every message includes its cause's and never contains
//! credentials.

use crate::db::DbError;

/// Why an email could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The sender's address (the merchant's setting, else the server's) cannot go into a header.
    #[error("sender {0}")]
    Sender(BadAddress),
    /// The recipient's address cannot go into a header.
    #[error("recipient {0}")]
    Recipient(BadAddress),
    /// Something the email is made of could not be loaded.
    #[error("loading {what}: {error}")]
    Load {
        /// What: "the merchant", "order {id}"…
        what: String,
        /// The database's error.
        error: DbError,
    },
    /// A template failed.
    #[error("rendering the {part}: {error}")]
    Render {
        /// "text part" or "HTML part".
        part: &'static str,
        /// askama's error.
        error: askama::Error,
    },
    /// lettre refused to assemble the message.
    #[error("building the message: {0}")]
    Build(lettre::error::Error),
    /// The SMTP server refused the message or could not be reached.
    #[error("SMTP {server}: {error}")]
    Smtp {
        /// `host:port`.
        server: String,
        /// lettre's error (it never includes the password).
        error: lettre::transport::smtp::Error,
    },
    /// The message could not be written into the file mailbox.
    #[error("writing to the mailbox {dir}: {error}")]
    Mailbox {
        /// The mailbox folder.
        dir: String,
        /// The file system's error.
        error: std::io::Error,
    },
    /// Building or sending panicked (a bug, or a library's); the panic's message.
    #[error("building or sending this email failed unexpectedly: {0}")]
    Panicked(String),
}

impl MailError {
    /// A [`MailError::Load`] of `what`.
    pub fn load(what: impl Into<String>) -> impl FnOnce(DbError) -> MailError {
        move |error| MailError::Load { what: what.into(), error }
    }

    /// A [`MailError::Render`] of `part`.
    pub fn render(part: &'static str) -> impl FnOnce(askama::Error) -> MailError {
        move |error| MailError::Render { part, error }
    }
}

/// An address that cannot be written into a mail header.
#[derive(Debug, thiserror::Error)]
pub enum BadAddress {
    /// No `@` in it.
    #[error("address {0:?}: no @")]
    NoAt(String),
    /// Its domain is not ASCII and has no ASCII (`xn--`) form.
    #[error("address {0:?}: the domain is not a valid international name")]
    Domain(String),
    /// lettre does not accept it.
    #[error("address {0:?}: {1}")]
    Invalid(String, lettre::address::AddressError),
}

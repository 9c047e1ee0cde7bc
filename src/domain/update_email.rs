//! A release's update email as the merchant writes it (subject and message), checked at the
//! edge, and the token of its unsubscribe link.

use super::{Invalid, LinkPurpose, LinkToken, is_bidi_control};

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 150;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// A checked update email: a one-line subject and a message (plain text, shown as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateEmail {
    /// 1 to [`MAX_SUBJECT_CHARS`] characters, no control characters (a line break in a
    /// header would let the merchant's text add headers, such as `Bcc:`).
    pub subject: String,
    /// 1 to [`MAX_MESSAGE_CHARS`] characters; tabs and line breaks the only control
    /// characters.
    pub message: String,
}

impl UpdateEmail {
    /// Checks a subject and message, refused under `email.subject` / `email.message`. Both are
    /// trimmed; the subject's control characters are refused before trimming, so a trailing
    /// line break is an error, not silently dropped.
    pub fn parse(subject: Option<&str>, message: Option<&str>) -> Result<UpdateEmail, Invalid> {
        let subject = subject.unwrap_or("");
        if subject.chars().any(|c| c.is_control() || is_bidi_control(c)) {
            return Err(Invalid::new(
                "email.subject",
                "the subject must be one line, without control characters (such as line breaks)",
            ));
        }
        // Lengths count the text as sent, as the API's description says (JSON Schema cannot trim).
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(Invalid::new(
                "email.subject",
                format!("the subject is longer than {MAX_SUBJECT_CHARS} characters"),
            ));
        }
        let subject = subject.trim();
        if subject.is_empty() {
            return Err(Invalid::new("email.subject", "write a subject for the update email"));
        }
        let message = message.unwrap_or("");
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(Invalid::new(
                "email.message",
                format!("the message is longer than {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        if message.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new("email.message", "the message must not contain control characters"));
        }
        let message = message.trim();
        if message.is_empty() {
            return Err(Invalid::new("email.message", "write a message for the update email"));
        }
        Ok(UpdateEmail { subject: subject.to_owned(), message: message.replace("\r\n", "\n") })
    }
}

/// The link in every update email that unsubscribes its customer from the shop's update
/// emails.
pub enum UnsubscribeLink {}

impl LinkPurpose for UnsubscribeLink {
    const DOMAIN: &'static [u8] = b"satchel unsubscribe link\0";
    const NAME: &'static str = "UnsubscribeToken";
}

/// The token in `/unsubscribe/{token}`, one per customer (so per shop).
pub type UnsubscribeToken = LinkToken<UnsubscribeLink>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_line_of_at_most_150_characters() {
        let ok = UpdateEmail::parse(Some("  Version 2 is out "), Some(" Hello\r\nthere ")).unwrap();
        assert_eq!((ok.subject.as_str(), ok.message.as_str()), ("Version 2 is out", "Hello\nthere"));
        for bad in ["Hi\r\nBcc: x@evil.example", "Hi\n", "", "   ", "a\u{202e}b"] {
            assert_eq!(UpdateEmail::parse(Some(bad), Some("m")).unwrap_err().field, "email.subject", "{bad:?}");
        }
        assert!(UpdateEmail::parse(Some(&"é".repeat(150)), Some("m")).is_ok());
        assert_eq!(UpdateEmail::parse(Some(&"é".repeat(151)), Some("m")).unwrap_err().field, "email.subject");
        assert_eq!(UpdateEmail::parse(None, Some("m")).unwrap_err().field, "email.subject");
    }

    #[test]
    fn messages_are_1_to_10000_characters() {
        for bad in ["", " \n ", "nul\u{0}"] {
            assert_eq!(UpdateEmail::parse(Some("s"), Some(bad)).unwrap_err().field, "email.message", "{bad:?}");
        }
        assert!(UpdateEmail::parse(Some("s"), Some(&"x".repeat(10_000))).is_ok());
        assert_eq!(UpdateEmail::parse(Some("s"), Some(&"x".repeat(10_001))).unwrap_err().field, "email.message");
    }
}

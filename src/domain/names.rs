//! Small validated strings: emails, names, slugs, content types.

use super::Invalid;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Whether `c` changes the direction text is shown in (U+202A–U+202E embeddings and overrides,
/// U+2066–U+2069 isolates, the LRM/RLM/ALM marks): `invoice\u{202E}fdp.exe` shows as
/// `invoiceexe.pdf`, so such names can pass for what they are not.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn has_bidi(s: &str) -> bool {
    s.chars().any(is_bidi_control)
}

/// A customer or merchant email address, trimmed and lower-cased so one person is one customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Checks the shape `local@domain.tld` without trying to be a full RFC 5322 parser.
    pub fn parse(field: &'static str, raw: &str) -> Result<Email, Invalid> {
        let email = raw.trim().to_lowercase();
        let bad = || Invalid::new(field, "must be an email address like ada@example.com");
        if email.len() > 254 || has_control(&email) || email.contains(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(bad());
        }
        Ok(Email(email))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Checks that there are no control characters (a line break at the end too: the
            /// API refuses what it would otherwise silently change), trims spaces, then checks
            /// the length and that there are no bidi characters.
            pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
                if has_control(raw) {
                    return Err(Invalid::new(field, concat!($what, " must not contain control characters")));
                }
                let text = raw.trim();
                let chars = text.chars().count();
                if chars < $min {
                    return Err(Invalid::new(field, concat!($what, " must not be empty")));
                }
                if chars > $max {
                    return Err(Invalid::new(field, format!("{} is longer than {} characters", $what, $max)));
                }
                if has_bidi(text) {
                    return Err(Invalid::new(field, concat!($what, " must not contain bidirectional control characters")));
                }
                Ok($name(text.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// A product's name as customers see it.
    ProductName, 1, 200, "the name"
);
bounded_text!(
    /// The name a delivered file is shown and saved under, e.g. `Chapter 1.pdf`.
    DisplayName, 1, 255, "the file name"
);

/// A customer's name as shown in emails and to the merchant ("" when unknown): one line of at
/// most [`CustomerName::MAX`] characters, no control or bidi characters, so it can never break a
/// mail header or pass for other text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerName(String);

impl CustomerName {
    /// The longest name kept, in characters.
    pub const MAX: usize = 200;

    /// A name typed into the API or a form: trimmed, and refused when it carries control or
    /// bidi characters or is too long (the sender can correct it).
    pub fn parse(field: &'static str, raw: &str) -> Result<CustomerName, Invalid> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX {
            return Err(Invalid::new(field, format!("the name is longer than {} characters", Self::MAX)));
        }
        // Checked before trimming: a trailing line break is refused, not silently dropped.
        if has_control(raw) || has_bidi(text) {
            return Err(Invalid::new(
                field,
                "the name must not contain control characters (such as line breaks) or bidirectional controls",
            ));
        }
        Ok(CustomerName(text.to_owned()))
    }

    /// A name reported by a payment provider (or read back from storage), made safe instead of
    /// refused, since the payment happened whatever its name says: control characters become
    /// spaces, bidi controls go, runs of white space become one space, and it is cut at
    /// [`CustomerName::MAX`] characters.
    pub fn clean(raw: &str) -> CustomerName {
        let spaced: String =
            raw.chars().filter(|c| !is_bidi_control(*c)).map(|c| if c.is_control() { ' ' } else { c }).collect();
        let mut name = String::with_capacity(spaced.len());
        for word in spaced.split_whitespace() {
            if !name.is_empty() {
                name.push(' ');
            }
            name.push_str(word);
        }
        CustomerName(name.chars().take(Self::MAX).collect::<String>().trim_end().to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Free text shown to the customer with the delivery (line breaks allowed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instructions(String);

impl Instructions {
    /// At most 10,000 characters; tabs and line breaks are the only control characters allowed.
    pub fn parse(field: &'static str, raw: &str) -> Result<Instructions, Invalid> {
        let text = raw.trim();
        if text.chars().count() > 10_000 {
            return Err(Invalid::new(field, "instructions are longer than 10000 characters"));
        }
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new(field, "instructions must not contain control characters"));
        }
        Ok(Instructions(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A merchant's short name in URLs (`/portal/{slug}`, `/webhooks/{slug}/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// 2 to 40 of `a-z 0-9 -`, not starting or ending with `-`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Slug, Invalid> {
        let slug = raw.trim().to_lowercase();
        let ok_chars = slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(2..=40).contains(&slug.len()) || !ok_chars || slug.starts_with('-') || slug.ends_with('-') {
            return Err(Invalid::new(field, "must be 2 to 40 lowercase letters, digits or dashes, like acme-books"));
        }
        Ok(Slug(slug))
    }

    /// A slug made from a display name: `O'Brien & Sons` → `o-brien-sons`.
    pub fn from_name(name: &str) -> Option<Slug> {
        let mut slug = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
        Slug::parse("slug", slug.trim_end_matches('-')).ok()
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A MIME type such as `application/pdf`, lower-cased, parameters kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType(String);

impl ContentType {
    /// What a file is served as when its uploader did not say.
    pub fn octet_stream() -> ContentType {
        ContentType("application/octet-stream".into())
    }

    /// `type/subtype` made of token characters, optionally followed by `; params`.
    pub fn parse(field: &'static str, raw: &str) -> Result<ContentType, Invalid> {
        let value = raw.trim();
        let essence = value.split(';').next().unwrap_or("").trim().to_lowercase();
        let token = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c));
        let valid = match essence.split_once('/') {
            Some((kind, sub)) => token(kind) && token(sub),
            None => false,
        };
        if !valid || value.len() > 255 || has_control(value) || !value.is_ascii() {
            return Err(Invalid::new(field, "must be a media type like application/pdf"));
        }
        let rest = value[value.find(';').unwrap_or(value.len())..].trim();
        Ok(ContentType(if rest.is_empty() { essence } else { format!("{essence}{rest}") }))
    }

    /// The media type.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(Email::parse("email", "  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "a@b@c.com", "a@.com"] {
            let err = Email::parse("customer.email", bad).unwrap_err();
            assert_eq!(err.field, "customer.email", "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProductName::parse("name", "  Ebook ").unwrap().as_str(), "Ebook");
        assert!(ProductName::parse("name", "   ").is_err());
        assert!(ProductName::parse("name", &"x".repeat(201)).is_err());
        assert!(DisplayName::parse("display_name", "a\u{0}b").is_err());
        // A line break or tab at either end is refused too (schemathesis sent `n8\n`).
        for raw in ["guide.pdf\n", "\tguide.pdf", "\r\nguide.pdf"] {
            assert_eq!(DisplayName::parse("filename", raw).unwrap_err().field, "filename", "{raw:?}");
            assert!(ProductName::parse("name", raw).is_err(), "{raw:?}");
            assert!(CustomerName::parse("name", raw).is_err(), "{raw:?}");
        }
        assert_eq!(DisplayName::parse("filename", "  guide.pdf ").unwrap().as_str(), "guide.pdf");
        assert!(Instructions::parse("instructions", "line 1\nline 2").is_ok());
    }

    #[test]
    fn bidi_controls_are_refused_in_names() {
        for bidi in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}'] {
            let name = format!("invoice{bidi}fdp.exe");
            let err = DisplayName::parse("display_name", &name).unwrap_err();
            assert_eq!(err.field, "display_name");
            assert!(err.message.contains("bidirectional"), "{}", err.message);
            assert_eq!(ProductName::parse("name", &name).unwrap_err().field, "name");
            assert_eq!(CustomerName::parse("customer.name", &name).unwrap_err().field, "customer.name");
        }
        assert!(DisplayName::parse("display_name", "عربي \u{200D} ok.pdf").is_ok(), "other marks are text");
    }

    #[test]
    fn customer_names_are_refused_when_typed_and_cleaned_when_paid() {
        assert_eq!(CustomerName::parse("name", "  Ada Lovelace ").unwrap().as_str(), "Ada Lovelace");
        assert_eq!(CustomerName::parse("name", "").unwrap().as_str(), "");
        for bad in ["Eve\r\nBcc: x@evil.example", "Eve\nX", "a\u{0}b", "Eve\u{202E}X"] {
            assert_eq!(CustomerName::parse("customer.name", bad).unwrap_err().field, "customer.name", "{bad:?}");
        }
        assert!(CustomerName::parse("name", &"x".repeat(201)).is_err());
        assert_eq!(CustomerName::clean("Eve\r\nBcc: x@evil.example").as_str(), "Eve Bcc: x@evil.example");
        assert_eq!(CustomerName::clean(" a\u{0}b\u{202E}c\t\td ").as_str(), "a bc d");
        assert_eq!(CustomerName::clean("\r\n\u{200F}").as_str(), "");
        assert_eq!(CustomerName::clean(&"é".repeat(300)).as_str().chars().count(), CustomerName::MAX);
        assert_eq!(CustomerName::clean("Zoë Ünal").as_str(), "Zoë Ünal");
    }

    #[test]
    fn slugs() {
        assert_eq!(Slug::from_name("O'Brien & Sons").unwrap().as_str(), "o-brien-sons");
        assert!(Slug::parse("slug", "-x").is_err());
        assert!(Slug::parse("slug", "Acme Books").is_err());
        assert!(Slug::parse("slug", "acme-books").is_ok());
    }

    #[test]
    fn content_types() {
        assert_eq!(ContentType::parse("content_type", "Application/PDF").unwrap().as_str(), "application/pdf");
        assert_eq!(
            ContentType::parse("content_type", "text/plain; charset=utf-8").unwrap().as_str(),
            "text/plain; charset=utf-8"
        );
        assert!(ContentType::parse("content_type", "pdf").is_err());
        assert!(ContentType::parse("content_type", "text/html\r\nX: y").is_err());
    }
}

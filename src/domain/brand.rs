//! The shop's brand as customers see it: an accent colour and a logo image, checked at the
//! edge so nothing stored can carry CSS, HTML or script into a page or an email.

use super::{Email, Invalid};

/// A colour written `#rrggbb` (stored lower case). Nothing else gets in, so it can be put into
/// a stylesheet or an email's `style` attribute as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccentColour(String);

impl AccentColour {
    /// Accepts `#rrggbb` (any case, surrounding spaces ignored) and nothing else.
    pub fn parse(field: &'static str, raw: &str) -> Result<AccentColour, Invalid> {
        let text = raw.trim();
        let hex = text.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Invalid::new(field, "Enter a colour as # and six hex digits, e.g. #1f6f5c."));
        }
        Ok(AccentColour(format!("#{}", hex.to_ascii_lowercase())))
    }

    /// `#rrggbb`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six hex digits, without `#`.
    pub fn hex(&self) -> &str {
        &self.0[1..]
    }

    /// Text colour readable on this colour: near-black on light colours, white on dark ones
    /// (WCAG relative luminance against the two).
    pub fn ink(&self) -> &'static str {
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&self.0[1 + i * 2..3 + i * 2], 16).unwrap_or(0)) / 255.0;
            if v <= 0.039_28 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
        // Contrast with white is 1.05 / (L + 0.05); with #111 (L ≈ 0.0056) it is (L + 0.05) / 0.0556.
        if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0556 { "#ffffff" } else { "#111111" }
    }
}

/// The largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// The image formats a logo may be, told by its first bytes (never by its name or the
/// `Content-Type` the browser sent). SVG is not one of them: it can carry script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoType {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
}

impl LogoType {
    /// The type `bytes` start like, if it is one of the accepted ones.
    pub fn sniff(bytes: &[u8]) -> Option<LogoType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(LogoType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(LogoType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(LogoType::Webp)
        } else {
            None
        }
    }

    /// As stored, and as the file name's extension.
    pub fn as_str(self) -> &'static str {
        match self {
            LogoType::Png => "png",
            LogoType::Jpeg => "jpeg",
            LogoType::Webp => "webp",
        }
    }

    /// From its stored name.
    pub fn parse(stored: &str) -> Option<LogoType> {
        [LogoType::Png, LogoType::Jpeg, LogoType::Webp].into_iter().find(|t| t.as_str() == stored)
    }

    /// The `Content-Type` it is served with.
    pub fn mime(self) -> &'static str {
        match self {
            LogoType::Png => "image/png",
            LogoType::Jpeg => "image/jpeg",
            LogoType::Webp => "image/webp",
        }
    }
}

/// Checks an uploaded logo under `field`: at most [`MAX_LOGO_BYTES`], and a PNG, JPEG or WebP
/// by its bytes.
pub fn check_logo(field: &'static str, bytes: &[u8]) -> Result<LogoType, Invalid> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Invalid::new(
            field,
            "The logo is larger than 256 KB: export it smaller (a 512 px wide PNG is plenty).",
        ));
    }
    LogoType::sniff(bytes).ok_or_else(|| {
        Invalid::new(field, "The logo must be a PNG, JPEG or WebP image (SVG and other files are refused).")
    })
}

/// Why mail from `address` is unlikely to reach customers, if it is: its domain is reserved
/// for examples or tests, local to this machine, an IP address, or has no dot.
pub fn undeliverable_sender(address: &str) -> Option<&'static str> {
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d).trim().trim_end_matches('.').to_ascii_lowercase();
    let reserved = ["example.com", "example.net", "example.org", "localhost"];
    let reserved_tld = [".example", ".test", ".invalid", ".localhost", ".local", ".internal", ".lan"];
    if domain.is_empty() || (!domain.contains('.') && domain != "localhost") {
        Some("its domain has no dot, so no mail server on the internet accepts mail from it")
    } else if reserved.iter().any(|r| domain == *r || domain.ends_with(&format!(".{r}")))
        || reserved_tld.iter().any(|t| domain.ends_with(t))
    {
        Some("its domain is reserved for examples, tests or this machine, so receiving servers reject or bin it")
    } else if domain.parse::<std::net::IpAddr>().is_ok() || domain.starts_with('[') {
        Some("it is an IP address, which receiving servers treat as spam")
    } else {
        None
    }
}

/// A shop profile as stored (each value is checked again when shown).
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredBrand<'a> {
    /// The shop's name.
    pub name: &'a str,
    /// Where customers write for help.
    pub support_email: Option<&'a str>,
    /// `#rrggbb`.
    pub accent_colour: Option<&'a str>,
    /// The logo's SHA-256.
    pub logo_sha256: Option<&'a str>,
    /// The logo's type.
    pub logo_type: Option<&'a str>,
}

/// What a customer page or email shows of the shop (from a checked profile).
#[derive(Debug, Clone, Default)]
pub struct ShopBrand {
    /// The shop's name (the logo's alt text).
    pub name: String,
    /// The logo's URL.
    pub logo_url: Option<String>,
    /// The accent colour's stylesheet.
    pub style_url: Option<String>,
    /// `#rrggbb`, checked.
    pub accent: Option<AccentColour>,
    /// Where customers write for help.
    pub support_email: Option<String>,
}

impl ShopBrand {
    /// The brand of a stored profile, with URLs under `base` ("" on pages, the public URL in
    /// email). Stored values are checked again, so a row written by anything else shows nothing bad.
    pub fn of(stored: &StoredBrand<'_>, base: &str) -> ShopBrand {
        let accent = stored.accent_colour.and_then(|c| AccentColour::parse("accent_colour", c).ok());
        let logo = stored.logo_sha256.filter(|sha| is_sha256(sha));
        let logo_type = stored.logo_type.and_then(LogoType::parse);
        ShopBrand {
            name: stored.name.to_owned(),
            logo_url: logo.zip(logo_type).map(|(sha, t)| format!("{base}{}", logo_path(sha, t))),
            style_url: accent.as_ref().map(|c| format!("{base}/brand/accent/{}.css", c.hex())),
            accent,
            support_email: stored
                .support_email
                .and_then(|e| Email::parse("support_email", e).ok())
                .map(|e| e.as_str().to_owned()),
        }
    }

    /// Whether the brand bar has anything to show.
    pub fn shown(&self) -> bool {
        self.logo_url.is_some() || self.support_email.is_some()
    }
}

/// The path a logo is served at (its content's hash in the name, so it is cached for good).
pub fn logo_path(sha256: &str, kind: LogoType) -> String {
    format!("/brand/logo/{sha256}.{}", kind.as_str())
}

/// Whether `text` is a SHA-256 in lower-case hex.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accent_colour_is_six_hex_digits_only() {
        assert_eq!(AccentColour::parse("c", " #1F6F5C ").unwrap().as_str(), "#1f6f5c");
        for bad in ["red;}body{x", "#fff", "1f6f5c", "#1f6f5c;", "#12345g", "#1f6f5c\"><script>", "", "＃1f6f5c"] {
            let e = AccentColour::parse("accent_colour", bad).unwrap_err();
            assert_eq!(e.field, "accent_colour", "{bad}");
        }
    }

    #[test]
    fn ink_is_readable() {
        assert_eq!(AccentColour::parse("c", "#ffff00").unwrap().ink(), "#111111");
        assert_eq!(AccentColour::parse("c", "#1f6f5c").unwrap().ink(), "#ffffff");
        assert_eq!(AccentColour::parse("c", "#000000").unwrap().ink(), "#ffffff");
    }

    #[test]
    fn logos_are_told_by_their_bytes() {
        assert_eq!(check_logo("logo", b"\x89PNG\r\n\x1a\n rest").unwrap(), LogoType::Png);
        assert_eq!(check_logo("logo", b"\xff\xd8\xff\xe0").unwrap(), LogoType::Jpeg);
        assert_eq!(check_logo("logo", b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), LogoType::Webp);
        assert!(check_logo("logo", b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        assert!(check_logo("logo", b"<html>\x89PNG").is_err());
        let big = [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0u8; MAX_LOGO_BYTES]].concat();
        assert!(check_logo("logo", &big).unwrap_err().message.contains("256 KB"));
    }

    #[test]
    fn undeliverable_senders() {
        for bad in ["satchel@localhost", "a@example.com", "a@mail.example.org", "a@shop.test", "a@box", "a@127.0.0.1"] {
            assert!(undeliverable_sender(bad).is_some(), "{bad}");
        }
        for fine in ["orders@pinepress.co.uk", "no-reply@shop.satchel.app"] {
            assert_eq!(undeliverable_sender(fine), None, "{fine}");
        }
    }
}

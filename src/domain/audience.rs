//! Publishing a release: who among past buyers gets it (its audience), and its label and
//! changelog. Future buyers always get the latest release; an audience only adds past orders.

use serde_json::{Value, json};

use super::{Invalid, Millis, is_bidi_control};

/// The longest release label, in characters ("2.1", "Spring edition").
pub const MAX_LABEL_CHARS: usize = 40;
/// The longest changelog, in characters (plain text or Markdown source).
pub const MAX_CHANGELOG_CHARS: usize = 20_000;

/// Which past orders of the product a published release is granted to. Revoked orders never
/// are, and an order that already owns the release (it bought it) is not granted it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// No past order: only future purchases get it (the default, Satchel's rule).
    #[default]
    Future,
    /// Every past order of the product.
    All,
    /// Past orders created on or after this day, 00:00 UTC.
    BoughtAfter(time::Date),
    /// Past orders whose newest owned release of the product is this number or earlier.
    ReleasesUpTo(i64),
}

const FIELD: &str = "audience";
const SHAPES: &str = r#"must be "future", "all", {"bought_after": "YYYY-MM-DD"} or {"releases_up_to": N}"#;

impl Audience {
    /// Parses the API's `audience` (absent or null: [`Audience::Future`]); `releases_up_to` is a
    /// release number, 1 or more.
    pub fn parse(raw: Option<&Value>) -> Result<Audience, Invalid> {
        let bad = |message: String| Invalid::new(FIELD, message);
        match raw {
            None | Some(Value::Null) => Ok(Audience::Future),
            Some(Value::String(s)) if s == "future" => Ok(Audience::Future),
            Some(Value::String(s)) if s == "all" => Ok(Audience::All),
            Some(Value::Object(map)) if map.len() == 1 => {
                let (key, value) = map.iter().next().expect("one key");
                match key.as_str() {
                    "bought_after" => {
                        let date = value.as_str().and_then(parse_date).ok_or_else(|| {
                            bad("bought_after must be a date written YYYY-MM-DD, like \"2026-01-31\"".into())
                        })?;
                        Ok(Audience::BoughtAfter(date))
                    }
                    "releases_up_to" => {
                        // A number past the last release names every earlier one, as it says.
                        // JSON Schema's integers include `3.0`, so a whole float is its integer.
                        let whole = value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64);
                        let n = value
                            .as_i64()
                            .or(whole)
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| bad("releases_up_to must be a release number, 1 or more".into()))?;
                        Ok(Audience::ReleasesUpTo(n))
                    }
                    _ => Err(bad(SHAPES.into())),
                }
            }
            Some(_) => Err(bad(SHAPES.into())),
        }
    }

    /// The audience as the API writes it, which is also how it is stored.
    pub fn to_json(self) -> Value {
        match self {
            Audience::Future => json!("future"),
            Audience::All => json!("all"),
            Audience::BoughtAfter(date) => json!({ "bought_after": format_date(date) }),
            Audience::ReleasesUpTo(n) => json!({ "releases_up_to": n }),
        }
    }

    /// The audience as stored ([`Audience::to_json`]'s text); None when it is not one.
    pub fn from_stored(stored: &str) -> Option<Audience> {
        let value: Value = serde_json::from_str(stored).ok()?;
        Audience::parse(Some(&value)).ok()
    }

    /// The audience in words, as the merchant's pages say it ("Bought on or after 31 Jan 2026").
    pub fn describe(self) -> String {
        match self {
            Audience::Future => "Future buyers only".to_owned(),
            Audience::All => "All past buyers".to_owned(),
            Audience::BoughtAfter(date) => {
                let format = time::macros::format_description!("[day padding:none] [month repr:short] [year]");
                format!("Bought on or after {}", date.format(format).unwrap_or_default())
            }
            Audience::ReleasesUpTo(n) => format!("Buyers of release {n} or earlier"),
        }
    }

    /// Whether past orders get anything at all.
    pub fn reaches_past_orders(self) -> bool {
        self != Audience::Future
    }

    /// For [`Audience::BoughtAfter`]: its day's 00:00 UTC, in unix milliseconds.
    pub fn bought_from(self) -> Option<Millis> {
        match self {
            Audience::BoughtAfter(date) => Some(date.midnight().assume_utc().unix_timestamp() * 1000),
            _ => None,
        }
    }

    /// For [`Audience::ReleasesUpTo`]: the newest release a past order may own.
    pub fn up_to(self) -> Option<i64> {
        match self {
            Audience::ReleasesUpTo(n) => Some(n),
            _ => None,
        }
    }
}

fn parse_date(raw: &str) -> Option<time::Date> {
    // Exactly YYYY-MM-DD: four-digit year, two-digit month and day, nothing around it.
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| matches!(i, 4 | 7) == (b == b'-'))
        && raw.bytes().enumerate().all(|(i, b)| matches!(i, 4 | 7) || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

fn format_date(date: time::Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// A release's version label, refused under `label`: one line of at most
/// [`MAX_LABEL_CHARS`] characters, no control or bidi characters; trimmed; blank is none.
pub fn release_label(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    // Checked before trimming: a trailing line break is refused, not silently dropped.
    if raw.chars().any(char::is_control) {
        return Err(Invalid::new("label", "the label must not contain control characters (such as line breaks)"));
    }
    // Lengths count the text as sent, as the API's description says (JSON Schema cannot trim).
    if raw.chars().count() > MAX_LABEL_CHARS {
        return Err(Invalid::new("label", format!("the label is longer than {MAX_LABEL_CHARS} characters")));
    }
    let text = raw.trim();
    if text.chars().any(is_bidi_control) {
        return Err(Invalid::new("label", "the label must not contain bidirectional control characters"));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A release's changelog (plain text or Markdown source, rendered safely where shown),
/// refused under `changelog`: at most [`MAX_CHANGELOG_CHARS`] characters, tabs and line
/// breaks the only control characters; trimmed; blank is none.
pub fn changelog(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.chars().count() > MAX_CHANGELOG_CHARS {
        return Err(Invalid::new(
            "changelog",
            format!("the changelog is longer than {MAX_CHANGELOG_CHARS} characters"),
        ));
    }
    if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Invalid::new("changelog", "the changelog must not contain control characters"));
    }
    let text = raw.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: Value) -> Result<Audience, Invalid> {
        Audience::parse(Some(&raw))
    }

    #[test]
    fn stored_audiences_read_back_in_words() {
        let words = |stored: &str| Audience::from_stored(stored).map(Audience::describe);
        assert_eq!(words(r#""future""#).as_deref(), Some("Future buyers only"));
        assert_eq!(words(r#""all""#).as_deref(), Some("All past buyers"));
        assert_eq!(words(r#"{"bought_after":"2026-01-31"}"#).as_deref(), Some("Bought on or after 31 Jan 2026"));
        assert_eq!(words(r#"{"releases_up_to":3}"#).as_deref(), Some("Buyers of release 3 or earlier"));
        assert_eq!(words("not json"), None);
    }

    #[test]
    fn audiences_parse_and_write_back_the_same() {
        assert_eq!(Audience::parse(None).unwrap(), Audience::Future);
        for raw in [json!("future"), json!("all"), json!({"bought_after": "2026-01-31"}), json!({"releases_up_to": 2})]
        {
            assert_eq!(parse(raw.clone()).unwrap().to_json(), raw);
        }
        assert_eq!(parse(Value::Null).unwrap(), Audience::Future);
        let day = parse(json!({"bought_after": "2026-01-31"})).unwrap();
        assert_eq!(day.bought_from(), Some(1_769_817_600_000));
    }

    #[test]
    fn bad_audiences_are_refused_under_audience() {
        for raw in [
            json!("everyone"),
            json!("All"),
            json!(3),
            json!([]),
            json!({}),
            json!({"bought_after": "2026-02-30"}),
            json!({"bought_after": "2026-1-31"}),
            json!({"bought_after": " 2026-01-31"}),
            json!({"bought_after": 20260131}),
            json!({"releases_up_to": 0}),
            json!({"releases_up_to": 2.5}),
            json!({"releases_up_to": "2"}),
            json!({"releases_up_to": 1, "extra": true}),
            json!({"bought_after": "2026-01-31", "releases_up_to": 1}),
        ] {
            assert_eq!(parse(raw.clone()).unwrap_err().field, "audience", "{raw}");
        }
        assert_eq!(parse(json!({"releases_up_to": 7})).unwrap(), Audience::ReleasesUpTo(7), "every earlier release");
        assert_eq!(parse(json!({"releases_up_to": 2.0})).unwrap(), Audience::ReleasesUpTo(2), "a whole number");
    }

    #[test]
    fn labels_and_changelogs_are_checked_and_blank_is_none() {
        assert_eq!(release_label(Some(" 2.0 ")).unwrap().as_deref(), Some("2.0"));
        assert_eq!(release_label(Some("  ")).unwrap(), None);
        assert_eq!(release_label(Some(&"x".repeat(40))).unwrap().map(|l| l.len()), Some(40));
        for bad in ["x".repeat(41), "2.0\n".into(), "a\u{202E}b".into()] {
            assert_eq!(release_label(Some(&bad)).unwrap_err().field, "label", "{bad:?}");
        }
        assert_eq!(changelog(Some("- Fixed\n- Added\ttabs")).unwrap().as_deref(), Some("- Fixed\n- Added\ttabs"));
        assert_eq!(changelog(Some("a\u{0}b")).unwrap_err().field, "changelog");
        assert_eq!(changelog(Some(&"é".repeat(20_001))).unwrap_err().field, "changelog");
        assert!(changelog(Some(&"é".repeat(20_000))).is_ok());
    }
}

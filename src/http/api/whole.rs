//! Integers in request bodies as JSON Schema reads them: an integer is any number whose fraction
//! is zero, so `5`, `5.0` and `5e0` are the same integer. A client that writes whole numbers as
//! floats (Python's `json.dumps(5.0)`, spreadsheets) is not refused for it; `5.5` still is.
//! Use with `#[serde(deserialize_with = "…")]` on integer fields of API bodies.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, Unexpected, Visitor};

/// A whole number read from any JSON number without a fraction.
struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &"a whole number within 64 bits"))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
        // -2^63 and 2^63 are exact in f64; everything in [-2^63, 2^63) converts without loss.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
            return Ok(v as i64);
        }
        Err(E::invalid_value(Unexpected::Float(v), &self))
    }
}

/// An integer that deserializes from a whole JSON number, also written as a float.
pub(crate) struct Whole<T>(pub T);

impl<'de, T: TryFrom<i64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = d.deserialize_i64(WholeVisitor)?;
        T::try_from(v).map(Whole).map_err(|_| D::Error::invalid_value(Unexpected::Signed(v), &"a smaller number"))
    }
}

/// `deserialize_with` for an integer field.
pub(crate) fn whole<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    Whole::<T>::deserialize(d).map(|w| w.0)
}

/// `deserialize_with` for an optional integer field (`null` or absent: `None`; absent needs
/// `#[serde(default)]` beside it).
pub(crate) fn optional<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Whole<T>>::deserialize(d).map(|o| o.map(|w| w.0))
}

/// `deserialize_with` for a field where `null` and absent differ (`Some(None)` is `null`; absent
/// needs `#[serde(default)]` beside it).
pub(crate) fn present<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    optional(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "super::whole")]
        n: u32,
        #[serde(default, deserialize_with = "super::present")]
        limit: Option<Option<i64>>,
    }

    fn read(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers() {
        assert_eq!(read(r#"{"n": 5}"#).unwrap(), Body { n: 5, limit: None });
        assert_eq!(read(r#"{"n": 5.0, "limit": 1253.0}"#).unwrap(), Body { n: 5, limit: Some(Some(1253)) });
        assert_eq!(read(r#"{"n": 2e3, "limit": null}"#).unwrap(), Body { n: 2000, limit: Some(None) });
        assert_eq!(read(r#"{"n": -0.0}"#).unwrap().n, 0);
        assert_eq!(read(r#"{"n": 1, "limit": -9223372036854775808.0}"#).unwrap().limit, Some(Some(i64::MIN)));
    }

    #[test]
    fn fractions_and_numbers_out_of_range_are_refused() {
        let fraction = read(r#"{"n": 5.5}"#).unwrap_err();
        assert!(fraction.contains("floating point `5.5`, expected a whole number"), "{fraction}");
        for json in [
            r#"{"n": -1}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": 4294967296.0}"#,
            r#"{"n": 1, "limit": 9223372036854775808}"#,
            r#"{"n": 1, "limit": 9223372036854775807.0}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "5"}"#,
            r#"{"n": true}"#,
        ] {
            assert!(read(json).is_err(), "{json}");
        }
    }
}

//! Enums stored as TEXT: one spelling for the database, JSON, forms and logs.
//!
//! [`stored_enum!`] declares the enum with its spellings and gives it `as_str`, `parse` (with
//! the field name for a refusal), `FromStr`, `Display`, serde, and the sqlx traits for SQLite
//! and PostgreSQL, delegating to text. Reading a spelling the enum does not know is an error,
//! never a default: a row the program cannot understand must not be taken for another state.

/// Declares an enum stored as TEXT; each variant is written `Variant = "spelling"`.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $spelling:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and API) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $spelling,)+
                }
            }

            /// Reads a spelling; `field` names the value in the refusal.
            pub fn parse(field: &'static str, raw: &str) -> Result<$name, $crate::domain::Invalid> {
                match raw {
                    $($spelling => Ok($name::$variant),)+
                    _ => Err($crate::domain::Invalid::new(field, format!("must be one of {}", Self::spellings()))),
                }
            }

            /// The spellings, comma-separated, for messages.
            pub fn spellings() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::Invalid;
            fn from_str(raw: &str) -> Result<$name, Self::Err> {
                $name::parse(stringify!($name), raw)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }

        $crate::domain::stored::text_column!($name, sqlx::Sqlite);
        $crate::domain::stored::text_column!($name, sqlx::Postgres);
    };
}
pub(crate) use stored_enum;

/// The sqlx traits of a [`stored_enum!`] for one engine: a TEXT column.
macro_rules! text_column {
    ($name:ident, $db:ty) => {
        impl sqlx::Type<$db> for $name {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <str as sqlx::Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <str as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, $db> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'_, $db>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, $db> for $name {
            fn decode(value: <$db as sqlx::Database>::ValueRef<'r>) -> Result<$name, sqlx::error::BoxDynError> {
                let raw = <&str as sqlx::Decode<'r, $db>>::decode(value)?;
                Ok(raw.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use text_column;

#[cfg(test)]
mod tests {
    use crate::domain::{DeliveryMode, EmailKind, EmailStatus, OrderStatus, PaymentEventStatus, PaymentSource};

    #[test]
    fn spellings_round_trip_and_unknown_ones_are_refused() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(serde_json::from_value::<OrderStatus>(s.as_str().into()).unwrap(), *s);
        }
        assert_eq!(OrderStatus::parse("status", "lost").unwrap_err().message, "must be one of paid, refunded, revoked");
        assert_eq!(
            DeliveryMode::parse("delivery_mode", "x").unwrap_err().message,
            "must be one of none, files, external_link"
        );
        assert!(serde_json::from_value::<OrderStatus>("lost".into()).is_err());
        assert_eq!(EmailKind::SignIn.to_string(), "sign_in");
        assert_eq!(EmailStatus::Retrying.as_str(), "retrying");
        assert_eq!(PaymentEventStatus::Unmatched.as_str(), "unmatched");
        assert_eq!(PaymentSource::Test.as_str(), "test");
    }
}

//! Plain types and rules of the business, with no I/O: values are checked once, at the edge,
//! so the rest of the program never sees a bad one.

mod archive;
mod audience;
mod brand;
mod changelog;
mod delivery;
mod delivery_files;
mod format;
mod instance;
mod mail;
mod masked;
mod names;
mod order;
mod password;
mod price;
mod product;
mod release;
mod secrets;
mod sharing;
mod sign_in;
mod signed_url;
pub(crate) mod stored;
mod team;
mod update_email;
mod webhook;
mod webhook_out;

pub use archive::{archive_names, safe_entry_name};
pub use audience::{Audience, MAX_CHANGELOG_CHARS, MAX_LABEL_CHARS, changelog, release_label};
pub use brand::{
    AccentColour, LogoType, MAX_LOGO_BYTES, ShopBrand, StoredBrand, check_logo, is_sha256, logo_path,
    undeliverable_sender,
};
pub use changelog::{ChangelogHtml, changelog_html};
pub use delivery::{
    Delivery, DeliveryError, DeliveryFile, DeliveryMode, ExternalUrl, MAX_FILES, has_something_to_deliver,
};
pub use delivery_files::{CheckedFiles, FileProblem, ListedFile, check_listed_files, extension_of, keep_extension};
pub use format::{csv_cell, csv_time, human_date, human_date_time, human_limit, human_price, human_size};
pub use instance::{Role, alive_since};
pub use mail::{EmailKind, EmailStatus, RetryPolicy, purchase_subject};
pub use masked::masked_email;
pub use names::{ContentType, CustomerName, DisplayName, Email, Instructions, ProductName, Slug, is_bidi_control};
pub use order::{DownloadPolicy, OrderStatus, PaymentEventStatus, PaymentSource};
pub use password::{PASSWORD_RESET_LIFETIME_MS, PasswordResetToken, hash_password, verify_password};
pub use price::{Currency, MAX_AMOUNT_MINOR, Price, check_amount};
pub use product::{MAX_DESCRIPTION_CHARS, external_ids, product_description};
pub use release::{ReleaseContent, is_new_release};
pub use secrets::{
    ApiKey, DownloadToken, LinkPurpose, LinkToken, SecretHash, link_token_shaped, random_token,
    signing_key_fingerprint, stripe_webhook_secret,
};
pub use sharing::{
    MAX_NETWORKS, MAX_WINDOW_HOURS, MIN_NETWORKS, MIN_WINDOW_HOURS, Seen, SharingMode, SharingPolicy, Verdict,
    agent_family, network_of, verdict,
};
pub use sign_in::{
    FORM_TOKEN_LIFETIME_MS, FormToken, MAX_WRONG_CODES, MagicLinkToken, SIGN_IN_LIFETIME_MS, SignInCode,
    new_sign_in_salt,
};
pub use signed_url::{LinkRefusal, PORTAL_LINK_LIFETIME_SECS, PortalLink, PortalTarget};
pub use team::{INVITE_LIFETIME_MS, InviteToken, TeamRole};
pub use update_email::{MAX_MESSAGE_CHARS, MAX_SUBJECT_CHARS, UnsubscribeLink, UnsubscribeToken, UpdateEmail};
pub use webhook::{DeliveryOutcome, MAX_DELIVERY_TEXT, TEST_EVENT_TYPE, delivery_text, event_type_of};
pub use webhook_out::{
    EVENT_TYPES, EXPIRED_HIT_EVERY_MS, EndpointUrl, MAX_DELIVERY_ATTEMPTS, MAX_ENDPOINTS, MAX_RESPONSE_EXCERPT,
    MAX_URL_CHARS, OrderEventData, event_payload, next_delivery_attempt, order_event_payload, response_excerpt,
    rfc3339_millis, subscribed_events, subscribed_pattern,
};

/// Why a value was refused: which field, and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// The field as the API names it, e.g. `external_url`.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl Invalid {
    /// A refusal of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Invalid { field, message: message.into() }
    }
}

/// Milliseconds since the Unix epoch: the one clock unit stored everywhere.
pub type Millis = i64;

/// The current time in unix milliseconds.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

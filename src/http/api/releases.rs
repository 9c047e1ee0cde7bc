//! `/api/v1/products/{id}/releases`: a product's releases, each saved change of its delivery,
//! newest first, with what each delivered; and publishing the latest one (its label,
//! changelog, and which past orders also get it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::time::rfc3339;
use crate::catalog::{self, PublishRequest};
use crate::db::releases::{self as db_releases, OrderRelease, ReleaseDetail};
use crate::db::update_emails::{self, EmailCounts};
use crate::domain::{Invalid, UpdateEmail, changelog, release_label};
use crate::http::{ApiJson, ApiMerchant, Error, Result};
use crate::state::AppState;

/// Releases listed at most (a release is a saved change made by hand: far fewer in practice).
const MAX_LISTED: i64 = 1000;

/// A release: the product's delivery as it was saved, numbered 1, 2, … per product.
#[derive(Serialize, ToSchema)]
pub struct ReleaseOut {
    /// 1, 2, … per product, without gaps.
    number: i64,
    /// The version label ("2.1"), once published (null until then).
    label: Option<String>,
    /// What changed, once published (null until then).
    changelog: Option<String>,
    /// When the delivery was saved.
    created_at: String,
    /// `none`, `files` or `external_link`: which of the two below customers got.
    mode: String,
    /// The file list (kept whatever the mode, delivered in `files` mode).
    files: Vec<ReleaseFileOut>,
    /// The link (kept whatever the mode, delivered in `external_link` mode).
    external_url: Option<String>,
    instructions: String,
    /// When the merchant published it (null: not published).
    published_at: Option<String>,
    /// Who among past buyers it was published to (null: not published).
    #[schema(value_type = Option<AudienceSchema>)]
    audience: Option<serde_json::Value>,
    /// How many past orders publishing granted it to (0 for `future`).
    granted_orders: i64,
    /// The update email sent to the orders granted it (null: published without one).
    email: Option<UpdateEmailOut>,
    /// What became of the update emails, one per granted order (null: no update email).
    emails: Option<EmailCountsOut>,
}

/// A release's update email as the merchant wrote it.
#[derive(Serialize, ToSchema)]
pub struct UpdateEmailOut {
    subject: String,
    message: String,
}

/// The update emails of a release, one per order granted it, by where they stand.
#[derive(Serialize, ToSchema)]
pub struct EmailCountsOut {
    /// Waiting to be sent (the outbox sends update emails at a limited rate), being sent, or
    /// waiting for another try.
    queued: i64,
    /// Accepted by the mail server.
    sent: i64,
    /// Given up on after every retry failed.
    failed: i64,
    /// Not sent: the customer unsubscribed from the shop's update emails.
    unsubscribed: i64,
}

impl From<EmailCounts> for EmailCountsOut {
    fn from(c: EmailCounts) -> EmailCountsOut {
        EmailCountsOut { queued: c.queued, sent: c.sent, failed: c.failed, unsubscribed: c.unsubscribed }
    }
}

/// Who among past buyers also gets a published release (future buyers always do): `future`
/// (nobody else, the default), `all` past orders, those created on or after a day (00:00 UTC),
/// or those whose newest release of the product is a given number or earlier. Revoked orders
/// never get it; an order that bought it already owns it.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // describes the JSON only: the server reads it as sent, to name bad values
pub enum AudienceSchema {
    /// `future` or `all`.
    Named(AudienceName),
    /// Orders created on or after this day.
    BoughtAfter(BoughtAfterSchema),
    /// Orders whose newest owned release of the product is this one or earlier.
    ReleasesUpTo(ReleasesUpToSchema),
}

/// `{"bought_after": "2026-01-31"}`: orders created on or after that day (00:00 UTC).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BoughtAfterSchema {
    /// A day, `YYYY-MM-DD`.
    #[schema(format = Date, example = "2026-01-31")]
    bought_after: String,
}

/// `{"releases_up_to": 3}`: orders whose newest owned release of the product is 3 or earlier (a
/// number past the last release names them all).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ReleasesUpToSchema {
    /// A release number, 1 or more.
    #[schema(minimum = 1)]
    releases_up_to: i64,
}

/// `future` or `all`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum AudienceName {
    /// Future buyers only.
    Future,
    /// Every past order as well.
    All,
}

/// Publishing a product's latest release.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The version label ("2.0"): one line, at most 40 characters (as sent), no control or
    /// bidirectional control characters. Blank or absent: none.
    #[schema(max_length = 40, pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$")]
    label: Option<String>,
    /// What changed, plain text or Markdown source, at most 20,000 characters (as sent); tabs
    /// and line breaks are the only control characters.
    #[schema(max_length = 20000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    changelog: Option<String>,
    /// Who among past buyers also gets it; absent or null: `"future"`.
    #[schema(value_type = Option<AudienceSchema>)]
    audience: Option<serde_json::Value>,
    /// An update email to each order granted the release (so only with an audience among past
    /// buyers), queued with the publish and sent at the configured rate; customers who
    /// unsubscribed from the shop's update emails do not get it. Null or absent: none.
    #[schema(value_type = Option<UpdateEmailIn>)]
    email: Option<serde_json::Value>,
}

/// An update email as the merchant writes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // describes the JSON only: the server reads it as sent, to name bad values
pub struct UpdateEmailIn {
    /// One line of at most 150 characters (as sent), not blank, no control or bidirectional
    /// control characters (a line break could add a mail header).
    #[schema(
        min_length = 1,
        max_length = 150,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    subject: String,
    /// Plain text of at most 10,000 characters (as sent), not blank; tabs and line breaks are the
    /// only control characters.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\t\n\r\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    message: String,
}

/// Reads the `email` field: null, or an object with a string `subject` and `message`.
fn update_email(raw: Option<&serde_json::Value>) -> std::result::Result<Option<UpdateEmail>, Invalid> {
    let Some(raw) = raw.filter(|v| !v.is_null()) else { return Ok(None) };
    let Some(object) = raw.as_object() else {
        return Err(Invalid::new("email", "the email is an object with a subject and a message, or null"));
    };
    if let Some(unknown) = object.keys().find(|k| !matches!(k.as_str(), "subject" | "message")) {
        return Err(Invalid::new("email", format!("unknown field `{unknown}`: the email has a subject and a message")));
    }
    let text = |field: &'static str, name: &str| match object.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Invalid::new(field, "must be a string")),
    };
    let subject = text("email.subject", "subject")?;
    let message = text("email.message", "message")?;
    UpdateEmail::parse(subject, message).map(Some)
}

/// A file of a release, as it was.
#[derive(Serialize, ToSchema)]
pub struct ReleaseFileOut {
    /// 1-based position.
    position: i64,
    file_id: String,
    display_name: String,
    size: i64,
    content_type: String,
    sha256: String,
}

/// A release an order owns: the one an item bought, or one granted to it later.
#[derive(Serialize, ToSchema)]
pub struct OrderReleaseOut {
    /// The release's number.
    number: i64,
    /// Its product.
    product_id: String,
    /// The order item (1-based) that owns it.
    item_position: i64,
    /// Its label, once published.
    label: Option<String>,
    created_at: String,
    /// False: the item bought it; true: granted later, when the merchant published it to
    /// past buyers.
    granted: bool,
}

impl ReleaseOut {
    /// The release, with the counts of its update emails (`counts`: None when it has none
    /// queued).
    fn new(d: ReleaseDetail, counts: Option<EmailCounts>) -> ReleaseOut {
        let r = d.release;
        let email = match (r.email_subject, r.email_message) {
            (Some(subject), Some(message)) => Some(UpdateEmailOut { subject, message }),
            _ => None,
        };
        // A release with an email but no granted order yet reads as zeros, not null.
        let emails = email.as_ref().map(|_| counts.unwrap_or_default().into());
        ReleaseOut {
            number: r.number,
            label: r.label,
            changelog: r.changelog,
            created_at: rfc3339(r.created_at),
            mode: r.delivery_mode.to_string(),
            files: d
                .files
                .into_iter()
                .map(|f| ReleaseFileOut {
                    position: f.position,
                    file_id: f.blob_id,
                    display_name: f.display_name,
                    size: f.size,
                    content_type: f.content_type,
                    sha256: f.sha256,
                })
                .collect(),
            external_url: r.external_url,
            instructions: r.instructions,
            published_at: r.published_at.map(rfc3339),
            // Stored as the API wrote it; unreadable text (by hand) shows as null.
            audience: r.audience.and_then(|a| serde_json::from_str(&a).ok()),
            granted_orders: r.granted_orders,
            email,
            emails,
        }
    }
}

impl From<OrderRelease> for OrderReleaseOut {
    fn from(r: OrderRelease) -> OrderReleaseOut {
        OrderReleaseOut {
            number: r.number,
            product_id: r.product_id,
            item_position: r.item_position,
            label: r.label,
            created_at: rfc3339(r.created_at),
            granted: r.granted,
        }
    }
}

/// List a product's releases, newest first: each saved change of its delivery. A product
/// that never had anything to deliver has none.
#[utoipa::path(get, path = "/api/v1/products/{id}/releases", operation_id = "list_product_releases",
    params(("id" = String, Path, description = "the product's id")),
    responses((status = 200, body = [ReleaseOut]), (status = 404, description = "no such product")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn list(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReleaseOut>>> {
    let releases = db_releases::list(&state.db, &merchant, &id, MAX_LISTED).await.map_err(Error::missing("product"))?;
    let oldest = releases.last().map_or(0, |r| r.release.number);
    let counts = update_emails::counts_by_release(&state.db, &id, oldest).await?;
    let count_of = |n: i64| counts.iter().find(|(number, _)| *number == n).map(|(_, c)| *c);
    Ok(Json(
        releases
            .into_iter()
            .map(|r| {
                let c = count_of(r.release.number);
                ReleaseOut::new(r, c)
            })
            .collect(),
    ))
}

/// Get one release of a product.
#[utoipa::path(get, path = "/api/v1/products/{id}/releases/{number}", operation_id = "get_product_release",
    params(("id" = String, Path, description = "the product's id"),
           ("number" = i64, Path, description = "the release's number (1, 2, …)")),
    responses((status = 200, body = ReleaseOut), (status = 404, description = "no such product or release")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id, release = %number))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<ReleaseOut>> {
    // Anything but a release's number names no release: 404, like an unknown one.
    let number: i64 = number.parse().map_err(|_| Error::NotFound("release"))?;
    let release = db_releases::get(&state.db, &merchant, &id, number).await.map_err(Error::missing("release"))?;
    let counts = update_emails::counts(&state.db, &id, number).await?;
    Ok(Json(ReleaseOut::new(release, Some(counts))))
}

/// Publish the product's latest release (the one its last delivery change saved): its label
/// and changelog, and which past orders also get it (`audience`; future buyers always do). Past
/// orders granted it keep their earlier files at their old positions and get the release's
/// files after them. A release is published once: a repeat answers 409 `already_published`
/// and changes nothing.
#[utoipa::path(post, path = "/api/v1/products/{id}/releases", operation_id = "publish_product_release",
    request_body = PublishBody, params(("id" = String, Path, description = "the product's id")),
    responses((status = 201, body = ReleaseOut, description = "published, and granted to `granted_orders` past orders"),
              (status = 404, description = "no such product"),
              (status = 409, description = "`already_published`: the latest release is published already; \
                `no_release`: the product has no release (its delivery was never set); `release_changed`: a \
                delivery change was saved meanwhile; `no_recipients`: an update email with the audience \
                `future` (it would reach nobody)"),
              (status = 422, description = "a field is invalid: `label`, `changelog`, `audience`, `email` (not an \
                object, or with other keys), `email.subject` or `email.message`")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn publish(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PublishBody>,
) -> Result<(StatusCode, Json<ReleaseOut>)> {
    let label = release_label(body.label.as_deref())?;
    let changelog = changelog(body.changelog.as_deref())?;
    let email = update_email(body.email.as_ref())?;
    let request = PublishRequest {
        label: label.as_deref(),
        changelog: changelog.as_deref(),
        audience: body.audience.as_ref(),
        email: email.as_ref(),
    };
    let release = catalog::publish(&state, &merchant, &id, &request).await?;
    let counts = update_emails::counts(&state.db, &id, release.release.number).await?;
    Ok((StatusCode::CREATED, Json(ReleaseOut::new(release, Some(counts)))))
}

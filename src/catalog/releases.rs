//! Publishing a product's latest release (the one "Update product" saved): its label,
//! changelog and audience, granted to the past orders the audience names in the same
//! transaction as the `release.published` event.

use super::CatalogError;
use crate::db::DbError;
use crate::db::release_grants::{self, NotPublished, Publication};
use crate::db::releases::{self as db_releases, ReleaseDetail};
use crate::domain::{Audience, Invalid, UpdateEmail, now_millis};
use crate::state::AppState;

/// A publish request, its label and changelog already checked
/// ([`crate::domain::release_label`], [`crate::domain::changelog`]); the audience is checked
/// here, against the number of the release it publishes.
#[derive(Debug, Default)]
pub struct PublishRequest<'a> {
    /// Version label.
    pub label: Option<&'a str>,
    /// What changed.
    pub changelog: Option<&'a str>,
    /// The audience as sent (absent or null: future buyers only).
    pub audience: Option<&'a serde_json::Value>,
    /// The update email to every order granted the release, already checked.
    pub email: Option<&'a UpdateEmail>,
}

/// Publishes the merchant's product's latest release and grants it to the past orders its
/// audience names (never revoked ones, never one that owns it already); answers the release
/// as published. Refused: no such product ([`CatalogError::NotFound`]), no release or one
/// published already ([`CatalogError::Conflict`]), a bad audience ([`CatalogError::Invalid`]).
#[tracing::instrument(skip(state, request))]
pub async fn publish(
    state: &AppState,
    merchant_id: &str,
    product_id: &str,
    request: &PublishRequest<'_>,
) -> Result<ReleaseDetail, CatalogError> {
    let latest = release_grants::latest(&state.db, merchant_id, product_id).await.map_err(not_found)?;
    let Some(latest) = latest else {
        return Err(CatalogError::Conflict(
            "no_release",
            "the product has no release to publish: save its delivery (files, a link or instructions) first".into(),
        ));
    };
    if latest.published_at.is_some() {
        return Err(already_published(latest.number));
    }
    let audience = Audience::parse(request.audience)?;
    if request.email.is_some() && !audience.reaches_past_orders() {
        // Future buyers get the purchase email: an update email would reach nobody. A 409, not a
        // 422: each field is valid alone, the two together ask for nothing that can happen.
        return Err(CatalogError::Conflict(
            "no_recipients",
            "an update email goes to past buyers granted the release: choose an audience among past buyers, or send no email"
                .into(),
        ));
    }
    let publication = Publication {
        number: latest.number,
        label: request.label,
        changelog: request.changelog,
        audience,
        email: request.email,
    };
    let outcome = release_grants::publish(&state.db, merchant_id, product_id, &publication, now_millis())
        .await
        .map_err(not_found)?;
    let granted = match outcome {
        Ok(granted) => granted,
        Err(NotPublished::AlreadyPublished) => return Err(already_published(latest.number)),
        Err(NotPublished::NoLongerLatest) => {
            return Err(CatalogError::Conflict(
                "release_changed",
                "the product's delivery was saved again meanwhile: publish its new latest release".into(),
            ));
        }
    };
    if granted > 0 {
        // Cached orders would not show their new files until they age out.
        state.order_cache.forget_everywhere(&state.db).await;
        if request.email.is_some() {
            state.mail.wake();
        }
    }
    let audience = audience.to_json().to_string();
    tracing::info!(merchant_id, product_id, release = latest.number, %audience, granted, "release published");
    Ok(db_releases::get(&state.db, merchant_id, product_id, latest.number).await?)
}

fn already_published(number: i64) -> CatalogError {
    CatalogError::Conflict(
        "already_published",
        format!("release {number} is published already: save a change of the delivery to make a new release"),
    )
}

fn not_found(e: DbError) -> CatalogError {
    match e {
        DbError::NotFound => CatalogError::NotFound("product"),
        e => e.into(),
    }
}

/// What publishing the latest release would do, shown before anything is published.
#[derive(Debug)]
pub struct PublishPreview {
    /// The release it would publish.
    pub number: i64,
    /// Orders it would be granted to.
    pub orders: i64,
    /// Update emails that would be sent (the orders, less those of customers who unsubscribed;
    /// 0 without an email).
    pub emails: i64,
    /// The email one of those orders' customers would receive, and their address (None
    /// without an email, or with no order to send it to).
    pub email: Option<(String, crate::mail::release_update::RenderedUpdate)>,
}

/// Checks a publish request as [`publish`] would and says what it would do, publishing
/// nothing: the counts, and the update email rendered for one real order by the code that
/// sends it.
#[tracing::instrument(skip(state, request))]
pub async fn preview(
    state: &AppState,
    merchant_id: &str,
    product_id: &str,
    request: &PublishRequest<'_>,
) -> Result<PublishPreview, CatalogError> {
    let latest = release_grants::latest(&state.db, merchant_id, product_id).await.map_err(not_found)?;
    let Some(latest) = latest.filter(|l| l.published_at.is_none()) else {
        return Err(already_published(0));
    };
    let audience = Audience::parse(request.audience)?;
    if request.email.is_some() && !audience.reaches_past_orders() {
        return Err(Invalid::new(
            "email",
            "an update email goes to past buyers: choose who among them gets the update",
        )
        .into());
    }
    let (orders, unsubscribed, sample) =
        crate::db::update_emails::preview(&state.db, merchant_id, product_id, latest.number, audience).await?;
    let mut preview = PublishPreview { number: latest.number, orders, emails: 0, email: None };
    let (Some(email), Some(sample)) = (request.email, sample) else { return Ok(preview) };
    preview.emails = orders - unsubscribed;
    let mut release = db_releases::get(&state.db, merchant_id, product_id, latest.number).await?.release;
    release.label = request.label.map(str::to_owned);
    release.changelog = request.changelog.map(str::to_owned);
    let merchant = crate::db::merchants::get(&state.db, merchant_id).await?;
    let detail = crate::db::orders::get(&state.db, merchant_id, &sample).await?;
    let rendered =
        crate::mail::release_update::render(state, &merchant, &detail, &release, &email.subject, &email.message)
            .await
            // A 500 logged with its cause, as a database failure is.
            .map_err(|e| DbError::Sqlx(sqlx::Error::Protocol(format!("rendering the update email: {e}"))))?;
    preview.email = Some((detail.order.customer_email.clone(), rendered));
    Ok(preview)
}

//! `/api/v1/settings`: test mode, download policy, revoke on refund, webhook secrets.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::doc::{DisplayNameText, EmailAddress, StripeSecretText, email};
use super::whole;
use crate::db::merchants::{self, Merchant, SettingsChange};
use crate::db::sharing as db_sharing;
use crate::domain::{DisplayName, DownloadPolicy, SharingMode, SharingPolicy, stripe_webhook_secret};
use crate::http::{ApiJson, ApiMerchant};
use crate::state::AppState;

type Result<T> = crate::http::Result<T>;

/// A merchant's settings.
#[derive(Serialize, ToSchema)]
pub struct SettingsOut {
    merchant_id: String,
    slug: String,
    name: String,
    /// `/buy/{product}` test checkouts work while on.
    test_mode: bool,
    /// Seconds an email link works after payment (null: forever).
    link_expiry_seconds: Option<i64>,
    /// Downloads per file through the email link (null: unlimited).
    max_downloads_per_file: Option<i64>,
    /// A refund also revokes access.
    revoke_on_refund: bool,
    /// Name purchase emails come from (null: the server's default, else the shop's name).
    sender_name: Option<String>,
    /// Address purchase emails come from (null: the server's default).
    sender_email: Option<String>,
    /// What the link-sharing brake does when an order's email link is downloaded from more than
    /// `sharing_max_networks` networks within `sharing_window_hours`: `off` (the default),
    /// `notify` (the `sharing.suspected` event) or `lock` (the email link is locked too, and
    /// `sharing.locked` goes out; the customer portal keeps working).
    #[schema(value_type = String, pattern = "^(off|notify|lock)$")]
    sharing_mode: SharingMode,
    /// Distinct networks (IPv4 /24, IPv6 /48) allowed per email link within the window.
    sharing_max_networks: i64,
    /// The window, in hours.
    sharing_window_hours: i64,
    /// Where to point each provider's webhooks.
    webhooks: WebhooksOut,
}

/// Webhook endpoints and secrets.
#[derive(Serialize, ToSchema)]
pub struct WebhooksOut {
    standard_url: String,
    /// `whsec_…`: give it to the provider (Dodo Payments or any Standard Webhooks sender).
    standard_secret: String,
    stripe_url: String,
    /// Whether Stripe's endpoint secret is set (it is never shown back).
    stripe_secret_set: bool,
}

/// Body of `PATCH /api/v1/settings`; absent fields stay as they are, `null` clears a limit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    test_mode: Option<bool>,
    /// Seconds an email link works after payment (60 to 10 years); null: forever.
    #[serde(default, deserialize_with = "whole::present")]
    #[schema(value_type = Option<i64>, minimum = 60, maximum = 316_224_000)]
    link_expiry_seconds: Option<Option<i64>>,
    /// Downloads per file through the email link; null: unlimited.
    #[serde(default, deserialize_with = "whole::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    max_downloads_per_file: Option<Option<i64>>,
    revoke_on_refund: Option<bool>,
    /// Stripe's endpoint signing secret (`whsec_…`); null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<StripeSecretText>)]
    stripe_webhook_secret: Option<Option<String>>,
    /// Name purchase emails come from; null returns to the default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DisplayNameText>)]
    sender_name: Option<Option<String>>,
    /// Address purchase emails come from; null returns to the default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<EmailAddress>)]
    sender_email: Option<Option<String>>,
    /// The link-sharing brake: `off`, `notify` or `lock`.
    #[schema(value_type = Option<String>, pattern = "^(off|notify|lock)$")]
    sharing_mode: Option<String>,
    /// Distinct networks allowed per email link within the window (2 to 1000).
    #[serde(default, deserialize_with = "whole::optional")]
    #[schema(minimum = 2, maximum = 1000)]
    sharing_max_networks: Option<i64>,
    /// The window, in hours (1 to 720).
    #[serde(default, deserialize_with = "whole::optional")]
    #[schema(minimum = 1, maximum = 720)]
    sharing_window_hours: Option<i64>,
}

/// Tells a field sent as `null` (Some(None)) from an absent one (None).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn out(state: &AppState, m: Merchant, sharing: SharingPolicy) -> SettingsOut {
    SettingsOut {
        sharing_mode: sharing.mode,
        sharing_max_networks: sharing.max_networks,
        sharing_window_hours: sharing.window_hours,
        webhooks: WebhooksOut {
            standard_url: format!("{}/webhooks/{}/standard", state.public_url, m.slug),
            standard_secret: m.standard_webhook_secret,
            stripe_url: format!("{}/webhooks/{}/stripe", state.public_url, m.slug),
            stripe_secret_set: m.stripe_webhook_secret.is_some(),
        },
        merchant_id: m.id,
        slug: m.slug,
        name: m.name,
        test_mode: m.test_mode,
        link_expiry_seconds: m.link_expiry_seconds,
        max_downloads_per_file: m.max_downloads_per_file,
        revoke_on_refund: m.revoke_on_refund,
        sender_name: m.sender_name,
        sender_email: m.sender_email,
    }
}

/// The merchant's settings.
#[utoipa::path(get, path = "/api/v1/settings", operation_id = "get_settings", responses((status = 200, body = SettingsOut)))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn get(State(state): State<AppState>, ApiMerchant(merchant): ApiMerchant) -> Result<Json<SettingsOut>> {
    let m = merchants::get(&state.db, &merchant).await?;
    let sharing = db_sharing::policy(&state.db, &merchant).await?;
    Ok(Json(out(&state, m, sharing)))
}

/// Change settings. The download policy applies to orders placed from now on.
#[utoipa::path(patch, path = "/api/v1/settings", operation_id = "update_settings", request_body = UpdateSettings,
    responses((status = 200, body = SettingsOut), (status = 422, description = "a field is invalid")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn update(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiJson(body): ApiJson<UpdateSettings>,
) -> Result<Json<SettingsOut>> {
    let current = merchants::get(&state.db, &merchant).await?;
    let current_sharing = db_sharing::policy(&state.db, &merchant).await?;
    let sharing = sharing_change(&body, &current_sharing)?;
    let policy = match (body.link_expiry_seconds, body.max_downloads_per_file) {
        (None, None) => None,
        (expiry, max) => Some(DownloadPolicy::new(
            expiry.unwrap_or(current.link_expiry_seconds),
            max.unwrap_or(current.max_downloads_per_file),
        )?),
    };
    let stripe = match body.stripe_webhook_secret {
        Some(Some(secret)) => Some(Some(stripe_webhook_secret("stripe_webhook_secret", &secret)?)),
        other => other,
    };
    let sender_name = match body.sender_name {
        Some(Some(name)) => Some(Some(DisplayName::parse("sender_name", &name)?.as_str().to_owned())),
        other => other,
    };
    let sender_email = match body.sender_email {
        Some(Some(raw)) => Some(Some(email("sender_email", &raw)?.as_str().to_owned())),
        other => other,
    };
    let change = SettingsChange {
        sender_name,
        sender_email,
        test_mode: body.test_mode,
        download_policy: policy,
        revoke_on_refund: body.revoke_on_refund,
        stripe_webhook_secret: stripe,
    };
    let m = merchants::update_settings(&state.db, &merchant, &change).await?;
    if let Some(policy) = &sharing {
        crate::sharing::set_policy(&state, &merchant, policy).await?;
    }
    Ok(Json(out(&state, m, sharing.unwrap_or(current_sharing))))
}

/// The link-sharing policy a change asks for (None: no sharing field sent), checked whole.
fn sharing_change(body: &UpdateSettings, current: &SharingPolicy) -> Result<Option<SharingPolicy>> {
    if body.sharing_mode.is_none() && body.sharing_max_networks.is_none() && body.sharing_window_hours.is_none() {
        return Ok(None);
    }
    let mode = match &body.sharing_mode {
        Some(raw) => SharingMode::parse("sharing_mode", raw)?,
        None => current.mode,
    };
    let networks = body.sharing_max_networks.unwrap_or(current.max_networks);
    let hours = body.sharing_window_hours.unwrap_or(current.window_hours);
    Ok(Some(SharingPolicy::new(mode, networks, hours)?))
}

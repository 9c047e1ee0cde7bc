//! `GET /dashboard/settings` and its forms: API keys (created and shown once, revoked), the
//! webhook endpoints and secrets, the download policy for new orders, the sender of purchase
//! emails, and test mode. A refused form comes back (422) with the reason next to the field
//! and nothing changed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::orders::when;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::merchants::{self, Merchant, SettingsChange};
use crate::db::{api_keys, shop_profile};
use crate::domain::{DisplayName, DownloadPolicy, Email, stripe_webhook_secret};
use crate::http::Error;
use crate::state::AppState;

use crate::http::pages::render;

/// Units the link expiry is typed in, with their length in seconds.
const UNITS: [(&str, i64); 3] = [("days", 86_400), ("hours", 3_600), ("minutes", 60)];

/// The download policy form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct PolicyForm {
    /// How many units links work for ("" = forever).
    #[serde(default)]
    expiry: String,
    /// `days`, `hours` or `minutes`.
    #[serde(default)]
    expiry_unit: String,
    /// Downloads per file ("" = unlimited).
    #[serde(default)]
    max_downloads: String,
    /// Checkbox: present when ticked.
    #[serde(default)]
    revoke_on_refund: Option<String>,
}

impl PolicyForm {
    fn of(m: &Merchant) -> PolicyForm {
        let (expiry, expiry_unit) = match m.link_expiry_seconds {
            None => (String::new(), "days"),
            Some(s) => {
                // The largest unit that says it exactly (minutes rounded up otherwise).
                let (unit, size) = UNITS.iter().copied().find(|(_, size)| s % size == 0).unwrap_or(("minutes", 60));
                (((s + size - 1) / size).to_string(), unit)
            }
        };
        PolicyForm {
            expiry,
            expiry_unit: expiry_unit.to_owned(),
            max_downloads: m.max_downloads_per_file.map(|n| n.to_string()).unwrap_or_default(),
            revoke_on_refund: m.revoke_on_refund.then(|| "on".to_owned()),
        }
    }

    /// The policy and revoke-on-refund it asks for, or the fields at fault.
    fn check(&self) -> Result<(DownloadPolicy, bool), Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let expiry = match self.expiry.trim() {
            "" => None,
            text => {
                let size = UNITS.iter().find(|(unit, _)| *unit == self.expiry_unit).map(|(_, size)| *size);
                match (text.parse::<i64>().ok().filter(|n| *n > 0), size) {
                    (Some(n), Some(size)) => Some(n.saturating_mul(size)),
                    _ => {
                        errors.push(("expiry", "Enter a whole number of days, hours or minutes above 0, or leave it empty so links never expire.".to_owned()));
                        None
                    }
                }
            }
        };
        let max = match self.max_downloads.trim() {
            "" => None,
            text => match text.parse::<i64>().ok().filter(|n| *n > 0) {
                Some(n) => Some(n),
                None => {
                    errors.push((
                        "max_downloads",
                        "Enter a whole number above 0, or leave it empty for unlimited downloads.".to_owned(),
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        match DownloadPolicy::new(expiry, max) {
            Ok(policy) => Ok((policy, self.revoke_on_refund.is_some())),
            Err(invalid) if invalid.field == "link_expiry_seconds" => {
                Err(vec![("expiry", "Links can work for 1 minute up to 10 years.".to_owned())])
            }
            Err(_) => Err(vec![("max_downloads", "Allow between 1 and 1,000,000 downloads per file.".to_owned())]),
        }
    }
}

/// The sender form, as typed ("" = the default).
#[derive(Deserialize, Default, Clone)]
pub struct SenderForm {
    #[serde(default)]
    sender_name: String,
    #[serde(default)]
    sender_email: String,
}

struct KeyRow {
    name: String,
    prefix: String,
    created: String,
    revoked: Option<String>,
    action: String,
}

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    key_name: String,
    standard_url: String,
    standard_secret: String,
    stripe_url: String,
    stripe_set: bool,
    policy: PolicyForm,
    sender: SenderForm,
    default_sender: String,
    test_mode: bool,
    errors: Vec<(&'static str, String)>,
    shop: super::settings_shop::ShopSettings,
    sharing: super::settings_sharing::SharingForm,
    /// The shop's owner: only they see and change signing secrets and API keys.
    owner: bool,
}

impl SettingsPage {
    /// The message for `field`, if it was refused.
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, message)| message.as_str())
    }
}

/// What differs from the stored settings on a page being shown again.
#[derive(Default)]
pub(super) struct Shown {
    pub notice: Option<String>,
    pub policy: Option<PolicyForm>,
    pub sender: Option<SenderForm>,
    pub key_name: String,
    pub new_key: Option<String>,
    /// The shop profile as typed, on a refused form.
    pub profile: Option<super::settings_shop::ProfileForm>,
    /// A new key's page was opened again: the key is not shown twice.
    pub new_key_gone: bool,
    /// The link-sharing form as typed, on a refused form.
    pub sharing: Option<super::settings_sharing::SharingForm>,
    pub errors: Vec<(&'static str, String)>,
}

pub(super) async fn page(state: &AppState, user: &SignedIn, status: StatusCode, shown: Shown) -> PageResult {
    // Read again: the signed-in user's copy predates a change made by this very request.
    let m = merchants::get(&state.db, &user.merchant.id).await?;
    let keys = api_keys::list(&state.db, &m.id).await?;
    let base = &state.public_url;
    let mail = &state.config.mail;
    let default_name = mail.from_name.clone().unwrap_or_else(|| m.name.clone());
    let shop = super::settings_shop::ShopSettings::of(state, &m, shown.profile, shown.new_key_gone).await?;
    let sharing = match shown.sharing {
        Some(typed) => typed,
        None => super::settings_sharing::SharingForm::of(&crate::db::sharing::policy(&state.db, &m.id).await?),
    };
    let mut chrome = Chrome::new(user, Section::Settings, shown.notice.as_deref());
    chrome.test_mode = m.test_mode;
    let view = SettingsPage {
        chrome,
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                action: format!("/dashboard/settings/api-keys/{}/revoke", k.id),
                name: k.name,
                prefix: k.prefix,
                created: when(k.created_at),
                revoked: k.revoked_at.map(when),
            })
            .collect(),
        new_key: shown.new_key,
        key_name: shown.key_name,
        standard_url: format!("{base}/webhooks/{}/standard", m.slug),
        // A member never receives the secret: one removed later must not keep a way to sign events.
        standard_secret: if user.is_owner() { m.standard_webhook_secret.clone() } else { String::new() },
        stripe_url: format!("{base}/webhooks/{}/stripe", m.slug),
        stripe_set: m.stripe_webhook_secret.is_some(),
        policy: shown.policy.unwrap_or_else(|| PolicyForm::of(&m)),
        sender: shown.sender.unwrap_or_else(|| SenderForm {
            sender_name: m.sender_name.clone().unwrap_or_default(),
            sender_email: m.sender_email.clone().unwrap_or_default(),
        }),
        default_sender: format!("{default_name} <{}>", crate::mail::message::default_from_address(mail, base)),
        test_mode: m.test_mode,
        errors: shown.errors,
        shop,
        sharing,
        owner: user.is_owner(),
    };
    Ok(render(status, &view))
}

fn saved(notice: &str) -> PageResult {
    Ok(Redirect::to(&format!("/dashboard/settings?notice={notice}")).into_response())
}

async fn change(state: &AppState, user: &SignedIn, change: SettingsChange) -> PageResult {
    merchants::update_settings(&state.db, &user.merchant.id, &change).await?;
    saved("settings")
}

/// `GET /dashboard/settings`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn show(State(state): State<AppState>, user: SignedIn, Query(q): Query<SettingsQuery>) -> PageResult {
    let mut shown = Shown { notice: q.notice, ..Shown::default() };
    if let Some(id) = q.new_key.as_deref() {
        let key = state.secrets.key();
        match shop_profile::reveal_key(&state.db, &key, &user.merchant.id, &user.user_id, id).await? {
            Some((_, key)) => shown.new_key = Some(key.expose().to_owned()),
            None => shown.new_key_gone = true,
        }
    }
    page(&state, &user, StatusCode::OK, shown).await
}

/// `?notice=…` after a saved form; `?new_key={id}` after a key was made.
#[derive(Deserialize)]
pub struct SettingsQuery {
    notice: Option<String>,
    new_key: Option<String>,
}

/// `POST /dashboard/settings/policy`: link expiry, downloads per file, revoke on refund.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn save_policy(State(state): State<AppState>, Verified { user, form }: Verified<PolicyForm>) -> PageResult {
    match form.check() {
        Ok((policy, revoke_on_refund)) => {
            let update = SettingsChange {
                download_policy: Some(policy),
                revoke_on_refund: Some(revoke_on_refund),
                ..SettingsChange::default()
            };
            change(&state, &user, update).await
        }
        Err(errors) => {
            let shown = Shown { policy: Some(form), errors, ..Shown::default() };
            page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// `POST /dashboard/settings/sender`: who purchase emails come from.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn save_sender(State(state): State<AppState>, Verified { user, form }: Verified<SenderForm>) -> PageResult {
    let mut errors = Vec::new();
    let name = match form.sender_name.trim() {
        "" => None,
        text => DisplayName::parse("sender_name", text)
            .map_err(|_| errors.push(("sender_name", "Use at most 255 characters, on one line.".to_owned())))
            .ok()
            .map(|n| n.as_str().to_owned()),
    };
    let email = match form.sender_email.trim() {
        "" => None,
        text => Email::parse("sender_email", text)
            .map_err(|_| {
                let message = "Enter an email address like shop@example.com, or leave it empty for the default.";
                errors.push(("sender_email", message.to_owned()))
            })
            .ok()
            .map(|e| e.as_str().to_owned()),
    };
    if !errors.is_empty() {
        let shown = Shown { sender: Some(form), errors, ..Shown::default() };
        return page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    change(&state, &user, SettingsChange { sender_name: Some(name), sender_email: Some(email), ..Default::default() })
        .await
}

/// The test mode switch.
#[derive(Deserialize)]
pub struct TestModeForm {
    /// `on` or `off`.
    #[serde(default)]
    test_mode: String,
}

/// `POST /dashboard/settings/test-mode`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn set_test_mode(
    State(state): State<AppState>,
    Verified { user, form }: Verified<TestModeForm>,
) -> PageResult {
    let on = form.test_mode == "on";
    merchants::update_settings(
        &state.db,
        &user.merchant.id,
        &SettingsChange { test_mode: Some(on), ..Default::default() },
    )
    .await?;
    saved(if on { "test-mode-on" } else { "test-mode-off" })
}

/// Stripe's endpoint signing secret: set, or removed.
#[derive(Deserialize)]
pub struct StripeForm {
    #[serde(default)]
    stripe_secret: String,
    /// Present when "Remove" was pressed.
    #[serde(default)]
    remove: Option<String>,
}

/// `POST /dashboard/settings/stripe`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn save_stripe(State(state): State<AppState>, Verified { user, form }: Verified<StripeForm>) -> PageResult {
    if form.remove.is_some() {
        return change(&state, &user, SettingsChange { stripe_webhook_secret: Some(None), ..Default::default() }).await;
    }
    match stripe_webhook_secret("stripe_secret", &form.stripe_secret) {
        Ok(secret) => {
            let update = SettingsChange { stripe_webhook_secret: Some(Some(secret)), ..Default::default() };
            change(&state, &user, update).await
        }
        Err(invalid) => {
            // The domain's words, as a sentence: an API key is named as such.
            let mut message = invalid.message;
            if let Some(first) = message.get(..1).map(str::to_uppercase) {
                message.replace_range(..1, &first);
            }
            let shown = Shown { errors: vec![("stripe_secret", message)], ..Shown::default() };
            page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// A new API key's name.
#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
}

/// `POST /dashboard/settings/api-keys`: makes the key and redirects (303) to the page that
/// shows it once (`?new_key={id}#new-key`), so a reload shows the page and makes no second key.
/// Only a salt is stored; the page derives the key from it and clears it.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn create_key(State(state): State<AppState>, Verified { user, form }: Verified<KeyForm>) -> PageResult {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let message = "Name the key after where it is used (1 to 100 characters), e.g. “Shop backend”.";
        let shown =
            Shown { key_name: form.name.clone(), errors: vec![("key_name", message.to_owned())], ..Shown::default() };
        return page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    let key = state.secrets.key();
    let id = shop_profile::create_key_to_reveal(&state.db, &key, &user.merchant.id, &user.user_id, name).await?;
    Ok(Redirect::to(&format!("/dashboard/settings?new_key={id}#new-key")).into_response())
}

/// `POST /dashboard/settings/api-keys/{id}/revoke`: the key stops working at once.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, api_key_id = %id))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Verified<super::sign_in::Empty>,
) -> PageResult {
    api_keys::revoke(&state.db, &form.user.merchant.id, &id).await.map_err(Error::missing("API key"))?;
    saved("key-revoked")
}

//! Settings about how the shop looks to customers and how it is reached: the shop profile
//! (`POST /dashboard/settings/profile`, a `multipart/form-data` form because of the logo),
//! Standard Webhooks secret rotation, and what the Settings page says about the sender.

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::guard::{CSRF_FIELD, forbidden, same_origin, token_matches};
use super::settings::{Shown, page};
use super::{PageResult, SignedIn, Verified};
use crate::db::merchants::{Merchant, new_webhook_secret};
use crate::db::shop_profile::{self, LogoChange, ProfileChange};
use crate::domain::{
    AccentColour, DisplayName, Email, MAX_LOGO_BYTES, check_logo, human_date_time, now_millis, undeliverable_sender,
};
use crate::state::AppState;

/// The largest profile form accepted before it is read as "logo too large": the logo's limit
/// with room for the other fields, so an oversized logo is still answered 422 naming it.
pub const PROFILE_BODY_LIMIT: usize = 4 * MAX_LOGO_BYTES;

/// The profile form, as typed.
#[derive(Debug, Clone, Default)]
pub struct ProfileForm {
    /// The shop's name.
    pub shop_name: String,
    /// Where customers write for help.
    pub support_email: String,
    /// `#rrggbb` or empty.
    pub accent_colour: String,
}

/// What the Settings page shows of this file's concerns.
pub struct ShopSettings {
    /// The profile (as typed on a refused form).
    pub profile: ProfileForm,
    /// The current logo, for the preview.
    pub logo_url: Option<String>,
    /// The key of `?new_key=` was already shown.
    pub new_key_gone: bool,
    /// No sender address of the shop's own: the default is in use.
    pub default_sender_in_use: bool,
    /// Why mail from the sender in use is unlikely to be delivered, as a sentence.
    pub sender_warning: Option<String>,
    /// Until when the Standard Webhooks secret before the latest rotation still verifies.
    pub standard_previous_until: Option<String>,
    /// Until when the Stripe secret before the latest change still verifies.
    pub stripe_previous_until: Option<String>,
}

impl ShopSettings {
    /// The settings of `m`; `typed` is a refused profile form shown again.
    pub async fn of(
        state: &AppState,
        m: &Merchant,
        typed: Option<ProfileForm>,
        new_key_gone: bool,
    ) -> Result<ShopSettings, crate::db::DbError> {
        let brand = m.brand("");
        let profile = typed.unwrap_or_else(|| ProfileForm {
            shop_name: m.name.clone(),
            support_email: m.support_email.clone().unwrap_or_default(),
            accent_colour: m.accent_colour.clone().unwrap_or_default(),
        });
        let default = crate::mail::message::default_from_address(&state.config.mail, &state.public_url);
        let own = m.sender_email.as_deref().filter(|a| !a.trim().is_empty());
        let address = own.unwrap_or(&default);
        let sender_warning = undeliverable_sender(address).map(|why| {
            let fix = if own.is_some() {
                "Use an address at a domain you own and have set up for sending (SPF, DKIM)."
            } else {
                "Set a sender address at your own domain below, or ask whoever runs this server to set \
                 [mail] from_address or server.public_url."
            };
            format!("Email from {address} will probably not reach your customers: {why}. {fix}")
        });
        let now = now_millis();
        let until = |found: Option<(String, i64)>| found.map(|(_, until)| human_date_time(until));
        Ok(ShopSettings {
            profile,
            logo_url: brand.logo_url,
            new_key_gone,
            default_sender_in_use: own.is_none(),
            sender_warning,
            standard_previous_until: until(shop_profile::previous_secret(&state.db, &m.id, "standard", now).await?),
            stripe_previous_until: until(shop_profile::previous_secret(&state.db, &m.id, "stripe", now).await?),
        })
    }
}

/// The profile form as received: its text fields, and the logo's bytes when one was chosen
/// (`None` inside when it was larger than the limit).
#[derive(Default)]
struct Received {
    form: ProfileForm,
    logo: Option<Option<Bytes>>,
    remove_logo: bool,
}

/// Reads the fields after the CSRF token. A body larger than [`PROFILE_BODY_LIMIT`] stops the
/// reading and counts as an oversized logo (the only field that can be large).
async fn receive(mut multipart: Multipart) -> Received {
    let mut got = Received::default();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                got.logo = Some(None);
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "logo" {
            let mut bytes = Vec::new();
            let mut too_large = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_LOGO_BYTES => bytes.extend_from_slice(&chunk),
                    Ok(Some(_)) | Err(_) => {
                        too_large = true;
                        break;
                    }
                    Ok(None) => break,
                }
            }
            // A file input left empty sends an empty part with no file name.
            if too_large {
                got.logo = Some(None);
                break;
            } else if !bytes.is_empty() {
                got.logo = Some(Some(Bytes::from(bytes)));
            }
            continue;
        }
        let text = field.text().await.unwrap_or_default();
        match name.as_str() {
            "shop_name" => got.form.shop_name = text,
            "support_email" => got.form.support_email = text,
            "accent_colour" => got.form.accent_colour = text,
            "remove_logo" => got.remove_logo = !text.is_empty(),
            _ => {}
        }
    }
    got
}

/// The change a received form asks for, or the fields at fault (nothing stored yet).
fn check(got: &Received) -> Result<ProfileChange, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let form = &got.form;
    let name = match DisplayName::parse("shop_name", form.shop_name.trim()) {
        Ok(name) if !name.as_str().trim().is_empty() => Some(name.as_str().to_owned()),
        _ => {
            errors.push((
                "shop_name",
                "Enter the shop's name as customers know it (1 to 255 characters, one line).".into(),
            ));
            None
        }
    };
    let support_email = match form.support_email.trim() {
        "" => None,
        text => match Email::parse("support_email", text) {
            Ok(email) => Some(email.as_str().to_owned()),
            Err(_) => {
                let message = "Enter an email address like help@yourshop.com, or leave it empty.";
                errors.push(("support_email", message.into()));
                None
            }
        },
    };
    let accent = match form.accent_colour.trim() {
        "" => None,
        text => match AccentColour::parse("accent_colour", text) {
            Ok(colour) => Some(colour.as_str().to_owned()),
            Err(invalid) => {
                errors.push(("accent_colour", invalid.message));
                None
            }
        },
    };
    match &got.logo {
        Some(None) => errors
            .push(("logo", "The logo is larger than 256 KB: export it smaller (a 512 px wide PNG is plenty).".into())),
        Some(Some(bytes)) => {
            if let Err(invalid) = check_logo("logo", bytes) {
                errors.push(("logo", invalid.message));
            }
        }
        None => {}
    }
    match name {
        Some(name) if errors.is_empty() => {
            Ok(ProfileChange { name, support_email, accent_colour: accent, logo: LogoChange::Keep })
        }
        _ => Err(errors),
    }
}

/// `POST /dashboard/settings/profile`: the shop's name, support email, accent colour and logo.
/// The CSRF token must be the first field. A refused field is answered 422 with every field
/// as typed and nothing saved, not even a valid new logo.
#[tracing::instrument(skip_all, fields(merchant_id = tracing::field::Empty))]
pub async fn save_profile(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let user = match SignedIn::from_request_parts(&mut parts, &state).await {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    tracing::Span::current().record("merchant_id", user.merchant.id.as_str());
    if !same_origin(&parts.headers, &state.public_url) {
        return forbidden();
    }
    let Ok(mut multipart) = Multipart::from_request(Request::from_parts(parts, body), &state).await else {
        return (StatusCode::BAD_REQUEST, "Send the form as multipart/form-data.").into_response();
    };
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some(CSRF_FIELD) => field.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    if !token_matches(&csrf, &user.csrf) {
        return forbidden();
    }
    let got = receive(multipart).await;
    match store(&state, &user, &got).await {
        Ok(response) | Err(response) => response,
    }
}

async fn store(state: &AppState, user: &SignedIn, got: &Received) -> Result<Response, Response> {
    let fail = |e: crate::http::PageError| e.into_response();
    let mut change = match check(got) {
        Ok(checked) => checked,
        Err(errors) => {
            let shown = Shown { profile: Some(got.form.clone()), errors, ..Shown::default() };
            return Err(page(state, user, StatusCode::UNPROCESSABLE_ENTITY, shown).await.unwrap_or_else(fail));
        }
    };
    change.logo = match &got.logo {
        Some(Some(bytes)) => {
            let kind = check_logo("logo", bytes).map_err(|e| fail(crate::http::Error::from(e).into()))?;
            let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
            state.blobs.put_small(&shop_profile::logo_key(&sha), bytes.clone()).await.map_err(|e| {
                tracing::error!(error = %e, "could not store a logo");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            })?;
            LogoChange::Set(sha, kind.as_str())
        }
        _ if got.remove_logo => LogoChange::Remove,
        _ => LogoChange::Keep,
    };
    shop_profile::save(&state.db, &user.merchant.id, &change).await.map_err(|e| fail(e.into()))?;
    Ok(Redirect::to("/dashboard/settings?notice=profile#profile").into_response())
}

/// `POST /dashboard/settings/standard-secret/rotate`: a new Standard Webhooks secret; the old
/// one keeps verifying for 24 hours, so the provider can be updated without losing events.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id))]
pub async fn rotate_standard(State(state): State<AppState>, form: Verified<super::sign_in::Empty>) -> PageResult {
    shop_profile::rotate_standard(&state.db, &form.user.merchant.id, &new_webhook_secret()).await?;
    Ok(Redirect::to("/dashboard/settings?notice=secret-rotated#webhooks").into_response())
}

/// A Standard Webhooks secret pasted from the provider (Dodo Payments makes its own).
#[derive(Deserialize)]
pub struct StandardSecretForm {
    #[serde(default)]
    standard_secret: String,
}

/// `POST /dashboard/settings/standard-secret`: use the provider's secret; the previous one
/// keeps verifying for 24 hours.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn use_standard_secret(
    State(state): State<AppState>,
    Verified { user, form }: Verified<StandardSecretForm>,
) -> PageResult {
    let secret = form.standard_secret.trim();
    let usable = secret.starts_with("whsec_")
        && secret.len() <= 255
        && crate::payments::standard::sign(secret, "check", 0, b"").is_ok()
        && secret.len() >= 6 + 24;
    if !usable {
        let message = "Paste the signing secret your provider shows, which starts with whsec_ followed by base64.";
        let shown = Shown { errors: vec![("standard_secret", message.into())], ..Shown::default() };
        return page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    shop_profile::rotate_standard(&state.db, &user.merchant.id, secret).await?;
    Ok(Redirect::to("/dashboard/settings?notice=secret-rotated#webhooks").into_response())
}

/// Which provider's previous secret to stop accepting.
#[derive(Deserialize)]
pub struct EndRotationForm {
    #[serde(default)]
    provider: String,
}

/// `POST /dashboard/settings/end-rotation`: the previous secret stops verifying now (once the
/// provider sends with the new one, or when the old one leaked).
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn end_rotation(
    State(state): State<AppState>,
    Verified { user, form }: Verified<EndRotationForm>,
) -> PageResult {
    let provider = if form.provider == "stripe" { "stripe" } else { "standard" };
    shop_profile::set_rotated_at(&state.db, &user.merchant.id, provider, None).await?;
    Ok(Redirect::to("/dashboard/settings?notice=old-secret-ended#webhooks").into_response())
}

//! The Settings page's "Link sharing" form (`POST /dashboard/settings/sharing`): what the brake
//! does (off, notify, lock) past how many networks in how many hours. A refused form comes
//! back (422) naming the field, and nothing is saved.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::settings::{Shown, page};
use super::{PageResult, Verified};
use crate::domain::{MAX_NETWORKS, MAX_WINDOW_HOURS, MIN_NETWORKS, MIN_WINDOW_HOURS, SharingMode, SharingPolicy};
use crate::state::AppState;

/// The form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SharingForm {
    /// `off`, `notify` or `lock`.
    #[serde(default)]
    pub(super) sharing_mode: String,
    /// Distinct networks allowed.
    #[serde(default)]
    pub(super) sharing_max_networks: String,
    /// The window, in hours.
    #[serde(default)]
    pub(super) sharing_window_hours: String,
}

impl SharingForm {
    /// The form showing `policy`.
    pub(super) fn of(policy: &SharingPolicy) -> SharingForm {
        SharingForm {
            sharing_mode: policy.mode.as_str().to_owned(),
            sharing_max_networks: policy.max_networks.to_string(),
            sharing_window_hours: policy.window_hours.to_string(),
        }
    }

    /// The policy it asks for, or the fields at fault.
    fn check(&self) -> Result<SharingPolicy, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mode = SharingMode::parse("sharing_mode", self.sharing_mode.trim())
            .map_err(|_| errors.push(("sharing_mode", "Choose off, notify or lock.".to_owned())))
            .ok();
        let networks = self.sharing_max_networks.trim().parse::<i64>().ok();
        let networks = networks.filter(|n| (MIN_NETWORKS..=MAX_NETWORKS).contains(n));
        if networks.is_none() {
            let message = format!("Enter a whole number of networks from {MIN_NETWORKS} to {MAX_NETWORKS}.");
            errors.push(("sharing_max_networks", message));
        }
        let hours = self.sharing_window_hours.trim().parse::<i64>().ok();
        let hours = hours.filter(|h| (MIN_WINDOW_HOURS..=MAX_WINDOW_HOURS).contains(h));
        if hours.is_none() {
            let message =
                format!("Enter a whole number of hours from {MIN_WINDOW_HOURS} to {MAX_WINDOW_HOURS} (30 days).");
            errors.push(("sharing_window_hours", message));
        }
        match (mode, networks, hours) {
            (Some(mode), Some(n), Some(h)) if errors.is_empty() => {
                SharingPolicy::new(mode, n, h).map_err(|invalid| vec![(invalid.field, invalid.message)])
            }
            _ => Err(errors),
        }
    }
}

/// `POST /dashboard/settings/sharing`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn save(State(state): State<AppState>, Verified { user, form }: Verified<SharingForm>) -> PageResult {
    match form.check() {
        Ok(policy) => {
            crate::sharing::set_policy(&state, &user.merchant.id, &policy).await?;
            Ok(Redirect::to("/dashboard/settings?notice=sharing-saved#sharing").into_response())
        }
        Err(errors) => {
            let shown = Shown { sharing: Some(form), errors, ..Shown::default() };
            page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

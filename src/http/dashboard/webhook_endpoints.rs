//! `/dashboard/settings/webhooks`: the shop's own webhook endpoints (events out). Everyone in
//! the team sees the endpoints and their deliveries; only the owner adds, rotates, pauses,
//! resumes, deletes and resends (the routes are behind [`super::team::owner_only`]), and a
//! secret is shown once, to the owner who made it, on the page the form redirects to.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::orders::{Badge, when};
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::webhook_endpoints::{self as db, Endpoint, EndpointChange, EventDelivery};
use crate::domain::{EVENT_TYPES, EndpointUrl, Invalid, now_millis, subscribed_events};
use crate::http::Error;
use crate::http::pages::render;
use crate::state::AppState;

/// Deliveries shown on an endpoint's page.
const DELIVERIES_SHOWN: i64 = 100;

struct EndpointRow {
    id: String,
    url: String,
    events: String,
    enabled: bool,
    /// Why Satchel disabled it ("" when it did not).
    disabled_reason: String,
    /// Until when the previous secret also signs ("" when no rotation overlaps).
    overlap_until: String,
}

impl From<Endpoint> for EndpointRow {
    fn from(e: Endpoint) -> EndpointRow {
        let overlap = e.previous_secret_until.filter(|u| *u > now_millis());
        EndpointRow {
            events: e.event_types().join(", "),
            id: e.id,
            url: e.url,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.unwrap_or_default(),
            overlap_until: overlap.map(when).unwrap_or_default(),
        }
    }
}

struct DeliveryRow {
    event_id: String,
    event_type: String,
    status: Badge,
    attempts: i32,
    response: String,
    excerpt: String,
    at: String,
}

impl From<EventDelivery> for DeliveryRow {
    fn from(d: EventDelivery) -> DeliveryRow {
        let status = match d.status.as_str() {
            "delivered" => Badge { label: "Delivered", class: "badge-ok" },
            "failed" => Badge { label: "Failed", class: "badge-bad" },
            _ if d.attempts > 0 => Badge { label: "Retrying", class: "badge-warn" },
            _ => Badge { label: "Pending", class: "badge-info" },
        };
        let response = match (d.last_response_status, d.last_error) {
            (Some(code), _) => code.to_string(),
            (None, Some(error)) => error,
            (None, None) => String::new(),
        };
        let excerpt: String = d.last_response_body.unwrap_or_default().chars().take(200).collect();
        DeliveryRow {
            event_id: d.event_id,
            event_type: d.event_type,
            status,
            attempts: d.attempts,
            response,
            excerpt,
            at: when(d.last_attempt_at.unwrap_or(d.created_at)),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/webhook_endpoints.html")]
struct ListPage {
    chrome: Chrome,
    owner: bool,
    endpoints: Vec<EndpointRow>,
    event_types: &'static [&'static str],
    /// The add form as sent, after a refusal.
    url: String,
    checked: Vec<String>,
    field: &'static str,
    error: String,
}

impl ListPage {
    fn is_checked(&self, event: &&str) -> bool {
        self.checked.iter().any(|c| c == event)
    }
}

#[derive(Template)]
#[template(path = "dashboard/webhook_endpoint.html")]
struct EndpointPage {
    chrome: Chrome,
    owner: bool,
    endpoint: EndpointRow,
    /// The secret, on the one page view it is shown on.
    secret: Option<String>,
    deliveries: Vec<DeliveryRow>,
    confirm_delete: bool,
}

/// `?notice=`, and `?secret=1` on the page a creation or rotation redirects to.
#[derive(Deserialize, Default)]
pub struct PageQuery {
    notice: Option<String>,
    secret: Option<String>,
}

/// The add form: `url`, and one checkbox per event type (`event.order.created=on`, …).
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    url: String,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

/// Forms that carry only their CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    (status, notice): (StatusCode, Option<&str>),
    form: Option<(&AddForm, Invalid)>,
) -> PageResult {
    let endpoints = db::list(&state.db, &user.merchant.id).await?;
    let (url, checked, field, error) = match form {
        Some((form, invalid)) => (form.url.clone(), checked_events(form), invalid.field, invalid.message),
        None => (String::new(), Vec::new(), "", String::new()),
    };
    let view = ListPage {
        chrome: Chrome::new(user, Section::Settings, notice),
        owner: user.is_owner(),
        endpoints: endpoints.into_iter().map(EndpointRow::from).collect(),
        event_types: &EVENT_TYPES,
        url,
        checked,
        field,
        error,
    };
    Ok(render(status, &view))
}

fn checked_events(form: &AddForm) -> Vec<String> {
    let mut events: Vec<String> =
        form.fields.keys().filter_map(|k| k.strip_prefix("event.")).map(str::to_owned).collect();
    events.sort();
    events
}

/// `GET /dashboard/settings/webhooks`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, user_id = %user.user_id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(query): Query<PageQuery>) -> PageResult {
    list_page(&state, &user, (StatusCode::OK, query.notice.as_deref()), None).await
}

/// `POST /dashboard/settings/webhooks` (owner): adds the endpoint and redirects (303) to its
/// page, which shows the secret once.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, user_id = %user.user_id))]
pub async fn add(State(state): State<AppState>, Verified { user, form }: Verified<AddForm>) -> PageResult {
    let checked = checked_events(&form);
    let parsed = EndpointUrl::parse(&form.url).and_then(|url| Ok((url, subscribed_events(&checked)?)));
    // A person typing a private address is told now, not by failed deliveries later (the API
    // accepts it, as documented: the operator may allow private addresses later).
    let allow_private = state.config.webhooks_out.allow_private;
    let parsed = parsed.and_then(|(url, events)| match reqwest::Url::parse(url.as_str()) {
        Ok(u) if crate::webhooks_out::check_host(&u, allow_private).is_err() => {
            Err(Invalid::new("url", "is a private, loopback or reserved address, which this server does not send to"))
        }
        _ => Ok((url, events)),
    });
    let (url, events) = match parsed {
        Ok(parsed) => parsed,
        Err(invalid) => {
            return list_page(&state, &user, (StatusCode::UNPROCESSABLE_ENTITY, None), Some((&form, invalid))).await;
        }
    };
    let endpoint = match db::create(&state.db, &user.merchant.id, &url, &events).await {
        Ok(endpoint) => endpoint,
        Err(crate::db::DbError::Conflict(message)) => {
            let invalid = Invalid::new("url", message);
            return list_page(&state, &user, (StatusCode::CONFLICT, None), Some((&form, invalid))).await;
        }
        Err(e) => return Err(e.into()),
    };
    db::reveal_once_to(&state.db, &user.merchant.id, &endpoint.id, &user.user_id).await?;
    Ok(Redirect::to(&format!("/dashboard/settings/webhooks/{}?secret=1#secret", endpoint.id)).into_response())
}

async fn endpoint_page(
    state: &AppState,
    user: &SignedIn,
    id: &str,
    query: &PageQuery,
    confirm_delete: bool,
) -> PageResult {
    let endpoint = db::get(&state.db, &user.merchant.id, id).await.map_err(Error::missing("webhook endpoint"))?;
    // Only the owner who made or rotated it, once: a reload does not show it again.
    let secret = match (&query.secret, user.is_owner()) {
        (Some(_), true) => db::reveal(&state.db, &user.merchant.id, id, &user.user_id).await?,
        _ => None,
    };
    let deliveries = db::deliveries(&state.db, &user.merchant.id, id, DELIVERIES_SHOWN).await?;
    let notice = query.notice.as_deref();
    let view = EndpointPage {
        chrome: Chrome::new(user, Section::Settings, notice),
        owner: user.is_owner(),
        endpoint: endpoint.into(),
        secret,
        deliveries: deliveries.into_iter().map(DeliveryRow::from).collect(),
        confirm_delete,
    };
    Ok(render(StatusCode::OK, &view))
}

/// `GET /dashboard/settings/webhooks/{id}`: the endpoint and its deliveries log.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, endpoint_id = %id))]
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> PageResult {
    endpoint_page(&state, &user, &id, &query, false).await
}

/// `GET /dashboard/settings/webhooks/{id}/delete`: asks first.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, endpoint_id = %id))]
pub async fn delete_confirm(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult {
    endpoint_page(&state, &user, &id, &PageQuery::default(), true).await
}

fn back(id: &str, notice: &str) -> PageResult {
    Ok(Redirect::to(&format!("/dashboard/settings/webhooks/{id}?notice={notice}")).into_response())
}

/// `POST /dashboard/settings/webhooks/{id}/rotate` (owner): a new secret, shown once; the old
/// one signs too for 24 hours.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, endpoint_id = %id))]
pub async fn rotate(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    let merchant_id = &form.user.merchant.id;
    db::rotate_secret(&state.db, merchant_id, &id).await.map_err(Error::missing("webhook endpoint"))?;
    db::reveal_once_to(&state.db, merchant_id, &id, &form.user.user_id).await?;
    Ok(Redirect::to(&format!("/dashboard/settings/webhooks/{id}?secret=1&notice=endpoint-secret-rotated#secret"))
        .into_response())
}

/// `POST /dashboard/settings/webhooks/{id}/enable` (owner): resumes it (also one Satchel
/// disabled for failing).
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, endpoint_id = %id))]
pub async fn enable(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    switch(&state, &form.user, &id, true).await?;
    back(&id, "endpoint-enabled")
}

/// `POST /dashboard/settings/webhooks/{id}/disable` (owner): pauses it.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, endpoint_id = %id))]
pub async fn disable(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    switch(&state, &form.user, &id, false).await?;
    back(&id, "endpoint-disabled")
}

async fn switch(state: &AppState, user: &SignedIn, id: &str, enabled: bool) -> Result<(), Error> {
    let change = EndpointChange { enabled: Some(enabled), ..EndpointChange::default() };
    db::update(&state.db, &user.merchant.id, id, &change).await.map_err(Error::missing("webhook endpoint"))?;
    Ok(())
}

/// `POST /dashboard/settings/webhooks/{id}/delete` (owner).
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, endpoint_id = %id))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    db::delete(&state.db, &form.user.merchant.id, &id).await.map_err(Error::missing("webhook endpoint"))?;
    Ok(Redirect::to("/dashboard/settings/webhooks?notice=endpoint-deleted").into_response())
}

/// `POST /dashboard/settings/webhooks/{id}/deliveries/{event_id}/resend` (owner).
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, endpoint_id = %id))]
pub async fn resend(
    State(state): State<AppState>,
    Path((id, event_id)): Path<(String, String)>,
    form: Verified<Empty>,
) -> PageResult {
    db::resend(&state.db, &form.user.merchant.id, &id, &event_id).await.map_err(Error::missing("webhook delivery"))?;
    state.events_out.wake();
    back(&id, "event-resent")
}

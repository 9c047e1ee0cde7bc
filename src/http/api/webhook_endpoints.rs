//! `/api/v1/webhook-endpoints`: the shop's own endpoints that Satchel signs events to
//! (Standard Webhooks), and each endpoint's deliveries.

use std::borrow::Cow;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::time::rfc3339;
use crate::db::webhook_endpoints::{self as db, Endpoint, EndpointChange, EventDelivery};
use crate::domain::{EVENT_TYPES, EndpointUrl, MAX_URL_CHARS, subscribed_events};
use crate::http::{ApiJson, ApiMerchant, Error, Result};
use crate::state::AppState;

/// The newest deliveries shown per endpoint.
const DELIVERIES_SHOWN: i64 = 100;

/// An endpoint as the API shows it (its secret only in the answer that created it).
#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointOut {
    id: String,
    url: String,
    /// Subscribed event types.
    #[schema(value_type = Vec<EventTypeName>)]
    events: Vec<String>,
    /// Whether events are sent to it.
    enabled: bool,
    /// When Satchel disabled it for failing (null when it did not); enabling it clears this.
    disabled_at: Option<String>,
    /// Why Satchel disabled it.
    disabled_reason: Option<String>,
    /// Until when the secret before the last rotation signs every delivery too (null: no
    /// overlap).
    previous_secret_until: Option<String>,
    created_at: String,
    updated_at: String,
}

/// The answer to `POST /api/v1/webhook-endpoints`: the endpoint and its signing secret.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookEndpointOut {
    #[serde(flatten)]
    endpoint: WebhookEndpointOut,
    /// `whsec_…`: verify every delivery's `webhook-signature` with it (Standard Webhooks).
    /// Shown only here: keep it now.
    secret: String,
}

/// One event queued for an endpoint, and how its delivery went.
#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    /// The event's id, sent as `webhook-id` (the same on every attempt).
    event_id: String,
    #[schema(value_type = EventTypeName)]
    event_type: String,
    created_at: String,
    /// `pending`, `delivered` or `failed` (no more attempts).
    status: String,
    attempts: i32,
    /// When the next attempt is due (null once delivered or failed).
    next_attempt_at: Option<String>,
    last_attempt_at: Option<String>,
    /// The HTTP status the endpoint last answered.
    last_response_status: Option<i32>,
    /// The first 1 KB of the endpoint's last answer, as text.
    last_response_body: Option<String>,
    /// Why the last attempt failed.
    last_error: Option<String>,
    delivered_at: Option<String>,
}

/// Body of `POST /api/v1/webhook-endpoints`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    #[schema(value_type = EndpointUrlText)]
    url: String,
    /// The event types to send (at least one).
    #[schema(value_type = Vec<EventTypeName>, min_items = 1)]
    events: Vec<String>,
}

/// Body of `PATCH /api/v1/webhook-endpoints/{id}`; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    #[schema(value_type = Option<EndpointUrlText>)]
    url: Option<String>,
    /// Replaces the subscribed event types (at least one).
    #[schema(value_type = Option<Vec<EventTypeName>>, min_items = 1)]
    events: Option<Vec<String>>,
    /// `false` pauses the endpoint: no events are queued for it; `true` resumes it (also one
    /// Satchel disabled for failing).
    enabled: Option<bool>,
}

/// `EndpointUrl::parse`, described by its safe part (the server also takes other http(s) URLs
/// the WHATWG parser reads, such as IP addresses): see `DeliveryRequest`'s link.
pub(crate) struct EndpointUrlText;

impl PartialSchema for EndpointUrlText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An http(s) URL without user name or password, at most 2000 characters."))
            .max_length(Some(MAX_URL_CHARS))
            .pattern(Some(r"^https?://([a-z0-9]+\.)*[a-z][a-z0-9]*(:[0-9]{1,4})?(/[A-Za-z0-9._~!$&()*+,;=:@/%?#-]*)?$"))
            .into()
    }
}

impl ToSchema for EndpointUrlText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EndpointUrlText")
    }
}

/// An event type a shop can subscribe to.
pub(crate) struct EventTypeName;

impl PartialSchema for EventTypeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(EVENT_TYPES)).into()
    }
}

impl ToSchema for EventTypeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventTypeName")
    }
}

impl From<Endpoint> for WebhookEndpointOut {
    fn from(e: Endpoint) -> WebhookEndpointOut {
        WebhookEndpointOut {
            events: e.event_types().into_iter().map(str::to_owned).collect(),
            id: e.id,
            url: e.url,
            enabled: e.enabled,
            disabled_at: e.disabled_at.map(rfc3339),
            disabled_reason: e.disabled_reason,
            previous_secret_until: e.previous_secret_until.filter(|u| *u > crate::domain::now_millis()).map(rfc3339),
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
        }
    }
}

impl From<EventDelivery> for WebhookDeliveryOut {
    fn from(d: EventDelivery) -> WebhookDeliveryOut {
        let pending = d.status == "pending";
        WebhookDeliveryOut {
            event_id: d.event_id,
            event_type: d.event_type,
            created_at: rfc3339(d.created_at),
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: pending.then(|| rfc3339(d.next_attempt_at)),
            last_attempt_at: d.last_attempt_at.map(rfc3339),
            last_response_status: d.last_response_status,
            last_response_body: d.last_response_body,
            last_error: d.last_error,
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

/// List the shop's webhook endpoints, oldest first.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints", operation_id = "list_webhook_endpoints",
    responses((status = 200, body = [WebhookEndpointOut])))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn list(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
) -> Result<Json<Vec<WebhookEndpointOut>>> {
    Ok(Json(db::list(&state.db, &merchant).await?.into_iter().map(WebhookEndpointOut::from).collect()))
}

/// Add a webhook endpoint (at most 10 per shop). The answer carries its signing secret, shown
/// only this once.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints", operation_id = "create_webhook_endpoint",
    request_body = CreateWebhookEndpoint,
    responses((status = 201, body = CreatedWebhookEndpointOut), (status = 409, description = "the shop has 10 endpoints already"),
              (status = 422, description = "a field is invalid")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn create(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiJson(body): ApiJson<CreateWebhookEndpoint>,
) -> Result<(StatusCode, Json<CreatedWebhookEndpointOut>)> {
    let url = EndpointUrl::parse(&body.url)?;
    let events = subscribed_events(&body.events)?;
    let endpoint = db::create(&state.db, &merchant, &url, &events).await.map_err(|e| match e {
        crate::db::DbError::Conflict(message) => Error::conflict("too_many_endpoints", message),
        e => e.into(),
    })?;
    let secret = endpoint.secret.clone();
    Ok((StatusCode::CREATED, Json(CreatedWebhookEndpointOut { endpoint: endpoint.into(), secret })))
}

/// Get a webhook endpoint (without its secret).
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}", operation_id = "get_webhook_endpoint",
    params(("id" = String, Path, description = "the endpoint's id")),
    responses((status = 200, body = WebhookEndpointOut), (status = 404, description = "no such endpoint")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, endpoint_id = %id))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpointOut>> {
    Ok(Json(db::get(&state.db, &merchant, &id).await.map_err(Error::missing("webhook endpoint"))?.into()))
}

/// Change an endpoint's URL or event types, or pause and resume it.
#[utoipa::path(patch, path = "/api/v1/webhook-endpoints/{id}", operation_id = "update_webhook_endpoint",
    request_body = UpdateWebhookEndpoint, params(("id" = String, Path, description = "the endpoint's id")),
    responses((status = 200, body = WebhookEndpointOut), (status = 404, description = "no such endpoint"),
              (status = 422, description = "a field is invalid")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, endpoint_id = %id))]
pub async fn update(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateWebhookEndpoint>,
) -> Result<Json<WebhookEndpointOut>> {
    let change = EndpointChange {
        url: body.url.as_deref().map(EndpointUrl::parse).transpose()?,
        events: body.events.as_deref().map(subscribed_events).transpose()?,
        enabled: body.enabled,
    };
    let endpoint = db::update(&state.db, &merchant, &id, &change).await.map_err(Error::missing("webhook endpoint"))?;
    Ok(Json(endpoint.into()))
}

/// Delete an endpoint: nothing more is sent to it, and its deliveries log goes with it.
#[utoipa::path(delete, path = "/api/v1/webhook-endpoints/{id}", operation_id = "delete_webhook_endpoint",
    params(("id" = String, Path, description = "the endpoint's id")),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such endpoint")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, endpoint_id = %id))]
pub async fn delete(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    db::delete(&state.db, &merchant, &id).await.map_err(Error::missing("webhook endpoint"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's newest 100 deliveries, newest first: one per event, with its attempts.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}/deliveries", operation_id = "list_webhook_deliveries",
    params(("id" = String, Path, description = "the endpoint's id")),
    responses((status = 200, body = [WebhookDeliveryOut]), (status = 404, description = "no such endpoint")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, endpoint_id = %id))]
pub async fn deliveries(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<Vec<WebhookDeliveryOut>>> {
    let rows = db::deliveries(&state.db, &merchant, &id, DELIVERIES_SHOWN)
        .await
        .map_err(Error::missing("webhook endpoint"))?;
    Ok(Json(rows.into_iter().map(WebhookDeliveryOut::from).collect()))
}

/// Give an endpoint a new signing secret, shown only in this answer. For 24 hours every
/// delivery is signed with both the new and the previous secret (two `v1,` signatures in
/// `webhook-signature`), so the receiver can switch without missing an event.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/rotate-secret", operation_id = "rotate_webhook_endpoint_secret",
    params(("id" = String, Path, description = "the endpoint's id")),
    responses((status = 200, body = CreatedWebhookEndpointOut), (status = 404, description = "no such endpoint")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, endpoint_id = %id))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<CreatedWebhookEndpointOut>> {
    let endpoint = db::rotate_secret(&state.db, &merchant, &id).await.map_err(Error::missing("webhook endpoint"))?;
    let secret = endpoint.secret.clone();
    Ok(Json(CreatedWebhookEndpointOut { endpoint: endpoint.into(), secret }))
}

/// Send an event to an endpoint again: the same event (same `webhook-id` and body), due now
/// with a fresh set of attempts, whether it was delivered, failed or is still pending.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/deliveries/{event_id}/resend",
    operation_id = "resend_webhook_delivery",
    params(("id" = String, Path, description = "the endpoint's id"),
           ("event_id" = String, Path, description = "the event's id (`evt_…`) in the endpoint's deliveries")),
    responses((status = 202, description = "queued again"), (status = 404, description = "no such endpoint or delivery")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, endpoint_id = %id, event_id = %event_id))]
pub async fn resend(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    db::resend(&state.db, &merchant, &id, &event_id).await.map_err(Error::missing("webhook delivery"))?;
    state.events_out.wake();
    Ok(StatusCode::ACCEPTED)
}

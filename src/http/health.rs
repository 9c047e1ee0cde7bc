//! Liveness, readiness and metrics for operators and load balancers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz`: the process is up.
#[tracing::instrument]
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database and the blob store both answer and the mail and events
/// workers run (in a web-only process, which runs neither, `"off"` and no matter), else 503
/// saying which.
#[tracing::instrument(skip_all)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.ping().await.map_err(|e| e.to_string());
    let blobs = state.blobs.check().await.map_err(|e| e.to_string());
    let runs_worker = state.instance.role().runs_worker();
    let worker = |running: bool| match (runs_worker, running) {
        (false, _) => "off",
        (true, true) => "ok",
        (true, false) => "stopped",
    };
    let (mail, events) = (worker(state.mail.worker_running()), worker(state.events_out.worker_running()));
    let ready = database.is_ok() && blobs.is_ok() && mail != "stopped" && events != "stopped";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let show = |r: Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            json!("unavailable")
        }
    };
    (status, Json(json!({ "database": show(database), "blobs": show(blobs), "mail": mail, "events": events })))
}

/// `GET /metrics`: Prometheus text format, for `Authorization: Bearer {metrics.token}`. With no
/// token configured the route answers 404, as if it did not exist.
#[tracing::instrument(skip_all)]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> crate::http::Result<impl axum::response::IntoResponse> {
    let Some(token) = &state.config.metrics.token else {
        return Err(crate::http::Error::NotFound("metrics"));
    };
    let given = headers.get(axum::http::header::AUTHORIZATION).map(|v| v.as_bytes());
    if !crate::telemetry::scrape_allowed(given, token.expose()) {
        return Err(crate::http::Error::Unauthorized);
    }
    match crate::db::emails::waiting(&state.db).await {
        Ok(n) => metrics::gauge!(crate::telemetry::EMAILS_WAITING).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "could not count waiting emails"),
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::telemetry::render()))
}

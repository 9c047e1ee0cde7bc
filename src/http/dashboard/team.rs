//! `GET /dashboard/team`: who signs in to this shop (the owner first) and the invites still
//! open; the owner invites by email (`POST /dashboard/team/invites`), cancels an invite and
//! removes a member. Members see the page, and are refused every change (403). The same
//! refusal guards the other routes that grant access to the shop ([`owner_only`]).

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::orders::{Badge, email_badge, when};
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::members;
use crate::domain::{Email, INVITE_LIFETIME_MS, now_millis};
use crate::http::Error;
use crate::http::pages::render;
use crate::state::AppState;
use crate::team::{self, TeamRefused};

struct PersonRow {
    id: String,
    email: String,
    role: &'static str,
    since: String,
    you: bool,
    removable: bool,
}

struct InviteRow {
    id: String,
    email: String,
    sent: String,
    expires: String,
    status: Badge,
}

#[derive(Template)]
#[template(path = "dashboard/team.html")]
struct TeamPage {
    chrome: Chrome,
    owner: bool,
    people: Vec<PersonRow>,
    invites: Vec<InviteRow>,
    /// The invite form's address, kept after a refusal.
    email: String,
    /// The field at fault ("" for a message about the whole form).
    field: &'static str,
    error: String,
    days: i64,
}

/// `?notice=` after a change.
#[derive(Deserialize, Default)]
pub struct TeamQuery {
    notice: Option<String>,
}

/// The invite form's field.
#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
}

/// The remove and cancel forms carry only their CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

async fn page(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<&str>,
    (email, field, error): (&str, &'static str, &str),
) -> PageResult {
    let now = now_millis();
    let people = members::list(&state.db, &user.merchant.id).await?;
    let invites = members::open_invites(&state.db, &user.merchant.id, now).await?;
    let view = TeamPage {
        chrome: Chrome::new(user, Section::Team, notice),
        owner: user.is_owner(),
        people: people
            .into_iter()
            .map(|m| PersonRow {
                removable: user.is_owner() && m.role == crate::domain::TeamRole::Member,
                you: m.id == user.user_id,
                role: m.role.label(),
                since: when(m.created_at),
                email: m.email,
                id: m.id,
            })
            .collect(),
        invites: invites
            .into_iter()
            .map(|i| InviteRow {
                sent: when(i.created_at),
                expires: when(i.expires_at),
                status: email_badge(i.email_status),
                email: i.email,
                id: i.id,
            })
            .collect(),
        email: email.to_owned(),
        field,
        error: error.to_owned(),
        days: INVITE_LIFETIME_MS / (24 * 3600 * 1000),
    };
    Ok(render(status, &view))
}

/// `GET /dashboard/team`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, user_id = %user.user_id))]
pub async fn show(State(state): State<AppState>, user: SignedIn, Query(query): Query<TeamQuery>) -> PageResult {
    page(&state, &user, StatusCode::OK, query.notice.as_deref(), ("", "", "")).await
}

const NOT_OWNER: &str = "Only the shop's owner can invite or remove people.";

/// `POST /dashboard/team/invites`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, user_id = %user.user_id))]
pub async fn invite(State(state): State<AppState>, Verified { user, form }: Verified<InviteForm>) -> PageResult {
    let typed = form.email.trim();
    if !user.is_owner() {
        return page(&state, &user, StatusCode::FORBIDDEN, None, (typed, "", NOT_OWNER)).await;
    }
    let Ok(email) = Email::parse("email", typed) else {
        let error = "Enter the address to invite, like name@example.com.";
        return page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, None, (typed, "email", error)).await;
    };
    let address = email.as_str();
    let (status, error) = match team::invite(&state, user.actor(), &email).await {
        Ok(_) => return Ok(Redirect::to("/dashboard/team?notice=invited").into_response()),
        Err(TeamRefused::AlreadyInvited) => (
            StatusCode::CONFLICT,
            format!("{address} already has an invite that still works. Cancel it below to send a new one."),
        ),
        Err(TeamRefused::AlreadyInTeam) => (StatusCode::CONFLICT, format!("{address} is already in your team.")),
        Err(TeamRefused::InAnotherShop) => (
            StatusCode::CONFLICT,
            format!(
                "{address} already signs in to another shop on this Satchel server, and an address signs in to \
                 one shop only. Ask them for another address."
            ),
        ),
        Err(TeamRefused::TooManyTries(wait)) => {
            let minutes = wait.as_secs().div_ceil(60);
            let error = format!("Too many invites were sent. Wait {minutes} minute(s) and try again.");
            let mut response = page(&state, &user, StatusCode::TOO_MANY_REQUESTS, None, (typed, "", &error)).await?;
            crate::http::retry_after(&mut response, wait);
            return Ok(response);
        }
        Err(e) => return Err(refusal(e).into()),
    };
    page(&state, &user, status, None, (typed, "email", &error)).await
}

/// `POST /dashboard/team/invites/{id}/cancel`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, user_id = %user.user_id))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Verified { user, form: Empty {} }: Verified<Empty>,
) -> PageResult {
    match team::cancel(&state, user.actor(), &id).await {
        Ok(()) => Ok(Redirect::to("/dashboard/team?notice=invite-cancelled").into_response()),
        Err(TeamRefused::NotOwner) => page(&state, &user, StatusCode::FORBIDDEN, None, ("", "", NOT_OWNER)).await,
        Err(e) => Err(refusal(e).into()),
    }
}

/// `POST /dashboard/team/members/{id}/remove`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, user_id = %user.user_id))]
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Verified { user, form: Empty {} }: Verified<Empty>,
) -> PageResult {
    match team::remove(&state, user.actor(), &id).await {
        Ok(()) => Ok(Redirect::to("/dashboard/team?notice=member-removed").into_response()),
        Err(TeamRefused::NotOwner) => page(&state, &user, StatusCode::FORBIDDEN, None, ("", "", NOT_OWNER)).await,
        Err(TeamRefused::IsOwner) => {
            let error = "The owner cannot be removed from the shop.";
            page(&state, &user, StatusCode::CONFLICT, None, ("", "", error)).await
        }
        Err(e) => Err(refusal(e).into()),
    }
}

/// The other refusals, as the one error.
fn refusal(e: TeamRefused) -> Error {
    match e {
        TeamRefused::NotFound(what) => Error::NotFound(what),
        TeamRefused::Invalid(invalid) => Error::Invalid(invalid),
        TeamRefused::Db(e) => e.into(),
        other => Error::internal(anyhow::anyhow!(other.to_string())),
    }
}

#[derive(Template)]
#[template(path = "dashboard/owner_only.html")]
struct OwnerOnlyPage {
    chrome: Chrome,
}

/// Middleware for the routes that grant access to the shop (API keys, the Stripe secret): a
/// member is answered 403, whatever the form says, so a removed member keeps nothing.
pub async fn owner_only(user: SignedIn, request: Request, next: Next) -> Response {
    if user.is_owner() {
        return next.run(request).await;
    }
    tracing::info!(merchant_id = %user.merchant.id, user_id = %user.user_id, "owner-only change refused to a member");
    render(StatusCode::FORBIDDEN, &OwnerOnlyPage { chrome: Chrome::new(&user, Section::Settings, None) })
}

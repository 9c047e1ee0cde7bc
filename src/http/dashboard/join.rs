//! `GET|POST /dashboard/join/{token}`: accepting an invite to a shop's team. The invited
//! person chooses their own password and is signed in to that shop; 410 when the link was
//! used, cancelled or expired. A signed-out form, held to the same origin and form token as
//! the sign-in form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::PageResult;
use super::guard::{COOKIE, COOKIE_PATH, same_origin};
use crate::domain::InviteToken;
use crate::http::client::ClientIp;
use crate::http::pages::render;
use crate::http::session::{form_token, form_token_ok, session_cookie};
use crate::state::AppState;
use crate::team::{self, TeamRefused};

#[derive(Template)]
#[template(path = "dashboard/join.html")]
struct JoinPage {
    action: String,
    /// The shop and the invited address, while the link works.
    invite: Option<(String, String)>,
    /// The address came to sign in to a shop since it was invited.
    taken: bool,
    error: String,
    field: &'static str,
    form_token: String,
}

/// The form's fields.
#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    form_token: String,
}

const FOREIGN_FORM: &str = "This form came from another site or an old page. Open the link again and retry.";

/// What the page shows, besides the form token.
struct View {
    invite: Option<(String, String)>,
    taken: bool,
    error: (&'static str, String),
}

fn join_page(state: &AppState, jar: CookieJar, status: StatusCode, token: &str, view: View) -> Response {
    let (jar, form_token) = form_token(state, jar);
    let page = JoinPage {
        action: format!("/dashboard/join/{token}"),
        invite: view.invite,
        taken: view.taken,
        field: view.error.0,
        error: view.error.1,
        form_token,
    };
    (jar, render(status, &page)).into_response()
}

fn gone(state: &AppState, jar: CookieJar, token: &str) -> Response {
    join_page(state, jar, StatusCode::GONE, token, View { invite: None, taken: false, error: ("", String::new()) })
}

/// The invite's shop and address while the link works.
async fn invite_of(state: &AppState, token: &str) -> Result<Option<(String, String)>, crate::db::DbError> {
    let Some(parsed) = InviteToken::parse(token) else { return Ok(None) };
    Ok(team::live_invite(state, &parsed).await?.map(|(invite, shop)| (shop, invite.email)))
}

/// `GET /dashboard/join/{token}`: the form while the link works (looking uses nothing up),
/// 410 otherwise.
#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, jar: CookieJar, Path(token): Path<String>) -> PageResult {
    match invite_of(&state, &token).await? {
        Some(invite) => {
            let view = View { invite: Some(invite), taken: false, error: ("", String::new()) };
            Ok(join_page(&state, jar, StatusCode::OK, &token, view))
        }
        None => Ok(gone(&state, jar, &token)),
    }
}

/// `POST /dashboard/join/{token}`: joins the shop with the chosen password and signs in.
#[tracing::instrument(skip_all)]
pub async fn accept(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Path(token): Path<String>,
    axum::Form(form): axum::Form<JoinForm>,
) -> PageResult {
    let Some(invite) = invite_of(&state, &token).await? else { return Ok(gone(&state, jar, &token)) };
    let again = |jar, status, field, error: &str| {
        let view = View { invite: Some(invite.clone()), taken: false, error: (field, error.to_owned()) };
        join_page(&state, jar, status, &token, view)
    };
    if !same_origin(&headers, &state.public_url) || !form_token_ok(&state, &jar, &form.form_token) {
        return Ok(again(jar, StatusCode::FORBIDDEN, "", FOREIGN_FORM));
    }
    if form.new_password != form.confirm_password {
        let error = "The two passwords differ. Type the password twice.";
        return Ok(again(jar, StatusCode::UNPROCESSABLE_ENTITY, "confirm_password", error));
    }
    let Some(parsed) = InviteToken::parse(&token) else { return Ok(gone(&state, jar, &token)) };
    match team::accept(&state, &client.0, &parsed, &form.new_password).await {
        Ok((_, secret)) => {
            let jar = jar.add(session_cookie(&state, COOKIE, COOKIE_PATH.to_owned(), secret));
            Ok((jar, Redirect::to("/dashboard?notice=joined")).into_response())
        }
        Err(TeamRefused::Invalid(_)) => {
            Ok(again(jar, StatusCode::UNPROCESSABLE_ENTITY, "new_password", "Use at least 10 characters."))
        }
        Err(TeamRefused::LinkGone) => Ok(gone(&state, jar, &token)),
        Err(TeamRefused::AddressTaken) => {
            let view = View { invite: Some(invite.clone()), taken: true, error: ("", String::new()) };
            Ok(join_page(&state, jar, StatusCode::CONFLICT, &token, view))
        }
        Err(TeamRefused::TooManyTries(wait)) => {
            let minutes = wait.as_secs().div_ceil(60);
            let error = format!("Too many tries from your network. Wait {minutes} minute(s) and try again.");
            let mut response = again(jar, StatusCode::TOO_MANY_REQUESTS, "", &error);
            crate::http::retry_after(&mut response, wait);
            Ok(response)
        }
        Err(TeamRefused::Db(e)) => Err(e.into()),
        Err(e) => Err(crate::http::PageError::internal(anyhow::anyhow!(e.to_string()))),
    }
}

//! `GET /dashboard/mailbox`: with no SMTP server configured, the emails this merchant's shop
//! wrote to the file mailbox (newest first), each opened as a mail client would show it; with
//! SMTP, where mail goes and the outbox: every email's state.
//!
//! Mailbox files are named by email id, so the list comes from the `emails` table filtered by
//! merchant (tenants are walled off) and a file is read only for an email of this merchant.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::orders::{Badge, Pager, email_badge, when};
use super::{Chrome, PageResult, Section, SignedIn};
use crate::db::emails::{self as db_emails, EmailRow};
use crate::db::page::PageAt;
use crate::domain::{EmailKind, EmailStatus};
use crate::http::Error;
use crate::http::pages::render;
use crate::mail::{Mailbox, Transport, parse};
use crate::state::AppState;

struct MailRow {
    href: Option<String>,
    to: String,
    subject: String,
    kind: &'static str,
    when: String,
    status: Badge,
    attempts: i64,
    error: String,
    order_href: Option<String>,
}

fn row(e: EmailRow, mailbox: &Mailbox) -> MailRow {
    // A reset email's link would let anyone signed in to the shop take that user's account, an
    // invite's would let them join under another person's address: they are listed, never
    // opened here (the operator reads them with `satchel mail show`).
    let readable = e.status == EmailStatus::Sent && !holds_a_key(e.kind) && mailbox.holds(&e.id);
    MailRow {
        href: readable.then(|| format!("/dashboard/mailbox/{}", e.id)),
        subject: if e.subject.is_empty() { "(not written yet)".to_owned() } else { e.subject },
        kind: match e.kind {
            EmailKind::Purchase => "Purchase",
            EmailKind::Resend => "Resent copy",
            EmailKind::SignIn => "Portal sign-in",
            EmailKind::PasswordReset => "Password reset",
            EmailKind::TeamInvite => "Team invite",
            EmailKind::EndpointDisabled => "Webhook endpoint disabled",
            EmailKind::ReleaseUpdate => "Update email",
        },
        when: when(e.sent_at.unwrap_or(e.created_at)),
        status: email_badge(Some(e.status)),
        attempts: e.attempts,
        error: e
            .last_error
            .filter(|_| matches!(e.status, EmailStatus::Retrying | EmailStatus::Failed))
            .unwrap_or_default(),
        order_href: Some(&e.order_id).filter(|id| !id.is_empty()).map(|id| format!("/dashboard/orders/{id}")),
        to: e.to_address,
    }
}

/// Emails whose link gives access to the dashboard (reset, invite).
fn holds_a_key(kind: EmailKind) -> bool {
    matches!(kind, EmailKind::PasswordReset | EmailKind::TeamInvite)
}

/// The list's query string.
#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/mailbox.html")]
struct MailboxPage {
    chrome: Chrome,
    /// `host:port` when mail goes to an SMTP server.
    smtp: Option<String>,
    folder: String,
    rows: Vec<MailRow>,
    pager: Pager,
    test_mode: bool,
}

/// `GET /dashboard/mailbox`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<ListQuery>) -> PageResult {
    let mailbox = Mailbox::new(state.config.mailbox_dir());
    let smtp = match state.mail.transport() {
        Transport::Smtp { server, .. } => Some(server.clone()),
        Transport::Mailbox(_) => None,
    };
    let at = PageAt::from_query(q.after.as_deref(), q.before.as_deref());
    let page = db_emails::page(&state.db, &user.merchant.id, smtp.is_none(), &at).await?;
    let rows: Vec<MailRow> = page.rows.iter().cloned().map(|e| row(e, &mailbox)).collect();
    let view = MailboxPage {
        chrome: Chrome::new(&user, Section::Mailbox, None),
        folder: mailbox.dir().display().to_string(),
        pager: Pager::of(&page, "/dashboard/mailbox?"),
        // Emails sent before an SMTP server was configured have no file: only the mailbox's own
        // are listed in mailbox mode.
        rows: if smtp.is_some() { rows } else { rows.into_iter().filter(|r| r.href.is_some()).collect() },
        test_mode: user.merchant.test_mode,
        smtp,
    };
    Ok(render(StatusCode::OK, &view))
}

/// A piece of the plain text part: text, or a link.
struct TextPiece {
    text: String,
    href: Option<String>,
}

/// Splits `text` so its `http(s)://` links can be made clickable (the rest stays text).
fn linkify(text: &str) -> Vec<TextPiece> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min() {
        let tail = &rest[start..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')).unwrap_or(tail.len());
        let link = tail[..end].trim_end_matches(['.', ',', ')', ';', ':']);
        pieces.push(TextPiece { text: rest[..start].to_owned(), href: None });
        pieces.push(TextPiece { text: link.to_owned(), href: Some(link.to_owned()) });
        rest = &rest[start + link.len()..];
    }
    pieces.push(TextPiece { text: rest.to_owned(), href: None });
    pieces
}

/// The HTML part as the iframe's document: links open in a new tab, and nothing but images
/// and inline styles may load (the sandbox already forbids scripts, forms and same-origin).
pub(super) fn framed(html: &str) -> String {
    let guard = "<base target=\"_blank\"><meta http-equiv=\"Content-Security-Policy\" \
                 content=\"default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'\">";
    match html.to_ascii_lowercase().find("<head>") {
        Some(i) => format!("{}{guard}{}", &html[..i + 6], &html[i + 6..]),
        None => format!("{guard}{html}"),
    }
}

#[derive(Template)]
#[template(path = "dashboard/mail.html")]
struct MailPage {
    chrome: Chrome,
    id: String,
    subject: String,
    from: String,
    to: String,
    date: String,
    html: Option<String>,
    text: Option<Vec<TextPiece>>,
    order_href: Option<String>,
}

/// The raw message of one of the merchant's emails, if it is in the mailbox.
async fn raw_of(state: &AppState, user: &SignedIn, id: &str) -> PageResult<(EmailRow, String)> {
    let email = db_emails::of_merchant(&state.db, &user.merchant.id, id).await.map_err(Error::missing("email"))?;
    if holds_a_key(email.kind) {
        return Err(Error::NotFound("email").into());
    }
    let mailbox = Mailbox::new(state.config.mailbox_dir());
    let raw = mailbox.read_exact(&email.id).await.map_err(Error::internal)?.ok_or(Error::NotFound("email"))?;
    Ok((email, raw))
}

/// `GET /dashboard/mailbox/{id}`: one email, as a mail client shows it.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, email_id = %id))]
pub async fn show(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult {
    let (email, raw) = raw_of(&state, &user, &id).await?;
    let message = parse::read(&raw);
    let view = MailPage {
        chrome: Chrome::new(&user, Section::Mailbox, None),
        subject: message.subject,
        from: message.from,
        to: message.to,
        date: message.date,
        html: message.html.as_deref().map(framed),
        text: message.text.as_deref().map(linkify),
        order_href: Some(&email.order_id).filter(|id| !id.is_empty()).map(|id| format!("/dashboard/orders/{id}")),
        id: email.id,
    };
    Ok(render(StatusCode::OK, &view))
}

/// `GET /dashboard/mailbox/{id}/source`: the message as written, as plain text.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, email_id = %id))]
pub async fn source(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult {
    let (_, raw) = raw_of(&state, &user, &id).await?;
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, raw).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_text_become_pieces() {
        let pieces = linkify("Get it: https://shop.example/d/abc.\nPortal (http://x.example/p)");
        let links: Vec<&str> = pieces.iter().filter_map(|p| p.href.as_deref()).collect();
        assert_eq!(links, ["https://shop.example/d/abc", "http://x.example/p"]);
        let text: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "Get it: https://shop.example/d/abc.\nPortal (http://x.example/p)");
    }

    #[test]
    fn the_frame_gets_its_guard_inside_head() {
        assert!(framed("<html><HEAD><title>t</title>").starts_with("<html><HEAD><base target=\"_blank\">"));
        assert!(framed("<p>hi</p>").ends_with("<p>hi</p>"));
    }
}

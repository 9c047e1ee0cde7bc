//! `GET /dashboard/orders/{id}`: one order as it was frozen at payment, its link, emails,
//! downloads (refused ones too) and payment events; and its actions: "Resend email", "Restore
//! access" (POST, then back to the page with a notice). Revoking, resetting a file's downloads
//! and extending the link are in [`super::order_support`].

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::orders::{Badge, email_badge, order_badge, order_ref, provider_name, when};
use super::overview::NoticeQuery;
use super::sign_in::Empty;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::db::downloads::DownloadEventRow;
use crate::db::emails::{self as db_emails, EmailRow};
use crate::db::orders::{self as db_orders, OrderDetail};
use crate::db::payment_events::{self, PaymentEventRow};
use crate::db::releases::{self as db_releases, OwnedRelease};
use crate::domain::{
    DeliveryMode, EmailKind, EmailStatus, OrderStatus, human_date, human_price, human_size, now_millis,
};
use crate::http::Error;
use crate::http::pages::render;
use crate::mail::Mailbox;
use crate::orders::{self, Resent};
use crate::state::AppState;

/// Download events shown (the latest).
const DOWNLOADS_SHOWN: i64 = 100;

struct ItemView {
    name: String,
    quantity: i64,
    /// The releases the item owns, oldest first: "Release 1 · bought", "2.0 · granted on …".
    releases: Vec<String>,
    files: Vec<FileView>,
    link: Option<String>,
    link_clicks: i64,
    instructions: String,
}

struct FileView {
    position: i64,
    name: String,
    size: String,
    downloads: String,
    /// Capped, and at least one download used: "Reset downloads" is offered.
    resettable: bool,
    /// The release it came from, when the item owns more than one.
    release: Option<String>,
}

struct EmailView {
    kind: &'static str,
    to: String,
    subject: String,
    status: Badge,
    attempts: i64,
    error: String,
    when: String,
    mailbox_href: Option<String>,
}

struct DownloadView {
    at: String,
    what: String,
    /// The release the file served came from ("Release 2 · 2.0").
    release: Option<String>,
    status: i64,
    /// What the status meant to the customer ("Served", "Refused"…).
    answer: &'static str,
    refused: bool,
    bytes: String,
    counted: bool,
    ip: String,
    agent: String,
}

struct EventView {
    received: String,
    provider: &'static str,
    event_type: String,
    event_id: String,
    status: String,
}

#[derive(Template)]
#[template(path = "dashboard/order.html")]
struct OrderPage {
    chrome: Chrome,
    error: Option<String>,
    id: String,
    reference: String,
    status: Badge,
    revoked: bool,
    paid_on: String,
    total: String,
    provider: &'static str,
    payment_id: String,
    customer_name: String,
    customer_email: String,
    customer_href: String,
    delivery_url: String,
    refund: Option<String>,
    access: String,
    expiry: String,
    expired: bool,
    /// The "Extend link" button's words, when the link expires at all.
    extend: Option<String>,
    max_downloads: String,
    items: Vec<ItemView>,
    emails: Vec<EmailView>,
    downloads: Vec<DownloadView>,
    refused_kept: i64,
    events: Vec<EventView>,
    sharing: super::order_sharing::SharingCard,
}

fn email_view(e: EmailRow, mailbox: &Mailbox) -> EmailView {
    let error = match e.status {
        EmailStatus::Retrying => format!("{} Next try {}.", e.last_error.unwrap_or_default(), when(e.next_attempt_at)),
        EmailStatus::Failed => e.last_error.unwrap_or_default(),
        _ => String::new(),
    };
    EmailView {
        kind: match e.kind {
            EmailKind::Purchase => "Purchase email",
            EmailKind::Resend => "Resent copy",
            EmailKind::ReleaseUpdate => "Update email",
            EmailKind::SignIn | EmailKind::PasswordReset | EmailKind::TeamInvite | EmailKind::EndpointDisabled => {
                "Email"
            }
        },
        mailbox_href: (e.status == EmailStatus::Sent && mailbox.holds(&e.id))
            .then(|| format!("/dashboard/mailbox/{}", e.id)),
        when: when(e.sent_at.unwrap_or(e.created_at)),
        status: email_badge(Some(e.status)),
        attempts: e.attempts,
        to: e.to_address,
        subject: e.subject,
        error: error.trim().to_owned(),
    }
}

/// "Release 2", with its label when it has one ("Release 2 · 2.0").
fn release_name<'a>(number: i64, owned: impl IntoIterator<Item = &'a OwnedRelease>) -> String {
    match owned.into_iter().find(|r| r.number == number).and_then(|r| r.label.as_deref()) {
        Some(label) => format!("Release {number} · {label}"),
        None => format!("Release {number}"),
    }
}

/// How the order came to own release `r`.
fn owned_line(r: &OwnedRelease) -> String {
    let name = release_name(r.number, [r]);
    if r.granted { format!("{name}: granted on {}", human_date(r.granted_at)) } else { format!("{name}: bought") }
}

fn download_view(d: DownloadEventRow, detail: &OrderDetail, owned: &[OwnedRelease]) -> DownloadView {
    let item_of_file =
        d.file_position.and_then(|n| detail.files.iter().find(|f| f.position == n)).map(|f| f.item_position);
    let of_item = owned.iter().filter(|r| Some(r.item_position) == item_of_file);
    let release = d.release_number.map(|n| release_name(n, of_item));
    let what = match (d.file_position, d.item_position) {
        (Some(n), _) => {
            detail.files.iter().find(|f| f.position == n).map_or(format!("File {n}"), |f| f.display_name.clone())
        }
        (None, Some(n)) => detail
            .items
            .iter()
            .find(|i| i.position == n)
            .map_or(format!("Link {n}"), |i| format!("Link of {}", i.product_name)),
        // Only a refused "Download all" names no file (a served one is logged per file).
        (None, None) => "Download all (ZIP)".to_owned(),
    };
    let answer = match d.status {
        200 | 206 => "Served",
        302 | 307 => "Sent on",
        304 => "Not changed",
        410 => "Refused",
        s if s >= 500 => "Failed",
        _ => "Refused",
    };
    DownloadView {
        at: when(d.at),
        what,
        release,
        status: d.status,
        answer,
        refused: d.status >= 400,
        bytes: human_size(d.bytes_requested),
        counted: d.counted,
        ip: d.ip,
        agent: d.user_agent,
    }
}

fn event_view(e: PaymentEventRow) -> EventView {
    EventView {
        received: when(e.received_at),
        provider: provider_name(e.provider),
        event_type: e.event_type,
        event_id: e.event_id,
        status: if e.detail.is_empty() { e.status.to_string() } else { format!("{} ({})", e.status, e.detail) },
    }
}

/// The page of order `id`; a refused action comes back with its status and reason on top.
async fn page(
    state: &AppState,
    user: &SignedIn,
    id: &str,
    notice: Option<&str>,
    refused: Option<(StatusCode, String)>,
) -> PageResult {
    let merchant = &user.merchant.id;
    let detail = db_orders::get(&state.db, merchant, id).await.map_err(Error::missing("order"))?;
    let token = orders::token_of(&state.secrets.key(), &detail.order);
    let events = payment_events::events_of_order(&state.db, merchant, id).await?;
    let downloads = crate::db::downloads::of_order(&state.db, id, DOWNLOADS_SHOWN).await?;
    let emails = db_emails::of_order(&state.db, id).await?;
    let owned = db_releases::owned_by(&state.db, &[id]).await?;
    let mailbox = Mailbox::new(state.config.mailbox_dir());
    let o = &detail.order;
    let max = o.max_downloads_per_file;
    let items = detail
        .items
        .iter()
        .map(|item| {
            let of_item: Vec<&OwnedRelease> = owned.iter().filter(|r| r.item_position == item.position).collect();
            let several = of_item.len() > 1;
            (item, of_item, several)
        })
        .map(|(item, of_item, several)| ItemView {
            name: item.product_name.clone(),
            quantity: item.quantity,
            releases: of_item.iter().map(|r| owned_line(r)).collect(),
            files: detail
                .files_of(item.position)
                .map(|f| FileView {
                    position: f.position,
                    name: f.display_name.clone(),
                    size: human_size(f.size),
                    downloads: max.map_or(f.download_count.to_string(), |m| format!("{} of {m}", f.download_count)),
                    resettable: max.is_some() && f.download_count > 0,
                    release: f.release_number.filter(|_| several).map(|n| release_name(n, of_item.iter().copied())),
                })
                .collect(),
            link: item.external_url.clone().filter(|_| item.delivery_mode == DeliveryMode::ExternalLink),
            link_clicks: item.link_clicks,
            instructions: item.instructions.clone(),
        })
        .collect();
    let revoked = o.status == OrderStatus::Revoked;
    let access = match (o.revoked_at, o.refunded_at) {
        (Some(at), _) => {
            format!(
                "Revoked on {}: the customer's links show a page saying so until you restore access.",
                human_date(at)
            )
        }
        (None, Some(_)) => "Kept after the refund: turn on “revoke on refund” in Settings to change that for \
                            future refunds, or revoke this order by hand."
            .to_owned(),
        (None, None) if o.link_locked_at.is_some() => {
            "The email link is locked for sharing (see Link sharing); the customer's purchases page still works."
                .to_owned()
        }
        (None, None) if o.link_expires_at.is_some_and(|at| at <= now_millis()) => {
            "The link has expired: extend it to let the customer download again.".to_owned()
        }
        (None, None) => "The customer's links work.".to_owned(),
    };
    let sharing = super::order_sharing::card(state, merchant, o, revoked).await?;
    let (policy, now) = (user.merchant.link_expiry_seconds, now_millis());
    let (status, error) = refused.map_or((StatusCode::OK, None), |(status, why)| (status, Some(why)));
    let view = OrderPage {
        chrome: Chrome::new(user, Section::Orders, notice),
        error,
        reference: order_ref(&o.id),
        status: order_badge(o.status),
        revoked,
        paid_on: when(o.created_at),
        total: human_price(o.amount_minor, &o.currency),
        provider: provider_name(o.provider),
        payment_id: o.payment_id.clone(),
        customer_name: o.customer_name.clone(),
        customer_email: o.customer_email.clone(),
        customer_href: format!("/dashboard/customers/{}", o.customer_id),
        delivery_url: format!("{}/d/{}", state.public_url, token.expose()),
        refund: o.refunded_at.map(|at| format!("Refunded on {}", when(at))),
        access,
        expiry: o.link_expires_at.map_or("Never".to_owned(), when),
        expired: o.link_expires_at.is_some_and(|at| at <= now),
        // Offered only when it would give the link more time than it has.
        extend: o.link_expires_at.filter(|at| orders::worth_extending(policy, *at, now)).map(|_| {
            match orders::extended_until(policy, now) {
                Some(until) => format!("Extend link until {}", human_date(until)),
                None => "Make the link permanent".to_owned(),
            }
        }),
        max_downloads: max.map_or("Unlimited".to_owned(), |m| format!("{m} per file")),
        items,
        emails: emails.into_iter().map(|e| email_view(e, &mailbox)).collect(),
        downloads: downloads.into_iter().map(|d| download_view(d, &detail, &owned)).collect(),
        refused_kept: crate::db::downloads::REFUSED_KEPT,
        events: events.into_iter().map(event_view).collect(),
        sharing,
        id: o.id.clone(),
    };
    Ok(render(status, &view))
}

/// `GET /dashboard/orders/{id}`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, order_id = %id))]
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    page(&state, &user, &id, q.notice.as_deref(), None).await
}

/// The order page again with a refusal (`status`, why) on top.
pub(super) async fn refused(state: &AppState, user: &SignedIn, id: &str, refusal: (StatusCode, String)) -> PageResult {
    page(state, user, id, None, Some(refusal)).await
}

/// Back to the order page with the notice named `notice`.
pub(super) fn back(id: &str, notice: &str) -> PageResult {
    Ok(Redirect::to(&format!("/dashboard/orders/{id}?notice={notice}")).into_response())
}

/// `POST /dashboard/orders/{id}/resend`: "Resend email". Past the hourly limit the order page
/// comes back (429) saying when another copy can go.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id))]
pub async fn resend(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    match orders::resend_purchase_email(&state, &form.user.merchant.id, &id).await? {
        Resent::Queued(_) => back(&id, "resent"),
        Resent::Limited { message, .. } => {
            let mut message = message;
            if let Some(first) = message.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            page(&state, &form.user, &id, None, Some((StatusCode::TOO_MANY_REQUESTS, format!("{message}.")))).await
        }
    }
}

/// `POST /dashboard/orders/{id}/restore`: "Restore access".
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, order_id = %id))]
pub async fn restore(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    orders::restore(&state, &form.user.merchant.id, &id).await?;
    back(&id, "restored")
}

//! What the orders API answers: an order, its frozen delivery, emails, events and downloads.

use serde::Serialize;
use utoipa::ToSchema;

use super::super::releases::OrderReleaseOut;
use super::super::time::rfc3339;
use crate::db::emails::{self as db_emails, EmailRow};
use crate::db::orders::{Order, OrderDetail};
use crate::db::payment_events::{self, PaymentEventRow};
use crate::domain::EmailStatus;
use crate::http::Result;
use crate::state::AppState;

/// An order in a list.
#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    id: String,
    /// `paid`, `refunded` or `revoked`.
    status: String,
    customer_email: String,
    customer_name: String,
    provider: String,
    payment_id: String,
    amount_minor: i64,
    currency: String,
    created_at: String,
    refunded_at: Option<String>,
    revoked_at: Option<String>,
    /// When the email link stops working (null: never).
    link_expires_at: Option<String>,
    /// Downloads allowed per file through the email link (null: unlimited).
    max_downloads_per_file: Option<i64>,
    /// A test order (the test checkout, or a provider's test mode): not a real sale, left out
    /// of counts and revenue.
    test: bool,
}

/// An order with its frozen delivery, download counts and events.
#[derive(Serialize, ToSchema)]
pub struct OrderDetailOut {
    #[serde(flatten)]
    order: OrderOut,
    /// The customer's delivery page (`/d/{token}`).
    delivery_url: String,
    items: Vec<ItemOut>,
    files: Vec<FileOut>,
    /// The releases of its products the order owns: the one each item bought (an item whose
    /// product had no release is not listed). Its files are `files`, frozen at purchase.
    releases: Vec<OrderReleaseOut>,
    payment_events: Vec<EventOut>,
    downloads: Vec<DownloadOut>,
    /// The order's emails (the purchase email, then any resends), oldest first.
    emails: Vec<EmailOut>,
}

/// An email of an order and where it stands.
#[derive(Serialize, ToSchema)]
pub struct EmailOut {
    id: String,
    /// `purchase` or `resend`.
    kind: String,
    to: String,
    /// Empty until the first attempt renders it.
    subject: String,
    /// `queued`, `sending`, `sent`, `retrying` or `failed`.
    status: String,
    /// Attempts made so far.
    attempts: i64,
    /// Why the last failed attempt failed (kept after a later success).
    last_error: Option<String>,
    /// When the next attempt is due, while queued or retrying.
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    created_at: String,
}

impl From<EmailRow> for EmailOut {
    fn from(e: EmailRow) -> EmailOut {
        let pending = matches!(e.status, EmailStatus::Queued | EmailStatus::Retrying);
        EmailOut {
            id: e.id,
            kind: e.kind.to_string(),
            to: e.to_address,
            subject: e.subject,
            status: e.status.to_string(),
            attempts: e.attempts,
            last_error: e.last_error,
            next_attempt_at: pending.then(|| rfc3339(e.next_attempt_at)),
            sent_at: e.sent_at.map(rfc3339),
            created_at: rfc3339(e.created_at),
        }
    }
}

/// A product as frozen into the order.
#[derive(Serialize, ToSchema)]
pub struct ItemOut {
    position: i64,
    product_id: String,
    product_name: String,
    quantity: i64,
    delivery_mode: String,
    external_url: Option<String>,
    instructions: String,
    link_clicks: i64,
}

/// A file as frozen into the order.
#[derive(Serialize, ToSchema)]
#[schema(as = OrderFile)]
pub struct FileOut {
    /// `/d/{token}/files/{position}`.
    position: i64,
    item_position: i64,
    file_id: String,
    display_name: String,
    size: i64,
    content_type: String,
    sha256: String,
    download_count: i64,
}

/// A payment event.
#[derive(Serialize, ToSchema)]
pub struct EventOut {
    id: String,
    provider: String,
    event_id: String,
    event_type: String,
    payment_id: Option<String>,
    /// `processed`, `refund`, `unmatched`.
    status: String,
    detail: String,
    order_id: Option<String>,
    received_at: String,
    /// The event body as received.
    payload: String,
}

/// A download attempt.
#[derive(Serialize, ToSchema)]
pub struct DownloadOut {
    file_position: Option<i64>,
    item_position: Option<i64>,
    at: String,
    ip: String,
    user_agent: String,
    status: i64,
    range_start: Option<i64>,
    bytes_requested: i64,
    counted: bool,
}

impl From<Order> for OrderOut {
    fn from(o: Order) -> OrderOut {
        OrderOut {
            id: o.id,
            status: o.status.to_string(),
            customer_email: o.customer_email,
            customer_name: o.customer_name,
            provider: o.provider.to_string(),
            payment_id: o.payment_id,
            amount_minor: o.amount_minor,
            currency: o.currency,
            created_at: rfc3339(o.created_at),
            refunded_at: o.refunded_at.map(rfc3339),
            revoked_at: o.revoked_at.map(rfc3339),
            link_expires_at: o.link_expires_at.map(rfc3339),
            max_downloads_per_file: o.max_downloads_per_file,
            test: o.test,
        }
    }
}

impl From<PaymentEventRow> for EventOut {
    fn from(e: PaymentEventRow) -> EventOut {
        EventOut {
            id: e.id,
            provider: e.provider.to_string(),
            event_id: e.event_id,
            event_type: e.event_type,
            payment_id: e.payment_id,
            status: e.status.to_string(),
            detail: e.detail,
            order_id: e.order_id,
            received_at: rfc3339(e.received_at),
            payload: e.payload,
        }
    }
}

/// The detail of an order as the API shows it.
pub(super) async fn detail_out(state: &AppState, merchant: &str, detail: OrderDetail) -> Result<OrderDetailOut> {
    let token = crate::orders::token_of(&state.secrets.key(), &detail.order);
    let events = payment_events::events_of_order(&state.db, merchant, &detail.order.id).await?;
    let downloads = crate::db::downloads::of_order(&state.db, &detail.order.id, 100).await?;
    let emails = db_emails::of_order(&state.db, &detail.order.id).await?;
    let releases = crate::db::releases::of_order(&state.db, &detail.order.id).await?;
    Ok(OrderDetailOut {
        releases: releases.into_iter().map(OrderReleaseOut::from).collect(),
        emails: emails.into_iter().map(EmailOut::from).collect(),
        delivery_url: format!("{}/d/{}", state.public_url, token.expose()),
        items: detail
            .items
            .into_iter()
            .map(|i| ItemOut {
                position: i.position,
                product_id: i.product_id,
                product_name: i.product_name,
                quantity: i.quantity,
                delivery_mode: i.delivery_mode.to_string(),
                external_url: i.external_url,
                instructions: i.instructions,
                link_clicks: i.link_clicks,
            })
            .collect(),
        files: detail
            .files
            .into_iter()
            .map(|f| FileOut {
                position: f.position,
                item_position: f.item_position,
                file_id: f.blob_id,
                display_name: f.display_name,
                size: f.size,
                content_type: f.content_type,
                sha256: f.sha256,
                download_count: f.download_count,
            })
            .collect(),
        payment_events: events.into_iter().map(EventOut::from).collect(),
        downloads: downloads
            .into_iter()
            .map(|d| DownloadOut {
                file_position: d.file_position,
                item_position: d.item_position,
                at: rfc3339(d.at),
                ip: d.ip,
                user_agent: d.user_agent,
                status: d.status,
                range_start: d.range_start,
                bytes_requested: d.bytes_requested,
                counted: d.counted,
            })
            .collect(),
        order: detail.order.into(),
    })
}

//! The update email of a published release: the merchant's subject and message, the
//! changelog, the order's delivery page, and the unsubscribe link (RFC 8058 one-click
//! `List-Unsubscribe`, and a visible link). Rendered when the outbox sends it, from the order
//! and the release as stored; the dashboard's preview renders it with this same code.

use askama::Template;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::MailError;
use super::message::{PurchaseView, TEST_PREFIX};
use crate::db::emails::EmailRow;
use crate::db::merchants::{self, Merchant};
use crate::db::orders::{self, OrderDetail};
use crate::db::releases::{self as db_releases, Release};
use crate::db::update_emails;
use crate::domain::{ChangelogHtml, UnsubscribeToken, changelog_html, now_millis};
use crate::state::AppState;

/// What the update email shows.
#[derive(Debug, Clone)]
pub struct UpdateView {
    /// The purchase email's view of the order: the shop's brand, the customer, the links.
    pub order: PurchaseView,
    /// Subject line (the merchant's, `[Test] ` first for a test order).
    pub subject: String,
    /// The product whose release it announces.
    pub product: String,
    /// The release's label ("2.0"), if any.
    pub label: Option<String>,
    /// The merchant's message, as written (plain text).
    pub message: String,
    /// The changelog's Markdown source (the text part shows it as written).
    pub changelog: Option<String>,
    /// The changelog rendered to safe HTML.
    pub changelog_html: Option<ChangelogHtml>,
    /// `/unsubscribe/{token}`.
    pub unsubscribe_url: String,
}

#[derive(Template)]
#[template(path = "mail/release_update.html")]
struct HtmlPart<'a> {
    v: &'a UpdateView,
}

#[derive(Template)]
#[template(path = "mail/release_update.txt", escape = "none")]
struct TextPart<'a> {
    v: &'a UpdateView,
}

impl UpdateView {
    /// The HTML part.
    pub fn html(&self) -> Result<String, askama::Error> {
        HtmlPart { v: self }.render()
    }

    /// The plain text part.
    pub fn text(&self) -> Result<String, askama::Error> {
        TextPart { v: self }.render()
    }

    /// The message's paragraphs' lines, for the HTML part (line breaks kept).
    pub fn message_lines(&self) -> Vec<&str> {
        self.message.lines().collect()
    }
}

/// An update email rendered: what the outbox sends and the preview shows.
#[derive(Debug, Clone)]
pub struct RenderedUpdate {
    /// Subject line.
    pub subject: String,
    /// Plain text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// The one-click unsubscribe URL (`List-Unsubscribe`).
    pub unsubscribe_url: String,
}

/// Renders the update email of `release` (with `subject` and `message`) for the order
/// `detail`, giving its customer an unsubscribe link (made now if they have none yet).
pub async fn render(
    state: &AppState,
    merchant: &Merchant,
    detail: &OrderDetail,
    release: &Release,
    subject: &str,
    message: &str,
) -> Result<RenderedUpdate, MailError> {
    let key = state.secrets.key();
    let salt = UnsubscribeToken::new_salt();
    let fresh = UnsubscribeToken::derive(&key, &salt);
    let order = &detail.order;
    let subscription = update_emails::subscription_of(
        &state.db,
        &merchant.id,
        &order.customer_id,
        &salt,
        fresh.hash().as_str(),
        now_millis(),
    )
    .await
    .map_err(MailError::load("the unsubscribe link"))?;
    let token = UnsubscribeToken::derive(&key, &subscription.token_salt);
    let download = crate::orders::token_of(&key, order);
    let purchase = PurchaseView::new(merchant, detail, &download, &state.public_url, false);
    let product = detail
        .items
        .iter()
        .find(|i| i.product_id == release.product_id)
        .map(|i| i.product_name.clone())
        .unwrap_or_default();
    let view = UpdateView {
        subject: if order.test { format!("{TEST_PREFIX}{subject}") } else { subject.to_owned() },
        product,
        label: release.label.clone(),
        message: message.to_owned(),
        changelog_html: release.changelog.as_deref().map(changelog_html),
        changelog: release.changelog.clone(),
        unsubscribe_url: format!("{}/unsubscribe/{}", state.public_url, token.expose()),
        order: purchase,
    };
    Ok(RenderedUpdate {
        text: view.text().map_err(MailError::render("text part"))?,
        html: view.html().map_err(MailError::render("HTML part"))?,
        subject: view.subject,
        unsubscribe_url: view.unsubscribe_url,
    })
}

/// What composing a queued update email gave.
pub enum Composed {
    /// The message to send, and its subject.
    Message(String, Box<Message>),
    /// The customer unsubscribed since it was queued: it is not sent.
    Unsubscribed,
}

/// The message of a queued update email, from its order and release as stored.
pub async fn compose(state: &AppState, email: &EmailRow) -> Result<Composed, MailError> {
    let detail = orders::get(&state.db, &email.merchant_id, &email.order_id)
        .await
        .map_err(MailError::load(format!("order {}", email.order_id)))?;
    let unsubscribed = update_emails::is_unsubscribed(&state.db, &detail.order.customer_id)
        .await
        .map_err(MailError::load("the customer's subscription"))?;
    if unsubscribed {
        return Ok(Composed::Unsubscribed);
    }
    let (Some(product_id), Some(number)) = (email.product_id.as_deref(), email.release_number) else {
        return Err(MailError::load("the release")(crate::db::DbError::NotFound));
    };
    let merchant = merchants::get(&state.db, &email.merchant_id).await.map_err(MailError::load("the merchant"))?;
    let release = db_releases::get(&state.db, &email.merchant_id, product_id, number)
        .await
        .map_err(MailError::load(format!("release {number}")))?
        .release;
    let subject = release.email_subject.clone().unwrap_or_default();
    let text = release.email_message.clone().unwrap_or_default();
    let rendered = render(state, &merchant, &detail, &release, &subject, &text).await?;
    let from = super::message::sender(&merchant, &state.config.mail, &state.public_url)?;
    let host = super::outbox::message_host(state);
    let message = build(&rendered, &email.id, from, &email.to_address, &detail.order.customer_name, &host)?;
    Ok(Composed::Message(rendered.subject, Box::new(message)))
}

/// The message as sent: the purchase email's headers, and RFC 8058's `List-Unsubscribe` (the
/// one-click URL, which a mail client POSTs `List-Unsubscribe=One-Click` to) and
/// `List-Unsubscribe-Post`.
pub fn build(
    rendered: &RenderedUpdate,
    email_id: &str,
    from: Mailbox,
    to_address: &str,
    to_name: &str,
    host: &str,
) -> Result<Message, MailError> {
    super::message::headers(&rendered.subject, email_id, from, to_address, to_name, host)?
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", rendered.unsubscribe_url),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone()))
        .map_err(MailError::Build)
}

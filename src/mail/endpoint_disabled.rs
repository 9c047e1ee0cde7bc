//! The email to a shop's owner when Satchel disabled webhook endpoints that kept failing:
//! which ones, why, and where to enable them again. Rendered when the outbox sends it, from the
//! endpoints still disabled then (none: nothing worth sending).

use askama::Template;

use super::MailError;
use super::message::{self, Parts};
use crate::db::emails::EmailRow;
use crate::db::{merchants, webhook_endpoints};

/// One disabled endpoint, as the email names it.
#[derive(Debug, Clone)]
pub struct DisabledView {
    /// Its URL.
    pub url: String,
    /// Why it was disabled.
    pub reason: String,
}

/// What the email shows.
#[derive(Debug, Clone)]
pub struct EndpointDisabledView {
    /// Subject line.
    pub subject: String,
    /// The shop's name.
    pub shop: String,
    /// The endpoints disabled.
    pub endpoints: Vec<DisabledView>,
    /// The dashboard page where they are enabled again.
    pub page_url: String,
}

#[derive(Template)]
#[template(path = "mail/endpoint_disabled.html")]
struct HtmlPart<'a> {
    v: &'a EndpointDisabledView,
}

#[derive(Template)]
#[template(path = "mail/endpoint_disabled.txt", escape = "none")]
struct TextPart<'a> {
    v: &'a EndpointDisabledView,
}

impl EndpointDisabledView {
    /// The HTML part.
    pub fn html(&self) -> Result<String, askama::Error> {
        HtmlPart { v: self }.render()
    }

    /// The plain text part.
    pub fn text(&self) -> Result<String, askama::Error> {
        TextPart { v: self }.render()
    }
}

/// The message for a queued email; None when no endpoint of the shop is disabled any more.
pub async fn compose(
    state: &crate::state::AppState,
    email: &EmailRow,
) -> Result<Option<(String, lettre::Message)>, MailError> {
    let endpoints =
        webhook_endpoints::list(&state.db, &email.merchant_id).await.map_err(MailError::load("the endpoints"))?;
    let disabled: Vec<DisabledView> = endpoints
        .into_iter()
        .filter(|e| e.disabled_at.is_some() && !e.enabled)
        .map(|e| DisabledView { url: e.url, reason: e.disabled_reason.unwrap_or_default() })
        .collect();
    if disabled.is_empty() {
        return Ok(None);
    }
    let merchant = merchants::get(&state.db, &email.merchant_id).await.map_err(MailError::load("the merchant"))?;
    let view = EndpointDisabledView {
        subject: format!(
            "Satchel stopped sending events to {} webhook endpoint(s) of {}",
            disabled.len(),
            merchant.name
        ),
        shop: merchant.name.clone(),
        endpoints: disabled,
        page_url: format!("{}/dashboard/settings/webhooks", state.public_url),
    };
    let text = view.text().map_err(MailError::render("text part"))?;
    let html = view.html().map_err(MailError::render("HTML part"))?;
    // From the server, not the shop's sender: this is Satchel writing to the shop's owner.
    let mail = &state.config.mail;
    let name = mail.from_name.clone().unwrap_or_else(|| "Satchel".to_owned());
    let from = message::header_mailbox(&name, &mail.from_address).map_err(MailError::Sender)?;
    let parts = Parts { subject: &view.subject, text, html };
    let host = super::outbox::message_host(state);
    let message = message::build_parts(parts, &email.id, from, &email.to_address, "", &host)?;
    Ok(Some((view.subject, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_name_each_endpoint_its_reason_and_the_page() {
        let view = EndpointDisabledView {
            subject: "Satchel stopped sending events to 1 webhook endpoint(s) of Acme & Co".into(),
            shop: "Acme & Co".into(),
            endpoints: vec![DisabledView {
                url: "https://hooks.example/<x>".into(),
                reason: "no successful delivery for 3 days".into(),
            }],
            page_url: "https://shop.example/dashboard/settings/webhooks".into(),
        };
        let text = view.text().unwrap();
        assert!(text.contains("https://hooks.example/<x>"), "{text}");
        assert!(text.contains("no successful delivery for 3 days"), "{text}");
        assert!(text.contains("https://shop.example/dashboard/settings/webhooks"), "{text}");
        let html = view.html().unwrap();
        assert!(html.contains("https://hooks.example/&#60;x&#62;") || html.contains("&lt;x&gt;"), "{html}");
        assert!(html.contains("href=\"https://shop.example/dashboard/settings/webhooks\""), "{html}");
    }
}

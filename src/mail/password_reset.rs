//! The "Forgot password?" email: a link to choose a new dashboard password, rendered when the
//! outbox sends it (its token derived again from the stored salt; it was never stored).

use askama::Template;

use super::MailError;
use super::message::{self, Parts};
use crate::db::emails::EmailRow;
use crate::db::{merchants, passwords};
use crate::domain::{PasswordResetToken, now_millis};
use crate::state::AppState;

/// What the reset email shows.
#[derive(Debug, Clone)]
pub struct ResetView {
    /// Subject line.
    pub subject: String,
    /// The shop's name.
    pub shop: String,
    /// The address that signs in.
    pub email: String,
    /// The link.
    pub link_url: String,
    /// How long it works, in minutes.
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct HtmlPart<'a> {
    v: &'a ResetView,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt", escape = "none")]
struct TextPart<'a> {
    v: &'a ResetView,
}

impl ResetView {
    /// The HTML part.
    pub fn html(&self) -> Result<String, askama::Error> {
        HtmlPart { v: self }.render()
    }

    /// The plain text part.
    pub fn text(&self) -> Result<String, askama::Error> {
        TextPart { v: self }.render()
    }
}

/// The message for a queued reset email; None when its link no longer works (used, ended by
/// another reset or a password change, or expired), so there is nothing worth sending.
pub async fn compose(state: &AppState, email: &EmailRow) -> Result<Option<(String, lettre::Message)>, MailError> {
    let reset = passwords::reset_of_email(&state.db, &email.id).await.map_err(MailError::load("the reset"))?;
    let Some(reset) = reset.filter(|r| r.used_at.is_none() && r.expires_at > now_millis()) else {
        return Ok(None);
    };
    let merchant = merchants::get(&state.db, &reset.merchant_id).await.map_err(MailError::load("the merchant"))?;
    let token = PasswordResetToken::derive(&state.secrets.key(), &reset.salt);
    let view = ResetView {
        subject: format!("Reset your {} dashboard password", merchant.name),
        shop: merchant.name.clone(),
        email: email.to_address.clone(),
        link_url: format!("{}/dashboard/reset-password/{}", state.public_url, token.expose()),
        minutes: ((reset.expires_at - now_millis()).max(1) + 59_999) / 60_000,
    };
    let text = view.text().map_err(MailError::render("text part"))?;
    let html = view.html().map_err(MailError::render("HTML part"))?;
    // From the server, not the shop's sender: this is Satchel writing to its user.
    let mail = &state.config.mail;
    let name = mail.from_name.clone().unwrap_or_else(|| "Satchel".to_owned());
    let address = message::default_from_address(mail, &state.public_url);
    let from = message::header_mailbox(&name, &address).map_err(MailError::Sender)?;
    let parts = Parts { subject: &view.subject, text, html };
    let host = super::outbox::message_host(state);
    let message = message::build_parts(parts, &email.id, from, &email.to_address, "", &host)?;
    Ok(Some((view.subject, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> ResetView {
        ResetView {
            subject: "Reset your Acme & Co dashboard password".into(),
            shop: "Acme & Co".into(),
            email: "ada@example.com".into(),
            link_url: "https://shop.example/dashboard/reset-password/TOKEN".into(),
            minutes: 30,
        }
    }

    #[test]
    fn both_parts_carry_the_link_and_the_lifetime() {
        let text = view().text().unwrap();
        assert!(text.contains("\nhttps://shop.example/dashboard/reset-password/TOKEN\n"), "{text}");
        assert!(text.contains("for the next 30 minutes"), "{text}");
        assert!(text.contains("dashboard of Acme & Co as ada@example.com"), "plain text is not escaped: {text}");
        let html = view().html().unwrap();
        assert!(html.contains("href=\"https://shop.example/dashboard/reset-password/TOKEN\""), "{html}");
        assert!(html.contains("Acme &#38; Co") || html.contains("Acme &amp; Co"), "{html}");
    }
}

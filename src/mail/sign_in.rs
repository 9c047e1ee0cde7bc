//! The portal's sign-in email: a 6-digit code and a magic link, rendered when the outbox sends
//! it (both derived again from the stored salt; neither was ever stored).

use askama::Template;

use super::MailError;
use super::message::{self, Parts};
use crate::db::emails::EmailRow;
use crate::db::{merchants, portal};
use crate::domain::{MagicLinkToken, SIGN_IN_LIFETIME_MS, SignInCode, now_millis};
use crate::state::AppState;

/// What the sign-in email shows.
#[derive(Debug, Clone)]
pub struct SignInView {
    /// Subject line (starts with the code, so a notification shows it).
    pub subject: String,
    /// Merchant's display name.
    pub merchant: String,
    /// The code.
    pub code: String,
    /// The magic link.
    pub link_url: String,
    /// How long both work, in minutes.
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/sign_in.html")]
struct HtmlPart<'a> {
    v: &'a SignInView,
}

#[derive(Template)]
#[template(path = "mail/sign_in.txt", escape = "none")]
struct TextPart<'a> {
    v: &'a SignInView,
}

impl SignInView {
    /// The view for `code` and the link `link_url` from `merchant`.
    pub fn new(merchant: &str, code: &SignInCode, link_url: String) -> SignInView {
        SignInView {
            subject: format!("{} is your code to sign in to {merchant}", code.expose()),
            merchant: merchant.to_owned(),
            code: code.expose().to_owned(),
            link_url,
            minutes: SIGN_IN_LIFETIME_MS / 60_000,
        }
    }

    /// The HTML part.
    pub fn html(&self) -> Result<String, askama::Error> {
        HtmlPart { v: self }.render()
    }

    /// The plain text part.
    pub fn text(&self) -> Result<String, askama::Error> {
        TextPart { v: self }.render()
    }
}

/// The message for a queued sign-in email; None when its code is no longer live (used,
/// replaced or expired), so there is nothing worth sending.
pub async fn compose(state: &AppState, email: &EmailRow) -> Result<Option<(String, lettre::Message)>, MailError> {
    let sign_in = portal::of_email(&state.db, &email.id).await.map_err(MailError::load("the sign-in"))?;
    let Some(sign_in) = sign_in.filter(|s| s.used_at.is_none() && s.expires_at > now_millis()) else {
        return Ok(None);
    };
    let merchant = merchants::get(&state.db, &email.merchant_id).await.map_err(MailError::load("the merchant"))?;
    let key = state.secrets.key();
    let code = SignInCode::derive(&key, &sign_in.salt);
    let token = MagicLinkToken::derive(&key, &sign_in.salt);
    let link = format!("{}/portal/{}/sign-in/{}", state.public_url, merchant.slug, token.expose());
    let mut view = SignInView::new(&merchant.name, &code, link);
    // A code sent again keeps its first expiry: say what is left of it.
    view.minutes = ((sign_in.expires_at - now_millis()).max(1) + 59_999) / 60_000;
    let text = view.text().map_err(MailError::render("text part"))?;
    let html = view.html().map_err(MailError::render("HTML part"))?;
    let from = message::sender(&merchant, &state.config.mail, &state.public_url)?;
    let parts = Parts { subject: &view.subject, text, html };
    let host = super::outbox::message_host(state);
    let message = message::build_parts(parts, &email.id, from, &email.to_address, "", &host)?;
    Ok(Some((view.subject, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> SignInView {
        let code = SignInCode::parse("code", "042917").unwrap();
        SignInView::new("Acme & Co", &code, "https://shop.example/portal/acme/sign-in/TOKEN".into())
    }

    #[test]
    fn text_part_has_the_code_the_link_and_the_lifetime() {
        let text = view().text().unwrap();
        assert!(text.contains("\n    042917\n"), "{text}");
        assert!(text.contains("https://shop.example/portal/acme/sign-in/TOKEN\n"), "{text}");
        assert!(text.contains("for the next 15 minutes"), "{text}");
        assert!(text.contains("purchases from Acme & Co:"), "plain text is not escaped: {text}");
        assert_eq!(view().subject, "042917 is your code to sign in to Acme & Co");
    }

    #[test]
    fn html_part_escapes_the_merchant_and_links_the_sign_in() {
        let html = view().html().unwrap();
        assert!(html.contains("Acme &#38; Co") || html.contains("Acme &amp; Co"), "{html}");
        assert!(html.contains("href=\"https://shop.example/portal/acme/sign-in/TOKEN\""), "{html}");
        assert!(html.contains(">042917</p>"), "{html}");
        if let Ok(path) = std::env::var("SATCHEL_SIGN_IN_MAIL_PREVIEW") {
            std::fs::write(path, &html).unwrap();
        }
    }
}

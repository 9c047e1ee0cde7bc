//! The invite to a shop's team: a link to choose a password and join, rendered when the
//! outbox sends it (its token derived again from the stored salt; it was never stored).

use askama::Template;

use super::MailError;
use super::message::{self, Parts};
use crate::db::emails::EmailRow;
use crate::db::{members, merchants};
use crate::domain::{InviteToken, now_millis};
use crate::state::AppState;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What the invite email shows.
#[derive(Debug, Clone)]
pub struct InviteView {
    /// Subject line.
    pub subject: String,
    /// The shop's name.
    pub shop: String,
    /// Who invited (their sign-in address), if they are still in the team.
    pub inviter: Option<String>,
    /// The invited address.
    pub email: String,
    /// The link.
    pub link_url: String,
    /// How long it works, in days (at least 1).
    pub days: i64,
}

#[derive(Template)]
#[template(path = "mail/team_invite.html")]
struct HtmlPart<'a> {
    v: &'a InviteView,
}

#[derive(Template)]
#[template(path = "mail/team_invite.txt", escape = "none")]
struct TextPart<'a> {
    v: &'a InviteView,
}

impl InviteView {
    /// The HTML part.
    pub fn html(&self) -> Result<String, askama::Error> {
        HtmlPart { v: self }.render()
    }

    /// The plain text part.
    pub fn text(&self) -> Result<String, askama::Error> {
        TextPart { v: self }.render()
    }
}

/// The message for a queued invite email; None when its invite no longer works (accepted,
/// cancelled or expired), so there is nothing worth sending.
pub async fn compose(state: &AppState, email: &EmailRow) -> Result<Option<(String, lettre::Message)>, MailError> {
    let invite = members::invite_of_email(&state.db, &email.id).await.map_err(MailError::load("the invite"))?;
    let Some(invite) = invite.filter(|i| i.is_live(now_millis())) else { return Ok(None) };
    let merchant = merchants::get(&state.db, &invite.merchant_id).await.map_err(MailError::load("the merchant"))?;
    let inviter = members::of_session(&state.db, &invite.merchant_id, &invite.invited_by)
        .await
        .map_err(MailError::load("the inviter"))?
        .map(|m| m.email);
    let token = InviteToken::derive(&state.secrets.key(), &invite.salt);
    let view = InviteView {
        subject: format!("Join the {} dashboard on Satchel", merchant.name),
        shop: merchant.name.clone(),
        inviter,
        email: email.to_address.clone(),
        link_url: format!("{}/dashboard/join/{}", state.public_url, token.expose()),
        // Rounded up, as a person counts "7 days" from the moment they were invited.
        days: ((invite.expires_at - now_millis()).max(1) + DAY_MS - 1) / DAY_MS,
    };
    let text = view.text().map_err(MailError::render("text part"))?;
    let html = view.html().map_err(MailError::render("HTML part"))?;
    // From the server, not the shop's sender: this is Satchel writing to a new user.
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

    fn view() -> InviteView {
        InviteView {
            subject: "Join the Acme & Co dashboard on Satchel".into(),
            shop: "Acme & Co".into(),
            inviter: Some("owner@acme.example".into()),
            email: "ada@example.com".into(),
            link_url: "https://shop.example/dashboard/join/TOKEN".into(),
            days: 7,
        }
    }

    #[test]
    fn both_parts_carry_the_link_the_inviter_and_the_lifetime() {
        let text = view().text().unwrap();
        assert!(text.contains("\nhttps://shop.example/dashboard/join/TOKEN\n"), "{text}");
        assert!(text.contains("owner@acme.example invited you to the dashboard of Acme & Co"), "{text}");
        assert!(text.contains("works once, for the next 7 days"), "{text}");
        let html = view().html().unwrap();
        assert!(html.contains("href=\"https://shop.example/dashboard/join/TOKEN\""), "{html}");
        assert!(html.contains("Acme &#38; Co") || html.contains("Acme &amp; Co"), "{html}");
        let anonymous = InviteView { inviter: None, ..view() }.text().unwrap();
        assert!(anonymous.contains("You were invited to the dashboard of Acme & Co"), "{anonymous}");
    }
}

//! The product page's "Publish update" card: after "Update product" saved a new release, the
//! merchant gives it a label and changelog, chooses who among past buyers gets it, and may
//! write an update email; "Preview" shows the counts and the email one buyer will receive
//! (rendered by the code that sends it) before anything is published, then "Publish".

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::product_form::FieldErrors;
use super::{Chrome, PageResult, Section, Verified};
use crate::catalog::{self, CatalogError, PublishRequest};
use crate::db::release_grants;
use crate::domain::{Invalid, UpdateEmail, changelog, release_label};
use crate::http::Error;
use crate::http::pages::render;
use crate::state::AppState;

/// The card's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct PublishForm {
    pub(crate) label: String,
    pub(crate) changelog: String,
    /// `future`, `all`, `bought_after` or `releases_up_to`.
    pub(crate) audience: String,
    pub(crate) bought_after: String,
    pub(crate) releases_up_to: String,
    pub(crate) email_subject: String,
    pub(crate) email_message: String,
}

impl PublishForm {
    fn read(pairs: Vec<(String, String)>) -> (PublishForm, String) {
        let mut form = PublishForm::default();
        let mut op = String::new();
        for (key, value) in pairs {
            match key.as_str() {
                "label" => form.label = value,
                "changelog" => form.changelog = value,
                "audience" => form.audience = value,
                "bought_after" => form.bought_after = value,
                "releases_up_to" => form.releases_up_to = value,
                "email_subject" => form.email_subject = value,
                "email_message" => form.email_message = value,
                "op" => op = value,
                _ => {}
            }
        }
        (form, op)
    }

    /// Whether `audience` is the chosen one (for the radio buttons).
    pub fn is(&self, audience: &str) -> bool {
        self.audience == audience || (audience == "future" && self.audience.is_empty())
    }

    /// The hidden fields that carry the form from the preview to "Publish".
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("label", &self.label),
            ("changelog", &self.changelog),
            ("audience", &self.audience),
            ("bought_after", &self.bought_after),
            ("releases_up_to", &self.releases_up_to),
            ("email_subject", &self.email_subject),
            ("email_message", &self.email_message),
        ]
    }
}

/// The card on the product page.
#[derive(Debug, Clone, Default)]
pub struct PublishCard {
    /// The release it publishes.
    pub(crate) number: i64,
    pub(crate) form: PublishForm,
    pub(crate) errors: FieldErrors,
}

/// The card for the product's latest release, when it is not published yet.
pub(super) async fn card(state: &AppState, merchant_id: &str, product_id: &str) -> Result<Option<PublishCard>, Error> {
    let latest = release_grants::latest(&state.db, merchant_id, product_id).await.map_err(Error::missing("product"))?;
    Ok(latest.filter(|l| l.published_at.is_none()).map(|l| PublishCard {
        number: l.number,
        form: PublishForm::default(),
        errors: FieldErrors::default(),
    }))
}

/// The form read into checked values: (label, changelog, audience JSON, email), or the errors.
type Checked = (Option<String>, Option<String>, serde_json::Value, Option<UpdateEmail>);

fn check(form: &PublishForm, errors: &mut FieldErrors) -> Option<Checked> {
    let label = release_label(Some(&form.label)).map_err(|e| errors.add("label", &e)).ok();
    let changelog = changelog(Some(&form.changelog)).map_err(|e| errors.add("changelog", &e)).ok();
    let audience = match form.audience.as_str() {
        "" | "future" => Some(serde_json::json!("future")),
        "all" => Some(serde_json::json!("all")),
        "bought_after" => Some(serde_json::json!({"bought_after": form.bought_after.trim()})),
        "releases_up_to" => match form.releases_up_to.trim().parse::<i64>() {
            Ok(n) => Some(serde_json::json!({"releases_up_to": n})),
            Err(_) => {
                errors.add(
                    "audience",
                    &Invalid::new("audience", "give the release number: buyers of it or earlier get the update"),
                );
                None
            }
        },
        _ => {
            errors.add("audience", &Invalid::new("audience", "choose who gets the update"));
            None
        }
    };
    let wants_email = !form.email_subject.trim().is_empty() || !form.email_message.trim().is_empty();
    let email = if wants_email {
        match UpdateEmail::parse(Some(&form.email_subject), Some(&form.email_message)) {
            Ok(email) => Some(Some(email)),
            Err(e) => {
                let field = if e.field == "email.subject" { "email_subject" } else { "email_message" };
                errors.add(field, &e);
                None
            }
        }
    } else {
        Some(None)
    };
    Some((label?, changelog?, audience?, email?))
}

/// A refusal of the catalog as a field error on the card (or the page's error).
fn refusal(e: CatalogError, errors: &mut FieldErrors) -> Result<(), Error> {
    match e {
        CatalogError::Invalid(invalid) => {
            let field = match invalid.field {
                "email.subject" => "email_subject",
                "email.message" => "email_message",
                "label" => "label",
                "changelog" => "changelog",
                "email" => "email",
                _ => "audience",
            };
            errors.add(field, &invalid);
            Ok(())
        }
        CatalogError::Conflict(_, message) => {
            errors.add("audience", &Invalid::new("audience", message));
            Ok(())
        }
        e => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "dashboard/publish_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    id: String,
    product: String,
    card: PublishCard,
    orders: i64,
    emails: i64,
    /// (to, subject, framed HTML, text)
    email: Option<(String, String, String, String)>,
}

/// `POST /dashboard/products/{id}/publish`: `op=preview` shows what would happen; `op=publish`
/// publishes. Bad input: the product page again, the card's fields with their errors.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, product_id = %id))]
pub async fn publish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Verified { user, form }: Verified<Vec<(String, String)>>,
) -> PageResult {
    let merchant = user.merchant.id.clone();
    let product = crate::db::products::get(&state.db, &merchant, &id).await.map_err(Error::missing("product"))?;
    let Some(mut card) = card(&state, &merchant, &id).await? else {
        return Ok(Redirect::to(&format!("/dashboard/products/{id}")).into_response());
    };
    let (form, op) = PublishForm::read(form);
    card.form = form;
    let mut errors = FieldErrors::default();
    if let Some((label, changelog, audience, email)) = check(&card.form, &mut errors) {
        let request = PublishRequest {
            label: label.as_deref(),
            changelog: changelog.as_deref(),
            audience: Some(&audience),
            email: email.as_ref(),
        };
        if op == "publish" {
            match catalog::publish(&state, &merchant, &id, &request).await {
                Ok(_) => return Ok(Redirect::to(&format!("/dashboard/products/{id}?notice=published")).into_response()),
                Err(e) => refusal(e, &mut errors)?,
            }
        } else {
            match catalog::preview(&state, &merchant, &id, &request).await {
                Ok(preview) => {
                    let email = preview.email.map(|(to, r)| (to, r.subject, super::mailbox::framed(&r.html), r.text));
                    card.errors = errors;
                    let page = PreviewPage {
                        chrome: Chrome::new(&user, Section::Products, None),
                        id,
                        product: product.row.name.clone(),
                        card,
                        orders: preview.orders,
                        emails: preview.emails,
                        email,
                    };
                    return Ok(render(StatusCode::OK, &page));
                }
                Err(e) => refusal(e, &mut errors)?,
            }
        }
    }
    card.errors = errors;
    super::products::edit_page_with(&state, &user, &product, Some(card), StatusCode::UNPROCESSABLE_ENTITY).await
}

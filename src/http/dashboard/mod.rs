//! The merchant's dashboard: server-rendered pages under `/dashboard`, behind a session
//! cookie, every change checked against CSRF (see [`guard`]).

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::http::pages::render;
use crate::state::AppState;

pub mod guard;
mod overview;
mod product_form;
mod products;
mod publish;
mod release_rows;
mod sales_chart;
mod sign_in;
mod uploads;

// The team: invites, accepting one, removing members.
mod join;
mod team;

pub use guard::{SignedIn, Verified, VerifiedFetch};
// Dashboard pages answer errors with the one page error: its problem page for 4xx.
pub use crate::http::{PageError, PageResult};

// Orders, customers, settings, the mailbox and webhook deliveries.
mod customers;
mod deliveries;
// The files library (issue 15).
mod export;
mod files;
mod forgot;
mod mailbox;
mod order;
mod order_sharing;
mod order_support;
mod orders;
mod password;
mod settings;
mod settings_sharing;
mod settings_shop;
mod test_data;
mod unmatched;
mod webhook_endpoints;

/// The dashboard's routes, to be mounted at `/dashboard`.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(overview::show))
        .route("/getting-started", post(overview::set_getting_started))
        .merge(orders_routes())
        .merge(team_routes(state))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/forgot-password", get(forgot::form).post(forgot::ask))
        .route("/reset-password/{token}", get(forgot::show).post(forgot::reset))
        .route("/products", get(products::list).post(products::create))
        .route("/products/new", get(products::new))
        .route("/products/{id}", get(products::edit).post(products::update))
        .route("/products/{id}/publish", post(publish::publish))
        .route("/products/{id}/archive", get(products::confirm_archive).post(products::archive))
        .route("/products/{id}/restore", post(products::restore))
        .route("/files", get(files::list))
        .route("/files/{id}/delete", get(files::confirm).post(files::delete))
        // Uploads stream to the blob store under its own size limit, not the default body limit.
        .route(
            "/products/{id}/files",
            post(uploads::attach)
                .layer::<_, std::convert::Infallible>(axum::middleware::map_response(
                    crate::http::upload::close_unless_stored,
                ))
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/uploads",
            post(uploads::upload)
                .layer::<_, std::convert::Infallible>(axum::middleware::map_response(
                    crate::http::upload::close_unless_stored,
                ))
                .layer(DefaultBodyLimit::disable()),
        )
        .fallback(missing)
}

/// The Team page, accepting an invite, and the changes only the owner makes (what grants
/// access to the shop: the team, API keys, the Stripe secret).
fn team_routes(state: AppState) -> Router<AppState> {
    let owner_only = Router::new()
        .route("/settings/stripe", post(settings::save_stripe))
        .route("/settings/api-keys", post(settings::create_key))
        .route("/settings/api-keys/{id}/revoke", post(settings::revoke_key))
        // Signing secrets are the owner's, as the Stripe secret: a removed member keeps nothing.
        .route("/settings/standard-secret", post(settings_shop::use_standard_secret))
        .route("/settings/standard-secret/rotate", post(settings_shop::rotate_standard))
        .route("/settings/end-rotation", post(settings_shop::end_rotation))
        .route("/settings/webhooks", post(webhook_endpoints::add))
        .route("/settings/webhooks/{id}/rotate", post(webhook_endpoints::rotate))
        .route("/settings/webhooks/{id}/enable", post(webhook_endpoints::enable))
        .route("/settings/webhooks/{id}/disable", post(webhook_endpoints::disable))
        .route("/settings/webhooks/{id}/delete", post(webhook_endpoints::delete))
        .route("/settings/webhooks/{id}/deliveries/{event_id}/resend", post(webhook_endpoints::resend))
        .route_layer(axum::middleware::from_fn_with_state(state, team::owner_only));
    Router::new()
        .route("/team", get(team::show))
        .route("/team/invites", post(team::invite))
        .route("/team/invites/{id}/cancel", post(team::cancel))
        .route("/team/members/{id}/remove", post(team::remove))
        .route("/join/{token}", get(join::show).post(join::accept))
        .merge(owner_only)
}

/// Orders, customers, settings and the mailbox.
fn orders_routes() -> Router<AppState> {
    Router::new()
        .route("/orders", get(orders::list))
        .route("/orders.csv", get(export::orders))
        .route("/customers.csv", get(export::customers))
        .route("/orders/{id}", get(order::show))
        .route("/orders/{id}/resend", post(order::resend))
        .route("/orders/{id}/revoke", get(order_support::revoke_confirm).post(order_support::revoke))
        .route("/orders/{id}/files/{n}/reset", post(order_support::reset_downloads))
        .route("/orders/{id}/extend", post(order_support::extend_link))
        .route("/orders/{id}/unlock-link", post(order_sharing::unlock))
        .route("/orders/{id}/new-link", post(order_sharing::new_link))
        .route("/orders/{id}/restore", post(order::restore))
        .route("/unmatched/{id}/assign", post(unmatched::assign))
        .route("/test-data", get(test_data::confirm).post(test_data::delete))
        .route("/customers", get(customers::list))
        .route("/customers/{id}", get(customers::show))
        .route("/settings", get(settings::show))
        .route("/settings/policy", post(settings::save_policy))
        .route("/settings/sharing", post(settings_sharing::save))
        .route("/settings/sender", post(settings::save_sender))
        .route("/settings/test-mode", post(settings::set_test_mode))
        .route(
            "/settings/profile",
            post(settings_shop::save_profile).layer(DefaultBodyLimit::max(settings_shop::PROFILE_BODY_LIMIT)),
        )
        .route("/settings/password", get(password::form).post(password::change))
        .route("/settings/webhooks", get(webhook_endpoints::list))
        .route("/settings/webhooks/{id}", get(webhook_endpoints::show))
        .route("/settings/webhooks/{id}/delete", get(webhook_endpoints::delete_confirm))
        .route("/webhooks", get(deliveries::list))
        .route("/webhooks/test", post(deliveries::send_test))
        .route("/mailbox", get(mailbox::list))
        .route("/mailbox/{id}", get(mailbox::show))
        .route("/mailbox/{id}/source", get(mailbox::source))
}

#[derive(Template)]
#[template(path = "dashboard/missing.html")]
struct MissingPage {
    chrome: Chrome,
}

/// Unknown dashboard paths: the sign-in form when signed out (nothing tells which pages
/// exist), a "not found" page in the dashboard's frame otherwise.
async fn missing(user: SignedIn) -> Response {
    render(StatusCode::NOT_FOUND, &MissingPage { chrome: Chrome::new(&user, Section::Overview, None) })
}

/// The sections of the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The shop at a glance.
    Overview,
    /// Products and their delivery.
    Products,
    /// The files library.
    Files,
    /// Orders and unmatched payments.
    Orders,
    /// Customers.
    Customers,
    /// Local mailbox.
    Mailbox,
    /// Settings.
    Settings,
    /// The people who sign in to the shop.
    Team,
}

/// What every dashboard page shows around its content: the shop, the user, the navigation,
/// the CSRF token for forms, and a one-line notice after a change.
pub struct Chrome {
    /// Shop name.
    pub merchant_name: String,
    /// Shop slug (for the portal and checkout links).
    pub merchant_slug: String,
    /// Signed-in address.
    pub user_email: String,
    /// CSRF token to put in forms (`name="csrf"`) and `fetch` headers.
    pub csrf: String,
    /// The section being shown.
    pub section: Section,
    /// Confirmation of the last change, if any.
    pub notice: Option<&'static str>,
    /// Whether test checkouts are on (shown as a badge).
    pub test_mode: bool,
    /// The "last event received" line (`dashboard/_last_webhook.html`), on pages that load it
    /// with [`deliveries::last_webhook`].
    pub last_webhook: Option<deliveries::LastWebhook>,
}

impl Chrome {
    /// The frame for `user` in `section`, with the notice named by `?notice=` if known.
    pub fn new(user: &SignedIn, section: Section, notice: Option<&str>) -> Chrome {
        Chrome {
            merchant_name: user.merchant.name.clone(),
            merchant_slug: user.merchant.slug.clone(),
            user_email: user.email.clone(),
            csrf: user.csrf.clone(),
            section,
            notice: notice.and_then(notice_text),
            test_mode: user.merchant.test_mode,
            last_webhook: None,
        }
    }

    /// Whether `name` (products, orders, …) is the current section, for `aria-current`.
    pub fn is(&self, name: &str) -> bool {
        let current = match self.section {
            Section::Overview => "overview",
            Section::Products => "products",
            Section::Files => "files",
            Section::Orders => "orders",
            Section::Customers => "customers",
            Section::Mailbox => "mailbox",
            Section::Settings => "settings",
            Section::Team => "team",
        };
        current == name
    }
}

/// Notices are named in the redirect's query string and looked up here, so a crafted link
/// cannot make the dashboard display arbitrary text.
fn notice_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "created" => "Product created.",
        "saved" => "Product updated. Changes apply to future purchases only.",
        "files-added" => "Files added to the product. Changes apply to future purchases only.",
        "archived" => "Product archived. Customers who bought it keep their downloads.",
        "unarchived" => "Product restored: it can be bought again.",
        "resent" => "A new copy of the purchase email is on its way.",
        "revoked" => "Access revoked: the customer's links no longer work.",
        "restored" => "Access restored: the customer's links work again.",
        "downloads-reset" => "Downloads reset: the customer can download that file again.",
        "link-extended" => "Link extended: the customer's link works again.",
        "link-unlocked" => "Link unlocked: the customer's email link works again.",
        "link-rotated" => "New link sent: the old link no longer works, and the customer was emailed the new one.",
        "sharing-saved" => "Link sharing policy saved: it applies to every order's email link from now on.",
        "assigned" => "Payment assigned: the order was created and the email queued.",
        "settings" => "Settings saved.",
        "key-revoked" => "API key revoked.",
        "profile" => "Shop profile saved: new emails, the delivery page and the portal show it.",
        "secret-rotated" => {
            "New signing secret saved. The previous one keeps working for 24 hours: update your provider before then."
        }
        "old-secret-ended" => "The previous signing secret no longer works.",
        "password-changed" => "Password changed. Your other sessions were signed out.",
        "invited" => "Invite sent: the link in it works once, for 7 days.",
        "invite-cancelled" => "Invite cancelled: its link no longer works.",
        "member-removed" => "Removed from the team, and signed out everywhere.",
        "joined" => "Welcome to the team: you are signed in.",
        "test-sent" => "Test event sent: it arrived as the newest delivery below.",
        "test-mode-on" => "Test mode is on: each product's test checkout takes orders without a payment.",
        "test-mode-off" => "Test mode is off: test checkouts no longer take orders.",
        "test-data-deleted" => "Test data deleted. Real orders were not touched.",
        "steps-closed" => "Getting started closed. You can show it again at the bottom of this page.",
        "file-deleted" => "File deleted: its bytes are gone from storage.",
        "endpoint-secret-rotated" => {
            "New signing secret made. For 24 hours every event is signed with both the new and the previous one."
        }
        "endpoint-enabled" => "Endpoint enabled: new events are sent to it again.",
        "endpoint-disabled" => "Endpoint paused: no events are queued for it until you enable it.",
        "endpoint-deleted" => "Endpoint deleted: nothing more is sent to it.",
        "event-resent" => "Event queued again: it is sent with the same webhook-id.",
        "published" => "Update published. Its emails, if any, are on their way at the configured rate.",
        _ => return None,
    })
}

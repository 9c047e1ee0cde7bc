//! The merchant dashboard over HTTP: sign-in, CSRF, and the pages (the browser journey is in
//! `journey.rs`).

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestMerchant};

mod products;
pub(crate) mod products_browser;
mod products_plain;
mod publish_browser;
mod sign_in;

// Orders, customers, settings and the mailbox.
mod amounts;
mod customers;
mod mailbox;
mod money;
mod order_support;
mod order_support_browser;
pub(crate) mod orders;
mod settings;
mod shop_settings;
mod test_orders;
mod test_orders_browser;

// Passwords and webhook deliveries.
mod accounts_browser;
mod deliveries;
mod password;
mod shop_settings_browser;
mod team;
mod webhook_endpoints;

// The files library, uploads, Getting started (issue 15).
mod files;

/// The password every test merchant gets (see `TestApp::merchant`).
pub const PASSWORD: &str = "correct horse battery";

/// A browser-like client signed in to `merchant`'s dashboard: keeps cookies, doesn't follow
/// redirects, and sends the CSRF token with forms as the pages do.
pub struct Dashboard {
    /// Cookie-keeping client.
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The session's CSRF token, read from a page.
    pub csrf: String,
}

/// The sign-in address of a test merchant.
pub fn owner_email(merchant: &TestMerchant) -> String {
    format!("owner@{}.example", merchant.slug)
}

/// A client with its own cookie jar that doesn't follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Opens the sign-in page with `client` (which keeps the form cookie it sets) and returns the
/// form token the page carries, as a browser would post it.
pub async fn sign_in_token(client: &reqwest::Client, app: &TestApp) -> String {
    let page = client.get(app.url("/dashboard/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    crate::portal::form_token_of(&page.text().await.unwrap())
}

/// The `content` of `<meta name="csrf-token">` in a dashboard page.
pub fn csrf_of(html: &str) -> String {
    let start = html.find(r#"<meta name="csrf-token" content=""#).expect("a dashboard page") + 33;
    html[start..].split('"').next().unwrap().to_owned()
}

impl Dashboard {
    /// Signs in as `merchant`'s owner.
    pub async fn sign_in(app: &TestApp, merchant: &TestMerchant) -> Dashboard {
        let client = browser();
        let token = sign_in_token(&client, app).await;
        let fields = [("email", owner_email(merchant)), ("password", PASSWORD.into()), ("next", "/dashboard".into())];
        let response = client
            .post(app.url("/dashboard/sign-in"))
            .form(&[&fields[..], &[("form_token", token)]].concat())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
        let mut dashboard = Dashboard { client, address: app.address.clone(), csrf: String::new() };
        let (status, html) = dashboard.get("/dashboard").await;
        assert_eq!(status, StatusCode::OK, "a dashboard page after signing in: {html}");
        dashboard.csrf = csrf_of(&html);
        dashboard
    }

    /// GET `path`: status and body.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.client.get(format!("{}{path}", self.address)).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// POSTs a form to `path` with the CSRF token added, from our own origin.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        self.client
            .post(format!("{}{path}", self.address))
            .header("origin", &self.address)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

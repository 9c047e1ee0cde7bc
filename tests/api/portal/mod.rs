//! The customer portal: signing in by email code or magic link, the purchases page, signed
//! downloads and "download all", tenant walls, limits, and the whole journey in a browser.

mod browser;
mod downloads;
mod purchases;
mod sign_in;
mod sign_in_forms;
mod walls;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::fulfilment::{buy, product, set_delivery, upload};
use crate::helpers::{TestApp, TestMerchant};

/// Runs `$body` with `$pool` bound to the app's concrete pool.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            satchel::db::Db::Sqlite(sqlite) => {
                let $pool = sqlite.pool();
                $body
            }
            satchel::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A shop selling one product of two files (one PDF, one text file).
pub struct Shop {
    /// The merchant.
    pub m: TestMerchant,
    /// The product.
    pub product_id: String,
    /// The PDF's bytes.
    pub pdf: Vec<u8>,
    /// The text file's bytes.
    pub notes: Vec<u8>,
}

/// A merchant named `name` selling "Field Guide": `guide.pdf` and `notes.txt`, with instructions.
pub async fn shop(app: &TestApp, name: &str) -> Shop {
    let m = app.merchant(name).await;
    let pdf = crate::helpers::file_bytes(300_000, name.len() as u64);
    let notes = b"Read me first.\n".to_vec();
    let a = upload(app, &m, "guide.pdf", "application/pdf", &pdf).await;
    let b = upload(app, &m, "notes.txt", "text/plain", &notes).await;
    let product_id = product(app, &m, "Field Guide", json!({})).await;
    let delivery = json!({"mode": "files", "files": [{"file_id": a["id"]}, {"file_id": b["id"]}],
        "instructions": "Open the guide first."});
    set_delivery(app, &m, &product_id, delivery).await;
    Shop { m, product_id, pdf, notes }
}

/// `POST /portal/{slug}/sign-in` with `email`.
pub async fn request_code(app: &TestApp, slug: &str, email: &str) -> Response {
    let url = app.url(&format!("/portal/{slug}/sign-in"));
    post_form(app, &url, &[("email", email)]).await
}

/// POSTs `fields` as the shop's own page does: with a browser's form cookie and the page's
/// form token (fetched from the portal's sign-in page first).
pub async fn post_form(app: &TestApp, url: &str, fields: &[(&str, &str)]) -> Response {
    let slug = url.split("/portal/").nth(1).and_then(|rest| rest.split('/').next()).expect("a portal URL");
    let pass = FormPass::fetch(app, slug).await;
    post_form_with(app, url, fields, &pass.cookie, &pass.token).await
}

/// POSTs `fields` with the form cookie `cookie` (`name=value`) and the form token `token`.
pub async fn post_form_with(app: &TestApp, url: &str, fields: &[(&str, &str)], cookie: &str, token: &str) -> Response {
    let mut fields = fields.to_vec();
    fields.push(("form_token", token));
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let request = app.client.post(url).header("content-type", "application/x-www-form-urlencoded");
    request.header("cookie", cookie).body(body).send().await.unwrap()
}

/// What a browser holds after showing a sign-in page: its form cookie and the page's token.
pub struct FormPass {
    /// `satchel_form=…` (or `__Host-satchel_form=…` over https), to send back.
    pub cookie: String,
    /// The hidden `form_token` field.
    pub token: String,
}

impl FormPass {
    /// Opens the shop's portal as a new browser would.
    pub async fn fetch(app: &TestApp, slug: &str) -> FormPass {
        let response = app.client.get(app.url(&format!("/portal/{slug}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = form_cookie(&response).expect("the sign-in page sets the form cookie");
        let token = form_token_of(&response.text().await.unwrap());
        FormPass { cookie, token }
    }
}

/// The form cookie a response sets, as `name=value`.
pub fn form_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("satchel_form=") || v.starts_with("__Host-satchel_form="))
        .map(cookie_pair)
}

/// The `form_token` hidden field of a sign-in page.
pub fn form_token_of(html: &str) -> String {
    let start = html.find(r#"name="form_token" value=""#).expect("a form token") + 25;
    html[start..].split('"').next().unwrap().to_owned()
}

/// The page with its form tokens blanked, to compare pages shown at different times.
pub fn without_tokens(html: &str) -> String {
    html.split(r#"name="form_token" value=""#)
        .enumerate()
        .map(
            |(i, part)| {
                if i == 0 { part.to_owned() } else { part.split_once('"').map_or(String::new(), |(_, r)| r.to_owned()) }
            },
        )
        .collect::<Vec<_>>()
        .join(r#"name="form_token" value=""#)
}

/// The newest sign-in code of `email` at the shop, derived as the outbox does (the database
/// holds only its salt).
pub async fn code_for(app: &TestApp, merchant_id: &str, email: &str) -> String {
    let sql = "SELECT s.salt FROM sign_in_codes s JOIN customers c ON c.id = s.customer_id \
               WHERE c.merchant_id = $1 AND c.email = $2 ORDER BY s.created_at DESC, s.id DESC LIMIT 1";
    let (salt,): (String,) = on_pool!(&app.state.db, pool => {
        sqlx::query_as(sql).bind(merchant_id).bind(email).fetch_one(pool).await.expect("a sign-in code")
    });
    satchel::domain::SignInCode::derive(&app.state.secrets.key(), &salt).expose().to_owned()
}

/// `POST /portal/{slug}/code`.
pub async fn enter_code(app: &TestApp, slug: &str, email: &str, code: &str) -> Response {
    let url = app.url(&format!("/portal/{slug}/code"));
    post_form(app, &url, &[("email", email), ("code", code)]).await
}

/// The `Set-Cookie` header of the portal's session cookie in `response`.
pub fn set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("satchel_portal="))
        .map(str::to_owned)
}

/// `name=value` of a `Set-Cookie` header, to send back.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Signs `email` in at the shop with a code; returns the `Cookie` header value.
pub async fn sign_in(app: &TestApp, m: &TestMerchant, email: &str) -> String {
    assert_eq!(request_code(app, &m.slug, email).await.status(), StatusCode::OK);
    let code = code_for(app, &m.id, email).await;
    let response = enter_code(app, &m.slug, email, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the right code signs in");
    cookie_pair(&set_cookie(&response).expect("a session cookie"))
}

/// `GET /portal/{slug}` (or another path under it) with `cookie`: status and HTML.
pub async fn page(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, String) {
    let response = app.client.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Whether a page is the purchases page of a signed-in customer.
pub fn signed_in(html: &str) -> bool {
    html.contains("Signed in as") && html.contains("Sign out")
}

/// Every `href` in `html` containing `part`, with `&` unescaped.
pub fn links(html: &str, part: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.contains(part))
        .map(|href| href.replace("&amp;", "&").replace("&#38;", "&"))
        .collect()
}

/// Buys the shop's product for `email`; returns the order JSON.
pub async fn purchase(app: &TestApp, shop: &Shop, email: &str) -> Value {
    buy(app, &shop.m, &shop.product_id, email).await
}

/// The reference shown for an order (the end of its id, upper case).
pub fn reference(order: &Value) -> String {
    let id = order["id"].as_str().unwrap();
    id.rsplit('-').next().unwrap().to_uppercase()
}

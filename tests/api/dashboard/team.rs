//! Several people per shop: the owner invites by email (read back from maildev), the invited
//! person joins through the link with their own password, members work in the shop but
//! cannot change who has access, and removing one signs them out at once.

use reqwest::StatusCode;

use super::{Dashboard, browser, csrf_of, location, owner_email, sign_in_token};
use crate::fulfilment::{Shop, buy, shop};
use crate::helpers::{Stack, TestApp, on_both_stacks};
use crate::mail::{Maildev, links, send_to, smtp_port, unique_address};
use crate::portal::{form_token_of, on_pool};

on_both_stacks!(
    an_invited_person_joins_through_the_emailed_link_and_works_in_the_shop,
    invite_links_refuse_once_used_cancelled_or_expired,
    removing_a_member_ends_their_session_at_once,
    hostile_invites_are_refused,
    one_address_joins_one_shop_and_invites_are_limited,
    members_cannot_change_who_has_access,
);

/// A shop with one deliverable product, whose name no other test uses (maildev is shared).
pub(super) async fn unique_shop(app: &TestApp, tag: &str) -> Shop {
    let name = format!("{tag} {}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    shop(app, &name, "guide.pdf", b"%PDF-1.7 team".to_vec()).await
}

/// The owner invites `email` from the Team page: the response.
async fn invite(owner: &Dashboard, email: &str) -> reqwest::Response {
    owner.post("/dashboard/team/invites", &[("email", email)]).await
}

/// The invite link emailed to `email` (the `n`th email it got).
async fn emailed_link(app: &TestApp, email: &str, n: usize) -> String {
    let mail = Maildev::shared().wait_for(email, n).await;
    let found = links(&mail[n - 1], &format!("{}/dashboard/join/", app.address));
    assert_eq!(found.len(), 1, "one link in {}", mail[n - 1]["text"]);
    found[0].clone()
}

/// Posts a password to an invite link's form from `client`, as the page does.
async fn join_with(app: &TestApp, client: &reqwest::Client, link: &str, password: &str) -> reqwest::Response {
    // A used or expired link's page has no form: the form token (bound to the browser's form
    // cookie) comes from the sign-in page then.
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    let token = match page.contains(r#"name="form_token""#) {
        true => form_token_of(&page),
        false => sign_in_token(client, app).await,
    };
    let fields = [("new_password", password), ("confirm_password", password), ("form_token", &token)];
    client.post(link).header("origin", &app.address).form(&fields).send().await.unwrap()
}

/// Joins through `link` with `password` from a fresh browser: that browser, signed in.
async fn join(app: &TestApp, link: &str, password: &str) -> Dashboard {
    let client = browser();
    let joined = join_with(app, &client, link, password).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER, "joined");
    assert_eq!(location(&joined), "/dashboard?notice=joined");
    let mut member = Dashboard { client, address: app.address.clone(), csrf: String::new() };
    let (status, html) = member.get("/dashboard?notice=joined").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    member.csrf = csrf_of(&html);
    member
}

/// Invites a fresh address and joins with it: the address and the member's browser.
pub(super) async fn new_member(app: &TestApp, owner: &Dashboard, tag: &str) -> (String, Dashboard) {
    let email = unique_address(tag);
    assert_eq!(invite(owner, &email).await.status(), StatusCode::SEE_OTHER);
    let link = emailed_link(app, &email, 1).await;
    let member = join(app, &link, "a member's own passphrase").await;
    (email, member)
}

/// Signs in with the sign-in form from a fresh browser: the response.
async fn try_sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let client = browser();
    let token = sign_in_token(&client, app).await;
    let fields = [("email", email), ("password", password), ("form_token", &token)];
    client.post(app.url("/dashboard/sign-in")).form(&fields).send().await.unwrap()
}

/// The `merchant_users` id of `email`.
async fn user_id(app: &TestApp, email: &str) -> String {
    let sql = "SELECT id FROM merchant_users WHERE email = $1";
    let (id,): (String,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(email).fetch_one(pool).await.unwrap());
    id
}

async fn an_invited_person_joins_through_the_emailed_link_and_works_in_the_shop(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_shop(&app, "Team Books").await;
    let order = buy(&app, &shop.m, &shop.product_id, &unique_address("buyer")).await;
    let owner = Dashboard::sign_in(&app, &shop.m).await;
    let (status, html) = owner.get("/dashboard/team").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<a href="/dashboard/team" aria-current="page">Team</a>"#), "a nav link");
    assert!(html.contains(&owner_email(&shop.m)) && html.contains(">Owner</span>"), "{html}");
    assert!(html.contains("No invites waiting."));

    let email = unique_address("newcomer");
    let invited = invite(&owner, &email.to_uppercase()).await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&invited), "/dashboard/team?notice=invited");
    let (_, html) = owner.get("/dashboard/team?notice=invited").await;
    assert!(html.contains("Invite sent: the link in it works once, for 7 days."));
    assert!(html.contains(&format!(r#"<span class="team-email">{email}</span>"#)), "pending, normalized: {html}");

    let mail = Maildev::shared().wait_for(&email, 1).await;
    let name = satchel::db::merchants::get(&app.state.db, &shop.m.id).await.unwrap().name;
    assert_eq!(mail[0]["subject"], format!("Join the {name} dashboard on Satchel"));
    assert!(mail[0]["text"].as_str().unwrap().contains(&format!("{} invited you", owner_email(&shop.m))));
    assert!(mail[0]["text"].as_str().unwrap().contains("The link works once, for the next 7 days."));
    let link = emailed_link(&app, &email, 1).await;
    let client = browser();
    let opened = client.get(&link).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK, "looking at the link uses nothing up");
    let page = opened.text().await.unwrap();
    assert!(page.contains(&format!("<h1>Join {name}</h1>")) && page.contains(&email), "{page}");
    let token = form_token_of(&page);
    let differ =
        [("new_password", "one passphrase"), ("confirm_password", "another passphrase"), ("form_token", &token)];
    let refused = client.post(&link).header("origin", &app.address).form(&differ).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(">The two passwords differ. Type the password twice.</p>"));
    let short = join_with(&app, &client, &link, "tiny").await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains(">Use at least 10 characters.</p>"));

    let member = join(&app, &link, "a member's own passphrase").await;
    let (_, html) = member.get("/dashboard?notice=joined").await;
    assert!(html.contains("Welcome to the team: you are signed in.") && html.contains(&name), "{html}");
    let (status, orders) = member.get("/dashboard/orders").await;
    assert_eq!(status, StatusCode::OK);
    let reference = order["id"].as_str().unwrap().rsplit('-').next().unwrap().to_uppercase();
    assert!(orders.contains(&reference), "the member sees the shop's orders: {orders}");
    let (_, team) = owner.get("/dashboard/team").await;
    let (owner_at, member_at) = (team.find(&owner_email(&shop.m)).unwrap(), team.find(&email).unwrap());
    assert!(owner_at < member_at, "the owner first");
    assert!(team.contains("No invites waiting."), "the invite is used up");

    // Their own password, the sign-in form, "Forgot password?" and the command line.
    assert_eq!(try_sign_in(&app, &email, "a member's own passphrase").await.status(), StatusCode::SEE_OTHER);
    let reused = join_with(&app, &browser(), &link, "someone else's pick").await;
    assert_eq!(reused.status(), StatusCode::GONE, "an invite works once");
    assert!(reused.text().await.unwrap().contains("This invite no longer works"));
    let url = app.state.config.database_url();
    let reset = std::process::Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["--database-url", &url, "merchant", "reset-password", "--merchant", &email])
        .env_remove("SATCHEL_CONFIG")
        .output()
        .expect("satchel runs");
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    assert!(String::from_utf8(reset.stdout).unwrap().starts_with(&format!("New dashboard password for {email}\n")));
    assert_eq!(member.client.get(app.url("/dashboard")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let by_slug = std::process::Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["--database-url", &url, "merchant", "reset-password", "--merchant", &shop.m.slug])
        .env_remove("SATCHEL_CONFIG")
        .output()
        .expect("satchel runs");
    let stdout = String::from_utf8(by_slug.stdout).unwrap();
    assert!(stdout.starts_with(&format!("New dashboard password for {}\n", owner_email(&shop.m))), "{stdout}");
}

async fn invite_links_refuse_once_used_cancelled_or_expired(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_shop(&app, "Lapsed Invites").await;
    let owner = Dashboard::sign_in(&app, &shop.m).await;

    // Cancelled: the link stops working at once.
    let email = unique_address("cancelled");
    assert_eq!(invite(&owner, &email).await.status(), StatusCode::SEE_OTHER);
    let link = emailed_link(&app, &email, 1).await;
    let sql = "SELECT id FROM team_invites WHERE email = $1";
    let (invite_id,): (String,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&email).fetch_one(pool).await.unwrap());
    let cancelled = owner.post(&format!("/dashboard/team/invites/{invite_id}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&cancelled), "/dashboard/team?notice=invite-cancelled");
    let gone = browser().get(&link).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(gone.text().await.unwrap().contains("<h1>This invite no longer works</h1>"));
    assert_eq!(join_with(&app, &browser(), &link, "too late for this").await.status(), StatusCode::GONE);
    let again = owner.post(&format!("/dashboard/team/invites/{invite_id}/cancel"), &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "nothing left to cancel");

    // Expired after 7 days; the address can then be invited again, with a new link.
    let email = unique_address("expired");
    assert_eq!(invite(&owner, &email).await.status(), StatusCode::SEE_OTHER);
    let link = emailed_link(&app, &email, 1).await;
    let sql = "SELECT expires_at - created_at FROM team_invites WHERE email = $1";
    let (lifetime,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&email).fetch_one(pool).await.unwrap());
    assert_eq!(lifetime, 7 * 24 * 3600 * 1000, "an invite works for 7 days");
    let sql = "UPDATE team_invites SET expires_at = $1 WHERE email = $2";
    let past = satchel::domain::now_millis() - 1;
    on_pool!(&app.state.db, pool => { sqlx::query(sql).bind(past).bind(&email).execute(pool).await.unwrap(); });
    assert_eq!(browser().get(&link).send().await.unwrap().status(), StatusCode::GONE, "expired");
    assert_eq!(join_with(&app, &browser(), &link, "too late for this").await.status(), StatusCode::GONE);
    let (_, team) = owner.get("/dashboard/team").await;
    assert!(!team.contains(&email), "an expired invite is not pending");
    assert_eq!(invite(&owner, &email).await.status(), StatusCode::SEE_OTHER, "invited again");
    let fresh = emailed_link(&app, &email, 2).await;
    assert_ne!(fresh, link);
    join(&app, &fresh, "second time lucky").await;
    let tampered = format!("{}A", &fresh[..fresh.len() - 1]);
    assert_eq!(browser().get(&tampered).send().await.unwrap().status(), StatusCode::GONE);
    assert_eq!(browser().get(app.url("/dashboard/join/short")).send().await.unwrap().status(), StatusCode::GONE);
}

async fn removing_a_member_ends_their_session_at_once(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_shop(&app, "Short Stay").await;
    let owner = Dashboard::sign_in(&app, &shop.m).await;
    let (email, member) = new_member(&app, &owner, "leaving").await;
    let member_id = user_id(&app, &email).await;
    assert_eq!(member.get("/dashboard/orders").await.0, StatusCode::OK);
    let (_, team) = owner.get("/dashboard/team").await;
    assert!(team.contains(&format!(r#"action="/dashboard/team/members/{member_id}/remove""#)), "{team}");

    let owner_id = user_id(&app, &owner_email(&shop.m)).await;
    let refused = owner.post(&format!("/dashboard/team/members/{owner_id}/remove"), &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("The owner cannot be removed from the shop."));

    let removed = owner.post(&format!("/dashboard/team/members/{member_id}/remove"), &[]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&removed), "/dashboard/team?notice=member-removed");
    let next = member.client.get(app.url("/dashboard/orders")).send().await.unwrap();
    assert_eq!(next.status(), StatusCode::SEE_OTHER, "the member's very next request is signed out");
    assert_eq!(location(&next), "/dashboard/sign-in?next=%2Fdashboard%2Forders");
    let form = member.post("/dashboard/products", &[("name", "Sneaky")]).await;
    assert_eq!(form.status(), StatusCode::UNAUTHORIZED, "no change either");
    assert_eq!(
        try_sign_in(&app, &email, "a member's own passphrase").await.status(),
        StatusCode::UNAUTHORIZED,
        "nor can they sign in again"
    );
    let (_, team) = owner.get("/dashboard/team?notice=member-removed").await;
    assert!(!team.contains(&email) && team.contains("Removed from the team, and signed out everywhere."));
    let twice = owner.post(&format!("/dashboard/team/members/{member_id}/remove"), &[]).await;
    assert_eq!(twice.status(), StatusCode::NOT_FOUND);
    assert_eq!(owner.get("/dashboard").await.0, StatusCode::OK, "the owner stays signed in");
}

async fn hostile_invites_are_refused(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let a = unique_shop(&app, "Shop Alpha").await;
    let b = unique_shop(&app, "Shop Beta").await;
    let b_order = buy(&app, &b.m, &b.product_id, &unique_address("buyer")).await;
    let owner_a = Dashboard::sign_in(&app, &a.m).await;
    let owner_b = Dashboard::sign_in(&app, &b.m).await;

    let malformed = invite(&owner_a, "not an address").await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = malformed.text().await.unwrap();
    assert!(html.contains(
        r#"<p class="field-error" id="email-error">Enter the address to invite, like name@example.com.</p>"#
    ));
    assert!(html.contains(r#"value="not an address""#), "what was typed stays");

    let email = unique_address("twice");
    assert_eq!(invite(&owner_a, &email).await.status(), StatusCode::SEE_OTHER);
    let twice = invite(&owner_a, &email).await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert!(twice.text().await.unwrap().contains("already has an invite that still works. Cancel it below"));
    let own = invite(&owner_a, &owner_email(&a.m)).await;
    assert_eq!(own.status(), StatusCode::CONFLICT);
    assert!(own.text().await.unwrap().contains("is already in your team."));
    let elsewhere = invite(&owner_a, &owner_email(&b.m)).await;
    assert_eq!(elsewhere.status(), StatusCode::CONFLICT);
    assert!(elsewhere.text().await.unwrap().contains("already signs in to another shop on this Satchel server"));

    let no_csrf = owner_a
        .client
        .post(app.url("/dashboard/team/invites"))
        .header("origin", &app.address)
        .form(&[("email", unique_address("forged").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN, "no CSRF token, no invite");
    let foreign = owner_a
        .client
        .post(app.url("/dashboard/team/invites"))
        .header("origin", "https://evil.example")
        .form(&[("email", unique_address("forged").as_str()), ("csrf", &owner_a.csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN, "from another site");
    let link = emailed_link(&app, &email, 1).await;
    let no_token = browser()
        .post(&link)
        .header("origin", &app.address)
        .form(&[("new_password", "hijacked passphrase"), ("confirm_password", "hijacked passphrase")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN, "the join form needs its form token");

    // Another shop's invite and member are not this shop's to touch.
    let sql = "SELECT id FROM team_invites WHERE email = $1";
    let (invite_id,): (String,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&email).fetch_one(pool).await.unwrap());
    let cancel = owner_b.post(&format!("/dashboard/team/invites/{invite_id}/cancel"), &[]).await;
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    // Shop A's link opened in a browser signed in to shop B joins shop A, and only shop A.
    let joined = join_with(&app, &owner_b.client, &link, "joining alpha only").await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let (_, home) = owner_b.get("/dashboard").await;
    assert!(home.contains(&email), "now signed in as the new member of shop A: {home}");
    let b_order_path = format!("/dashboard/orders/{}", b_order["id"].as_str().unwrap());
    assert_eq!(owner_b.get(&b_order_path).await.0, StatusCode::NOT_FOUND, "no data of shop B");
    let member_id = user_id(&app, &email).await;
    let other_b = Dashboard::sign_in(&app, &b.m).await;
    let remove = other_b.post(&format!("/dashboard/team/members/{member_id}/remove"), &[]).await;
    assert_eq!(remove.status(), StatusCode::NOT_FOUND, "shop B cannot remove shop A's member");
    assert_eq!(other_b.get(&b_order_path).await.0, StatusCode::OK);
}

async fn one_address_joins_one_shop_and_invites_are_limited(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let a = unique_shop(&app, "Shop Gamma").await;
    let b = unique_shop(&app, "Shop Delta").await;
    let owner_a = Dashboard::sign_in(&app, &a.m).await;
    let owner_b = Dashboard::sign_in(&app, &b.m).await;
    // Two shops invite one address: the first accepted wins, the other link then says so.
    let wanted = unique_address("wanted");
    assert_eq!(invite(&owner_b, &wanted).await.status(), StatusCode::SEE_OTHER);
    let b_link = emailed_link(&app, &wanted, 1).await;
    assert_eq!(invite(&owner_a, &wanted).await.status(), StatusCode::SEE_OTHER);
    let a_link = emailed_link(&app, &wanted, 2).await;
    join(&app, &a_link, "alpha wins this one").await;
    let late = join_with(&app, &browser(), &b_link, "beta is too late").await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(late.text().await.unwrap().contains("<h1>This address already has an account</h1>"));
    assert_eq!(try_sign_in(&app, &wanted, "alpha wins this one").await.status(), StatusCode::SEE_OTHER);

    // Ten invites per shop per 15 minutes, refused ones included (one so far).
    for _ in 0..9 {
        assert_eq!(invite(&owner_a, &unique_address("crowd")).await.status(), StatusCode::SEE_OTHER);
    }
    let limited = invite(&owner_a, &unique_address("crowd")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(limited.text().await.unwrap().contains("Too many invites were sent. Wait"));
    assert_eq!(invite(&owner_b, &unique_address("crowd")).await.status(), StatusCode::SEE_OTHER, "per shop");
}

async fn members_cannot_change_who_has_access(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_shop(&app, "Flat Hierarchy").await;
    let owner = Dashboard::sign_in(&app, &shop.m).await;
    let (_, member) = new_member(&app, &owner, "helper").await;
    let (status, team) = member.get("/dashboard/team").await;
    assert_eq!(status, StatusCode::OK, "members see the team");
    assert!(!team.contains(r#"action="/dashboard/team/invites""#) && !team.contains("/remove\""), "{team}");
    assert!(team.contains("Only the owner can invite or remove people."));

    let refused = invite(&member, &unique_address("friend")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("owner can invite or remove people.</p>"));
    let owner_id = user_id(&app, &owner_email(&shop.m)).await;
    let coup = member.post(&format!("/dashboard/team/members/{owner_id}/remove"), &[]).await;
    assert_eq!(coup.status(), StatusCode::FORBIDDEN);
    let key = member.post("/dashboard/settings/api-keys", &[("name", "mine forever")]).await;
    assert_eq!(key.status(), StatusCode::FORBIDDEN, "an API key would outlive the member");
    assert!(key.text().await.unwrap().contains("Only the shop's owner can do this"));
    let stripe = member.post("/dashboard/settings/stripe", &[("stripe_webhook_secret", "whsec_abc")]).await;
    assert_eq!(stripe.status(), StatusCode::FORBIDDEN);
    let sql = "SELECT COUNT(*) FROM api_keys WHERE merchant_id = $1";
    let (keys,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    assert_eq!(keys, 1, "nothing was created");
    // Day-to-day work is theirs.
    assert_eq!(member.get("/dashboard/products").await.0, StatusCode::OK);
    // Signing secrets are the owner's: a member's Settings page never carries one.
    let (status, settings) = member.get("/dashboard/settings").await;
    assert_eq!(status, StatusCode::OK);
    let standard = &shop.m.webhook_secret;
    assert!(!settings.contains(standard.as_str()), "the member's page holds no secret");
    assert!(!settings.contains(r#"action="/dashboard/settings/api-keys""#), "{settings}");
    assert!(
        settings.contains("Only the shop's owner can see or change the signing secrets and API keys."),
        "{settings}"
    );
    let rotate = member.post("/dashboard/settings/standard-secret/rotate", &[]).await;
    assert_eq!(rotate.status(), StatusCode::FORBIDDEN, "rotation is the owner's too");
    let (_, owners) = owner.get("/dashboard/settings").await;
    assert!(owners.contains(standard.as_str()) && owners.contains(r#"action="/dashboard/settings/api-keys""#));
    let owner_key = owner.post("/dashboard/settings/api-keys", &[("name", "owner's key")]).await;
    assert_ne!(owner_key.status(), StatusCode::FORBIDDEN, "the owner can");
}

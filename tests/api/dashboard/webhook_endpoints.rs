//! The dashboard's webhook endpoints: the owner adds one and sees its secret once (after the
//! 303), rotates, pauses, enables and deletes it; a member sees endpoints and deliveries but
//! never a secret, and every change is 403 for them; hostile input is refused naming the field,
//! with nothing saved.

use reqwest::StatusCode;

use super::team::{new_member, unique_shop};
use super::{Dashboard, location};
use crate::helpers::{Stack, TestApp, on_both_stacks};
use crate::mail::{send_to, smtp_port};
use satchel::db::webhook_endpoints;

on_both_stacks!(the_owner_manages_endpoints_and_a_member_only_looks,);

const PAGE: &str = "/dashboard/settings/webhooks";

async fn the_owner_manages_endpoints_and_a_member_only_looks(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = unique_shop(&app, "Hooked").await;
    let m = &shop.m;
    let owner = Dashboard::sign_in(&app, m).await;
    let (status, page) = owner.get(PAGE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Add an endpoint") && page.contains(r#"name="event.download.limit_reached""#), "{page}");

    // Hostile input: refused naming the field, nothing saved.
    for (fields, field, says) in [
        (vec![("url", "ftp://hooks.example.com/a"), ("event.order.created", "on")], "url", "https:// or http://"),
        (vec![("url", "http://127.0.0.1:9/hook"), ("event.order.created", "on")], "url", "private, loopback"),
        (vec![("url", "https://hooks.example.com/a"), ("event.order.paid", "on")], "events", "is not an event type"),
        (vec![("url", "https://hooks.example.com/a")], "events", "name at least one event type"),
    ] {
        let refused = owner.post(PAGE, &fields).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let html = refused.text().await.unwrap();
        assert!(html.contains(&format!(r#"id="{field}-error""#)) && html.contains(says), "{fields:?}: {html}");
    }
    let no_csrf = browser_post_without_csrf(&app, &owner).await;
    assert_eq!(no_csrf, StatusCode::FORBIDDEN, "no CSRF token");
    assert!(webhook_endpoints::list(&app.state.db, &m.id).await.unwrap().is_empty(), "nothing saved");

    // Added: the 303 leads to the page that shows the secret, once.
    let fields =
        [("url", "https://hooks.example.com/satchel"), ("event.order.created", "on"), ("event.email.sent", "on")];
    let added = owner.post(PAGE, &fields).await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let endpoint = webhook_endpoints::list(&app.state.db, &m.id).await.unwrap().remove(0);
    assert_eq!(endpoint.event_types(), ["order.created", "email.sent"]);
    let shown_at = format!("{PAGE}/{}?secret=1#secret", endpoint.id);
    assert_eq!(location(&added), shown_at);
    let (_, once) = owner.get(&shown_at).await;
    assert!(once.contains(&endpoint.secret), "the secret is shown: {once}");
    let (_, again) = owner.get(&shown_at).await;
    assert!(!again.contains("whsec_"), "not twice");

    // A member sees the endpoints and the log, never a secret, and changes nothing.
    let (_, member) = new_member(&app, &owner, "hook-member").await;
    let (status, list) = member.get(PAGE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("https://hooks.example.com/satchel") && !list.contains("Add an endpoint"), "{list}");
    let (status, detail) = member.get(&shown_at).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!detail.contains("whsec_") && !detail.contains("Rotate secret"), "{detail}");
    let id = endpoint.id.as_str();
    for path in [
        PAGE.to_owned(),
        format!("{PAGE}/{id}/rotate"),
        format!("{PAGE}/{id}/disable"),
        format!("{PAGE}/{id}/delete"),
        format!("{PAGE}/{id}/deliveries/evt_x/resend"),
    ] {
        let refused = member.post(&path, &[("url", "https://evil.example/"), ("event.order.created", "on")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(!refused.text().await.unwrap().contains("whsec_"));
    }
    let still = webhook_endpoints::list(&app.state.db, &m.id).await.unwrap();
    assert_eq!((still.len(), &still[0].secret, still[0].enabled), (1, &endpoint.secret, true), "unchanged");

    // The owner rotates (the new secret shown once), pauses, enables and deletes.
    let rotated = owner.post(&format!("{PAGE}/{id}/rotate"), &[]).await;
    assert_eq!(rotated.status(), StatusCode::SEE_OTHER);
    let (_, page) = owner.get(&location(&rotated)).await;
    let new = webhook_endpoints::get(&app.state.db, &m.id, id).await.unwrap().secret;
    assert!(new != endpoint.secret && page.contains(&new), "{page}");
    assert!(page.contains("The previous secret also signs every event until"), "{page}");
    let paused = owner.post(&format!("{PAGE}/{id}/disable"), &[]).await;
    assert_eq!(location(&paused), format!("{PAGE}/{id}?notice=endpoint-disabled"));
    assert!(!webhook_endpoints::get(&app.state.db, &m.id, id).await.unwrap().enabled);
    let enabled = owner.post(&format!("{PAGE}/{id}/enable"), &[]).await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    assert!(webhook_endpoints::get(&app.state.db, &m.id, id).await.unwrap().enabled);
    crate::fulfilment::buy(&app, m, &shop.product_id, "hooked@example.com").await;
    // Resend from the log: the same event queued again, due now.
    let queued = webhook_endpoints::deliveries(&app.state.db, &m.id, id, 10).await.unwrap();
    let event_id = queued.iter().find(|d| d.event_type == "order.created").unwrap().event_id.clone();
    let (_, log) = owner.get(&format!("{PAGE}/{id}")).await;
    assert!(log.contains(&format!("{PAGE}/{id}/deliveries/{event_id}/resend")), "a Resend button: {log}");
    let resent = owner.post(&format!("{PAGE}/{id}/deliveries/{event_id}/resend"), &[]).await;
    assert_eq!(location(&resent), format!("{PAGE}/{id}?notice=event-resent"));
    let unknown = owner.post(&format!("{PAGE}/{id}/deliveries/evt_unknown/resend"), &[]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    screenshots(&app, m, &[format!("webhooks={PAGE}"), format!("webhook={PAGE}/{id}")]).await;
    let (status, confirm) = owner.get(&format!("{PAGE}/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Delete this endpoint?"), "{confirm}");
    let deleted = owner.post(&format!("{PAGE}/{id}/delete"), &[]).await;
    assert_eq!(location(&deleted), format!("{PAGE}?notice=endpoint-deleted"));
    assert!(webhook_endpoints::list(&app.state.db, &m.id).await.unwrap().is_empty());
    assert_eq!(owner.get(&format!("{PAGE}/{id}")).await.0, StatusCode::NOT_FOUND);
}

/// The add form posted by the owner's browser without its CSRF token.
async fn browser_post_without_csrf(app: &TestApp, owner: &Dashboard) -> StatusCode {
    let fields = [("url", "https://hooks.example.com/a"), ("event.order.created", "on")];
    let response = owner
        .client
        .post(format!("{}{PAGE}", app.address))
        .header("origin", &app.address)
        .form(&fields)
        .send()
        .await
        .unwrap();
    response.status()
}

/// With `SATCHEL_SCREENSHOTS=/some/dir` (embedded stack only), saves screenshots of `pages`
/// (`name=/path`) at desktop and phone widths there.
async fn screenshots(app: &TestApp, m: &crate::helpers::TestMerchant, pages: &[String]) {
    let Ok(out) = std::env::var("SATCHEL_SCREENSHOTS") else { return };
    if app.stack != Stack::Embedded {
        return;
    }
    let support = std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run with ./scripts/test");
    let script = std::path::Path::new(&support).join("screenshot-dashboard.mjs");
    let mut args = vec![app.address.clone(), super::owner_email(m), super::PASSWORD.to_owned(), out];
    args.extend(pages.iter().cloned());
    let status = tokio::process::Command::new("node").arg(script).args(&args).status().await.expect("node");
    assert!(status.success(), "screenshots");
}

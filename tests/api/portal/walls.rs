//! Tenants and customers are walled off: a customer of shop A sees nothing of shop B, and no
//! customer sees another's orders, even with a guessed order id or an edited signed URL.

use reqwest::StatusCode;

use super::{code_for, enter_code, links, page, purchase, reference, request_code, shop, sign_in, signed_in};
use crate::helpers::{Stack, TestApp, on_both_stacks};
use crate::mail::unique_address;

on_both_stacks!(portal_customers_see_only_their_own_orders_at_one_shop);

async fn portal_customers_see_only_their_own_orders_at_one_shop(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let a = shop(&app, "Shop A").await;
    let b = shop(&app, "Shop B").await;
    let ada = unique_address("ada");
    let bob = unique_address("bob");
    let ada_at_a = purchase(&app, &a, &ada).await;
    let bob_at_a = purchase(&app, &a, &bob).await;
    let ada_at_b = purchase(&app, &b, &ada).await;

    let cookie = sign_in(&app, &a.m, &ada).await;
    let (_, html) = page(&app, "/portal/shop-a", &cookie).await;
    assert!(html.contains(&format!("Order {}", reference(&ada_at_a))));
    assert!(!html.contains(&reference(&bob_at_a)), "not another customer's order");
    assert!(!html.contains(&reference(&ada_at_b)), "not the same email's order at another shop");

    // Shop A's session means nothing at shop B (the browser would not even send it there).
    let (status, html) = page(&app, "/portal/shop-b", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!signed_in(&html), "{html}");
    // Shop A's code does not sign in at shop B, even for a customer of both.
    request_code(&app, &a.m.slug, &ada).await;
    let code_at_a = code_for(&app, &a.m.id, &ada).await;
    let at_b = enter_code(&app, &b.m.slug, &ada, &code_at_a).await;
    assert_eq!(at_b.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(at_b.text().await.unwrap().contains("That code is not right"));

    // Edited signed URLs: another order, another file, another shop, a guessed order id.
    let (_, html) = page(&app, "/portal/shop-a", &cookie).await;
    let file = links(&html, "/files/").into_iter().find(|l| l.contains("/files/") && l.contains("/1?")).unwrap();
    assert_eq!(app.client.get(app.url(&file)).send().await.unwrap().status(), StatusCode::OK);
    let ada_id = ada_at_a["id"].as_str().unwrap();
    let edits = [
        file.replace(ada_id, bob_at_a["id"].as_str().unwrap()),
        file.replace(ada_id, ada_at_b["id"].as_str().unwrap()),
        file.replace("/1?", "/2?"),
        file.replace("/portal/shop-a/", "/portal/shop-b/"),
        file.replace("/portal/shop-a/", "/portal/shop-b/").replace(ada_id, ada_at_b["id"].as_str().unwrap()),
        file.replace("/files/", "/zip/").replace("/1?", "?"),
        format!("/portal/shop-a/files/{}/1", bob_at_a["id"].as_str().unwrap()),
        format!("/portal/shop-a/zip/{}", bob_at_a["id"].as_str().unwrap()),
    ];
    for edited in edits {
        let response = app.client.get(app.url(&edited)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{edited}");
        let body = response.bytes().await.unwrap();
        assert!(!body.windows(a.pdf.len().min(64)).any(|w| w == &a.pdf[..64]), "no file bytes for {edited}");
    }
}

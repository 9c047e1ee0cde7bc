//! The brake end to end: off records nothing, notify sends `sharing.suspected` once, lock locks
//! the email link (and only it: the portal serves the same bytes), unlock and a new link.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Receiver, WITHIN, download_from, get_from, networks, queued, set_policy, subscribe, verify};
use crate::dashboard::{Dashboard, location};
use crate::fulfilment::{buy, delivery_url, order, shop};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};
use crate::mail::{Maildev, links, send_to, smtp_port, unique_address};

on_both_stacks!(
    off_records_nothing_and_never_locks,
    notify_sends_suspected_once_and_the_link_keeps_working,
    lock_locks_the_email_link_while_the_portal_serves_and_unlock_and_a_new_link_work,
    a_forwarded_for_from_an_untrusted_peer_is_ignored,
);

const EVENTS: [&str; 2] = ["sharing.suspected", "sharing.locked"];

fn behind_a_proxy(stack: Stack) -> impl std::future::Future<Output = TestApp> {
    TestApp::spawn_with(stack, |c| {
        c.server.trusted_proxies = 1;
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 20;
        send_to(c, smtp_port());
    })
}

async fn off_records_nothing_and_never_locks(stack: Stack) {
    let app = behind_a_proxy(stack).await;
    let s = shop(&app, "Open Shop", "guide.pdf", b"%PDF-1.7 open guide".to_vec()).await;
    let (endpoint, _) = subscribe(&app, &s.m, "http://127.0.0.1:9/events", &EVENTS).await;
    let settings = crate::fulfilment::settings(&app, &s.m, json!({})).await;
    assert_eq!(
        (&settings["sharing_mode"], &settings["sharing_max_networks"], &settings["sharing_window_hours"]),
        (&json!("off"), &json!(5), &json!(24)),
        "off by default: {settings}"
    );
    let order = buy(&app, &s.m, &s.product_id, "open@buyer.example").await;
    let id = order["id"].as_str().unwrap();
    let file = format!("{}/files/1", delivery_url(&order));
    for i in 1..=12 {
        download_from(&app, &file, &format!("198.51.{i}.7"), &s.bytes).await;
    }
    assert_eq!(networks(&app, id).await, [], "nothing recorded while off");
    assert_eq!(queued(&app, &s.m, &endpoint).await, Vec::<String>::new());
    // The downloads were counted as ever.
    eventually(WITHIN, "12 downloads counted", || async {
        (order_files_count(&order_of(&app, &s.m, id).await) == 12).then_some(())
    })
    .await;
}

async fn order_of(app: &TestApp, m: &crate::helpers::TestMerchant, id: &str) -> Value {
    order(app, m, id).await
}

fn order_files_count(order: &Value) -> i64 {
    order["files"][0]["download_count"].as_i64().unwrap()
}

async fn notify_sends_suspected_once_and_the_link_keeps_working(stack: Stack) {
    let receiver = Receiver::start().await;
    let app = behind_a_proxy(stack).await;
    let s = shop(&app, "Notify Shop", "guide.pdf", b"%PDF-1.7 notify guide".to_vec()).await;
    let (endpoint, secret) = subscribe(&app, &s.m, &receiver.url, &EVENTS).await;
    let saved = set_policy(&app, &s.m, "notify", 2, 24).await;
    assert_eq!((&saved["sharing_mode"], &saved["sharing_max_networks"]), (&json!("notify"), &json!(2)));
    let order = buy(&app, &s.m, &s.product_id, "notify@buyer.example").await;
    let id = order["id"].as_str().unwrap();
    let file = format!("{}/files/1", delivery_url(&order));

    // Two addresses of one /24 are one network; the third network is past the allowance.
    for ip in ["203.0.113.7", "203.0.113.99", "198.51.100.1"] {
        download_from(&app, &file, ip, &s.bytes).await;
    }
    assert_eq!(queued(&app, &s.m, &endpoint).await, Vec::<String>::new(), "two networks are allowed");
    for ip in ["192.0.2.1", "100.64.0.1", "203.0.113.7"] {
        download_from(&app, &file, ip, &s.bytes).await;
    }
    assert_eq!(queued(&app, &s.m, &endpoint).await, ["sharing.suspected"], "once in the window");
    let seen = networks(&app, id).await;
    let expected = [("100.64.0.0/24", 1), ("192.0.2.0/24", 1), ("198.51.100.0/24", 1), ("203.0.113.0/24", 3)];
    let seen: Vec<(&str, i64)> = seen
        .iter()
        .map(|(n, agent, d)| {
            assert_eq!(agent, "curl");
            (n.as_str(), *d)
        })
        .collect();
    assert_eq!(seen, expected);

    let arrived = receiver.wait_for(1).await;
    let payload = verify(&secret, &arrived[0]).await;
    assert_eq!((&payload["type"], &payload["data"]["order_id"]), (&json!("sharing.suspected"), &json!(id)));
    assert_eq!(payload["data"]["status"], "paid");

    // The merchant sees it on the order page, with the networks.
    let dashboard = Dashboard::sign_in(&app, &s.m).await;
    let (status, html) = dashboard.get(&format!("/dashboard/orders/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sharing suspected on") && html.contains("203.0.113.0/24"), "{html}");
    assert!(!html.contains("Unlock link"), "nothing is locked under notify");
}

async fn lock_locks_the_email_link_while_the_portal_serves_and_unlock_and_a_new_link_work(stack: Stack) {
    let receiver = Receiver::start().await;
    let app = behind_a_proxy(stack).await;
    let s = crate::portal::shop(&app, "Locked Books").await;
    let (_, secret) = subscribe(&app, &s.m, &receiver.url, &EVENTS).await;
    set_policy(&app, &s.m, "lock", 2, 24).await;
    let email = unique_address("sharer");
    let order = crate::portal::purchase(&app, &s, &email).await;
    let id = order["id"].as_str().unwrap();
    let link = delivery_url(&order);
    let file = format!("{link}/files/1");

    // One /24 and one /48 (two addresses each): two networks, allowed.
    for ip in ["203.0.113.7", "2001:db8:1::1", "2001:db8:1:ff::9", "203.0.113.200"] {
        download_from(&app, &file, ip, &s.pdf).await;
    }
    // A third network is served, and locks the link.
    download_from(&app, &file, "198.51.100.4", &s.pdf).await;
    for url in [file.clone(), link.clone(), format!("{link}/zip"), format!("{link}/files/2")] {
        let response = get_from(&app, &url, "203.0.113.7").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{url}");
        let html = response.text().await.unwrap();
        assert!(html.contains("This download link is locked") && html.contains("Locked Books"), "{html}");
        assert!(html.contains("href=\"/portal/locked-books\""), "the way in through the portal: {html}");
    }
    let nets: Vec<String> = networks(&app, id).await.into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(nets, ["198.51.100.0/24", "2001:db8:1::/48", "203.0.113.0/24"]);

    // Both events, verified with the official library.
    let arrived = receiver.wait_for(2).await;
    let mut types = Vec::new();
    for request in &arrived {
        let payload = verify(&secret, request).await;
        assert_eq!(payload["data"]["order_id"], id);
        types.push(payload["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["sharing.locked", "sharing.suspected"]);

    // The portal still serves the same file, byte for byte.
    let cookie = crate::portal::sign_in(&app, &s.m, &email).await;
    let (_, html) = crate::portal::page(&app, "/portal/locked-books", &cookie).await;
    let pdf = crate::portal::links(&html, "/files/").into_iter().find(|l| l.contains(&format!("{id}/1?"))).unwrap();
    let response = app.client.get(app.url(&pdf)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().as_ref(), s.pdf.as_slice());

    // Unlock: the link works again, counted afresh from now.
    let dashboard = Dashboard::sign_in(&app, &s.m).await;
    let (_, page) = dashboard.get(&format!("/dashboard/orders/{id}")).await;
    assert!(page.contains("Locked on") && page.contains("Unlock link") && page.contains("2001:db8:1::/48"), "{page}");
    assert!(
        page.contains("The email link is locked for sharing"),
        "the Access card does not say the links work: {page}"
    );
    let unlocked = dashboard.post(&format!("/dashboard/orders/{id}/unlock-link"), &[]).await;
    assert_eq!(unlocked.status(), StatusCode::SEE_OTHER);
    assert!(location(&unlocked).ends_with("notice=link-unlocked"));
    for ip in ["192.0.2.55", "203.0.113.7"] {
        download_from(&app, &file, ip, &s.pdf).await;
    }

    // A new link: the old one is as unknown as a made-up token; the emailed one works.
    let made_up = app.url(&format!("/d/{}", "A".repeat(43)));
    let unknown = get_from(&app, &made_up, "192.0.2.55").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown = unknown.text().await.unwrap();
    let rotated = dashboard.post(&format!("/dashboard/orders/{id}/new-link"), &[]).await;
    assert_eq!(rotated.status(), StatusCode::SEE_OTHER);
    assert!(location(&rotated).ends_with("notice=link-rotated"));
    for url in [link.clone(), file.clone()] {
        let old = get_from(&app, &url, "192.0.2.55").await;
        assert_eq!(old.status(), StatusCode::NOT_FOUND, "{url}");
        assert_eq!(old.text().await.unwrap(), unknown, "the same page as an unknown token");
    }
    let emails = Maildev::shared().wait_for(&email, 2).await;
    let fresh: Vec<String> =
        emails.iter().flat_map(|e| links(e, &app.url("/d/"))).filter(|l| !l.starts_with(&link)).collect();
    let new_file = fresh.iter().find(|l| l.ends_with("/files/1")).expect("the new link in the resent email");
    download_from(&app, new_file, "192.0.2.55", &s.pdf).await;
    let detail = order_of(&app, &s.m, id).await;
    assert!(new_file.starts_with(detail["delivery_url"].as_str().unwrap()), "the order's link is the new one");
}

async fn a_forwarded_for_from_an_untrusted_peer_is_ignored(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let s = shop(&app, "Direct Shop", "guide.pdf", b"%PDF-1.7 direct".to_vec()).await;
    set_policy(&app, &s.m, "lock", 2, 1).await;
    let order = buy(&app, &s.m, &s.product_id, "direct@buyer.example").await;
    let file = format!("{}/files/1", delivery_url(&order));
    for i in 1..=6 {
        download_from(&app, &file, &format!("198.51.{i}.1"), &s.bytes).await;
    }
    let seen = networks(&app, order["id"].as_str().unwrap()).await;
    assert_eq!(seen, [("127.0.0.0/24".to_owned(), "curl".to_owned(), 6)], "the connection's address counts");
}

//! The brake's pages in Chromium (`tests/support/sharing.mjs`): the order page's networks card
//! of a locked order, the locked email link, the Settings form, "Unlock link".
//! `SATCHEL_SCREENSHOTS=/some/dir` makes the script also save screenshots at 1280 and 390.

use serde_json::json;

use super::{download_from, set_policy};
use crate::dashboard::products_browser::run_script;
use crate::dashboard::{PASSWORD, owner_email};
use crate::fulfilment::{buy, delivery_url, shop};
use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(the_networks_card_and_the_locked_page_in_a_browser);

async fn the_networks_card_and_the_locked_page_in_a_browser(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| c.server.trusted_proxies = 1).await;
    let s = shop(&app, "Harbor Maps", "Harbor chart 2026.pdf", b"%PDF-1.7 harbor chart".to_vec()).await;
    set_policy(&app, &s.m, "lock", 2, 24).await;
    let order = buy(&app, &s.m, &s.product_id, "grace.hopper@example.com").await;
    let link = delivery_url(&order);
    let file = format!("{link}/files/1");
    for ip in ["203.0.113.7", "2001:db8:85a3::8a2e:370:7334", "198.51.100.23"] {
        download_from(&app, &file, ip, &s.bytes).await;
    }
    let id = order["id"].as_str().unwrap().to_owned();
    let seen =
        run_script("sharing.mjs", vec![app.address.clone(), owner_email(&s.m), PASSWORD.to_owned(), id, link]).await;
    assert!(seen["card_alert"].as_str().unwrap().starts_with("Locked on"), "{seen}");
    let networks: Vec<&str> = seen["networks"].as_array().unwrap().iter().map(|row| row[0].as_str().unwrap()).collect();
    let mut sorted = networks.clone();
    sorted.sort();
    assert_eq!(sorted, ["198.51.100.0/24", "2001:db8:85a3::/48", "203.0.113.0/24"], "{seen}");
    assert_eq!(seen["networks"][0][1], "curl");
    assert_eq!(seen["networks"][0][4], "1", "one download from each");
    assert_eq!(
        (&seen["locked_status"], &seen["locked_heading"], &seen["locked_portal"]),
        (&json!(403), &json!("This download link is locked"), &json!(format!("/portal/{}", s.m.slug)))
    );
    assert_eq!(seen["settings_mode"], "lock");
    assert!(seen["unlock_notice"].as_str().unwrap().starts_with("Link unlocked"), "{seen}");
    assert_eq!(seen["unlocked_status"], 200);
}

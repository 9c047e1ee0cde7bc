//! Several processes on one database, as behind a load balancer: they count against the same
//! rate limits, a change of an order's access holds in every process at once, and a process
//! whose signing key differs from its peers' refuses to start.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::dashboard::{browser, owner_email, sign_in_token};
use crate::fulfilment::{buy, delivery_url, settings, shop};
use crate::helpers::{Stack, TestApp, eventually, file_bytes, on_both_stacks};

on_both_stacks!(processes_count_against_the_same_limits, a_process_with_another_signing_key_refuses_to_start);

/// Far longer than the test may take: what reaches the other process is the announcement.
const LONG_CACHE_MS: u64 = 10 * 60 * 1000;

async fn test_purchase(app: &TestApp, product_id: &str, email: &str) -> reqwest::Response {
    let form = [("name", "Ada"), ("email", email)];
    app.client.post(app.url(&format!("/buy/{product_id}"))).form(&form).send().await.unwrap()
}

/// A wrong password for `email` from the browser behind `client_ip` (one trusted proxy).
async fn wrong_password(app: &TestApp, client_ip: &str, email: &str) -> reqwest::Response {
    let client = browser();
    let token = sign_in_token(&client, app).await;
    let form = [("email", email), ("password", "guess guess guess"), ("form_token", &token)];
    let request = client.post(app.url("/dashboard/sign-in")).header("x-forwarded-for", client_ip).form(&form);
    request.send().await.unwrap()
}

async fn processes_count_against_the_same_limits(stack: Stack) {
    let first = TestApp::spawn_with(stack, |c| c.server.trusted_proxies = 1).await;
    let second = first.spawn_alongside(|_| {}).await;
    let apps = [&second, &first];

    // The test checkout: five purchases per address, whichever process takes them.
    let shop = shop(&first, "Shared Limits", "guide.pdf", file_bytes(2_000, 7)).await;
    settings(&first, &shop.m, json!({"test_mode": true})).await;
    for n in 0..5 {
        let response = test_purchase(apps[n % 2], &shop.product_id, "shared@example.com").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "purchase {n}");
    }
    for app in apps {
        let refused = test_purchase(app, &shop.product_id, "shared@example.com").await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "the sixth purchase, at {}", app.address);
        let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((540..=600).contains(&wait), "ten minutes' window: {wait}");
    }

    // Dashboard sign-in: ten wrong passwords per client and account, across both processes.
    let email = owner_email(&shop.m);
    for n in 0..10 {
        let status = wrong_password(apps[n % 2], "203.0.113.9", &email).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong password {n}");
    }
    for app in apps {
        let limited = wrong_password(app, "203.0.113.9", &email).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "at {}", app.address);
        assert!(limited.headers().get("retry-after").is_some());
        assert!(limited.text().await.unwrap().contains("Too many sign-in attempts"));
    }
    drop(second);
}

/// On PostgreSQL, a revoke or a restore through one process holds at another at once, even
/// though that one would trust its cached order for ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_access_reaches_every_process_at_once() {
    let first = TestApp::spawn_with(Stack::ScaledOut, |c| c.database.order_cache_milliseconds = LONG_CACHE_MS).await;
    let second = first.spawn_alongside(|_| {}).await;
    let shop = shop(&first, "Announcing Shop", "guide.pdf", file_bytes(3_000, 8)).await;
    let order = buy(&first, &shop.m, &shop.product_id, "grace@example.com").await;
    let id = order["id"].as_str().unwrap();
    let token = delivery_url(&order).rsplit_once("/d/").expect("a /d/ URL").1.to_owned();
    let at_second = second.url(&format!("/d/{token}"));
    let status_at_second = || async { second.client.get(&at_second).send().await.unwrap().status() };
    // Well under the cache's ten minutes, with room for a busy machine.
    let within = std::time::Duration::from_secs(15);

    assert_eq!(status_at_second().await, StatusCode::OK, "the second process caches the order");
    for (action, expected) in [("revoke", StatusCode::NOT_FOUND), ("restore", StatusCode::OK)] {
        let response = first.api(&shop.m, Method::POST, &format!("/orders/{id}/{action}")).send().await.unwrap();
        assert!(response.status().is_success(), "{action}: {}", response.status());
        eventually(within, &format!("the link answers {expected} at the other process after {action}"), || async {
            (status_at_second().await == expected).then_some(())
        })
        .await;
    }
    drop(second);
}

/// On PostgreSQL, a process whose listener lost its connection forgets every cached order: an
/// announcement may have been missed while it was away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_connection_forgets_everything() {
    let app = TestApp::spawn_with(Stack::ScaledOut, |c| c.database.order_cache_milliseconds = LONG_CACHE_MS).await;
    let shop = shop(&app, "Reconnecting Shop", "guide.pdf", file_bytes(3_000, 9)).await;
    let order = buy(&app, &shop.m, &shop.product_id, "grace@example.com").await;
    let link = delivery_url(&order);
    let status = || async { app.client.get(&link).send().await.unwrap().status() };
    let satchel::db::Db::Postgres(pool) = &app.state.db else { unreachable!("PostgreSQL") };
    // The listener may still be connecting: wait until its connection is there to cut.
    let listening = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    eventually(std::time::Duration::from_secs(15), "the process listens", || async {
        (sqlx::query_scalar::<_, i64>(listening).fetch_one(pool).await.unwrap() > 0).then_some(())
    })
    .await;
    assert_eq!(status().await, StatusCode::OK, "the order is cached");

    // Revoked behind Satchel's back (nothing is announced), then the listener's connection cut.
    sqlx::query("UPDATE orders SET status = 'revoked' WHERE id = $1")
        .bind(order["id"].as_str())
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(status().await, StatusCode::OK, "still the cached order: nothing was announced");
    let cut = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
               WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()";
    sqlx::query(cut).execute(pool).await.unwrap();
    eventually(std::time::Duration::from_secs(15), "the link answers 404 once the listener is back", || async {
        (status().await == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
}

async fn a_process_with_another_signing_key_refuses_to_start(stack: Stack) {
    let first = TestApp::spawn(stack).await;
    let mut other_key = first.state.config.clone();
    other_key.signing_key = Some(satchel::config::Secret(hex::encode([7u8; 32])));

    let refused = satchel::App::build(other_key.clone()).await.err().expect("another key is refused");
    let message = format!("{refused:#}");
    assert!(message.contains("signing key") && message.contains("`signing_key`"), "{message}");
    assert!(message.contains("configuration of every process"), "says what to do: {message}");
    assert!(!message.contains(&hex::encode([7u8; 32])), "never the key itself: {message}");
    let replace = message.split("SATCHEL__REPLACE_SIGNING_KEY=").nth(1).expect("how to replace it on purpose");
    let fingerprint = replace.trim_end_matches('.').to_owned();

    let same_key = first.spawn_alongside(|_| {}).await;
    drop(same_key);

    // Replacing it on purpose: the new key starts, and the old one is refused from then on.
    let mut replacing = other_key.clone();
    replacing.replace_signing_key = Some(fingerprint);
    drop(satchel::App::build(replacing).await.expect("a deliberate replacement starts"));
    assert!(satchel::App::build(other_key).await.is_ok(), "the new key is the database's now");
    let old = satchel::App::build(first.state.config.clone()).await.err().expect("the old key is refused now");
    assert!(format!("{old:#}").contains("SATCHEL__REPLACE_SIGNING_KEY="), "{old:#}");
}

//! An endpoint's life after it is created: its secret rotated (both secrets sign for a day,
//! verified with the official library), an event sent again from its deliveries log, and an
//! endpoint that fails for days disabled with an email to the shop's owner.

use std::collections::VecDeque;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::delivery::{
    Answers, Receiver, all_delivered, endpoint, log, spawn_allowing_private, verify, verify_refused,
};
use crate::fulfilment::{buy, shop};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};
use satchel::db::webhook_endpoints;

on_both_stacks!(
    a_rotated_secret_signs_next_to_the_new_one_for_a_day,
    an_event_is_resent_with_the_same_id_whatever_became_of_it,
    an_endpoint_failing_for_days_is_disabled_and_its_owner_told,
    a_success_ends_a_run_of_failures,
);

async fn a_rotated_secret_signs_next_to_the_new_one_for_a_day(stack: Stack) {
    let receiver = Receiver::start(Answers::new()).await;
    let app = spawn_allowing_private(stack).await;
    let s = shop(&app, "Rotating Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (id, old) = endpoint(&app, m, &receiver.url("/hook"), &["order.created"]).await;

    let response = app.api(m, Method::POST, &format!("/webhook-endpoints/{id}/rotate-secret")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old, "{rotated}");
    assert_eq!(rotated["id"], id.as_str());
    assert!(rotated["previous_secret_until"].is_string(), "{rotated}");
    let (status, shown) = app.get_json(m, &format!("/webhook-endpoints/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown.get("secret"), None, "the secret is shown once: {shown}");
    assert!(!shown.to_string().contains(&new) && !shown.to_string().contains(&old));

    // Within the day: two signatures, each secret verifies on its own.
    buy(&app, m, &s.product_id, "ada@example.com").await;
    all_delivered(&app, m, &id, 1).await;
    let first = receiver.received("/hook").remove(0);
    assert_eq!(first.headers["webhook-signature"].split(' ').count(), 2, "{:?}", first.headers);
    assert_eq!(verify(&old, &first).await["type"], "order.created");
    assert_eq!(verify(&new, &first).await["type"], "order.created");

    // A day later (the overlap moved into the past, no waiting): only the new one.
    let ended = satchel::domain::now_millis() - 1;
    webhook_endpoints::set_previous_secret_until(&app.state.db, &id, Some(ended)).await.unwrap();
    let (_, shown) = app.get_json(m, &format!("/webhook-endpoints/{id}")).await;
    assert_eq!(shown["previous_secret_until"], Value::Null, "{shown}");
    buy(&app, m, &s.product_id, "bo@example.com").await;
    all_delivered(&app, m, &id, 2).await;
    let arrived = receiver.received("/hook");
    assert_eq!(arrived.len(), 2);
    let second = &arrived[1];
    assert_eq!(second.headers["webhook-signature"].split(' ').count(), 1, "{:?}", second.headers);
    assert_eq!(verify(&new, second).await["type"], "order.created");
    let refused = verify_refused(&old, second).await;
    assert!(refused.contains("No matching signature found"), "{refused}");

    // Another shop cannot rotate it; an unknown id is a 404 too.
    let other = app.merchant("Other Shop").await;
    for (who, path) in [(&other, id.as_str()), (m, "nope")] {
        let response =
            app.api(who, Method::POST, &format!("/webhook-endpoints/{path}/rotate-secret")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let (_, still) = app.get_json(m, &format!("/webhook-endpoints/{id}")).await;
    assert_eq!(still["updated_at"], shown["updated_at"], "nothing changed");
}

async fn an_event_is_resent_with_the_same_id_whatever_became_of_it(stack: Stack) {
    // /flaky fails every attempt of the first delivery (14), then answers.
    let mut flaky = VecDeque::from(vec![(500, "down".to_owned()); 14]);
    flaky.push_back((200, "back".to_owned()));
    let answers = Answers::from([("/flaky".to_owned(), flaky)]);
    let receiver = Receiver::start(answers).await;
    let app = TestApp::spawn_with(stack, |c| {
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 1;
    })
    .await;
    let s = shop(&app, "Resend Shop", "guide.pdf", b"%PDF-1.7 guide".to_vec()).await;
    let m = &s.m;
    let (ok, secret) = endpoint(&app, m, &receiver.url("/ok"), &["order.created"]).await;
    let (failing, _) = endpoint(&app, m, &receiver.url("/flaky"), &["order.created"]).await;
    buy(&app, m, &s.product_id, "ada@example.com").await;

    // A delivered event is sent again: same id, same body, one fresh attempt.
    let rows = all_delivered(&app, m, &ok, 1).await;
    let event_id = rows[0]["event_id"].as_str().unwrap().to_owned();
    let resend = |endpoint: String, event: String, who| {
        let app = &app;
        async move {
            let path = format!("/webhook-endpoints/{endpoint}/deliveries/{event}/resend");
            app.api(who, Method::POST, &path).send().await.unwrap().status()
        }
    };
    assert_eq!(resend(ok.clone(), event_id.clone(), m).await, StatusCode::ACCEPTED);
    let arrived = eventually(super::delivery::WITHIN, "the event arrived twice", || async {
        let got = receiver.received("/ok");
        (got.len() == 2).then_some(got)
    })
    .await;
    assert_eq!(arrived[0].headers["webhook-id"], event_id);
    assert_eq!(arrived[1].headers["webhook-id"], event_id);
    assert_eq!(arrived[0].body, arrived[1].body);
    assert_eq!(verify(&secret, &arrived[1]).await["type"], "order.created");
    let rows = all_delivered(&app, m, &ok, 1).await;
    assert_eq!(rows[0]["attempts"], 1, "a fresh attempt: {}", rows[0]);

    // A failed one (14 attempts given up) too: it is pending again, then delivered.
    let row = eventually(super::delivery::WITHIN * 2, "the delivery failed", || async {
        log(&app, m, &failing).await.first().filter(|d| d["status"] == "failed").cloned()
    })
    .await;
    let failed_id = row["event_id"].as_str().unwrap().to_owned();
    assert_eq!(failed_id, event_id, "one event, one id at every endpoint");
    assert_eq!(resend(failing.clone(), failed_id.clone(), m).await, StatusCode::ACCEPTED);
    let rows = all_delivered(&app, m, &failing, 1).await;
    assert_eq!((&rows[0]["attempts"], &rows[0]["last_response_body"]), (&json!(1), &json!("back")));
    assert_eq!(receiver.received("/flaky").len(), 15);

    // Another shop's endpoint, an unknown event, an event of another endpoint: 404, nothing sent.
    let other = app.merchant("Other Shop").await;
    assert_eq!(resend(ok.clone(), event_id.clone(), &other).await, StatusCode::NOT_FOUND);
    assert_eq!(resend(ok.clone(), "evt_unknown".into(), m).await, StatusCode::NOT_FOUND);
    let (other_hook, _) = endpoint(&app, &other, &receiver.url("/other"), &["order.created"]).await;
    assert_eq!(resend(other_hook, event_id.clone(), &other).await, StatusCode::NOT_FOUND);
    let rows = log(&app, m, &ok).await;
    assert_eq!((rows.len(), &rows[0]["status"]), (1, &json!("delivered")));
    assert_eq!(receiver.received("/ok").len(), 2);
}

async fn an_endpoint_failing_for_days_is_disabled_and_its_owner_told(stack: Stack) {
    use crate::mail::{Maildev, send_to, smtp_port, unique_address};
    let answers = Answers::from([("/down".to_owned(), VecDeque::from([(500, "down".to_owned())]))]);
    let receiver = Receiver::start(answers).await;
    // "Days" are 400 ms here: the attempts 5, 25, 125 and 725 ms after the first.
    let app = TestApp::spawn_with(stack, |c| {
        send_to(c, smtp_port());
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 5;
        c.webhooks_out.disable_after_milliseconds = 400;
    })
    .await;
    let name = format!("Down Shop {}", uuid::Uuid::new_v4().simple());
    let s = shop(&app, &name, "guide.pdf", b"%PDF-1.7 down".to_vec()).await;
    let m = &s.m;
    let (id, _) = endpoint(&app, m, &receiver.url("/down"), &["order.created"]).await;
    buy(&app, m, &s.product_id, &unique_address("down-buyer")).await;

    let shown = eventually(super::delivery::WITHIN, "the endpoint is disabled", || async {
        let (_, shown) = app.get_json(m, &format!("/webhook-endpoints/{id}")).await;
        (shown["enabled"] == false).then_some(shown)
    })
    .await;
    assert!(shown["disabled_at"].is_string(), "{shown}");
    let reason = shown["disabled_reason"].as_str().unwrap();
    assert!(reason.starts_with("no successful delivery for 400 ms"), "{reason}");
    let rows = log(&app, m, &id).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["attempts"].as_i64().unwrap() >= 4, "failed for the whole window: {}", rows[0]);
    let attempts = receiver.received("/down").len();

    // The owner is told, by email.
    let owner = format!("owner@{}.example", m.slug);
    let mail = Maildev::shared().wait_for(&owner, 1).await;
    let subject = mail[0]["subject"].as_str().unwrap();
    assert!(subject.contains("stopped sending events to 1 webhook endpoint(s)"), "{subject}");
    let text = mail[0]["text"].as_str().unwrap();
    assert!(text.contains(&receiver.url("/down")) && text.contains(reason), "{text}");

    // Nothing more is queued or sent while disabled.
    buy(&app, m, &s.product_id, &unique_address("down-buyer")).await;
    assert_eq!(log(&app, m, &id).await.len(), 1, "nothing queued for a disabled endpoint");
    assert_eq!(receiver.received("/down").len(), attempts, "nothing sent");

    // Enabled again (at a URL that answers): the marks are cleared and the waiting event goes.
    let body = json!({"enabled": true, "url": receiver.url("/up")});
    let response = app.api(m, Method::PATCH, &format!("/webhook-endpoints/{id}")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let enabled: Value = response.json().await.unwrap();
    assert_eq!(
        (&enabled["enabled"], &enabled["disabled_at"], &enabled["disabled_reason"]),
        (&json!(true), &Value::Null, &Value::Null),
        "{enabled}"
    );
    all_delivered(&app, m, &id, 1).await;
    assert_eq!(receiver.received("/up").len(), 1);
}

/// A 2xx ends an endpoint's run of failures: a failure long after it starts a new run instead of
/// disabling the endpoint at once as if it had failed all along.
async fn a_success_ends_a_run_of_failures(stack: Stack) {
    // One failure, then a success (the retry), then failures from then on.
    let answers = Answers::from([(
        "/flaky".to_owned(),
        VecDeque::from([(500, "hiccup".to_owned()), (204, String::new()), (500, "down".to_owned())]),
    )]);
    let receiver = Receiver::start(answers).await;
    // "Days" are one second here; retries 5, 25, 125, 725 ms after a first failure, then 3.6 s.
    let window = std::time::Duration::from_millis(1_000);
    let app = TestApp::spawn_with(stack, |c| {
        c.webhooks_out.allow_private = true;
        c.webhooks_out.retry_base_milliseconds = 5;
        c.webhooks_out.disable_after_milliseconds = window.as_millis() as u64;
    })
    .await;
    let s = shop(&app, "Hiccup Shop", "guide.pdf", b"%PDF-1.7 hiccup".to_vec()).await;
    let m = &s.m;
    let (id, _) = endpoint(&app, m, &receiver.url("/flaky"), &["order.created"]).await;
    buy(&app, m, &s.product_id, "first@hiccup.example").await;
    let first = all_delivered(&app, m, &id, 1).await;
    assert_eq!(first[0]["attempts"], 2, "failed once, then delivered: {}", first[0]);
    let recovered = std::time::Instant::now();

    // Past the window since that first failure, the next event fails: a new run begins.
    tokio::time::sleep(window.saturating_sub(recovered.elapsed()) + std::time::Duration::from_millis(100)).await;
    buy(&app, m, &s.product_id, "second@hiccup.example").await;
    eventually(super::delivery::WITHIN, "the second event failed twice", || async {
        let rows = log(&app, m, &id).await;
        (rows.len() == 2 && rows[0]["attempts"].as_i64() >= Some(2)).then_some(())
    })
    .await;
    let (_, shown) = app.get_json(m, &format!("/webhook-endpoints/{id}")).await;
    assert_eq!((&shown["enabled"], &shown["disabled_at"]), (&json!(true), &Value::Null), "{shown}");
}

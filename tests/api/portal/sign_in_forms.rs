//! Sign-in forms that hold up against other people: asking again re-sends the live code
//! instead of replacing it, and every sign-in form carries its page's token.

use reqwest::StatusCode;

use super::{
    FormPass, code_for, enter_code, form_cookie, form_token_of, on_pool, post_form, post_form_with, purchase,
    request_code, set_cookie, shop,
};
use crate::helpers::{Stack, TestApp, eventually, on_both_stacks};
use crate::mail::{WITHIN, unique_address};

on_both_stacks!(portal_asking_again_resends_the_live_code_and_link, portal_sign_in_forms_need_their_page_token);

/// The `n`-th (from 1) sign-in email to `to` at the shop, once the outbox has sent it: its
/// subject and text part, read from the mailbox.
async fn sent_sign_in(app: &TestApp, merchant_id: &str, to: &str, n: usize) -> (String, String) {
    let sql = "SELECT id, status FROM emails WHERE merchant_id = $1 AND to_address = $2 AND kind = 'sign_in' \
               ORDER BY created_at, id";
    let id = eventually(WITHIN, &format!("sign-in email {n} is sent"), || async {
        let rows: Vec<(String, String)> = on_pool!(&app.state.db, pool => {
            sqlx::query_as(sql).bind(merchant_id).bind(to).fetch_all(pool).await.unwrap()
        });
        rows.get(n - 1).filter(|(_, status)| status == "sent").map(|(id, _)| id.clone())
    })
    .await;
    let path = app.state.config.data_dir.join("mailbox").join(format!("{id}.eml"));
    let message = satchel::mail::parse::read(&std::fs::read_to_string(path).unwrap());
    (message.subject, message.text.expect("a text part"))
}

/// The path of the magic link in an email's text.
fn link_in(text: &str) -> String {
    let start = text.find("/portal/").expect("a sign-in link");
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn portal_asking_again_resends_the_live_code_and_link(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;

    // Whoever knows the address asks again: the customer's email keeps working.
    assert_eq!(request_code(&app, &shop.m.slug, &email).await.status(), StatusCode::OK);
    let (first_subject, first_text) = sent_sign_in(&app, &shop.m.id, &email, 1).await;
    assert_eq!(request_code(&app, &shop.m.slug, &email).await.status(), StatusCode::OK);
    let (second_subject, second_text) = sent_sign_in(&app, &shop.m.id, &email, 2).await;
    let code = code_for(&app, &shop.m.id, &email).await;
    assert!(first_subject.starts_with(&code), "{first_subject}");
    assert_eq!(second_subject, first_subject, "the same code in both emails");
    assert_eq!(link_in(&second_text), link_in(&first_text), "the same link in both emails");
    assert!(first_text.contains("for the next 15 minutes"), "{first_text}");
    let used = post_form(&app, &app.url(&link_in(&first_text)), &[]).await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER, "the first email's link signs in");

    // Used, the code is gone: the next request makes a new one, and asking again re-sends it.
    request_code(&app, &shop.m.slug, &email).await;
    let (third_subject, _) = sent_sign_in(&app, &shop.m.id, &email, 3).await;
    assert!(!third_subject.starts_with(&code), "a new code after the old one was used");
    request_code(&app, &shop.m.slug, &email).await;
    let (fourth_subject, _) = sent_sign_in(&app, &shop.m.id, &email, 4).await;
    assert_eq!(fourth_subject, third_subject);
    let typed = &third_subject[..6];
    let signed = enter_code(&app, &shop.m.slug, &email, typed).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "the code of the earlier email signs in");
    let sql = "SELECT COUNT(*) FROM sign_in_codes WHERE merchant_id = $1";
    let (codes,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    assert_eq!(codes, 2, "four emails, two codes");
}

async fn portal_sign_in_forms_need_their_page_token(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    purchase(&app, &shop, &email).await;
    let ask = app.url("/portal/acme-books/sign-in");
    let stale = "This page was open too long or did not come from this shop";

    // No token (a form elsewhere, posted by a browser that sends no Origin): the sign-in page
    // again, with a fresh token that works.
    let bare = app.client.post(&ask).form(&[("email", email.as_str())]).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let cookie = form_cookie(&bare).expect("a form cookie for the next try");
    let html = bare.text().await.unwrap();
    assert!(html.contains("Email me a code") && html.contains(stale) && html.contains(&email), "{html}");
    let retried = post_form_with(&app, &ask, &[("email", &email)], &cookie, &form_token_of(&html)).await;
    assert_eq!(retried.status(), StatusCode::OK, "the refused page's own form works");
    let sql = "SELECT COUNT(*) FROM sign_in_codes WHERE merchant_id = $1";
    let (codes,): (i64,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    assert_eq!(codes, 1, "only the request with its token made a code");

    // Another browser's token does not pass with this browser's cookie, on any sign-in form.
    let (ours, theirs) = (FormPass::fetch(&app, "acme-books").await, FormPass::fetch(&app, "acme-books").await);
    let swapped = post_form_with(&app, &ask, &[("email", &email)], &ours.cookie, &theirs.token).await;
    assert_eq!(swapped.status(), StatusCode::FORBIDDEN);
    let code = code_for(&app, &shop.m.id, &email).await;
    let enter = app.url("/portal/acme-books/code");
    let fields = [("email", email.as_str()), ("code", code.as_str())];
    let refused = post_form_with(&app, &enter, &fields, &ours.cookie, &theirs.token).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&refused).is_none(), "no session");
    let html = refused.text().await.unwrap();
    assert!(html.contains("6-digit code") && html.contains(stale), "the code page again: {html}");
    let salt_sql = "SELECT salt FROM sign_in_codes WHERE merchant_id = $1";
    let (salt,): (String,) =
        on_pool!(&app.state.db, pool => sqlx::query_as(salt_sql).bind(&shop.m.id).fetch_one(pool).await.unwrap());
    let token = satchel::domain::MagicLinkToken::derive(&app.state.secrets.key(), &salt);
    let link = app.url(&format!("/portal/acme-books/sign-in/{}", token.expose()));
    let button = app.client.post(&link).header("cookie", &ours.cookie).send().await.unwrap();
    assert_eq!(button.status(), StatusCode::FORBIDDEN, "the magic link's button too");
    assert!(button.text().await.unwrap().contains("Continue to my purchases"));

    // With the page's own token the code signs in.
    let signed = post_form_with(&app, &enter, &fields, &ours.cookie, &ours.token).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&signed).is_some());
}

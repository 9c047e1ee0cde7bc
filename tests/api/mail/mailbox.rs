//! With no SMTP server configured, mail is written as `.eml` files into `data_dir/mailbox/`,
//! and `satchel mail list` / `satchel mail show` read them.

use std::process::Command;

use super::{WITHIN, fast_retries, unique_address};
use crate::fulfilment::{buy, shop};
use crate::helpers::{Stack, TestApp, eventually, files_below, on_both_stacks};

on_both_stacks!(without_smtp_mail_lands_in_the_mailbox);

async fn without_smtp_mail_lands_in_the_mailbox(stack: Stack) {
    let app = TestApp::spawn_with(stack, fast_retries).await;
    assert!(app.state.config.mail.smtp.is_none(), "no SMTP server is the default");
    let shop = shop(&app, "Quiet Press", "guide.pdf", b"%PDF-1.4 quiet".to_vec()).await;
    let to = unique_address("mailbox");
    buy(&app, &shop.m, &shop.product_id, &to).await;

    let mailbox = app.state.config.data_dir.join("mailbox");
    let file = eventually(WITHIN, "an .eml file appears in the mailbox", || {
        let found = files_below(&mailbox).into_iter().find(|f| f.ends_with(".eml"));
        async move { found }
    })
    .await;
    let id = file.trim_end_matches(".eml").to_owned();
    let message = std::fs::read_to_string(mailbox.join(&file)).unwrap();
    assert!(message.contains(&format!("To: {to}")) || message.contains(&format!("<{to}>")), "{message}");
    assert!(message.contains("Subject: Your purchase from Quiet Press: Field Guide"), "{message}");
    assert!(message.contains("multipart/alternative") && message.contains("text/html"), "both parts: {message}");

    let config = app.dir.path().join("satchel.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n", app.state.config.data_dir.display().to_string())).unwrap();
    let satchel = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_satchel"))
            .env("SATCHEL_CONFIG", &config)
            .env_remove("SATCHEL__MAIL__SMTP__HOST")
            .args(args)
            .output()
            .expect("satchel runs");
        assert!(output.status.success(), "satchel {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let list = satchel(&["mail", "list"]);
    let line = list.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{id} is listed: {list}"));
    assert!(line.contains(&to) && line.contains("Your purchase from Quiet Press: Field Guide"), "{line}");
    let shown = satchel(&["mail", "show", &id[..13]]);
    assert_eq!(shown, message, "`mail show` prints the message as written, found by the start of its id");

    let id = crate::fulfilment::orders(&app, &shop.m).await[0]["id"].as_str().unwrap().to_owned();
    eventually(WITHIN, "the email is marked sent", || async {
        let detail = crate::fulfilment::order(&app, &shop.m, &id).await;
        (detail["emails"][0]["status"] == "sent").then_some(())
    })
    .await;
}

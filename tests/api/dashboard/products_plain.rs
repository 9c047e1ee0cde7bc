//! The products pages without JavaScript (list buttons that submit, the plain multipart
//! upload form), and archiving after asking.

use reqwest::StatusCode;

use super::products::{create_product, edit_form, post_edit};
use super::{Dashboard, location};
use crate::helpers::{Stack, TestApp, file_bytes, on_both_stacks};

on_both_stacks!(dashboard_archives_after_asking_and_restores, dashboard_products_work_without_javascript);

async fn dashboard_archives_after_asking_and_restores(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let id = create_product(&d, "Old Album").await;

    let (status, confirm) = d.get(&format!("/dashboard/products/{id}/archive")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Archive “Old Album”?") && confirm.contains("keep their downloads"));
    assert_eq!(app.get_json(&merchant, &format!("/products/{id}")).await.1["active"], true, "asking changes nothing");

    let archived = d.post(&format!("/dashboard/products/{id}/archive"), &[]).await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&archived), "/dashboard/products?notice=archived");
    assert_eq!(app.get_json(&merchant, &format!("/products/{id}")).await.1["active"], false);
    let (_, list) = d.get("/dashboard/products?notice=archived").await;
    assert!(list.contains("Product archived.") && !list.contains("Old Album"), "{list}");
    assert!(list.contains("Show archived products (1)"));
    let (_, all) = d.get("/dashboard/products?archived=1").await;
    assert!(all.contains("Old Album") && all.contains("Archived"));

    let restored = d.post(&format!("/dashboard/products/{id}/restore"), &[]).await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_json(&merchant, &format!("/products/{id}")).await.1["active"], true);
}

async fn dashboard_products_work_without_javascript(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let id = create_product(&d, "Zine").await;

    // The plain multipart form: the CSRF token first, then the files; they join the product.
    let parts = || {
        reqwest::multipart::Form::new()
            .text("csrf", d.csrf.clone())
            .part("file", reqwest::multipart::Part::bytes(file_bytes(2000, 1)).file_name("one.pdf"))
            .part("file", reqwest::multipart::Part::bytes(file_bytes(3000, 2)).file_name("two.pdf"))
    };
    let url = format!("{}/dashboard/products/{id}/files", app.address);
    let forged = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file_bytes(2000, 1)).file_name("one.pdf"))
        .text("csrf", d.csrf.clone());
    let refused = d.client.post(&url).header("origin", &app.address).multipart(forged).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "the token must come before any file");
    assert_eq!(app.leftovers().await, Vec::<String>::new());
    let response = d.client.post(&url).header("origin", &app.address).multipart(parts()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/dashboard/products/{id}?notice=files-added"));
    let (_, delivery) = app.get_json(&merchant, &format!("/products/{id}/delivery")).await;
    assert_eq!(delivery["mode"], "files");
    let names: Vec<&str> =
        delivery["files"].as_array().unwrap().iter().map(|f| f["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["one.pdf", "two.pdf"]);
    let ids: Vec<String> =
        delivery["files"].as_array().unwrap().iter().map(|f| f["file_id"].as_str().unwrap().to_owned()).collect();

    // "Move down" on file 1 shows the list rearranged, not yet saved.
    let mut form = edit_form("Zine", "files", &[(&ids[0], "one.pdf"), (&ids[1], "two.pdf")], "");
    form.retain(|(k, _)| k != "op");
    form.push(("op".into(), "down-1".into()));
    let response = post_edit(&d, &id, &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not saved yet"));
    let first = html.find(r#"value="two.pdf""#).unwrap();
    assert!(first < html.find(r#"value="one.pdf""#).unwrap(), "two.pdf is listed first now");
    assert_eq!(app.get_json(&merchant, &format!("/products/{id}/delivery")).await.1, delivery, "nothing saved yet");

    // Eight more fit; a ninth and tenth too; the eleventh is refused and nothing is kept.
    let mut many = reqwest::multipart::Form::new().text("csrf", d.csrf.clone());
    for i in 0..9 {
        many =
            many.part("file", reqwest::multipart::Part::bytes(file_bytes(100, 50 + i)).file_name(format!("{i}.pdf")));
    }
    let response = d.client.post(&url).header("origin", &app.address).multipart(many).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Files: a product can deliver at most 10 files; 11 were given"), "{html}");
    assert_eq!(app.get_json(&merchant, &format!("/products/{id}/delivery")).await.1, delivery, "unchanged");
    assert_eq!(app.get_json(&merchant, "/files").await.1.as_array().unwrap().len(), 2, "no new file kept");
}

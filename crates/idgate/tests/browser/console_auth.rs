//! The first administrator, signing out and signing in, as a person does it in a browser.

use crate::harness::{self, ADMIN, PASSWORD};
const SIGN_OUT: &str = "form[action='/console/logout'] button[type=submit]";

#[tokio::test(flavor = "multi_thread")]
async fn first_admin_setup_and_sign_in() {
    let (app, browser) = harness::start().await;

    browser.goto(&app.setup_url).await;
    assert_eq!(browser.text("h1").await, "Create the first administrator");
    browser.fill("#username", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#confirm", PASSWORD).await;
    browser.screenshot("console-setup").await;
    browser.click("button[type=submit]").await;

    browser.wait_for_path("/console").await;
    assert_eq!(browser.text("h1").await, "Nodes");
    assert_eq!(browser.text("header .who").await, ADMIN, "signed in as");
    browser.screenshot("console-nodes").await;

    browser.click(SIGN_OUT).await;
    browser.wait_for_path("/console/login").await;
    browser.goto("/console").await;
    assert_eq!(
        browser.path().await,
        "/console/login",
        "signed out for good"
    );
    assert!(!browser.body_text().await.contains("Sign out"));

    browser.fill("#username", ADMIN).await;
    browser.fill("#password", "not the password").await;
    browser.click("button[type=submit]").await;
    assert_eq!(
        browser.text("[role=alert]").await,
        "Wrong user name or password."
    );
    assert_eq!(browser.path().await, "/console/login");
    assert_eq!(
        browser.attr("#username", "value").await.as_deref(),
        Some(ADMIN),
        "the name is kept for the next try"
    );

    browser.fill("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_path("/console").await;
    assert_eq!(browser.text("h1").await, "Nodes");
}

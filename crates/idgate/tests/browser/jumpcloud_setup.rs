//! The whole JumpCloud setup as an admin does it in the console, step by step as
//! docs/jumpcloud.md tells it (its screenshots come from here): a node, an SSO method with its
//! URLs and exports, JumpCloud's metadata uploaded, JIT turned off for SCIM, a SCIM token
//! generated and used, a team approved, and the events that tell the story.

use serde_json::json;

use crate::harness::{self, App, Browser};

const JUMPCLOUD_METADATA: &str =
    include_str!("../../../saml/tests/fixtures/jumpcloud/metadata.xml");

/// A SCIM request with the token, as JumpCloud sends it.
async fn scim(
    app: &App,
    token: &str,
    node: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let res = app
        .http
        .post(app.url(&format!("/api/rest/scim/v2/{node}{path}")))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .expect("SCIM request");
    assert_eq!(res.status(), 201, "SCIM POST {path}");
    res.json().await.expect("SCIM JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sets_up_jumpcloud_sso_and_scim_from_the_console() {
    let (app, browser) = harness::start().await;
    harness::first_admin(&app, &browser).await;
    let node = add_sso_method(&app, &browser).await;
    let token = add_scim_method(&browser, &node).await;
    approve_a_team(&app, &browser, &node, &token).await;
}

/// A node, and its SSO method set up for JumpCloud; returns the node's id.
async fn add_sso_method(app: &App, browser: &Browser) -> String {
    // A node for the organisation.
    browser.fill("#node-name", "Acme").await;
    browser.click("#create-node").await;
    browser.wait_for("#sso").await;
    assert_eq!(browser.text("[role=status]").await, "Node created.");
    assert_eq!(browser.text("h1").await, "Acme");
    let node = browser
        .path()
        .await
        .trim_start_matches("/console/nodes/")
        .to_owned();
    browser.screenshot("node-new").await;

    // Add Method → SSO.
    browser.fill("#sso-name", "JumpCloud").await;
    browser.fill("#sso-domain", "acme.com").await;
    // Users will also sign in from the tile in the JumpCloud User Console: the admin says so.
    assert_eq!(browser.attr("#sso-idp-initiated", "checked").await, None);
    browser.click("#sso-idp-initiated").await;
    // The whole form in the picture, its last fields included.
    browser
        .client()
        .execute("document.querySelector('#sso').scrollIntoView()", vec![])
        .await
        .expect("scroll to the form");
    browser.screenshot_of("#sso", "sso-new").await;
    browser.click("#add-sso").await;
    browser.wait_for("#sp-entity-id").await;
    let sso = browser
        .path()
        .await
        .trim_start_matches("/console/sso/")
        .to_owned();
    assert_eq!(sso.len(), 12, "a twelve-digit SSO id");
    assert_eq!(
        browser.text("#sp-entity-id").await,
        format!("{}/api/rest/sso/saml/{sso}", app.base)
    );
    assert_eq!(
        browser.text("#login-url").await,
        format!("{}/api/rest/sso/ext_login/{sso}", app.base)
    );
    browser.screenshot("sso-urls").await;
    // The Copy buttons run under the console's content security policy (script from 'self').
    browser.click("button[data-copy=sp-entity-id]").await;
    browser
        .wait_for_text("button[data-copy=sp-entity-id]", "Copied")
        .await;

    // Export Metadata: what the link gives is the SP metadata JumpCloud takes.
    let href = browser
        .attr("#download-metadata", "href")
        .await
        .expect("a link");
    let metadata = app
        .http
        .get(&href)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metadata.contains(&format!(
        "entityID=\"{}/api/rest/sso/saml/{sso}\"",
        app.base
    )));
    let cert_href = browser
        .attr("#download-cert", "href")
        .await
        .expect("a link");
    let cert = app
        .http
        .get(&cert_href)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));

    import_jumpcloud_metadata(browser).await;

    // SCIM will provision the accounts: JIT off.
    browser.click("#set-jit").await;
    browser.click("#save-settings").await;
    browser.wait_for("[role=status]").await;
    assert_eq!(browser.text("[role=status]").await, "Settings saved.");
    assert_eq!(browser.attr("#set-jit", "checked").await, None);
    assert!(
        browser
            .attr("#set-idp-initiated", "checked")
            .await
            .is_some(),
        "IdP-initiated sign-in as chosen when the method was added"
    );
    browser.screenshot_of("#settings", "sso-settings").await;
    node
}

/// Uploads JumpCloud's metadata on the method's page: a wrong file first, then the right one.
async fn import_jumpcloud_metadata(browser: &Browser) {
    // JumpCloud's metadata: a file that is not metadata is refused and says why.
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("notes.xml");
    std::fs::write(&wrong, "<notes>not metadata</notes>").unwrap();
    browser.choose_file("#metadata-file", &wrong).await;
    browser.click("#import-idp").await;
    assert!(
        browser
            .text("[role=alert]")
            .await
            .starts_with("Not imported:")
    );
    let file = dir.path().join("JumpCloud-saml2-metadata.xml");
    std::fs::write(&file, JUMPCLOUD_METADATA).unwrap();
    browser.choose_file("#metadata-file", &file).await;
    browser.click("#import-idp").await;
    browser.wait_for("[role=status]").await;
    assert_eq!(
        browser.text("[role=status]").await,
        "IdP metadata imported."
    );
    browser.screenshot_of("#idp", "sso-idp-imported").await;
}

/// Add Method → SCIM → Generate; returns the token.
async fn add_scim_method(browser: &Browser, node: &str) -> String {
    browser.goto(&format!("/console/nodes/{node}")).await;
    browser.click("#generate-token").await;
    let token = browser.text("#scim-token").await;
    assert!(token.len() >= 43, "{token}");
    assert!(browser.body_text().await.contains("cannot be shown again"));
    browser.screenshot("scim-token").await;
    browser.click("#token-done").await;
    browser.wait_for("#scim").await;
    assert!(browser.text("#scim").await.contains("Status: Pending"));
    assert!(
        !browser.body_text().await.contains(&token),
        "shown once only"
    );
    token
}

/// JumpCloud provisions a user and a group; the admin approves the team and finds the event.
async fn approve_a_team(app: &App, browser: &Browser, node: &str, token: &str) {
    // JumpCloud provisions a user and a group with the token.
    let user = scim(
        app,
        token,
        node,
        "/Users",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane@acme.com", "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane@acme.com", "type": "work", "primary": true}], "active": true
        }),
    )
    .await;
    scim(
        app,
        token,
        node,
        "/Groups",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering", "members": [{"value": user["id"]}]
        }),
    )
    .await;
    browser.goto(&format!("/console/nodes/{node}")).await;
    assert!(browser.text("#scim").await.contains("Status: Active"));
    browser.screenshot_of("#scim", "scim-active").await;

    // The team waits for approval.
    browser.click("a[href$='/teams']").await;
    browser.wait_for("#pending").await;
    assert!(browser.text("#pending").await.contains("Engineering"));
    assert!(browser.text("#pending").await.contains("jane@acme.com"));
    browser.click("#pending input[type=checkbox]").await;
    browser.screenshot("teams-queue").await;
    browser.click("#approve-selected").await;
    browser.wait_for("#no-pending").await;
    assert!(browser.text("#approved").await.contains("Engineering"));

    // The people and what happened.
    browser.goto(&format!("/console/nodes/{node}/users")).await;
    assert!(browser.text("#users").await.contains("jane@acme.com"));
    browser.screenshot("users").await;
    browser.goto("/console/events").await;
    browser.select("#ev-kind", "team_approved").await;
    browser.click("#filter-events").await;
    browser.wait_for("#events tbody tr").await;
    let events = browser.text("#events").await;
    assert!(
        events.contains("Engineering") && events.contains("console:root"),
        "{events}"
    );
    browser.goto("/console/events").await;
    browser.screenshot("events").await;
}

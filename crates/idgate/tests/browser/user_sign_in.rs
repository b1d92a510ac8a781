//! What people see: the sign-in page, signing in from the IdP (a tile in the JumpCloud User
//! Console posts a signed response), the landing page, signing out, and the refusal page.

use idgate::actions::{self, Actor, NewSso};
use idgate_saml::testing::{Claims, TestIdp, signed_response};
use idgate_store::users::UserStatus;
use idgate_store::{SsoId, sso};

use crate::harness::{self, App, Browser};

/// A node whose SSO method trusts `idp`, created with IdP-initiated sign-in (the tile) and JIT
/// on.
async fn method_for(app: &App, idp: &TestIdp) -> SsoId {
    let admin = Actor::cli();
    let node = actions::create_node(&app.store, &admin, "Acme")
        .await
        .unwrap();
    let sso_id = actions::create_sso(
        &app.store,
        &admin,
        node.id,
        NewSso {
            name: "JumpCloud".to_owned(),
            domain: Some("acme.test".to_owned()),
            jit: Some(true),
            idp_initiated: true,
            ..NewSso::default()
        },
    )
    .await
    .unwrap();
    let settings = idp.settings();
    app.store
        .run(move |c| sso::set_idp(c, sso_id, &settings))
        .await
        .unwrap();
    sso_id
}

/// What the IdP's page does when a user clicks the tile: posts a signed response to the ACS.
async fn post_from_idp(app: &App, browser: &Browser, idp: &TestIdp, sso_id: SsoId, n: u32) {
    let acs = format!("{}/api/rest/sso/saml/{sso_id}", app.base);
    let id = format!(
        "_browser{n}_{}",
        &idgate_store::token::generate().hash[..16]
    );
    let mut claims = Claims::new(&acs, &acs, &id);
    claims.name_id = "jane@acme.test";
    let xml = signed_response(idp, &claims);
    let encoded = openssl::base64::encode_block(xml.as_bytes());
    let script = "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
                  const i = document.createElement('input'); i.type = 'hidden'; i.name = 'SAMLResponse';
                  i.value = arguments[1]; f.appendChild(i); document.body.appendChild(f); f.submit();";
    browser
        .client()
        .execute(script, vec![acs.clone().into(), encoded.into()])
        .await
        .expect("the IdP's page posts the response");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_signs_in_from_jumpcloud_sees_who_they_are_and_signs_out() {
    let (app, browser) = harness::start().await;
    let idp = TestIdp::new();
    let sso_id = method_for(&app, &idp).await;

    // idgate's own sign-in page asks for the work email.
    browser.goto("/login").await;
    assert_eq!(browser.text("h1").await, "Sign in");
    browser.fill("#email", "jane@acme.test").await;
    browser.screenshot("user-login").await;
    browser.fill("#email", "someone@elsewhere.test").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("[role=alert]").await;

    // A click on the tile in the JumpCloud User Console.
    post_from_idp(&app, &browser, &idp, sso_id, 1).await;
    browser.wait_for("#signed-in").await;
    assert_eq!(browser.path().await, "/");
    assert_eq!(browser.text("#who").await, "jane@acme.test");
    browser.screenshot("user-signed-in").await;

    browser.click("#sign-out").await;
    browser.wait_for("a[href='/login']").await;
    assert!(browser.body_text().await.contains("idgate is running"));

    // A locked account is refused, on a page that says what to do.
    let user = app
        .store
        .run(|c| {
            let node = idgate_store::nodes::list(c)?[0].id;
            idgate_store::users::find_by_user_name(c, node, "jane@acme.test")
        })
        .await
        .unwrap()
        .expect("created at first sign-in (JIT)");
    actions::set_user_status(
        &app.store,
        &Actor::cli(),
        user.node_id,
        user.id,
        UserStatus::Locked,
    )
    .await
    .unwrap();
    post_from_idp(&app, &browser, &idp, sso_id, 2).await;
    browser.wait_for("#refused").await;
    assert!(browser.body_text().await.contains("Your account is locked"));
    browser.screenshot("user-error").await;
}

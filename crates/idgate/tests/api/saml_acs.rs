//! The assertion consumer over HTTP, with responses signed by an implementation independent of
//! idgate: the `xmlsec1` command, with a throw-away test IdP key made for each test.

use idgate_store::testing::TestDatabase;
use idgate_store::{SsoId, StorageError, nodes, sso};
use reqwest::StatusCode;

use idgate_saml::testing::{Claims, IDP_ENTITY, TestIdp, signed_response};

use crate::helpers::{TestApp, between, spawn_app, spawn_with, test_config};

/// A response signed by `idp` (xmlsec1), with a fresh assertion id.
pub(crate) fn signed(idp: &TestIdp, c: &Claims<'_>) -> String {
    let id = format!(
        "_a{}",
        &idgate_store::token::hash(&idgate_store::token::generate().token)[..24]
    );
    let mut c = c.clone();
    c.assertion_id = &id;
    signed_response(idp, &c)
}

/// An app with an SSO method whose IdP is `idp`.
pub(crate) async fn app_with_method(
    db: TestDatabase,
    idp: &TestIdp,
    jit: bool,
    idp_initiated: bool,
) -> (TestApp, SsoId) {
    let app = spawn_app(db).await;
    let sso_id = add_method(&app, idp, jit, idp_initiated).await;
    (app, sso_id)
}

/// Points the method at the test IdP's endpoints: Redirect-binding sign-in (else POST), an SLO
/// endpoint or none, and signed requests or not.
pub(crate) async fn set_idp_endpoints(
    app: &TestApp,
    idp: &TestIdp,
    sso_id: SsoId,
    redirect: bool,
    slo: bool,
    sign_requests: bool,
) {
    let cert = idp.cert_pem.clone();
    app.store
        .run(move |c| {
            sso::set_idp(
                c,
                sso_id,
                &sso::IdpSettings {
                    entity_id: IDP_ENTITY.into(),
                    metadata_xml: String::new(),
                    sso_post_url: (!redirect).then(|| "https://idp.example.test/sso".to_owned()),
                    sso_redirect_url: redirect
                        .then(|| "https://idp.example.test/redirect".to_owned()),
                    slo_url: slo.then(|| "https://idp.example.test/slo".to_owned()),
                    certs: vec![cert],
                },
            )?;
            sso::update_settings(
                c,
                sso_id,
                &sso::SettingsChange {
                    sign_requests: Some(sign_requests),
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap();
}

/// Adds a node and an SSO method whose IdP is `idp` to a running app.
pub(crate) async fn add_method(
    app: &TestApp,
    idp: &TestIdp,
    jit: bool,
    idp_initiated: bool,
) -> SsoId {
    let node = app
        .store
        .run(|c| {
            nodes::create(c, &nodes::NodeName::parse("acme").unwrap())
                .map_err(|e| StorageError::Corrupt(e.to_string()))
        })
        .await
        .unwrap();
    add_method_in(app, idp, node.id, jit, idp_initiated).await
}

/// Adds an SSO method whose IdP is `idp` to a node of a running app.
pub(crate) async fn add_method_in(
    app: &TestApp,
    idp: &TestIdp,
    node_id: idgate_store::NodeId,
    jit: bool,
    idp_initiated: bool,
) -> SsoId {
    let settings = idp.settings();
    app.store
        .run(move |c| {
            let sp = idgate_saml::keys::generate("sp").unwrap();
            let id = sso::create(
                c,
                &sso::NewSsoMethod {
                    node_id,
                    name: "test",
                    sp_entity_id: None,
                    sp_key_pem: &sp.key_pem,
                    sp_cert_pem: &sp.cert_pem,
                    idp_initiated,
                },
            )?;
            sso::set_idp(c, id, &settings)?;
            sso::update_settings(
                c,
                id,
                &sso::SettingsChange {
                    jit: Some(jit),
                    ..sso::SettingsChange::default()
                },
            )?;
            Ok(id)
        })
        .await
        .unwrap()
}

pub(crate) async fn post(
    app: &TestApp,
    path: &str,
    xml: &str,
    relay: Option<&str>,
) -> reqwest::Response {
    let encoded = openssl::base64::encode_block(xml.as_bytes());
    let mut form = vec![("SAMLResponse", encoded.as_str())];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    app.client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

pub(crate) fn claims<'a>(acs: &'a str, audience: &'a str) -> Claims<'a> {
    Claims::new(acs, audience, "")
}

/// The user a successful sign-in's session belongs to (its cookie asked at `/auth/session`).
pub(crate) async fn user_signed_in(app: &TestApp, res: reqwest::Response) -> String {
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = app
        .client
        .get(app.url("/auth/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    me["user"].as_str().unwrap().to_owned()
}

pub(crate) async fn last_failure(app: &TestApp) -> String {
    let events = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 5))
        .await
        .unwrap();
    let failed = events
        .iter()
        .find(|e| e.kind == "sso_login_failed")
        .expect("a failure event");
    failed.target.clone().unwrap_or_default()
}

#[tokio::test]
async fn an_idp_initiated_sign_in_creates_a_session_the_proxy_can_check() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let response = signed(&idp, &claims(&acs, &acs));

        let res = post(&app, &acs_path, &response, Some("/app/dashboard")).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{:?}",
            res.text().await
        );
        assert_eq!(res.headers()["location"], "/app/dashboard");
        let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        let cookie = set_cookie.split(';').next().unwrap().to_owned();

        let me = app
            .client
            .get(app.url("/auth/session"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        let me: serde_json::Value = me.json().await.unwrap();
        assert_eq!(me["user"], "jane@acme.test");
        let verify = app
            .client
            .get(app.url("/auth/verify"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(verify.status(), 200);
        assert_eq!(verify.headers()["x-idgate-user"], "jane@acme.test");

        // The same response again is a replay, whichever ACS path it is posted to.
        let again = post(
            &app,
            &format!("/api/rest/sso/ext_login/{sso_id}"),
            &response,
            None,
        )
        .await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(["replay", "destination"].contains(&last_failure(&app).await.as_str()));
        let again = post(&app, &acs_path, &response, None).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_failure(&app).await, "replay");

        let forced = app
            .client
            .post(app.url("/logout"))
            .header("cookie", &cookie)
            .header("origin", "https://evil.acme.test")
            .send()
            .await
            .unwrap();
        assert_eq!(
            forced.status(),
            StatusCode::FORBIDDEN,
            "another site's form"
        );
        assert_eq!(
            session_status(&app, &cookie).await,
            StatusCode::OK,
            "still signed in"
        );
        let out = app
            .client
            .post(app.url("/logout"))
            .header("cookie", &cookie)
            .header("origin", &app.address)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let me = app
            .client
            .get(app.url("/auth/session"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 401);
        assert_eq!(
            app.client
                .get(app.url("/auth/verify"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    }
}

#[tokio::test]
async fn each_broken_rule_is_refused_with_its_reason() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, false).await;
    let acs_path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&acs_path);
    let other_idp = TestIdp::new();

    let cases: Vec<(String, &str)> = vec![
        (signed(&idp, &claims(&acs, &acs)), "unsolicited"),
        (
            signed(
                &idp,
                &Claims {
                    in_response_to: Some("_never_sent"),
                    ..claims(&acs, &acs)
                },
            ),
            "in_response_to",
        ),
        (signed(&other_idp, &claims(&acs, &acs)), "signature"),
        (
            signed(&idp, &claims(&acs, "https://other-sp.test")),
            "audience",
        ),
        (
            signed(&idp, &claims("https://other-sp.test/acs", &acs)),
            "destination",
        ),
        (
            signed(
                &idp,
                &Claims {
                    issuer: "https://evil.test",
                    ..claims(&acs, &acs)
                },
            ),
            "issuer",
        ),
        (
            signed(
                &idp,
                &Claims {
                    shift_secs: -3600,
                    ..claims(&acs, &acs)
                },
            ),
            "expired",
        ),
        (
            signed(
                &idp,
                &Claims {
                    shift_secs: 3600,
                    ..claims(&acs, &acs)
                },
            ),
            "not_yet_valid",
        ),
        (
            signed(&idp, &claims(&acs, &acs)).replace(
                "jane@acme.test</saml:NameID>",
                "admin@acme.test</saml:NameID>",
            ),
            "signature",
        ),
    ];
    for (xml, rule) in cases {
        let res = post(&app, &acs_path, &xml, None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{rule}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(res.headers().get("set-cookie").is_none(), "{rule}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains(&format!("reason <code>{rule}</code>")),
            "the refusal page names the reason: {page}"
        );
        assert_eq!(last_failure(&app).await, rule);
    }
    let garbage = app
        .client
        .post(app.url(&acs_path))
        .form(&[("SAMLResponse", "%%%")])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(last_failure(&app).await, "not_base64");
    let missing = app
        .client
        .post(app.url(&acs_path))
        .form(&[("RelayState", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn jit_locked_users_and_redirects() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, false, true).await;
    let acs_path = format!("/api/rest/sso/saml/sso/{sso_id}");
    let acs = app.url(&acs_path);
    let audience = app.url(&format!("/api/rest/sso/saml/{sso_id}"));

    // JIT off: an unknown user is refused.
    let res = post(
        &app,
        &acs_path,
        &signed(&idp, &claims(&acs, &audience)),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(last_failure(&app).await, "no_account");

    // An existing (SCIM) user signs in, matched by email in any case; an external RelayState is
    // not followed.
    let node = app
        .store
        .run(move |c| Ok(sso::get(c, sso_id)?.unwrap().node_id))
        .await
        .unwrap();
    let user = app
        .store
        .run(move |c| {
            idgate_store::users::insert(
                c,
                node,
                &idgate_store::users::UserFields {
                    user_name: "Jane@Acme.test".into(),
                    email: Some("jane@acme.test".into()),
                    attributes: "{}".into(),
                    active: true,
                    ..Default::default()
                },
                idgate_store::users::Provenance::Scim,
            )
        })
        .await
        .unwrap();
    let res = post(
        &app,
        &acs_path,
        &signed(&idp, &claims(&acs, &audience)),
        Some("https://evil.test/"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");

    // Locked: refused with a clear page.
    let id = user.id.clone();
    app.store
        .run(move |c| {
            idgate_store::users::set_status(
                c,
                node,
                &id,
                idgate_store::users::UserStatus::Locked,
                true,
            )
        })
        .await
        .unwrap();
    let res = post(
        &app,
        &acs_path,
        &signed(&idp, &claims(&acs, &audience)),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("locked"));
    assert_eq!(last_failure(&app).await, "locked");
}

#[tokio::test]
async fn jit_creates_the_account_from_the_attributes() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    let acs_path = format!("/api/rest/sso/ext_login/{sso_id}");
    let acs = app.url(&acs_path);
    let audience = app.url(&format!("/api/rest/sso/saml/{sso_id}"));
    let res = post(
        &app,
        &acs_path,
        &signed(
            &idp,
            &Claims {
                name_id: "opaque-123",
                email: Some("new@acme.test"),
                ..claims(&acs, &audience)
            },
        ),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let node = app
        .store
        .run(move |c| Ok(sso::get(c, sso_id)?.unwrap().node_id))
        .await
        .unwrap();
    let user = app
        .store
        .run(move |c| idgate_store::users::find_by_user_name(c, node, "new@acme.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.provenance, idgate_store::users::Provenance::Jit);
    assert_eq!(user.given_name.as_deref(), Some("Jane"));
}

#[tokio::test]
async fn sp_initiated_login_posts_a_request_whose_answer_is_accepted_once() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, false).await;
        let login = app
            .get(&format!(
                "/api/rest/sso/ext_login/{sso_id}?RelayState=/inbox%22%3E%3Cscript%3Ex"
            ))
            .await;
        assert_eq!(login.status(), 200);
        let html = login.text().await.unwrap();
        assert!(
            html.contains(r#"action="https://idp.example.test/sso""#),
            "{html}"
        );
        assert!(
            !html.contains("<script>x"),
            "the RelayState is escaped: {html}"
        );
        let request = String::from_utf8(
            openssl::base64::decode_block(between(&html, r#"name="SAMLRequest" value=""#, "\""))
                .unwrap(),
        )
        .unwrap();
        let request_id = between(&request, r#"ID=""#, "\"").to_owned();
        assert_eq!(request_id.len(), 33, "128 random bits: {request}");
        let acs = app.url(&format!("/api/rest/sso/saml/{sso_id}"));
        assert!(
            request.contains(&format!(r#"AssertionConsumerServiceURL="{acs}""#)),
            "{request}"
        );

        let answer = signed(
            &idp,
            &Claims {
                in_response_to: Some(&request_id),
                ..claims(&acs, &acs)
            },
        );
        let res = post(&app, &format!("/api/rest/sso/saml/{sso_id}"), &answer, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"],
            "/inbox\"><script>x",
            "the RelayState remembered with the request"
        );

        // A second answer to the same request is refused: requests are consumed once.
        let second = signed(
            &idp,
            &Claims {
                in_response_to: Some(&request_id),
                ..claims(&acs, &acs)
            },
        );
        let res = post(&app, &format!("/api/rest/sso/saml/{sso_id}"), &second, None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_failure(&app).await, "in_response_to");
    }
}

#[tokio::test]
async fn the_redirect_binding_is_used_and_signed_when_asked() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    set_idp_endpoints(&app, &idp, sso_id, true, false, true).await;
    let res = app
        .get(&format!(
            "/api/rest/sso/ext_login/{sso_id}?RelayState=/home"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://idp.example.test/redirect?SAMLRequest="),
        "{location}"
    );
    assert!(location.contains("RelayState=%2Fhome"), "{location}");
    assert!(
        location.contains("SigAlg=") && location.contains("Signature="),
        "signed: {location}"
    );
    let unknown = app.get("/api/rest/sso/ext_login/123456789012").await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_login_page_routes_by_reserved_domain() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    app.store
        .run(move |c| {
            sso::add_domain(
                c,
                sso_id,
                &idgate_store::EmailDomain::parse("acme.test").unwrap(),
            )
            .map_err(|e| StorageError::Corrupt(e.to_string()))
        })
        .await
        .unwrap();

    let empty = app.get("/login").await;
    assert_eq!(empty.status(), 200);
    assert!(empty.text().await.unwrap().contains("Work email"));
    for query in ["?email=Jane%40ACME.test", "?domain=acme.test"] {
        let res = app.get(&format!("/login{query}")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(
            res.headers()["location"],
            format!("/api/rest/sso/ext_login/{sso_id}").as_str()
        );
    }
    let relayed = app
        .get("/login?email=jane%40acme.test&RelayState=%2Fapp%2Fx")
        .await;
    assert_eq!(
        relayed.headers()["location"],
        format!("/api/rest/sso/ext_login/{sso_id}?RelayState=%2Fapp%2Fx").as_str()
    );
    // The check the assertion consumer applies: no other site, no backslash trick.
    for unsafe_relay in [
        "https%3A%2F%2Fevil.test%2F",
        "%2F%2Fevil.test",
        "%2F%5Cevil.test",
    ] {
        let res = app
            .get(&format!(
                "/login?email=jane%40acme.test&RelayState={unsafe_relay}"
            ))
            .await;
        assert_eq!(
            res.headers()["location"],
            format!("/api/rest/sso/ext_login/{sso_id}").as_str(),
            "{unsafe_relay}"
        );
    }
    // The prompt keeps a safe RelayState for the address typed next.
    let prompt = app
        .get("/login?RelayState=%2Fapp%2Fx")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        prompt.contains(r#"name="RelayState" value="/app/x""#),
        "{prompt}"
    );
    let prompt = app
        .get("/login?RelayState=%2F%2Fevil.test")
        .await
        .text()
        .await
        .unwrap();
    assert!(!prompt.contains("RelayState"), "{prompt}");
    let unknown = app.get("/login?email=bob%40other.test").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Single sign-on is not set up for other.test")
    );
    let bad = app.get("/login?email=%3Cscript%3E").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("not an email address") && !html.contains("<script>"),
        "{html}"
    );
}

#[tokio::test]
async fn oversized_posts_are_refused_before_parsing() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    let path = format!("/api/rest/sso/saml/{sso_id}");
    // Over the form limit: refused while reading.
    let huge = "A".repeat(600 * 1024);
    let res = app
        .client
        .post(app.url(&path))
        .form(&[("SAMLResponse", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Within the form limit but over 256 KiB once decoded: refused before any XML parsing.
    let padded = format!(
        "<samlp:Response>{}</samlp:Response>",
        " ".repeat(260 * 1024)
    );
    let res = post(&app, &path, &padded, None).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(last_failure(&app).await, "too_large");
}

#[tokio::test]
async fn the_session_cookie_is_secure_under_https() {
    let idp = TestIdp::new();
    let db = TestDatabase::sqlite();
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(&db, data_dir.path(), &[("IDGATE_TLS", "true")]);
    let store =
        idgate_store::Store::open(&db.url, &idgate_store::PoolOptions::default(), true).unwrap();
    let app = spawn_with(config, store, db, data_dir);
    assert!(app.address.starts_with("https://"));
    let sso_id = add_method(&app, &idp, true, true).await;
    let acs_path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&acs_path);
    let res = post(&app, &acs_path, &signed(&idp, &claims(&acs, &acs)), None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

/// Starts an SP-initiated sign-in; returns the request id and the browser cookie it set.
async fn start_sign_in(
    app: &TestApp,
    sso_id: SsoId,
    cookie: Option<&str>,
) -> (String, Option<String>) {
    let mut get = app
        .client
        .get(app.url(&format!("/api/rest/sso/ext_login/{sso_id}")));
    if let Some(cookie) = cookie {
        get = get.header("cookie", cookie);
    }
    let login = get.send().await.unwrap();
    let set = login
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let html = login.text().await.unwrap();
    let request = String::from_utf8(
        openssl::base64::decode_block(between(&html, r#"name="SAMLRequest" value=""#, "\""))
            .unwrap(),
    )
    .unwrap();
    (between(&request, r#"ID=""#, "\"").to_owned(), set)
}

#[tokio::test]
async fn under_https_only_the_browser_that_started_a_sign_in_can_finish_it() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let data_dir = tempfile::tempdir().unwrap();
        let config = test_config(&db, data_dir.path(), &[("IDGATE_TLS", "true")]);
        let store = idgate_store::Store::open(&db.url, &idgate_store::PoolOptions::default(), true)
            .unwrap();
        let app = spawn_with(config, store, db, data_dir);
        let sso_id = add_method(&app, &idp, true, false).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);

        let (request_id, set) = start_sign_in(&app, sso_id, None).await;
        let set = set.expect("the starting browser gets a cookie");
        for attribute in [
            "__Host-idgate_browser=",
            "Secure",
            "HttpOnly",
            "SameSite=None",
            "Path=/",
        ] {
            assert!(set.contains(attribute), "{attribute} in {set}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        let answer = |request_id: &str| {
            signed(
                &idp,
                &Claims {
                    in_response_to: Some(request_id),
                    ..claims(&acs, &acs)
                },
            )
        };

        // Another browser (the attacker's response posted from the victim's): refused.
        let res = post(&app, &acs_path, &answer(&request_id), None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get("set-cookie").is_none(), "no session");
        assert_eq!(last_failure(&app).await, "other_browser");

        // The same browser starting again keeps its cookie, and finishes.
        let (request_id, again) = start_sign_in(&app, sso_id, Some(&cookie)).await;
        assert!(
            again.unwrap().starts_with(&cookie),
            "the browser keeps its cookie"
        );
        let encoded = openssl::base64::encode_block(answer(&request_id).as_bytes());
        let res = app
            .client
            .post(&acs)
            .header("cookie", &cookie)
            .form(&[("SAMLResponse", encoded.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn logout_goes_through_the_idps_single_logout_when_it_has_one() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    set_idp_endpoints(&app, &idp, sso_id, false, true, true).await;
    let acs_path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&acs_path);
    let res = post(&app, &acs_path, &signed(&idp, &claims(&acs, &acs)), None).await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let location = out.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://idp.example.test/slo?SAMLRequest="),
        "{location}"
    );
    assert!(
        location.contains("SigAlg=") && location.contains("Signature="),
        "{location}"
    );
    let encoded = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::DeflateDecoder::new(
            &openssl::base64::decode_block(&encoded).unwrap()[..],
        ),
        &mut xml,
    )
    .unwrap();
    assert!(
        xml.contains("LogoutRequest") && xml.contains("jane@acme.test") && xml.contains("s1"),
        "{xml}"
    );
    let me = app
        .client
        .get(app.url("/auth/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "idgate's own session ended first");
}

#[tokio::test]
async fn the_slo_endpoint_takes_the_idps_answer() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    let answer = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_answer" Version="2.0" IssueInstant="{}" InResponseTo="_asked"><saml:Issuer>{IDP_ENTITY}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut deflated = Vec::new();
    std::io::Write::write_all(
        &mut flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default()),
        answer.as_bytes(),
    )
    .unwrap();
    let redirected: String =
        url::form_urlencoded::byte_serialize(openssl::base64::encode_block(&deflated).as_bytes())
            .collect();
    let back = app
        .get(&format!(
            "/api/rest/sso/saml/slo/{sso_id}?SAMLResponse={redirected}"
        ))
        .await;
    assert_eq!(
        (back.status(), back.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/")
    );
    let idp_initiated = app
        .get(&format!("/api/rest/sso/saml/slo/{sso_id}?SAMLRequest=x"))
        .await;
    assert_eq!(idp_initiated.status(), StatusCode::BAD_REQUEST);
    let posted = app
        .client
        .post(app.url(&format!("/api/rest/sso/saml/slo/{sso_id}")))
        .form(&[(
            "SAMLResponse",
            openssl::base64::encode_block(answer.as_bytes()).as_str(),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.status(),
        StatusCode::SEE_OTHER,
        "the POST binding too"
    );
    // What is not a LogoutResponse is refused (the session had ended before the request left).
    let garbage = app
        .get(&format!("/api/rest/sso/saml/slo/{sso_id}?SAMLResponse=x"))
        .await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(last_logout_failure(&app).await, "not_base64");
}

pub(crate) fn logout_request(id: &str, destination: &str, signed: bool) -> String {
    let template = if signed {
        idgate_saml::testing::signature_template(
            id,
            idgate_saml::testing::RSA_SHA256,
            idgate_saml::testing::SHA256,
        )
    } else {
        String::new()
    };
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{destination}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{template}<saml:NameID>jane@acme.test</saml:NameID></samlp:LogoutRequest>"#,
        now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// Signs in through the ACS and returns the session cookie.
pub(crate) async fn signed_in(app: &TestApp, idp: &TestIdp, sso_id: SsoId) -> String {
    let acs_path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&acs_path);
    let res = post(app, &acs_path, &signed(idp, &claims(&acs, &acs)), None).await;
    res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

pub(crate) async fn session_status(app: &TestApp, cookie: &str) -> StatusCode {
    app.client
        .get(app.url("/auth/session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_idp_can_end_sessions_with_a_signed_logout_request() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        set_idp_endpoints(&app, &idp, sso_id, false, true, false).await;
        let slo_path = format!("/api/rest/sso/saml/slo/{sso_id}");
        let slo = app.url(&slo_path);

        // POST binding, enveloped XML signature.
        let cookie = signed_in(&app, &idp, sso_id).await;
        assert_eq!(session_status(&app, &cookie).await, 200);
        let request = idp.sign(&logout_request("_lr1", &slo, true));
        let encoded = openssl::base64::encode_block(request.as_bytes());
        let res = app
            .client
            .post(app.url(&slo_path))
            .form(&[("SAMLRequest", encoded.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://idp.example.test/slo?SAMLResponse="),
            "{location}"
        );
        assert_eq!(
            session_status(&app, &cookie).await,
            401,
            "the IdP ended the session"
        );

        // Redirect binding, the query string signed.
        let cookie = signed_in(&app, &idp, sso_id).await;
        let unsigned = logout_request("_lr2", &slo, false);
        let mut deflated = Vec::new();
        std::io::Write::write_all(
            &mut flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default()),
            unsigned.as_bytes(),
        )
        .unwrap();
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let signed_part = format!(
            "SAMLRequest={}&SigAlg={}",
            enc(&openssl::base64::encode_block(&deflated)),
            enc("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
        );
        let key = openssl::pkey::PKey::private_key_from_pem(idp.key_pem().as_bytes()).unwrap();
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
        signer.update(signed_part.as_bytes()).unwrap();
        let signature = openssl::base64::encode_block(&signer.sign_to_vec().unwrap());
        let res = app
            .get(&format!(
                "{slo_path}?{signed_part}&Signature={}",
                enc(&signature)
            ))
            .await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(session_status(&app, &cookie).await, 401);

        // Unsigned, or signed by another key: refused, the session stays.
        let cookie = signed_in(&app, &idp, sso_id).await;
        let res = app
            .get(&format!(
                "{slo_path}?SAMLRequest={}",
                enc(&openssl::base64::encode_block(&deflated))
            ))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let stranger = TestIdp::new();
        let forged = stranger.sign(&logout_request("_lr3", &slo, true));
        let res = app
            .client
            .post(app.url(&slo_path))
            .form(&[(
                "SAMLRequest",
                openssl::base64::encode_block(forged.as_bytes()).as_str(),
            )])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(session_status(&app, &cookie).await, 200);
    }
}

pub(crate) async fn node_of(app: &TestApp, sso_id: SsoId) -> idgate_store::NodeId {
    app.store
        .run(move |c| Ok(sso::get(c, sso_id)?.unwrap().node_id))
        .await
        .unwrap()
}

pub(crate) async fn add_user(app: &TestApp, sso_id: SsoId, user_name: &str, email: &str) {
    let node = node_of(app, sso_id).await;
    let (user_name, email) = (user_name.to_owned(), email.to_owned());
    app.store
        .run(move |c| {
            idgate_store::users::insert(
                c,
                node,
                &idgate_store::users::UserFields {
                    user_name,
                    email: Some(email),
                    attributes: "{}".into(),
                    active: true,
                    ..Default::default()
                },
                idgate_store::users::Provenance::Scim,
            )
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_name_id_and_an_email_naming_two_accounts_are_refused() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        add_user(&app, sso_id, "jane@acme.test", "jane@acme.test").await;
        add_user(&app, sso_id, "opaque-123", "admin@acme.test").await;

        // The NameID is one account, the email attribute another: neither is chosen.
        let conflicting = Claims {
            name_id: "opaque-123",
            email: Some("jane@acme.test"),
            ..claims(&acs, &acs)
        };
        let res = post(&app, &acs_path, &signed(&idp, &conflicting), None).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers().get("set-cookie").is_none());
        assert_eq!(last_failure(&app).await, "identity_conflict");

        // Both naming the same account, in any ASCII case: accepted (and the NameID linked).
        for name_id in ["jane@acme.test", "JANE@acme.test"] {
            let agreeing = Claims {
                name_id,
                email: Some("jane@acme.test"),
                ..claims(&acs, &acs)
            };
            let res = post(&app, &acs_path, &signed(&idp, &agreeing), None).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{name_id}");
        }
        // Jane is linked to her NameID now: the email alone, under another NameID, is refused.
        let moved = Claims {
            name_id: "opaque-unknown",
            email: Some("jane@acme.test"),
            ..claims(&acs, &acs)
        };
        let res = post(&app, &acs_path, &signed(&idp, &moved), None).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(last_failure(&app).await, "identity_conflict");
    }
}

#[tokio::test]
async fn reserved_domains_bound_the_addresses_that_sign_in() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        app.store
            .run(move |c| {
                sso::add_domain(
                    c,
                    sso_id,
                    &idgate_store::EmailDomain::parse("acme.test").unwrap(),
                )
                .map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .await
            .unwrap();
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let node = node_of(&app, sso_id).await;
        add_user(&app, sso_id, "bob@other.test", "bob@other.test").await;
        add_user(&app, sso_id, "legacy", "legacy@other.test").await;

        let cases = [
            // An existing account of another domain, by email and NameID.
            ("bob@other.test", Some("bob@other.test"), "domain"),
            // JIT would create an account of another domain.
            ("new@other.test", Some("new@other.test"), "domain"),
            // The email is in the domain, the NameID (an address) is not: the NameID alone
            // would find bob.
            ("bob@other.test", Some("jane@acme.test"), "domain"),
            // A look-alike domain.
            ("opaque-9", Some("jane@acme.test.other.test"), "domain"),
            // No address asserted: a NameID that is no address is no account key here.
            ("legacy", None, "not_authoritative"),
        ];
        for (name_id, email, code) in cases {
            let c = Claims {
                name_id,
                email,
                ..claims(&acs, &acs)
            };
            let res = post(&app, &acs_path, &signed(&idp, &c), None).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name_id} {email:?}");
            assert_eq!(last_failure(&app).await, code, "{name_id} {email:?}");
        }
        let created = app
            .store
            .run(move |c| idgate_store::users::find_by_login(c, node, "new@other.test"))
            .await
            .unwrap();
        assert!(created.is_none(), "no JIT account outside the domains");

        // In the domain, in any case: JIT creates the account.
        let c = Claims {
            name_id: "opaque-1",
            email: Some("Jane@ACME.test"),
            ..claims(&acs, &acs)
        };
        let res = post(&app, &acs_path, &signed(&idp, &c), None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
}

/// The value of the first `name="…"` attribute replaced.
fn with_attribute(xml: &str, name: &str, value: &str) -> String {
    let needle = format!(" {name}=\"");
    let start = xml.find(&needle).unwrap() + needle.len();
    let end = xml[start..].find('"').unwrap() + start;
    format!("{}{value}{}", &xml[..start], &xml[end..])
}

/// A signature that points xmlsec at `uri` (refused before anything is fetched).
fn hostile_signature(uri: &str) -> String {
    format!(
        r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="{uri}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"#
    )
}

/// The target (the rule's code) of the latest refused logout request.
pub(crate) async fn last_logout_failure(app: &TestApp) -> String {
    let events = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 5))
        .await
        .unwrap();
    events
        .iter()
        .find(|e| e.kind == "sso_logout_failed")
        .and_then(|e| e.target.clone())
        .expect("a refused logout event")
}

pub(crate) async fn post_logout(app: &TestApp, slo_path: &str, xml: &str) -> reqwest::Response {
    app.client
        .post(app.url(slo_path))
        .form(&[(
            "SAMLRequest",
            openssl::base64::encode_block(xml.as_bytes()).as_str(),
        )])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_logout_request_is_accepted_once_and_only_while_recent() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        set_idp_endpoints(&app, &idp, sso_id, false, true, false).await;
        let slo_path = format!("/api/rest/sso/saml/slo/{sso_id}");
        let slo = app.url(&slo_path);

        let cookie = signed_in(&app, &idp, sso_id).await;
        let request = idp.sign(&logout_request("_once", &slo, true));
        let res = post_logout(&app, &slo_path, &request).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(session_status(&app, &cookie).await, 401);

        // The same request again, on a new session: refused, the session stays.
        let cookie = signed_in(&app, &idp, sso_id).await;
        let res = post_logout(&app, &slo_path, &request).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "replay");
        assert_eq!(session_status(&app, &cookie).await, 200);

        // Signed, but issued half an hour ago.
        let old = (chrono::Utc::now() - chrono::Duration::minutes(30))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let stale = idp.sign(&with_attribute(
            &logout_request("_stale", &slo, true),
            "IssueInstant",
            &old,
        ));
        let res = post_logout(&app, &slo_path, &stale).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "issued_too_long_ago");
        assert_eq!(session_status(&app, &cookie).await, 200);
    }
}

#[tokio::test]
async fn neither_endpoint_fetches_a_signature_reference() {
    let idp = TestIdp::new();
    let (app, sso_id) = app_with_method(TestDatabase::sqlite(), &idp, true, true).await;
    set_idp_endpoints(&app, &idp, sso_id, false, true, false).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let probe = format!(
        "http://127.0.0.1:{}/probe",
        listener.local_addr().unwrap().port()
    );

    // The assertion consumer.
    let acs_path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&acs_path);
    let c = Claims::new(&acs, &acs, "_ssrf");
    let assertion = idgate_saml::testing::assertion_xml(&c, false).replacen(
        "<saml:Subject>",
        &format!("{}<saml:Subject>", hostile_signature(&probe)),
        1,
    );
    let response = idgate_saml::testing::response_around(&c, &assertion);
    let res = post(&app, &acs_path, &response, None).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(last_failure(&app).await, "reference_uri");

    // The single logout endpoint (POST binding).
    let slo_path = format!("/api/rest/sso/saml/slo/{sso_id}");
    let cookie = signed_in(&app, &idp, sso_id).await;
    let request = logout_request("_ssrf", &app.url(&slo_path), false).replacen(
        "<saml:NameID>",
        &format!("{}<saml:NameID>", hostile_signature(&probe)),
        1,
    );
    let res = post_logout(&app, &slo_path, &request).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(last_logout_failure(&app).await, "reference_uri");
    assert_eq!(session_status(&app, &cookie).await, 200);

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        listener.accept().is_err(),
        "idgate connected to the reference URI"
    );
}

//! IdP metadata as an admin meets it: documents that describe several identity providers (the
//! one to import is named, on the command line or chosen in the console), metadata past its
//! validUntil, and IdP certificates near their end (a warning on the method's page, in `sso
//! show`, and an audit event at import and once a day), on every backend.

use idgate_saml::testing::TestIdp;
use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, SsoId, StorageError, Store, nodes, sso};
use reqwest::StatusCode;

use crate::cli::json;
use crate::console::setup_admin;
use crate::helpers::{TestApp, assert_one_line_error, between, idgate, spawn_app, stderr, stdout};

fn federation(a: &TestIdp, b: &TestIdp) -> String {
    format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{}{}</md:EntitiesDescriptor>"#,
        a.metadata("https://a.example.test", ""),
        b.metadata("https://b.example.test", "")
    )
}

fn cli_method(cwd: &std::path::Path, env: &[(&str, &str)]) -> String {
    let node = json(&idgate(
        cwd,
        env,
        &["node", "create", "acme", "--json"],
        None,
    ))["node_id"]
        .as_i64()
        .unwrap()
        .to_string();
    json(&idgate(
        cwd,
        env,
        &["sso", "create", &node, "--name", "IdP", "--json"],
        None,
    ))["sso_id"]
        .as_i64()
        .unwrap()
        .to_string()
}

#[test]
fn the_cli_imports_the_identity_provider_named_in_valid_metadata() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let sso_id = cli_method(cwd.path(), &env);
        let file = |name: &str, xml: &str| {
            let path = cwd.path().join(name);
            std::fs::write(&path, xml).unwrap();
            path.to_str().unwrap().to_owned()
        };

        let two = file("two.xml", &federation(&TestIdp::new(), &TestIdp::new()));
        assert_one_line_error(
            &idgate(
                cwd.path(),
                &env,
                &["sso", "import-idp", &sso_id, &two],
                None,
            ),
            "describes 2 identity providers (https://a.example.test, https://b.example.test)",
        );
        let chosen = idgate(
            cwd.path(),
            &env,
            &[
                "sso",
                "import-idp",
                &sso_id,
                &two,
                "--entity-id",
                "https://b.example.test",
            ],
            None,
        );
        assert!(chosen.status.success(), "{}", stderr(&chosen));
        assert!(stdout(&chosen).contains("imported IdP 'https://b.example.test'"));
        assert!(!stdout(&chosen).contains("warning"), "{}", stdout(&chosen));
        assert_one_line_error(
            &idgate(
                cwd.path(),
                &env,
                &[
                    "sso",
                    "import-idp",
                    &sso_id,
                    &two,
                    "--entity-id",
                    "https://c.example.test",
                ],
                None,
            ),
            "has no identity provider 'https://c.example.test'",
        );

        let expired = file(
            "expired.xml",
            &TestIdp::new()
                .metadata("https://a.example.test", "")
                .replacen(
                    r#"entityID="https://a.example.test""#,
                    r#"entityID="https://a.example.test" validUntil="2020-01-01T00:00:00Z""#,
                    1,
                ),
        );
        assert_one_line_error(
            &idgate(
                cwd.path(),
                &env,
                &["sso", "import-idp", &sso_id, &expired],
                None,
            ),
            "the metadata expired at 2020-01-01T00:00:00Z",
        );
    }
}

#[test]
fn the_cli_warns_of_an_idp_certificate_near_its_end() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let sso_id = cli_method(cwd.path(), &env);
        let ending = TestIdp::with_certificate_days(-300, 10);
        let soon = cwd.path().join("soon.xml");
        std::fs::write(&soon, ending.metadata("https://soon.example.test", "")).unwrap();
        let soon = soon.to_str().unwrap();
        let imported = idgate(
            cwd.path(),
            &env,
            &["sso", "import-idp", &sso_id, soon],
            None,
        );
        assert!(imported.status.success(), "{}", stderr(&imported));
        assert!(
            stdout(&imported)
                .contains("warning: the IdP signing certificate CN=throw-away test IdP expires on"),
            "{}",
            stdout(&imported)
        );
        let shown = stdout(&idgate(cwd.path(), &env, &["sso", "show", &sso_id], None));
        assert!(
            shown.contains(
                "Warning:       the IdP signing certificate CN=throw-away test IdP expires on"
            ),
            "{shown}"
        );
        let shown = json(&idgate(
            cwd.path(),
            &env,
            &["sso", "show", &sso_id, "--json"],
            None,
        ));
        let warnings = shown["idp"]["certificate_warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{shown}");
        assert_eq!(warnings[0]["expired"], false);
        assert_eq!(warnings[0]["subject"], "CN=throw-away test IdP");
        let events = stdout(&idgate(
            cwd.path(),
            &env,
            &["events", "--kind", "sso_certificate_expiring"],
            None,
        ));
        assert_eq!(events.lines().count(), 1, "{events}");
        assert!(events.contains(&sso_id), "{events}");
    }
}

/// A node and an SSO method whose IdP is `idp`, straight in the store.
async fn method_with(store: &Store, node: &str, idp: &TestIdp) -> SsoId {
    let settings = idp.settings();
    let node = nodes::NodeName::parse(node).unwrap();
    store
        .run(move |c| {
            let node = nodes::create(c, &node).map_err(|e| StorageError::Corrupt(e.to_string()))?;
            let sp = idgate_saml::keys::generate("sp").unwrap();
            let id = sso::create(
                c,
                &sso::NewSsoMethod {
                    node_id: node.id,
                    name: "test",
                    sp_entity_id: None,
                    sp_key_pem: &sp.key_pem,
                    sp_cert_pem: &sp.cert_pem,
                    idp_initiated: false,
                },
            )?;
            sso::set_idp(c, id, &settings)?;
            Ok(id)
        })
        .await
        .unwrap()
}

async fn certificate_events(store: &Store) -> Vec<idgate_store::events::Event> {
    store
        .run(|c| {
            idgate_store::events::search(
                c,
                &idgate_store::events::EventQuery {
                    kind: Some(idgate::certificates::EVENT.to_owned()),
                    ..Default::default()
                },
                0,
                100,
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_periodic_check_records_an_ending_certificate_once_a_day() {
    for db in TestDatabase::all() {
        let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
        let ending = method_with(&store, "a", &TestIdp::with_certificate_days(-300, 5)).await;
        let expired = method_with(&store, "b", &TestIdp::with_certificate_days(-300, -2)).await;
        method_with(&store, "c", &TestIdp::new()).await;
        let now = chrono::Utc::now();
        let check = |at| idgate::certificates::check_all(&store, at);
        assert_eq!(check(now).await.unwrap(), 2);
        assert_eq!(check(now).await.unwrap(), 0, "once a day");
        assert_eq!(check(now + chrono::Duration::hours(12)).await.unwrap(), 0);
        let events = certificate_events(&store).await;
        let targets: Vec<String> = events.iter().filter_map(|e| e.target.clone()).collect();
        assert!(targets.contains(&ending.to_string()) && targets.contains(&expired.to_string()));
        let about_expired = events
            .iter()
            .find(|e| e.target.as_deref() == Some(&expired.to_string()))
            .unwrap();
        assert!(
            about_expired.detail.contains("expired on"),
            "{}",
            about_expired.detail
        );
        assert_eq!(about_expired.actor, "idgate");
        // A day later, once again.
        assert_eq!(check(now + chrono::Duration::hours(25)).await.unwrap(), 2);
    }
}

/// The console's CSRF token, from any of its pages.
async fn csrf(app: &TestApp, cookie: &str) -> String {
    let home = app
        .client
        .get(app.url("/console"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    between(&home, "name=\"csrf\" value=\"", "\"").to_owned()
}

async fn upload(
    app: &TestApp,
    cookie: &str,
    sso_id: SsoId,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf(app, cookie).await);
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    app.client
        .post(app.url(&format!("/console/sso/{sso_id}/idp")))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_console_asks_which_identity_provider_and_warns_of_certificates() {
    for db in TestDatabase::all() {
        // Keys first: generating them between requests could outlast a kept-alive connection.
        let two = federation(&TestIdp::new(), &TestIdp::new());
        let ending = TestIdp::with_certificate_days(-300, 10);
        let app = spawn_app(db).await;
        let cookie = setup_admin(&app).await;
        let sso_id = method_with(&app.store, "acme", &TestIdp::new()).await;
        let page = |cookie: String| {
            let app = &app;
            async move {
                app.client
                    .get(app.url(&format!("/console/sso/{sso_id}")))
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        assert!(!page(cookie.clone()).await.contains("certificate-warning"));

        // Step one: the document is kept and its identity providers offered.
        let res = upload(&app, &cookie, sso_id, &[("metadata_file", &two)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let html = res.text().await.unwrap();
        assert!(
            html.contains(
                "describes 2 identity providers (https://a.example.test, https://b.example.test)"
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"<select id="entity-id" name="entity_id">"#),
            "{html}"
        );
        assert!(html.contains(r#"<option value="https://b.example.test">"#));
        assert!(
            html.contains("EntitiesDescriptor"),
            "the document is kept in the text box"
        );
        // Step two: the one chosen is imported.
        let res = upload(
            &app,
            &cookie,
            sso_id,
            &[
                ("metadata_xml", &two),
                ("entity_id", "https://b.example.test"),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            page(cookie.clone())
                .await
                .contains("Imported: <code>https://b.example.test</code>")
        );

        // A certificate that ends in ten days: imported, with a warning on the page and an event.
        let res = upload(
            &app,
            &cookie,
            sso_id,
            &[(
                "metadata_file",
                &ending.metadata("https://soon.example.test", ""),
            )],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let html = page(cookie.clone()).await;
        assert!(
            html.contains(r#"<p class="warning certificate-warning">Warning: the IdP signing certificate CN=throw-away test IdP expires on"#),
            "{html}"
        );
        let events = certificate_events(&app.store).await;
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].target.as_deref(),
            Some(sso_id.to_string().as_str())
        );
        assert!(
            events[0].actor.starts_with("console:"),
            "{}",
            events[0].actor
        );
    }
}

#[tokio::test]
async fn an_expired_idp_certificate_still_verifies_sign_ins() {
    for db in TestDatabase::all() {
        let idp = TestIdp::with_certificate_days(-300, -3);
        let (app, sso_id) = crate::saml_acs::app_with_method(db, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let response = crate::saml_acs::signed(&idp, &crate::saml_acs::claims(&acs, &acs));
        let res = crate::saml_acs::post(&app, &acs_path, &response, None).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "rotation is the admin's act"
        );
    }
}

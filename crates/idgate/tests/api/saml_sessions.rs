//! Sessions: IdP-initiated sign-in only when the admin chose it, the session cookie's name per
//! scheme (and no one signed in with two of them), and sessions ending with their method or its
//! IdP.

use idgate::actions::{self, Actor, NewSso};
use idgate_saml::testing::TestIdp;
use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, PoolOptions, SsoId, Store, events, sso};
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app, spawn_with, test_config};
use crate::saml_acs::{add_method, claims, last_failure, post, signed};

const JUMPCLOUD_METADATA: &str =
    include_str!("../../../saml/tests/fixtures/jumpcloud/metadata.xml");

/// A node of its own (`name`) with an SSO method created as the admin creates one, trusting
/// `idp`, JIT on, IdP-initiated sign-in as given.
pub(crate) async fn method_on_node(
    app: &TestApp,
    idp: &TestIdp,
    name: &str,
    idp_initiated: bool,
) -> (NodeId, SsoId) {
    let node = actions::create_node(&app.store, &Actor::cli(), name)
        .await
        .unwrap();
    let sso_id = actions::create_sso(
        &app.store,
        &Actor::cli(),
        node.id,
        NewSso {
            name: format!("{name} method"),
            jit: Some(true),
            idp_initiated,
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
    (node.id, sso_id)
}

/// An IdP-initiated sign-in of `name_id` through the method: the response.
pub(crate) async fn tile_sign_in(
    app: &TestApp,
    idp: &TestIdp,
    sso_id: SsoId,
    name_id: &str,
) -> reqwest::Response {
    let acs_path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&acs_path);
    let mut c = claims(&acs, &acs);
    c.name_id = name_id;
    post(app, &acs_path, &signed(idp, &c), None).await
}

/// The `name=value` of the session cookie a sign-in set.
pub(crate) fn session_cookie(res: &reqwest::Response) -> String {
    let set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.contains("idgate_session=") && !v.contains("Max-Age=0"))
        .unwrap_or_else(|| panic!("a session cookie in {:?}", res.headers()));
    set.split(';').next().unwrap().to_owned()
}

/// The status and body of `path` with these `Cookie` header lines.
pub(crate) async fn with_cookies(
    app: &TestApp,
    path: &str,
    cookies: &[&str],
) -> (StatusCode, String) {
    let mut req = app.client.get(app.url(path));
    for cookie in cookies {
        req = req.header("cookie", *cookie);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

const NOT_SIGNED_IN: (StatusCode, &str) =
    (StatusCode::UNAUTHORIZED, r#"{"error":"not signed in"}"#);

async fn detail_of_last(app: &TestApp, kind: &'static str) -> String {
    app.store
        .run(move |c| events::latest(c, None, 50))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("a {kind} event"))
        .detail
}

#[tokio::test]
async fn a_new_method_refuses_idp_initiated_sign_in_until_the_admin_turns_it_on() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let (_, sso_id) = method_on_node(&app, &idp, "acme", false).await;
        let method = app
            .store
            .run(move |c| sso::get(c, sso_id))
            .await
            .unwrap()
            .unwrap();
        assert!(!method.idp_initiated, "off unless asked for");
        assert_eq!(
            detail_of_last(&app, "sso_method_created").await,
            "acme method; IdP-initiated sign-in off"
        );

        // A response that answers no request of this method: login CSRF, refused.
        let res = tile_sign_in(&app, &idp, sso_id, "jane@acme.test").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get("set-cookie").is_none(), "no session");
        assert_eq!(last_failure(&app).await, "unsolicited");

        // The admin accepts the risk for the JumpCloud tile.
        actions::update_sso(
            &app.store,
            &Actor::cli(),
            sso_id,
            sso::SettingsChange {
                idp_initiated: Some(true),
                ..sso::SettingsChange::default()
            },
            None,
        )
        .await
        .unwrap();
        let res = tile_sign_in(&app, &idp, sso_id, "jane@acme.test").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);

        // Chosen at creation: accepted from the start.
        let (_, tile) = method_on_node(&app, &idp, "beta", true).await;
        assert_eq!(
            detail_of_last(&app, "sso_method_created").await,
            "beta method; IdP-initiated sign-in on"
        );
        let res = tile_sign_in(&app, &idp, tile, "bob@beta.test").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
}

/// An app whose public base URL is HTTPS (its own TLS) or plain HTTP.
async fn app_over(db: TestDatabase, https: bool) -> TestApp {
    if !https {
        return spawn_app(db).await;
    }
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(&db, data_dir.path(), &[("IDGATE_TLS", "true")]);
    let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
    let app = spawn_with(config, store, db, data_dir);
    assert!(app.address.starts_with("https://"));
    app
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed_under_https_and_two_sign_no_one_in() {
    for https in [true, false] {
        for db in TestDatabase::all() {
            let idp = TestIdp::new();
            let app = app_over(db, https).await;
            let sso_id = add_method(&app, &idp, true, true).await;
            let res = tile_sign_in(&app, &idp, sso_id, "jane@acme.test").await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let set: Vec<String> = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let (name, other) = if https {
                ("__Host-idgate_session", "idgate_session")
            } else {
                ("idgate_session", "__Host-idgate_session")
            };
            let cookie = session_cookie(&res);
            assert!(cookie.starts_with(&format!("{name}=")), "{set:?}");
            let session = set.iter().find(|c| c.starts_with(&cookie)).unwrap();
            assert!(session.contains("Path=/") && session.contains("HttpOnly"));
            assert!(
                !session.to_ascii_lowercase().contains("domain="),
                "{session}"
            );
            assert_eq!(session.contains("Secure"), https, "{session}");
            if https {
                // A plain-named cookie left from before would make two: it is cleared.
                assert!(
                    set.iter()
                        .any(|c| c.starts_with("idgate_session=;") && c.contains("Max-Age=0")),
                    "{set:?}"
                );
            } else {
                assert_eq!(set.len(), 1, "{set:?}");
            }
            let token = cookie.split_once('=').unwrap().1;

            assert_eq!(with_cookies(&app, "/auth/session", &[&cookie]).await.0, 200);
            assert_eq!(with_cookies(&app, "/auth/verify", &[&cookie]).await.0, 200);
            let (_, landing) = with_cookies(&app, "/", &[&cookie]).await;
            assert!(landing.contains(r#"id="signed-in""#), "{landing}");

            // The other scheme's name alone is no session (a sibling subdomain can set a
            // cookie without the prefix).
            let renamed = format!("{other}={token}");
            for path in ["/auth/session", "/auth/verify"] {
                let (status, body) = with_cookies(&app, path, &[&renamed]).await;
                assert_eq!((status, body.as_str()), NOT_SIGNED_IN, "{path}");
            }

            // The other scheme's name beside the session's is no second session cookie (a
            // sibling subdomain could plant it for every request and sign the user out).
            let both_names = format!("{other}=planted; {cookie}");
            assert_eq!(
                with_cookies(&app, "/auth/session", &[&both_names]).await.0,
                200
            );

            // Two session cookies: which one the browser meant cannot be told.
            let planted = format!("{name}=planted");
            let same_twice = format!("{cookie}; {planted}");
            let repeated = format!("{cookie}; {cookie}");
            let cases: [&[&str]; 3] = [&[&same_twice], &[&repeated], &[&cookie, &planted]];
            for cookies in cases {
                for path in ["/auth/session", "/auth/verify"] {
                    let (status, body) = with_cookies(&app, path, cookies).await;
                    assert_eq!((status, body.as_str()), NOT_SIGNED_IN, "{path} {cookies:?}");
                }
                let (status, landing) = with_cookies(&app, "/", cookies).await;
                assert_eq!(status, 200);
                assert!(!landing.contains(r#"id="signed-in""#), "{cookies:?}");
            }
            assert_eq!(
                with_cookies(&app, "/auth/session", &[&cookie]).await.0,
                200,
                "the session itself lives on"
            );

            // Sign-out clears the cookie under its own name (a __Host- removal needs Secure).
            let out = app
                .client
                .post(app.url("/logout"))
                .header("cookie", &cookie)
                .header("origin", &app.address)
                .send()
                .await
                .unwrap();
            assert_eq!(out.status(), StatusCode::SEE_OTHER);
            let cleared: Vec<&str> = out
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            let removal = cleared
                .iter()
                .find(|c| c.starts_with(&format!("{name}=;")))
                .unwrap_or_else(|| panic!("{name} cleared: {cleared:?}"));
            assert!(removal.contains("Max-Age=0") && removal.contains("Path=/"));
            assert_eq!(removal.contains("Secure"), https, "{removal}");
            let (status, body) = with_cookies(&app, "/auth/session", &[&cookie]).await;
            assert_eq!((status, body.as_str()), NOT_SIGNED_IN);
        }
    }
}

#[tokio::test]
async fn deleting_a_method_or_replacing_its_idp_ends_its_sessions() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let (_, first) = method_on_node(&app, &idp, "acme", true).await;
        let (_, second) = method_on_node(&app, &idp, "beta", true).await;
        let mut firsts = Vec::new();
        for _ in 0..2 {
            let res = tile_sign_in(&app, &idp, first, "jane@acme.test").await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            firsts.push(session_cookie(&res));
        }
        let res = tile_sign_in(&app, &idp, second, "bob@beta.test").await;
        let other = session_cookie(&res);
        let status = |cookie: String| {
            let app = &app;
            async move { with_cookies(app, "/auth/session", &[&cookie]).await.0 }
        };

        // Replacing the IdP's metadata (here by another IdP's, whose NameIDs are its own: the
        // old one's identity link goes too) signs out whom the old one signed in, and only them.
        let summary =
            actions::import_idp(&app.store, &Actor::cli(), first, JUMPCLOUD_METADATA, None)
                .await
                .unwrap();
        assert!(
            summary.ends_with("; 2 sessions ended; 1 identity link(s) of the previous IdP removed"),
            "{summary}"
        );
        assert_eq!(
            detail_of_last(&app, "sso_idp_imported").await,
            "IdP Entity ID; 2 sessions ended; 1 identity link(s) of the previous IdP removed"
        );
        for cookie in &firsts {
            assert_eq!(status(cookie.clone()).await, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(status(other.clone()).await, StatusCode::OK);

        // Deleting a method ends its sessions in the same transaction.
        actions::delete_sso(&app.store, &Actor::cli(), second)
            .await
            .unwrap();
        assert_eq!(
            detail_of_last(&app, "sso_method_deleted").await,
            "beta method; 1 session ended"
        );
        // Before, the session outlived its method (its sso_id set to NULL).
        assert_eq!(status(other).await, StatusCode::UNAUTHORIZED);

        // A method with no sessions: nothing to end, and the summary does not mention it.
        let summary =
            actions::import_idp(&app.store, &Actor::cli(), first, JUMPCLOUD_METADATA, None)
                .await
                .unwrap();
        assert!(!summary.contains("session"), "{summary}");
        assert_eq!(
            detail_of_last(&app, "sso_idp_imported").await,
            "IdP Entity ID; 0 sessions ended"
        );
    }
}

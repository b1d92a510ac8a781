//! Sessions: IdP-initiated sign-in only when the admin chose it.

use idgate::actions::{self, Actor, NewSso};
use idgate_saml::testing::TestIdp;
use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, SsoId, events, sso};
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};
use crate::saml_acs::{claims, last_failure, post, signed};

/// A node of its own (`name`) with an SSO method created as the admin creates one, trusting
/// `idp`, JIT on, IdP-initiated sign-in as given.
async fn method_on_node(
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
async fn tile_sign_in(
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

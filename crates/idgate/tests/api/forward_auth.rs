//! What a reverse proxy (and the app behind it) is told by `/auth/verify` and `/auth/session`:
//! the tenant of the identity, a node it can insist on, and team names that cannot split.

use idgate_saml::testing::TestIdp;
use idgate_store::teams::{self, TeamStatus};
use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, SsoId, UserId, users};
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};
use crate::saml_sessions::{method_on_node, session_cookie, tile_sign_in, with_cookies};

/// Approved team names that a naive comma-joined header would split or break.
const NASTY: [&str; 5] = [
    "Sales, EMEA",
    "ops\nadmins",
    "100% remote",
    "Zürich",
    "a,b\r\nX-Idgate-User: root",
];

/// Jane signed in through node acme's method, a member of the [`NASTY`] teams and of one
/// awaiting approval; node beta beside it.
struct SignedIn {
    app: TestApp,
    node: NodeId,
    other_node: NodeId,
    sso_id: SsoId,
    cookie: String,
    user_id: UserId,
    _idp: TestIdp,
}

async fn jane(db: TestDatabase) -> SignedIn {
    let idp = TestIdp::new();
    let app = spawn_app(db).await;
    let (node, sso_id) = method_on_node(&app, &idp, "acme", true).await;
    let (other_node, _) = method_on_node(&app, &idp, "beta", true).await;
    let res = tile_sign_in(&app, &idp, sso_id, "jane@acme.test").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&res);
    let user_id = app
        .store
        .run(move |c| {
            let user = users::find_by_user_name(c, node, "jane@acme.test")?.unwrap();
            let member = std::slice::from_ref(&user.id);
            for name in NASTY {
                let team = teams::insert(c, node, name, None, TeamStatus::Approved, "scim")?;
                teams::add_members(c, node, &team.id, member)?;
            }
            let pending = teams::insert(c, node, "Not, yet", None, TeamStatus::Pending, "scim")?;
            teams::add_members(c, node, &pending.id, member)?;
            Ok(user.id)
        })
        .await
        .unwrap();
    SignedIn {
        app,
        node,
        other_node,
        sso_id,
        cookie,
        user_id,
        _idp: idp,
    }
}

#[tokio::test]
async fn the_proxy_learns_the_tenant_and_every_team_name_whole() {
    for db in TestDatabase::all() {
        let SignedIn {
            app,
            node,
            sso_id,
            cookie,
            user_id,
            ..
        } = jane(db).await;

        let verify = app
            .client
            .get(app.url("/auth/verify"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(verify.status(), StatusCode::OK);
        let header = |name: &str| {
            verify
                .headers()
                .get(name)
                .unwrap_or_else(|| panic!("{name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("x-idgate-node"), node.to_string());
        assert_eq!(header("x-idgate-user-id"), user_id.as_str());
        assert_eq!(header("x-idgate-sso"), sso_id.to_string());
        assert_eq!(header("x-idgate-user"), "jane@acme.test");
        assert_eq!(header("x-idgate-email"), "jane@acme.test");

        // Each name percent-encoded, then joined with commas: splitting and decoding gives
        // back exactly the approved names (in the order the backend sorts them).
        let groups = header("x-idgate-groups");
        let mut encoded: Vec<&str> = groups.split(',').collect();
        encoded.sort_unstable();
        assert_eq!(
            encoded,
            [
                "100%25%20remote",
                "Sales%2C%20EMEA",
                "Z%C3%BCrich",
                "a%2Cb%0D%0AX-Idgate-User%3A%20root",
                "ops%0Aadmins",
            ],
            "{groups}"
        );
        let mut decoded = crate::helpers::decode_groups(&groups);
        decoded.sort_unstable();
        let mut expected = NASTY.map(str::to_owned);
        expected.sort_unstable();
        assert_eq!(decoded, expected);

        let (status, body) = with_cookies(&app, "/auth/session", &[&cookie]).await;
        assert_eq!(status, StatusCode::OK);
        let me: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(me["user_id"], user_id.as_str());
        assert_eq!(me["node_id"], node.get());
        assert_eq!(me["sso_id"], sso_id.get());
        assert_eq!(
            me["teams"].as_array().unwrap().len(),
            NASTY.len(),
            "JSON: raw names"
        );
    }
}

#[tokio::test]
async fn a_node_parameter_refuses_another_nodes_session_with_its_reason() {
    for db in TestDatabase::all() {
        let SignedIn {
            app,
            node,
            other_node,
            cookie,
            ..
        } = jane(db).await;
        // ?node= pins the tenant: its own passes, another node's session is refused.
        for path in ["/auth/verify", "/auth/session"] {
            let own = format!("{path}?node={node}");
            assert_eq!(with_cookies(&app, &own, &[&cookie]).await.0, StatusCode::OK);
            let cases = [
                (
                    format!("{path}?node={other_node}"),
                    vec![cookie.as_str()],
                    StatusCode::FORBIDDEN,
                    r#"{"error":"the session belongs to another node"}"#,
                ),
                (
                    format!("{path}?node={node}"),
                    vec![],
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":"not signed in"}"#,
                ),
                (
                    format!("{path}?node=acme"),
                    vec![cookie.as_str()],
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"'acme' is not a node id (digits only)"}"#,
                ),
                (
                    format!("{path}?node=acme"),
                    vec![],
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"'acme' is not a node id (digits only)"}"#,
                ),
                (
                    format!("{path}?node={node}&node={other_node}"),
                    vec![cookie.as_str()],
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"give the node parameter once"}"#,
                ),
            ];
            for (url, cookies, expected_status, expected_body) in cases {
                let (status, body) = with_cookies(&app, &url, &cookies).await;
                assert_eq!(
                    (status, body.as_str()),
                    (expected_status, expected_body),
                    "{url}"
                );
            }
        }
    }
}

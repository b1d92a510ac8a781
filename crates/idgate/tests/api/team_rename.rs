//! A SCIM client's rename of an approved team needs approval again; until then applications see
//! the team under its approved name, while SCIM reads return what the client wrote. Over HTTP on
//! every backend: SCIM, `/auth/session` and `/auth/verify`, the console's approval queue.

use idgate::actions::{self, ActionError, Actor, Decision};
use idgate_store::sessions::{self, NewSession};
use idgate_store::testing::TestDatabase;
use idgate_store::{TeamId, UserId, now_millis, teams, token};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::console::setup_admin;
use crate::helpers::{TestApp, between, spawn_app};
use crate::scim::{Scim, scim_node, user};

/// A signed-in application user: the cookie of a session made for them.
async fn signed_in(app: &TestApp, scim: &Scim<'_>, user_id: &str) -> String {
    let secret = token::generate();
    let (hash, user_id, node) = (secret.hash, user_id.parse::<UserId>().unwrap(), scim.node);
    app.store
        .run(move |c| {
            sessions::create(
                c,
                &NewSession {
                    token_hash: &hash,
                    user_id: &user_id,
                    node_id: node,
                    sso_id: None,
                    name_id: None,
                    session_index: None,
                    authn_instant: None,
                    needs_confirmation: false,
                    expires_at: now_millis() + 3_600_000,
                },
            )
        })
        .await
        .unwrap();
    format!("{}={}", idgate_saml::session::SESSION_COOKIE, secret.token)
}

/// The team names applications are told, by `/auth/session` and by `/auth/verify`.
async fn app_teams(app: &TestApp, cookie: &str) -> Vec<String> {
    let session: Value = app
        .client
        .get(app.url("/auth/session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verified = app
        .client
        .get(app.url("/auth/verify"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    let header = verified.headers()["x-idgate-groups"]
        .to_str()
        .unwrap()
        .to_owned();
    let teams: Vec<String> = session["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        crate::helpers::decode_groups(&header),
        teams,
        "both say the same"
    );
    teams
}

async fn rename(scim: &Scim<'_>, gid: &str, name: &str) -> Value {
    let (s, g) = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "value": {"displayName": name}}]),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["displayName"], name, "SCIM returns what the client wrote");
    g
}

/// The queue as (name, approved name of a rename).
async fn queue(app: &TestApp, scim: &Scim<'_>) -> Vec<(String, Option<String>)> {
    let node = scim.node;
    app.store
        .run(move |c| teams::pending(c, Some(node)))
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            let approved = t.rename_awaiting().map(str::to_owned);
            (t.display_name, approved)
        })
        .collect()
}

async fn decide(
    app: &TestApp,
    gid: &str,
    decision: Decision,
) -> Result<actions::Decided, ActionError> {
    let id: TeamId = gid.parse().unwrap();
    actions::decide_team(&app.store, &Actor::cli(), None, id, decision, None).await
}

/// The newest audit event of this kind: (target, detail).
async fn last_event(scim: &Scim<'_>, kind: &'static str) -> (String, String) {
    let node = scim.node;
    let found = scim
        .app
        .store
        .run(move |c| idgate_store::events::latest(c, Some(node), 200))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} event"));
    (found.target.unwrap_or_default(), found.detail)
}

/// Jane, signed in, in the approved team "Sales": the team's id, Jane's cookie and id.
async fn approved_sales(app: &TestApp, scim: &Scim<'_>) -> (String, String, String) {
    let (_, jane) = scim.post("/Users", user("jane@acme.test")).await;
    let jane_id = jane["id"].as_str().unwrap().to_owned();
    let (_, g) = scim
        .post(
            "/Groups",
            json!({"displayName": "Sales", "members": [{"value": jane_id}]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();
    let cookie = signed_in(app, scim, &jane_id).await;
    assert!(app_teams(app, &cookie).await.is_empty(), "not approved yet");
    decide(app, &gid, Decision::Approve).await.unwrap();
    assert_eq!(app_teams(app, &cookie).await, ["Sales"]);
    (gid, cookie, jane_id)
}

#[tokio::test]
async fn applications_see_the_approved_name_until_a_rename_is_approved() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let (gid, cookie, jane_id) = approved_sales(&app, &scim).await;

        rename(&scim, &gid, "Sales EU").await;
        assert_eq!(
            app_teams(&app, &cookie).await,
            ["Sales"],
            "still the approved name"
        );
        assert_eq!(
            queue(&app, &scim).await,
            [("Sales EU".to_owned(), Some("Sales".to_owned()))]
        );
        let (target, detail) = last_event(&scim, "group_update_provision").await;
        assert_eq!(target, "Sales EU");
        assert!(
            detail.contains("renamed from 'Sales'") && detail.contains("awaits approval"),
            "{detail}"
        );
        let (_, listed) = scim
            .get("/Groups?filter=displayName%20eq%20%22sales%20eu%22")
            .await;
        assert_eq!(listed["totalResults"], 1, "SCIM finds it by the new name");

        // Renamed back by the client: nothing awaits any more.
        rename(&scim, &gid, "Sales").await;
        assert!(queue(&app, &scim).await.is_empty());

        // Approved (a PUT renames too): applications see the new name.
        let (s, _, _) = scim
            .send(
                Method::PUT,
                &format!("/Groups/{gid}"),
                Some(json!({"displayName": "Sales EU", "members": [{"value": jane_id}]})),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(app_teams(&app, &cookie).await, ["Sales"]);
        let decided = decide(&app, &gid, Decision::Approve).await.unwrap();
        assert_eq!(
            (decided.name.as_str(), decided.renamed_from.as_deref()),
            ("Sales EU", Some("Sales"))
        );
        assert_eq!(app_teams(&app, &cookie).await, ["Sales EU"]);
        assert!(queue(&app, &scim).await.is_empty());
        let (target, detail) = last_event(&scim, "team_approved").await;
        assert_eq!(target, "Sales EU");
        assert!(detail.contains("rename from 'Sales' approved"), "{detail}");
        assert!(
            decide(&app, &gid, Decision::Approve).await.is_err(),
            "nothing awaits: approving twice is refused"
        );

        // Denied: the team stays, under its approved name, for SCIM too (a new version).
        let renamed = rename(&scim, &gid, "Sales DE").await;
        decide(&app, &gid, Decision::Deny).await.unwrap();
        let (s, back) = scim.get(&format!("/Groups/{gid}")).await;
        assert_eq!(
            (s, &back["displayName"]),
            (StatusCode::OK, &json!("Sales EU"))
        );
        assert_ne!(back["meta"]["version"], renamed["meta"]["version"]);
        // Found by the name it took back, in any ASCII case; no longer by the denied one.
        let (_, found) = scim
            .get("/Groups?filter=displayName%20eq%20%22sales%20eu%22")
            .await;
        assert_eq!(found["totalResults"], 1, "{found}");
        let (_, found) = scim
            .get("/Groups?filter=displayName%20eq%20%22Sales%20DE%22")
            .await;
        assert_eq!(found["totalResults"], 0, "{found}");
        assert_eq!(app_teams(&app, &cookie).await, ["Sales EU"]);
        let (target, detail) = last_event(&scim, "team_denied").await;
        assert_eq!(target, "Sales EU");
        assert!(detail.contains("rename to 'Sales DE' denied"), "{detail}");
    }
}

#[tokio::test]
async fn a_name_applications_still_know_is_not_given_to_another_team() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let (gid, cookie, _) = approved_sales(&app, &scim).await;
        rename(&scim, &gid, "Revenue").await;

        // The client creates a new team under the old name: it waits, and cannot be approved
        // while applications still know the first team by that name.
        let (_, other) = scim.post("/Groups", json!({"displayName": "sales"})).await;
        let other_id = other["id"].as_str().unwrap().to_owned();
        assert_ne!(other_id, gid, "a new team, not the renamed one");
        match decide(&app, &other_id, Decision::Approve).await {
            Err(ActionError::Invalid(why)) => assert!(why.contains("'Sales'"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Nor can the rename be denied: the old name is taken now.
        match decide(&app, &gid, Decision::Deny).await {
            Err(ActionError::Invalid(why)) => {
                assert!(why.contains("another team is now named 'Sales'"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(app_teams(&app, &cookie).await, ["Sales"], "nothing changed");
        assert_eq!(queue(&app, &scim).await.len(), 2);

        decide(&app, &gid, Decision::Approve).await.unwrap();
        decide(&app, &other_id, Decision::Approve).await.unwrap();
        assert_eq!(app_teams(&app, &cookie).await, ["Revenue"]);
        assert!(queue(&app, &scim).await.is_empty());
    }
}

/// The console's team queue page for a node, with the CSRF token of its form.
async fn console_queue(app: &TestApp, cookie: &str, node: &str) -> (String, String) {
    let page = app
        .client
        .get(app.url(&format!("/console/nodes/{node}/teams")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&page, "name=\"csrf\" value=\"", "\"").to_owned();
    (page, csrf)
}

async fn console_post(
    app: &TestApp,
    cookie: &str,
    node: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/console/nodes/{node}/teams")))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_console_queue_shows_renames_and_decides_what_it_showed() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let (gid, cookie, _) = approved_sales(&app, &scim).await;
        let admin = setup_admin(&app).await;
        let node = scim.node.to_string();
        rename(&scim, &gid, "Sales EU").await;

        let (page, csrf) = console_queue(&app, &admin, &node).await;
        assert!(page.contains("Sales → Sales EU"), "{page}");
        assert!(page.contains("(rename)"), "{page}");
        assert!(
            page.contains(
                "Sales <span class=\"muted\">(rename to Sales EU awaits approval)</span>"
            ),
            "the approved list shows the name applications see: {page}"
        );

        // The client renames again before the admin clicks: the decision on what the page
        // showed is refused, and nothing changes.
        rename(&scim, &gid, "Sales NA").await;
        let one = format!("approve:{gid}");
        let shown = format!("shown:{gid}");
        let stale = console_post(
            &app,
            &admin,
            &node,
            &[("csrf", &csrf), ("one", &one), (&shown, "Sales EU")],
        )
        .await;
        assert_eq!(stale.status(), StatusCode::CONFLICT);
        assert!(
            stale
                .text()
                .await
                .unwrap()
                .contains("no longer awaiting approval as shown")
        );
        assert_eq!(app_teams(&app, &cookie).await, ["Sales"]);

        let (page, csrf) = console_queue(&app, &admin, &node).await;
        assert!(page.contains("Sales → Sales NA"), "{page}");
        let done = console_post(
            &app,
            &admin,
            &node,
            &[("csrf", &csrf), ("one", &one), (&shown, "Sales NA")],
        )
        .await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(app_teams(&app, &cookie).await, ["Sales NA"]);

        // A denied rename from the console: the team keeps its approved name.
        rename(&scim, &gid, "Gone").await;
        let deny = format!("deny:{gid}");
        let denied = console_post(
            &app,
            &admin,
            &node,
            &[("csrf", &csrf), ("one", &deny), (&shown, "Gone")],
        )
        .await;
        assert_eq!(denied.status(), StatusCode::SEE_OTHER);
        let (_, g) = scim.get(&format!("/Groups/{gid}")).await;
        assert_eq!(g["displayName"], "Sales NA");
        let (page, _) = console_queue(&app, &admin, &node).await;
        assert!(page.contains("No team is awaiting approval"), "{page}");
    }
}

//! What a JumpCloud-style SCIM sync leaves in the outbox for applications, on every backend:
//! users as they are created, changed, deprovisioned, deleted and provisioned again; a team
//! only once an administrator approves it, with the members it gathered while it waited; then
//! each membership change. In order, nothing missing.

use idgate::actions::{self, Actor, Decision};
use idgate_store::testing::TestDatabase;
use idgate_store::{TeamId, outbox};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;
use crate::scim::{scim_node, user};

#[tokio::test]
async fn a_scim_sync_reaches_the_outbox_in_order() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let (_, jane) = scim.post("/Users", user("jane@acme.test")).await;
        let jane = jane["id"].as_str().unwrap().to_owned();
        let (_, bob) = scim.post("/Users", user("bob@acme.test")).await;
        let bob = bob["id"].as_str().unwrap().to_owned();
        let (s, group) = scim
            .post(
                "/Groups",
                json!({"displayName": "Engineering", "members": [{"value": jane}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let gid = group["id"].as_str().unwrap().to_owned();
        let team: TeamId = gid.parse().unwrap();
        actions::decide_team(
            &app.store,
            &Actor::cli(),
            Some(scim.node),
            team,
            Decision::Approve,
            None,
        )
        .await
        .unwrap();
        let ops =
            |op: &str, who: &str| json!([{"op": op, "path": "members", "value": [{"value": who}]}]);
        assert_eq!(
            scim.patch(&format!("/Groups/{gid}"), ops("add", &bob))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            scim.patch(&format!("/Groups/{gid}"), ops("remove", &jane))
                .await
                .0,
            StatusCode::OK
        );
        let deactivate = json!([{"op": "replace", "path": "active", "value": false}]);
        assert_eq!(
            scim.patch(&format!("/Users/{jane}"), deactivate).await.0,
            StatusCode::OK
        );
        assert_eq!(
            scim.delete(&format!("/Users/{jane}")).await,
            StatusCode::NO_CONTENT
        );
        let (s, _) = scim.post("/Users", user("jane@acme.test")).await;
        assert_eq!(s, StatusCode::CREATED);

        let node = scim.node;
        let events = app
            .store
            .run(move |c| outbox::after(c, node, 0, 100))
            .await
            .unwrap();
        let seen: Vec<(i64, &str, &str)> = events
            .iter()
            .map(|e| (e.seq, e.kind.as_str(), e.subject_id.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "user.created", jane.as_str()),
                (2, "user.created", bob.as_str()),
                (3, "team.approved", gid.as_str()),
                (4, "membership.added", jane.as_str()),
                (5, "membership.added", bob.as_str()),
                (6, "membership.removed", jane.as_str()),
                (7, "user.locked", jane.as_str()),
                (8, "user.deleted", jane.as_str()),
                (9, "user.restored", jane.as_str()),
            ]
        );
        assert_eq!(events[8].payload["status"], "active");
        assert_eq!(events[3].payload["team"]["name"], "Engineering");
    }
}

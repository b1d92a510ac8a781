//! SCIM groups (teams) through the real app, on every backend.

use idgate_store::TeamId;
use idgate_store::teams::{self, TeamStatus};
use idgate_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::scim::{Scim, scim_node, user};

async fn users(scim: &Scim<'_>, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (s, u) = scim
            .post("/Users", user(&format!("{prefix}{i}@acme.test")))
            .await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    ids
}

pub fn member_values(group: &Value) -> Vec<String> {
    let mut v: Vec<String> = group["members"].as_array().map_or_else(Vec::new, |m| {
        m.iter()
            .map(|x| x["value"].as_str().unwrap().to_owned())
            .collect()
    });
    v.sort();
    v
}

#[tokio::test]
async fn teams_created_by_scim_wait_for_approval_and_existing_names_are_taken_over() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let ids = users(&scim, 2, "m").await;
        let (s, g) = scim.post("/Groups", json!({"displayName": "Sales", "externalId": "jc-1", "members": [{"value": ids[0]}]})).await;
        assert_eq!(s, StatusCode::CREATED);
        let gid: TeamId = g["id"].as_str().unwrap().parse().unwrap();
        let node = scim.node;
        let pending = app
            .store
            .run(move |c| teams::pending(c, Some(node)))
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].status, TeamStatus::Pending);

        // Same name again (any case): the team is taken over, not duplicated.
        let (s, again) = scim.post("/Groups", json!({"displayName": "SALES", "externalId": "jc-2", "members": [{"value": ids[1]}]})).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(again["id"], g["id"]);
        assert_eq!(again["externalId"], "jc-2");
        assert_eq!(member_values(&again), vec![ids[1].clone()]);
        let (_, list) = scim.get("/Groups").await;
        assert_eq!(list["totalResults"], 1);

        let id = gid.clone();
        app.store
            .run(move |c| teams::set_status(c, node, &id, TeamStatus::Approved))
            .await
            .unwrap();
        let (s, still) = scim.get(&format!("/Groups/{gid}")).await;
        assert_eq!(
            (s, member_values(&still)),
            (StatusCode::OK, vec![ids[1].clone()]),
            "membership is kept through approval"
        );
    }
}

#[tokio::test]
async fn member_changes_by_every_client_form() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let ids = users(&scim, 4, "f").await;
        let (_, g) = scim.post("/Groups", json!({"displayName": "Forms"})).await;
        let path = format!("/Groups/{}", g["id"].as_str().unwrap());

        let all: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
        let (_, g) = scim
            .patch(
                &path,
                json!([{"op": "Add", "path": "members", "value": all}]),
            )
            .await;
        assert_eq!(member_values(&g).len(), 4, "several members in one op");
        let (_, g) = scim
            .patch(
                &path,
                json!([{"op": "Remove", "path": format!("members[value eq \"{}\"]", ids[0])}]),
            )
            .await;
        assert!(!member_values(&g).contains(&ids[0]));
        let (_, g) = scim
            .patch(
                &path,
                json!([{"op": "remove", "path": "members", "value": [{"value": ids[1]}]}]),
            )
            .await;
        assert!(!member_values(&g).contains(&ids[1]));
        let (_, g) = scim
            .patch(
                &path,
                json!([{"op": "replace", "path": "members", "value": [{"value": ids[0]}]}]),
            )
            .await;
        assert_eq!(member_values(&g), vec![ids[0].clone()]);
        let (_, g) = scim.patch(&path, json!([{"op": "add", "value": {"members": [{"value": ids[3]}], "externalId": "x-9"}}])).await;
        assert_eq!(member_values(&g).len(), 2);
        assert_eq!(g["externalId"], "x-9");

        // A large group read without its members; the members are not even loaded.
        let (_, light) = scim
            .get(&format!("{path}?excludedAttributes=members"))
            .await;
        assert!(light.get("members").is_none());
        let (_, listed) = scim.get("/Groups?excludedAttributes=members").await;
        assert!(listed["Resources"][0].get("members").is_none());

        // Filters: by name, and which groups hold a user.
        let (_, by_name) = scim
            .get("/Groups?filter=displayName%20eq%20%22forms%22")
            .await;
        assert_eq!(by_name["totalResults"], 1);
        let (_, holding) = scim
            .get(&format!(
                "/Groups?filter=members%5Bvalue%20eq%20%22{}%22%5D",
                ids[3]
            ))
            .await;
        assert_eq!(holding["totalResults"], 1);
        let (_, not_holding) = scim
            .get(&format!(
                "/Groups?filter=members%5Bvalue%20eq%20%22{}%22%5D",
                ids[2]
            ))
            .await;
        assert_eq!(not_holding["totalResults"], 0);

        // PUT replaces name and members; the user shows the group.
        let (s, put, _) = scim
            .send(
                reqwest::Method::PUT,
                &path,
                Some(json!({"displayName": "Forms 2", "members": [{"value": ids[2]}]})),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{put}");
        assert_eq!(member_values(&put), vec![ids[2].clone()]);
        let (_, u) = scim.get(&format!("/Users/{}", ids[2])).await;
        assert_eq!(u["groups"][0]["display"], "Forms 2");

        // Deleting the group keeps its members.
        assert_eq!(scim.delete(&path).await, StatusCode::NO_CONTENT);
        assert_eq!(scim.get(&path).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            scim.get(&format!("/Users/{}", ids[2])).await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn members_of_another_node_are_never_added() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let a = scim_node(&app, "a").await;
    let b = scim_node(&app, "b").await;
    let foreign = users(&b, 1, "b").await;
    let (_, g) = a
        .post(
            "/Groups",
            json!({"displayName": "A team", "members": [{"value": foreign[0]}]}),
        )
        .await;
    assert!(member_values(&g).is_empty());
}

#[tokio::test]
async fn concurrent_member_patches_lose_nothing() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let ids = users(&scim, 16, "c").await;
        let (_, g) = scim.post("/Groups", json!({"displayName": "Busy"})).await;
        let path = format!("/Groups/{}", g["id"].as_str().unwrap());
        let patches = ids.iter().map(|id| {
            let path = path.clone();
            let scim = &scim;
            async move {
                scim.patch(
                    &path,
                    json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
                )
                .await
                .0
            }
        });
        let statuses = futures_util::future::join_all(patches).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        let (_, g) = scim.get(&path).await;
        assert_eq!(member_values(&g).len(), 16, "no lost update");
        let gid: TeamId = g["id"].as_str().unwrap().parse().unwrap();
        let count = app
            .store
            .run(move |c| teams::member_count(c, &gid))
            .await
            .unwrap();
        assert_eq!(count, 16);
    }
}

//! Many SCIM clients at once, over HTTP from separate tasks, on every backend: one userName is
//! created once (the others are told it is taken), and every member add to one group lands.

use idgate_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::scim::{Scim, scim_node, user};
use crate::scim_groups::member_values;

/// What a spawned task needs to talk SCIM on its own.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn of(scim: &Scim<'_>) -> Self {
        Self {
            http: scim.app.client.clone(),
            base: scim.base(),
            token: scim.token.clone(),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        assert_eq!(content_type, "application/scim+json", "{body}");
        (status, body)
    }
}

const TASKS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_of_one_user_name_give_one_user_and_conflicts() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let client = Client::of(&scim);
        let first = race_to_create(&client).await;
        let (_, all) = scim.get("/Users?count=0").await;
        assert_eq!(all["totalResults"], 1);

        // A deleted user, then a deactivated one, created again by many clients at once: one
        // restores it (201, its old id), the others find it taken.
        assert_eq!(
            scim.delete(&format!("/Users/{}", first.as_str().unwrap()))
                .await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            race_to_create(&client).await,
            first,
            "restored, not duplicated"
        );
        let (s, _) = scim
            .patch(
                &format!("/Users/{}", first.as_str().unwrap()),
                json!([{"op": "replace", "path": "active", "value": false}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(race_to_create(&client).await, first, "re-activated once");
        let (_, all) = scim.get("/Users?count=0").await;
        assert_eq!(all["totalResults"], 1);
    }
}

/// [`TASKS`] creates of one userName at once: exactly one 201 (its id is returned), the others
/// 409 `uniqueness`; never anything else.
async fn race_to_create(client: &Client) -> Value {
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let client = client.clone();
            // Different casings of one name: still one user.
            let name = if i % 2 == 0 {
                "race@acme.test"
            } else {
                "RACE@acme.test"
            };
            tokio::spawn(async move { client.send(Method::POST, "/Users", user(name)).await })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created.push(body["id"].clone()),
            StatusCode::CONFLICT => {
                assert_eq!(body["scimType"], "uniqueness", "{body}");
                assert_eq!(body["status"], "409", "{body}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    created.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_member_adds_to_one_group_all_land() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let client = Client::of(&scim);
        // The users are created in parallel too.
        let creates: Vec<_> = (0..TASKS)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move {
                    client
                        .send(Method::POST, "/Users", user(&format!("p{i}@acme.test")))
                        .await
                })
            })
            .collect();
        let mut ids = Vec::new();
        for task in creates {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
        let (_, g) = scim.post("/Groups", json!({"displayName": "Crowd"})).await;
        let path = format!("/Groups/{}", g["id"].as_str().unwrap());
        let adds: Vec<_> = ids
            .iter()
            .map(|id| {
                let client = client.clone();
                let path = path.clone();
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]
                });
                tokio::spawn(async move { client.send(Method::PATCH, &path, body).await })
            })
            .collect();
        for task in adds {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, g) = scim.get(&path).await;
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(member_values(&g), expected, "every add landed");

        // Batches that overlap, each in its own order (clients send what they have queued).
        let (_, g) = scim
            .post("/Groups", json!({"displayName": "Batches"}))
            .await;
        let path = format!("/Groups/{}", g["id"].as_str().unwrap());
        let adds: Vec<_> = (0..TASKS)
            .map(|i| {
                let client = client.clone();
                let path = path.clone();
                let mut batch: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
                batch.rotate_left(i);
                if i % 2 == 1 {
                    batch.reverse();
                }
                batch.truncate(TASKS / 2 + 1);
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Add", "path": "members", "value": batch}]
                });
                tokio::spawn(async move { client.send(Method::PATCH, &path, body).await })
            })
            .collect();
        for task in adds {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, g) = scim.get(&path).await;
        assert_eq!(member_values(&g), expected, "every batch landed");
    }
}

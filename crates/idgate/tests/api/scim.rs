//! SCIM users through the real app, on every backend: JumpCloud's order of calls, Entra ID's
//! forms, tenant isolation, ETags and every error case.

use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, StorageError, nodes, scim as scim_store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A node with a SCIM token, and requests signed with it.
pub struct Scim<'a> {
    pub app: &'a TestApp,
    pub node: NodeId,
    pub token: String,
}

impl Scim<'_> {
    pub fn base(&self) -> String {
        self.app.url(&format!("/api/rest/scim/v2/{}", self.node))
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{path}", self.base()))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        if !json.is_null() {
            assert_eq!(headers["content-type"], "application/scim+json", "{path}");
        }
        (status, json, headers)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, b, _) = self.send(Method::GET, path, None, &[]).await;
        (s, b)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, b, _) = self.send(Method::POST, path, Some(body), &[]).await;
        (s, b)
    }

    pub async fn patch(&self, path: &str, ops: Value) -> (StatusCode, Value) {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let (s, b, _) = self.send(Method::PATCH, path, Some(body), &[]).await;
        (s, b)
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        self.send(Method::DELETE, path, None, &[]).await.0
    }

    /// The audit events of this node, newest first, as (kind, outcome, detail).
    pub async fn events(&self) -> Vec<(String, String, String)> {
        let node = self.node;
        self.app
            .store
            .run(move |c| idgate_store::events::latest(c, Some(node), 200))
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, format!("{:?}", e.outcome).to_lowercase(), e.detail))
            .collect()
    }
}

/// Creates a node with a SCIM method on the app's database.
pub async fn scim_node<'a>(app: &'a TestApp, name: &str) -> Scim<'a> {
    let token = idgate_scim::auth::generate_token();
    let hash = token.hash.clone();
    let name = nodes::NodeName::parse(name).unwrap();
    let node = app
        .store
        .run(move |c| {
            let node = nodes::create(c, &name).map_err(|e| StorageError::Corrupt(e.to_string()))?;
            scim_store::set_token(c, node.id, &hash)?;
            Ok(node.id)
        })
        .await
        .unwrap();
    Scim {
        app,
        node,
        token: token.token,
    }
}

pub fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "active": true
    })
}

/// JumpCloud's Test Connection: create and delete a test user and a test group.
async fn test_connection(scim: &Scim<'_>) {
    let (s, test_user) = scim.post("/Users", user("jctest@acme.test")).await;
    assert_eq!(s, StatusCode::CREATED, "{test_user}");
    let (s, test_group) = scim.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "jc-test-group"})).await;
    assert_eq!(s, StatusCode::CREATED, "{test_group}");
    assert_eq!(
        scim.delete(&format!("/Users/{}", test_user["id"].as_str().unwrap()))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        scim.delete(&format!("/Groups/{}", test_group["id"].as_str().unwrap()))
            .await,
        StatusCode::NO_CONTENT
    );
}

/// Every provisioning step left its Directory Insights event.
async fn assert_events(scim: &Scim<'_>) {
    let kinds: Vec<String> = scim.events().await.into_iter().map(|e| e.0).collect();
    for kind in [
        "user_create_provision",
        "user_lookup_provision",
        "group_create_provision",
        "group_update_provision",
        "user_deprovision",
        "user_delete_provision",
        "group_delete_provision",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
}

#[tokio::test]
async fn jumpcloud_sequence_of_calls_works_end_to_end() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;

        test_connection(&scim).await;

        // Lookup, then create.
        let (s, found) = scim
            .get("/Users?filter=userName%20eq%20%22jane%40acme.test%22")
            .await;
        assert_eq!(
            (s, found["totalResults"].as_i64()),
            (StatusCode::OK, Some(0))
        );
        let (s, jane) = scim.post("/Users", user("jane@acme.test")).await;
        assert_eq!(s, StatusCode::CREATED);
        let jane_id = jane["id"].as_str().unwrap().to_owned();
        let (_, bob) = scim.post("/Users", user("bob@acme.test")).await;
        let bob_id = bob["id"].as_str().unwrap().to_owned();

        // Group create, member add, member remove by value array.
        let (s, group) = scim
            .post(
                "/Groups",
                json!({"displayName": "Engineering", "members": [{"value": jane_id}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let gid = group["id"].as_str().unwrap().to_owned();
        let (s, g) = scim
            .patch(
                &format!("/Groups/{gid}"),
                json!([{"op": "add", "path": "members", "value": [{"value": bob_id}]}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(g["members"].as_array().unwrap().len(), 2, "{g}");
        let (s, g) = scim
            .patch(
                &format!("/Groups/{gid}"),
                json!([{"op": "remove", "path": "members", "value": [{"value": jane_id}]}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            g["members"],
            json!([{"value": bob_id, "$ref": format!("{}/Users/{bob_id}", scim.base()), "type": "User"}])
        );

        // Rename by path-less replace.
        let (s, g) = scim
            .patch(
                &format!("/Groups/{gid}"),
                json!([{"op": "replace", "value": {"id": gid, "displayName": "Eng"}}]),
            )
            .await;
        assert_eq!(
            (s, g["displayName"].as_str()),
            (StatusCode::OK, Some("Eng"))
        );

        // Deactivate (locks), then delete (locks and hides; the account stays).
        let (s, u) = scim
            .patch(
                &format!("/Users/{jane_id}"),
                json!([{"op": "replace", "path": "active", "value": false}]),
            )
            .await;
        assert_eq!((s, &u["active"]), (StatusCode::OK, &json!(false)));
        assert_eq!(
            scim.delete(&format!("/Users/{jane_id}")).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            scim.get(&format!("/Users/{jane_id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            scim.delete(&format!("/Users/{jane_id}")).await,
            StatusCode::NOT_FOUND
        );
        let node = scim.node;
        let kept = app
            .store
            .run(move |c| idgate_store::users::find_by_user_name(c, node, "jane@acme.test"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.status, idgate_store::users::UserStatus::Locked);
        assert!(!kept.scim_visible);

        // Created again: restored and re-activated under its old id, not refused.
        let (s, again) = scim.post("/Users", user("Jane@Acme.test")).await;
        assert_eq!(s, StatusCode::CREATED, "{again}");
        assert_eq!(again["id"], json!(jane_id));
        assert_eq!(again["active"], json!(true));

        assert_events(&scim).await;
        let method = app
            .store
            .run(move |c| scim_store::get(c, node))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(method.status, scim_store::ScimStatus::Active);
        assert!(method.last_used_at.is_some());
    }
}

#[tokio::test]
async fn entra_casing_string_booleans_and_pathless_dotted_keys() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "contoso").await;
        let (_, u) = scim.post("/Users", json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2", "userName": "Test_User@contoso.test", "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "Test_User@contoso.test"}],
            "displayName": "Test User", "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Dept", "employeeNumber": "12"},
            "roles": [], "unknownThing": {"kept": 1}
        })).await;
        let id = u["id"].as_str().unwrap().to_owned();
        assert_eq!(u["active"], json!(true));
        assert_eq!(
            u["unknownThing"],
            json!({"kept": 1}),
            "unknown attributes are kept"
        );
        assert_eq!(
            u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "12"
        );

        let (s, u) = scim.patch(&format!("/Users/{id}"), json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"name.givenName": "Tess", "title": "Engineer"}},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "tess@contoso.test"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}
        ])).await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u["active"], json!(false));
        assert_eq!(u["name"]["givenName"], "Tess");
        assert_eq!(u["title"], "Engineer");
        assert_eq!(u["emails"][0]["value"], "tess@contoso.test");
        assert_eq!(
            u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "Sales"
        );

        // Entra filters by externalId and by userName with odd casing; lists use Resources.
        let (_, list) = scim.get("/Users?filter=externalId+eq+%220a21f0f2%22").await;
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["id"], json!(id));
        let (_, list) = scim
            .get("/Users?filter=USERNAME+eq+%22test_user%40CONTOSO.test%22&Count=1")
            .await;
        assert_eq!(list["totalResults"], 1);

        // A password is accepted and never returned.
        let (s, u) = scim
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "replace", "path": "password", "value": "S3cret!"}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(u.get("password").is_none());
        assert!(!u.to_string().contains("S3cret"));
    }
}

#[tokio::test]
async fn tokens_and_nodes_are_isolated() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let a = scim_node(&app, "a").await;
        let b = scim_node(&app, "b").await;
        let (_, u) = a.post("/Users", user("x@a.test")).await;
        let id = u["id"].as_str().unwrap();

        // B's token on A's base URL: 401, never data.
        let wrong = Scim {
            app: &app,
            node: a.node,
            token: b.token.clone(),
        };
        let (s, body, headers) = wrong.send(Method::GET, "/Users", None, &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(body["status"], "401");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        // B's token on its own URL cannot see A's user: 404, not 403.
        assert_eq!(
            b.get(&format!("/Users/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(b.get("/Users").await.1["totalResults"], 0);
        assert_eq!(
            b.delete(&format!("/Users/{id}")).await,
            StatusCode::NOT_FOUND
        );
        // The same userName is free in another node.
        assert_eq!(
            b.post("/Users", user("x@a.test")).await.0,
            StatusCode::CREATED
        );

        for token in ["", "Bearer", "Basic abc", "Bearer not-the-token"] {
            let mut req = app.client.get(format!("{}/Users", a.base()));
            if !token.is_empty() {
                req = req.header("authorization", token);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        }
        let unknown = Scim {
            app: &app,
            node: "1234567890123456".parse().unwrap(),
            token: a.token.clone(),
        };
        assert_eq!(unknown.get("/Users").await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn etags_and_if_match() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let (_, u, headers) = scim
            .send(Method::POST, "/Users", Some(user("e@acme.test")), &[])
            .await;
        let id = u["id"].as_str().unwrap().to_owned();
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert_eq!(u["meta"]["version"], json!(etag));

        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "A"}]});
        let (s, _, h2) = scim
            .send(
                Method::PATCH,
                &format!("/Users/{id}"),
                Some(body.clone()),
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_ne!(h2["etag"].to_str().unwrap(), etag, "the version moved on");
        let (s, err, _) = scim
            .send(
                Method::PATCH,
                &format!("/Users/{id}"),
                Some(body),
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);
        assert_eq!(err["status"], "412");
        let (s, _, _) = scim
            .send(
                Method::PUT,
                &format!("/Users/{id}"),
                Some(user("e@acme.test")),
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);
        let (s, _, _) = scim
            .send(
                Method::DELETE,
                &format!("/Users/{id}"),
                None,
                &[("if-match", "W/\"999\"")],
            )
            .await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);
        let (s, _, _) = scim
            .send(
                Method::PUT,
                &format!("/Users/{id}"),
                Some(user("e@acme.test")),
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
}

#[tokio::test]
async fn error_cases_answer_rfc_7644_bodies() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let (_, u) = scim.post("/Users", user("dup@acme.test")).await;
        let id = u["id"].as_str().unwrap().to_owned();

        let (s, e) = scim.post("/Users", user("DUP@acme.test")).await;
        assert_eq!(
            (s, e["scimType"].as_str()),
            (StatusCode::CONFLICT, Some("uniqueness")),
            "{e}"
        );
        let (s, e) = scim
            .post("/Users", json!({"name": {"givenName": "x"}}))
            .await;
        assert_eq!(
            (s, e["scimType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalidValue"))
        );
        let (s, e) = scim.get("/Users?filter=userName%20eq").await;
        assert_eq!(
            (s, e["scimType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalidFilter"))
        );
        let (s, e) = scim
            .patch(&format!("/Users/{id}"), json!([{"op": "remove"}]))
            .await;
        assert_eq!(
            (s, e["scimType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("noTarget"))
        );
        let (s, e) = scim
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "add", "path": "emails[", "value": 1}]),
            )
            .await;
        assert_eq!(
            (s, e["scimType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalidPath"))
        );
        assert_eq!(
            scim.get("/Users/does-not-exist").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(scim.get("/Nothing").await.0, StatusCode::NOT_FOUND);

        let malformed = app
            .client
            .post(format!("{}/Users", scim.base()))
            .bearer_auth(&scim.token)
            .header("content-type", "application/scim+json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
        let body: Value = malformed.json().await.unwrap();
        assert_eq!(body["scimType"], "invalidSyntax");

        let huge = format!(
            "{{\"userName\":\"big@acme.test\",\"title\":\"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        );
        let res = app
            .client
            .post(format!("{}/Users", scim.base()))
            .bearer_auth(&scim.token)
            .header("content-type", "application/scim+json")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "413");

        // Nothing was lost: the user is still there, unchanged.
        let (s, same) = scim.get(&format!("/Users/{id}")).await;
        assert_eq!(
            (s, &same["userName"]),
            (StatusCode::OK, &json!("dup@acme.test"))
        );
        let failures = scim
            .events()
            .await
            .into_iter()
            .filter(|e| e.1 == "failure")
            .count();
        assert!(failures >= 2, "failed writes are audited too");
    }
}

#[tokio::test]
async fn the_username_policy_can_refuse_non_email_user_names() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let scim = scim_node(&app, "acme").await;
    let (s, _) = scim.post("/Users", user("not-an-email")).await;
    assert_eq!(s, StatusCode::CREATED, "accepted and recorded by default");
    let recorded = scim.events().await;
    assert!(
        recorded[0].2.contains("is not an email address"),
        "{recorded:?}"
    );
    let node = scim.node;
    app.store
        .run(move |c| {
            scim_store::set_options(c, node, None, Some(scim_store::UserNamePolicy::Refuse))
        })
        .await
        .unwrap();
    let (s, e) = scim.post("/Users", user("also-not-an-email")).await;
    assert_eq!(
        (s, e["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue"))
    );
}

#[tokio::test]
async fn hard_delete_is_a_per_node_option() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let scim = scim_node(&app, "acme").await;
    let node = scim.node;
    app.store
        .run(move |c| scim_store::set_options(c, node, Some(true), None))
        .await
        .unwrap();
    let (_, u) = scim.post("/Users", user("gone@acme.test")).await;
    assert_eq!(
        scim.delete(&format!("/Users/{}", u["id"].as_str().unwrap()))
            .await,
        StatusCode::NO_CONTENT
    );
    let found = app
        .store
        .run(move |c| idgate_store::users::find_by_user_name(c, node, "gone@acme.test"))
        .await
        .unwrap();
    assert!(found.is_none());
}

#[tokio::test]
async fn paging_sorting_projection_and_search() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        for i in 0..7 {
            let mut u = user(&format!("user{i}@acme.test"));
            u["title"] = json!(if i % 2 == 0 { "even" } else { "odd" });
            scim.post("/Users", u).await;
        }
        let (_, p1) = scim
            .get("/Users?startIndex=1&count=3&sortBy=userName")
            .await;
        let (_, p3) = scim
            .get("/Users?startIndex=7&count=3&sortBy=userName")
            .await;
        assert_eq!(
            (
                p1["totalResults"].as_i64(),
                p1["itemsPerPage"].as_i64(),
                p1["startIndex"].as_i64()
            ),
            (Some(7), Some(3), Some(1))
        );
        assert_eq!(p1["Resources"][0]["userName"], "user0@acme.test");
        assert_eq!(p3["Resources"].as_array().unwrap().len(), 1);
        assert_eq!(p3["Resources"][0]["userName"], "user6@acme.test");
        let (_, desc) = scim
            .get("/Users?sortBy=userName&sortOrder=descending&count=1")
            .await;
        assert_eq!(desc["Resources"][0]["userName"], "user6@acme.test");

        // A filter on an attribute without a column is evaluated in memory, paged the same way.
        let (_, odd) = scim
            .get("/Users?filter=title%20eq%20%22odd%22&count=2&startIndex=2")
            .await;
        assert_eq!(odd["totalResults"], 3);
        assert_eq!(odd["Resources"].as_array().unwrap().len(), 2);

        let (_, only) = scim.get("/Users?attributes=userName&count=1").await;
        let r = only["Resources"][0].as_object().unwrap();
        let mut keys: Vec<&str> = r.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "meta", "schemas", "userName"]);
        let (_, without) = scim
            .get("/Users?excludedAttributes=emails,name.givenName&count=1")
            .await;
        assert!(without["Resources"][0].get("emails").is_none());
        assert!(without["Resources"][0]["name"].get("givenName").is_none());
        assert!(without["Resources"][0]["name"].get("familyName").is_some());

        let (s, found) = scim.post("/Users/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"user1\"", "startIndex": 1, "count": 10})).await;
        assert_eq!(
            (s, found["totalResults"].as_i64()),
            (StatusCode::OK, Some(1))
        );
        let (_, zero) = scim.get("/Users?count=0").await;
        assert_eq!(
            (
                zero["totalResults"].as_i64(),
                zero["Resources"].as_array().map(Vec::len)
            ),
            (Some(7), Some(0))
        );
    }
}

#[tokio::test]
async fn discovery_describes_what_works() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let scim = scim_node(&app, "acme").await;
    let (s, spc) = scim.get("/ServiceProviderConfig").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["changePassword"]["supported"], false);
    let (_, types) = scim.get("/ResourceTypes").await;
    assert_eq!(types["totalResults"], 2);
    let (s, user_type) = scim.get("/ResourceTypes/User").await;
    assert_eq!(
        (s, &user_type["endpoint"]),
        (StatusCode::OK, &json!("/Users"))
    );
    let (_, schemas) = scim.get("/Schemas").await;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:User"),
        "{ids:?}"
    );
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    let (s, _) = scim
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn whole_extension_paths_removed_active_and_wrong_methods() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let scim = scim_node(&app, "acme").await;
    let (_, u) = scim.post("/Users", user("ext@acme.test")).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    // The path grammar reads the URN as URI + "User"; it must still mean the extension.
    let (s, u) = scim
        .patch(&path, json!([{"op": "add", "path": ext, "value": {"schemas": [ext], "department": "Ops", "manager": {"value": "m-1"}}}]))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u[ext]["department"], "Ops");
    assert!(u[ext].get("schemas").is_none());
    assert!(
        u.get("User").is_none(),
        "no stray attribute named after the URN's tail: {u}"
    );
    let (_, u) = scim
        .patch(&path, json!([{"op": "remove", "path": ext}]))
        .await;
    assert!(u.get(ext).is_none(), "{u}");

    // Removing `active` leaves it unset (the account stays unlocked).
    let (_, u) = scim
        .patch(&path, json!([{"op": "remove", "path": "active"}]))
        .await;
    assert!(u.get("active").is_none(), "{u}");
    let node = scim.node;
    let stored = app
        .store
        .run(move |c| idgate_store::users::find_by_user_name(c, node, "ext@acme.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, idgate_store::users::UserStatus::Active);

    for (method, target) in [
        (Method::PUT, "/ServiceProviderConfig"),
        (Method::DELETE, "/Schemas"),
        (Method::PATCH, "/Users"),
        (Method::POST, &path),
    ] {
        let (s, body, _) = scim
            .send(method.clone(), target, Some(json!({})), &[])
            .await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {target}");
        assert_eq!(body["status"], "405");
    }

    // Root search covers users and groups.
    scim.post("/Groups", json!({"displayName": "ext team"}))
        .await;
    let (s, all) = scim.post("/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "displayName sw \"ext\" or userName sw \"ext\""})).await;
    assert_eq!(
        (s, all["totalResults"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{all}"
    );
}

#[tokio::test]
async fn concurrent_creates_and_lookups_all_succeed() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let creates = (0..24).map(|i| {
            let scim = &scim;
            async move {
                scim.post("/Users", user(&format!("c{i}@acme.test")))
                    .await
                    .0
            }
        });
        let lookups = (0..24).map(|i| {
            let scim = &scim;
            async move {
                scim.get(&format!(
                    "/Users?filter=userName%20eq%20%22c{i}%40acme.test%22"
                ))
                .await
                .0
            }
        });
        let (create_statuses, lookup_statuses) = tokio::join!(
            futures_util::future::join_all(creates),
            futures_util::future::join_all(lookups)
        );
        assert!(
            create_statuses.iter().all(|s| *s == StatusCode::CREATED),
            "{create_statuses:?}"
        );
        assert!(
            lookup_statuses.iter().all(|s| *s == StatusCode::OK),
            "{lookup_statuses:?}"
        );
        assert_eq!(scim.get("/Users?count=0").await.1["totalResults"], 24);
    }
}

#[tokio::test]
async fn locations_use_the_configured_base_url_not_the_host_header() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let scim = scim_node(&app, "acme").await;
    let (_, body, headers) = scim
        .send(
            Method::POST,
            "/Users",
            Some(user("loc@acme.test")),
            &[
                ("host", "evil.example"),
                ("x-forwarded-host", "evil.example"),
            ],
        )
        .await;
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{}/api/rest/scim/v2/", app.address)),
        "{location}"
    );
    assert!(!body.to_string().contains("evil.example"), "{body}");
}

#[tokio::test]
async fn a_user_name_or_email_with_a_control_character_is_refused() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        for (name, email) in [
            ("alice@acme.test\u{7f}", "alice@acme.test"),
            ("alice@acme.test", "alice@acme.test\r\nX: y"),
        ] {
            let mut body = user(name);
            body["emails"][0]["value"] = json!(email);
            let (status, error) = scim.post("/Users", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?} {email:?}");
            assert_eq!(error["scimType"], "invalidValue", "{error}");
            assert!(
                error["detail"]
                    .as_str()
                    .unwrap()
                    .contains("control character"),
                "{error}"
            );
        }
    }
}

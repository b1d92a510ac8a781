//! SCIM as Entra ID, Okta and JumpCloud send it, on every backend: the value-path filter with a
//! sub-attribute and the enterprise manager.

use idgate_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::scim::{Scim, scim_node, user};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A query string value, percent-encoded.
pub fn q(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

pub async fn ids_matching(scim: &Scim<'_>, resource: &str, filter: &str) -> Vec<String> {
    let (s, list) = scim.get(&format!("/{resource}?filter={}", q(filter))).await;
    assert_eq!(s, StatusCode::OK, "{filter}: {list}");
    let mut ids: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        list["totalResults"].as_u64(),
        Some(ids.len() as u64),
        "{filter}"
    );
    ids
}

fn with_emails(name: &str, emails: &Value) -> Value {
    let mut body = user(name);
    body["emails"] = emails.clone();
    body
}

/// Ann, whose work email is asked for, and Bea, whose *home* email is the same address: the
/// work filter must not match her. Their ids.
async fn work_and_home(scim: &Scim<'_>) -> (String, String) {
    let (_, work) = scim
        .post(
            "/Users",
            with_emails(
                "ann@contoso.test",
                &json!([{"type": "work", "value": "Ann.Work@contoso.test", "primary": true}, {"type": "home", "value": "ann@home.test"}]),
            ),
        )
        .await;
    let work_id = work["id"].as_str().unwrap().to_owned();
    let (_, home) = scim
        .post(
            "/Users",
            with_emails(
                "bea@contoso.test",
                &json!([{"type": "work", "value": "bea@contoso.test"}, {"type": "home", "value": "ann.work@contoso.test"}]),
            ),
        )
        .await;
    let home_id = home["id"].as_str().unwrap().to_owned();

    (work_id, home_id)
}

#[tokio::test]
async fn a_value_path_with_a_sub_attribute_filters_like_the_rfc_form() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "contoso").await;
        let (work_id, home_id) = work_and_home(&scim).await;

        let entra = r#"emails[type eq "work"].value eq "ann.work@contoso.test""#;
        let rfc = r#"emails[type eq "work" and value eq "ann.work@contoso.test"]"#;
        assert_eq!(
            ids_matching(&scim, "Users", entra).await,
            vec![work_id.clone()]
        );
        assert_eq!(
            ids_matching(&scim, "Users", rfc).await,
            vec![work_id.clone()]
        );
        let mut both = vec![work_id.clone(), home_id.clone()];
        both.sort();
        assert_eq!(
            ids_matching(&scim, "Users", r#"emails[type eq "home"].value ew "@home.test" or emails[type eq "home"].value co "ann.work""#).await,
            both
        );
        assert_eq!(
            ids_matching(
                &scim,
                "Users",
                r#"emails[type eq "work" or type eq "home"].value sw "ann""#
            )
            .await,
            both,
            "the bracket's own `or` keeps its meaning"
        );
        assert_eq!(
            ids_matching(&scim, "Users", r#"not (emails[type eq "work"].value eq "ann.work@contoso.test") and userName ew "contoso.test""#).await,
            vec![home_id.clone()]
        );
        assert_eq!(
            ids_matching(&scim, "Users", r#"emails[type eq "other"].value pr"#).await,
            Vec::<String>::new()
        );
        assert_eq!(
            ids_matching(&scim, "Users", r#"emails[value eq "x \"].y\""].value pr"#).await,
            Vec::<String>::new(),
            "brackets inside strings are text"
        );
        let (s, found) = scim
            .post(
                "/Users/.search",
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": entra}),
            )
            .await;
        assert_eq!((s, &found["totalResults"]), (StatusCode::OK, &json!(1)));
        let (s, e) = scim
            .get(&format!(
                "/Users?filter={}",
                q(r#"emails[type eq "work"]. eq "x""#)
            ))
            .await;
        assert_eq!(
            (s, e["scimType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalidFilter"))
        );
    }
}

/// The same form as a PATCH path, as Entra sends it: it edits the work address only, and creates
/// the element when the user has none.
#[tokio::test]
async fn a_value_path_with_a_sub_attribute_patches_the_matching_element() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "contoso").await;
        let (_, home_id) = work_and_home(&scim).await;
        let (s, u) = scim
            .patch(
                &format!("/Users/{home_id}"),
                json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bea.new@contoso.test"}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(
            u["emails"],
            json!([{"type": "work", "value": "bea.new@contoso.test"}, {"type": "home", "value": "ann.work@contoso.test"}])
        );
        let (_, lone) = scim.post("/Users", user("cy@contoso.test")).await;
        let lone_id = lone["id"].as_str().unwrap();
        let (s, u) = scim
            .patch(
                &format!("/Users/{lone_id}"),
                json!([{"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Oslo"}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(
            u["addresses"],
            json!([{"type": "work", "locality": "Oslo"}])
        );
        assert_eq!(
            ids_matching(
                &scim,
                "Users",
                r#"addresses[type eq "work"].locality eq "oslo""#
            )
            .await,
            vec![lone_id.to_owned()]
        );
        let (s, u) = scim
            .patch(
                &format!("/Users/{lone_id}"),
                json!([{"op": "Remove", "path": "addresses[type eq \"work\"].locality"}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u["addresses"], json!([{"type": "work"}]));
    }
}

/// A boss (with a displayName), another user, and an employee created with the boss as its
/// manager, sent as a string (what Entra ID's mapping produces).
struct Org {
    boss_id: String,
    boss_ref: String,
    other_id: String,
    emp_id: String,
    /// The boss as every manager attribute must show it.
    expected: Value,
}

async fn org(scim: &Scim<'_>) -> Org {
    let mut boss = user("boss@contoso.test");
    boss["displayName"] = json!("The Boss");
    let (_, boss) = scim.post("/Users", boss).await;
    let boss_id = boss["id"].as_str().unwrap().to_owned();
    let boss_ref = format!("{}/Users/{boss_id}", scim.base());
    let (_, other) = scim.post("/Users", user("other@contoso.test")).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let expected = json!({"value": boss_id, "$ref": boss_ref, "displayName": "The Boss"});
    let mut body = user("emp@contoso.test");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    body[ENTERPRISE] = json!({"department": "Ops", "manager": boss_id});
    let (s, emp) = scim.post("/Users", body).await;
    assert_eq!(s, StatusCode::CREATED, "{emp}");
    assert_eq!(emp[ENTERPRISE]["manager"], expected, "{emp}");
    Org {
        boss_id,
        boss_ref,
        other_id,
        emp_id: emp["id"].as_str().unwrap().to_owned(),
        expected,
    }
}

#[tokio::test]
async fn the_enterprise_manager_is_complex_however_it_is_sent() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "contoso").await;
        let Org {
            boss_id,
            other_id,
            emp_id,
            expected,
            ..
        } = org(&scim).await;
        let path = format!("/Users/{emp_id}");
        assert_eq!(scim.get(&path).await.1[ENTERPRISE]["manager"], expected);

        // Entra's PATCH: op "Add", the URN path, the id as a string.
        let urn_path = format!("{ENTERPRISE}:manager");
        let (s, u) = scim
            .patch(
                &path,
                json!([{"op": "Add", "path": urn_path, "value": other_id}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(
            u[ENTERPRISE]["manager"],
            json!({"value": other_id, "$ref": format!("{}/Users/{other_id}", scim.base())}),
            "a manager without a displayName has no name to show"
        );
        assert_eq!(
            u[ENTERPRISE]["department"], "Ops",
            "the rest of the extension stays"
        );

        // `manager` without a URN names the enterprise manager, never a core attribute; an
        // object's read-only displayName and $ref are the server's.
        let (s, u) = scim
            .patch(
                &path,
                json!([{"op": "replace", "path": "manager", "value": {"value": boss_id, "displayName": "Wrong", "$ref": "https://elsewhere.test/x"}}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u[ENTERPRISE]["manager"], expected);
        assert!(u.get("manager").is_none(), "{u}");
        let (_, u) = scim
            .patch(
                &path,
                json!([{"op": "replace", "path": "manager.value", "value": other_id}]),
            )
            .await;
        assert_eq!(u[ENTERPRISE]["manager"]["value"], json!(other_id), "{u}");
        assert!(u.get("manager").is_none(), "{u}");
        let (_, u) = scim
            .patch(
                &path,
                json!([{"op": "replace", "value": {"manager": boss_id}}]),
            )
            .await;
        assert_eq!(u[ENTERPRISE]["manager"], expected, "{u}");
        assert!(u.get("manager").is_none(), "{u}");
    }
}

#[tokio::test]
async fn managers_are_found_removed_and_described() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "contoso").await;
        let Org {
            boss_id,
            boss_ref,
            emp_id,
            expected,
            ..
        } = org(&scim).await;
        let path = format!("/Users/{emp_id}");
        let urn_path = format!("{ENTERPRISE}:manager");

        // Filters find reports by their manager, with or without the URN.
        assert_eq!(
            ids_matching(
                &scim,
                "Users",
                &format!(r#"{ENTERPRISE}:manager.value eq "{boss_id}""#)
            )
            .await,
            vec![emp_id.clone()]
        );
        assert_eq!(
            ids_matching(&scim, "Users", &format!(r#"manager eq "{boss_id}""#)).await,
            vec![emp_id.clone()]
        );

        // A manager who is no user here keeps its id and reference, without a display name; an
        // empty one, or a removal, leaves no manager.
        let (_, u) = scim
            .patch(
                &path,
                json!([{"op": "replace", "path": urn_path, "value": "ext-42"}]),
            )
            .await;
        assert_eq!(
            u[ENTERPRISE]["manager"],
            json!({"value": "ext-42", "$ref": format!("{}/Users/ext-42", scim.base())})
        );
        let (_, u) = scim
            .patch(
                &path,
                json!([{"op": "replace", "path": urn_path, "value": ""}]),
            )
            .await;
        assert!(u[ENTERPRISE].get("manager").is_none(), "{u}");
        scim.patch(
            &path,
            json!([{"op": "add", "path": "manager", "value": boss_id}]),
        )
        .await;
        let (_, u) = scim
            .patch(&path, json!([{"op": "remove", "path": urn_path}]))
            .await;
        assert!(u[ENTERPRISE].get("manager").is_none(), "{u}");
        assert_eq!(u[ENTERPRISE]["department"], "Ops");

        // PUT with an object; the manager's list entry carries the reference too.
        let mut put = user("emp@contoso.test");
        put[ENTERPRISE] = json!({"manager": {"value": boss_id}});
        let (s, u, _) = scim.send(Method::PUT, &path, Some(put), &[]).await;
        assert_eq!((s, &u[ENTERPRISE]["manager"]), (StatusCode::OK, &expected));
        let (_, list) = scim
            .get(&format!(
                "/Users?filter={}",
                q(r#"userName eq "emp@contoso.test""#)
            ))
            .await;
        assert_eq!(list["Resources"][0][ENTERPRISE]["manager"], expected);

        // A deleted manager is no known user any more: the reference stays, the name goes.
        assert_eq!(
            scim.delete(&format!("/Users/{boss_id}")).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            scim.get(&path).await.1[ENTERPRISE]["manager"],
            json!({"value": boss_id, "$ref": boss_ref})
        );

        // The Schemas document describes manager as complex.
        let (_, schema) = scim.get(&format!("/Schemas/{ENTERPRISE}")).await;
        let manager = schema["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "manager")
            .unwrap();
        assert_eq!(manager["type"], "complex");
        let subs: Vec<&str> = manager["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(subs, ["value", "$ref", "displayName"]);
    }
}

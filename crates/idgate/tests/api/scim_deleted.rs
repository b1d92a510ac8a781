//! Users a SCIM client deleted are gone for it (RFC 7644 §3.6), inside groups too, until it
//! provisions them again; on every backend.

use idgate_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;
use crate::scim::{Scim, scim_node, user};
use crate::scim_clients::ids_matching;
use crate::scim_groups::member_values;

/// Groups of one node: Ops (kept and gone) and Solo (gone alone), and then gone is deleted.
struct Deleted {
    kept_id: String,
    gone_id: String,
    ops: String,
    solo: String,
}

async fn deleted_member(scim: &Scim<'_>) -> Deleted {
    let (_, kept) = scim.post("/Users", user("kept@acme.test")).await;
    let kept_id = kept["id"].as_str().unwrap().to_owned();
    let (_, gone) = scim.post("/Users", user("gone@acme.test")).await;
    let gone_id = gone["id"].as_str().unwrap().to_owned();
    let (_, ops) = scim
        .post(
            "/Groups",
            json!({"displayName": "Ops", "members": [{"value": kept_id}, {"value": gone_id}]}),
        )
        .await;
    assert_eq!(member_values(&ops).len(), 2);
    let (_, solo) = scim
        .post(
            "/Groups",
            json!({"displayName": "Solo", "members": [{"value": gone_id}]}),
        )
        .await;
    assert_eq!(member_values(&solo), vec![gone_id.clone()]);
    assert_eq!(
        scim.delete(&format!("/Users/{gone_id}")).await,
        StatusCode::NO_CONTENT
    );
    Deleted {
        kept_id,
        gone_id,
        ops: ops["id"].as_str().unwrap().to_owned(),
        solo: solo["id"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_deleted_user_is_no_member_in_any_read() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let Deleted {
            kept_id,
            gone_id,
            ops,
            solo,
        } = deleted_member(&scim).await;
        let only_kept = vec![kept_id.clone()];
        let (_, got) = scim.get(&format!("/Groups/{ops}")).await;
        assert_eq!(member_values(&got), only_kept, "GET");
        let (_, list) = scim
            .get("/Groups?filter=displayName%20eq%20%22Ops%22")
            .await;
        assert_eq!(member_values(&list["Resources"][0]), only_kept, "list");
        let (_, searched) = scim
            .post(
                "/Groups/.search",
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "displayName eq \"Ops\""}),
            )
            .await;
        assert_eq!(
            member_values(&searched["Resources"][0]),
            only_kept,
            ".search"
        );
        let (_, alone) = scim.get(&format!("/Groups/{solo}")).await;
        assert!(member_values(&alone).is_empty(), "{alone}");
        for filter in [
            format!(r#"members[value eq "{gone_id}"]"#),
            format!(r#"members.value eq "{gone_id}""#),
            format!(r#"members[type eq "User"].value eq "{gone_id}""#),
            format!(r#"displayName sw "o" and members[value eq "{gone_id}"]"#),
        ] {
            assert!(
                ids_matching(&scim, "Groups", &filter).await.is_empty(),
                "{filter}"
            );
        }
        assert_eq!(
            ids_matching(
                &scim,
                "Groups",
                &format!(r#"members[value eq "{kept_id}"]"#)
            )
            .await,
            vec![ops.clone()]
        );
        // Solo's only member was deleted: it has no member to match `pr`.
        assert_eq!(
            ids_matching(&scim, "Groups", "members pr").await,
            vec![ops.clone()]
        );
    }
}

#[tokio::test]
async fn memberships_of_a_deleted_user_come_back_with_it() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let scim = scim_node(&app, "acme").await;
        let Deleted {
            kept_id,
            gone_id,
            ops,
            solo,
        } = deleted_member(&scim).await;
        let path = format!("/Groups/{ops}");

        // A PATCH answers without the deleted member; adding a deleted user is ignored, as an
        // unknown id is.
        let (_, third) = scim.post("/Users", user("third@acme.test")).await;
        let third_id = third["id"].as_str().unwrap().to_owned();
        let (_, patched) = scim
            .patch(
                &path,
                json!([{"op": "add", "path": "members", "value": [{"value": third_id}]}]),
            )
            .await;
        let mut visible = vec![kept_id.clone(), third_id.clone()];
        visible.sort();
        assert_eq!(member_values(&patched), visible, "PATCH response");
        let (_, late) = scim
            .post(
                "/Groups",
                json!({"displayName": "Late", "members": [{"value": gone_id}]}),
            )
            .await;
        assert!(member_values(&late).is_empty(), "{late}");

        // Replacing the member list says who the members are: the deleted user's membership
        // goes with it (PUT here), while a group nobody replaced keeps it (Solo).
        let (s, put, _) = scim
            .send(
                Method::PUT,
                &path,
                Some(json!({"displayName": "Ops", "members": [{"value": kept_id}]})),
                &[],
            )
            .await;
        assert_eq!(
            (s, member_values(&put)),
            (StatusCode::OK, vec![kept_id.clone()])
        );

        // Restored (created again): the old id, and the memberships no replacement dropped.
        let (s, back) = scim.post("/Users", user("gone@acme.test")).await;
        assert_eq!((s, &back["id"]), (StatusCode::CREATED, &json!(gone_id)));
        assert_eq!(
            member_values(&scim.get(&path).await.1),
            vec![kept_id.clone()],
            "the replaced group"
        );
        assert_eq!(
            member_values(&scim.get(&format!("/Groups/{solo}")).await.1),
            vec![gone_id.clone()],
            "restored"
        );
        assert_eq!(
            ids_matching(
                &scim,
                "Groups",
                &format!(r#"members[value eq "{gone_id}"]"#)
            )
            .await,
            vec![solo.clone()]
        );
        let (_, u) = scim.get(&format!("/Users/{gone_id}")).await;
        assert_eq!(u["groups"].as_array().map(Vec::len), Some(1), "{u}");

        // Deleted again, and Solo's members replaced by PATCH: restored, the user is in none.
        assert_eq!(
            scim.delete(&format!("/Users/{gone_id}")).await,
            StatusCode::NO_CONTENT
        );
        let (s, _) = scim
            .patch(
                &format!("/Groups/{solo}"),
                json!([{"op": "replace", "path": "members", "value": []}]),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = scim.post("/Users", user("gone@acme.test")).await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, u) = scim.get(&format!("/Users/{gone_id}")).await;
        assert!(u["groups"].as_array().is_none_or(Vec::is_empty), "{u}");
    }
}

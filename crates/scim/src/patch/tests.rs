use serde_json::{Map, Value, json};

use super::*;

fn doc() -> Map<String, Value> {
    json!({
        "userName": "jane@acme.test",
        "active": true,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@acme.test", "type": "work", "primary": true}],
        "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]
    })
    .as_object()
    .unwrap()
    .clone()
}

fn patched(ops: &Value) -> Map<String, Value> {
    let mut d = doc();
    let ops = parse_request(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops})).unwrap();
    apply(&mut d, &ops).unwrap();
    d
}

#[test]
fn op_names_in_any_case_and_string_booleans() {
    let d = patched(&json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(
        d["active"], "False",
        "kept as sent; the resource layer reads it as false"
    );
    let d = patched(&json!([{"op": "REPLACE", "path": "name.givenName", "value": "Jo"}]));
    assert_eq!(d["name"]["givenName"], "Jo");
}

#[test]
fn pathless_values_with_dotted_and_urn_keys() {
    let d = patched(&json!([{"op": "replace", "value": {
        "name.familyName": "Smith",
        "displayName": "Jane Smith",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
    }}]));
    assert_eq!(d["name"]["familyName"], "Smith");
    assert_eq!(
        d["name"]["givenName"], "Jane",
        "sibling sub-attributes stay"
    );
    assert_eq!(d["displayName"], "Jane Smith");
    let ext = &d["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ext["department"], "Sales");
    assert_eq!(ext["employeeNumber"], "7");
}

#[test]
fn value_filter_paths_update_create_and_remove_elements() {
    let d = patched(
        &json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "j@acme.test"}]),
    );
    assert_eq!(d["emails"][0]["value"], "j@acme.test");
    assert_eq!(d["emails"][0]["type"], "work");

    // Entra ID adds a typed element that does not exist yet through a filter path.
    let d = patched(
        &json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}]),
    );
    assert_eq!(
        d["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555"}])
    );

    let d = patched(&json!([{"op": "remove", "path": "members[value eq \"b\"]"}]));
    assert_eq!(d["members"], json!([{"value": "a"}, {"value": "c"}]));
}

#[test]
fn remove_by_value_array_and_add_of_several_values() {
    let d = patched(
        &json!([{"op": "remove", "path": "members", "value": [{"value": "a"}, {"value": "c"}]}]),
    );
    assert_eq!(d["members"], json!([{"value": "b"}]));
    let d = patched(
        &json!([{"op": "add", "path": "members", "value": [{"value": "c"}, {"value": "d"}, {"value": "e"}]}]),
    );
    assert_eq!(
        d["members"].as_array().unwrap().len(),
        5,
        "c is not added twice"
    );
}

#[test]
fn remove_of_an_attribute_and_a_sub_attribute() {
    let d = patched(
        &json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "emails"}]),
    );
    assert!(d["name"].get("givenName").is_none());
    assert!(d.get("emails").is_none());
}

#[test]
fn malformed_operations_say_what_is_wrong() {
    let err = |body: Value| parse_request(&body).unwrap_err();
    let e = err(json!({"Operations": [{"op": "move", "path": "x", "value": 1}]}));
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    assert!(e.detail.contains("unknown PATCH op 'move'"), "{}", e.detail);
    let e = err(json!({"Operations": [{"op": "remove"}]}));
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    let e = err(json!({"Operations": [{"op": "add", "path": "emails[type eq]", "value": 1}]}));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    let e = err(json!({"Operations": []}));
    assert!(e.detail.contains("empty"));
    let e =
        err(json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "path": "a", "value": 1}]}));
    assert!(e.detail.contains("schemas must contain"));
    let e = err(json!({"Operations": [{"op": "replace", "path": "title"}]}));
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

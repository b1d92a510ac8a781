//! The enterprise extension's `manager` (RFC 7643 §4.3): a complex attribute of `value` (the
//! manager's id), `$ref` (its URI) and the read-only `displayName`. Clients send a bare id (what
//! Entra ID's attribute mapping produces), an object, or a PATCH path without the extension's
//! URN; idgate stores `{"value": id}` in the extension, and returns the reference always and the
//! manager's displayName when the manager is a user of the node that SCIM can see and has one.

use std::collections::HashMap;
use std::fmt::Write;

use idgate_store::{DbConnection, NodeId, StorageError, UserId, users};
use serde_json::{Map, Value, json};

use crate::error::{ScimError, ScimType};
use crate::json::{self, ENTERPRISE_SCHEMA};

/// Brings a user document's manager into its stored form: `{"value": id}` in the enterprise
/// extension. A `manager` at the top level (the core schema has none) moves into the extension;
/// an empty id, a null, or an object without `value` leaves no manager; what the client put in
/// `$ref` or `displayName` is dropped (the server's to say).
pub fn normalize(doc: &mut Map<String, Value>) -> Result<(), ScimError> {
    let stray = json::remove(doc, "manager");
    if stray.is_none() && !matches!(json::get(doc, ENTERPRISE_SCHEMA), Some(Value::Object(_))) {
        return Ok(());
    }
    if !matches!(json::get(doc, ENTERPRISE_SCHEMA), Some(Value::Object(_))) {
        json::set(doc, ENTERPRISE_SCHEMA, Value::Object(Map::new()));
    }
    let Some(Value::Object(ext)) = json::get_mut(doc, ENTERPRISE_SCHEMA) else {
        unreachable!("the extension object was just made sure of");
    };
    let sent = match (json::remove(ext, "manager"), stray) {
        (Some(own), _) => own,
        (None, Some(stray)) => stray,
        (None, None) => return Ok(()),
    };
    if let Some(id) = id_of(&sent)? {
        ext.insert("manager".into(), json!({ "value": id }));
    }
    Ok(())
}

/// The manager's id in what a client sent, `None` when it names no manager.
fn id_of(sent: &Value) -> Result<Option<String>, ScimError> {
    let text = |v: &Value| match v {
        Value::String(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Null => Ok(None),
        other => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("manager.value must be a user id, not {other}"),
        )),
    };
    match sent {
        Value::Object(o) => json::get(o, "value").map_or(Ok(None), text),
        Value::Array(_) | Value::Bool(_) => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("manager is a user id or {{\"value\": id}}, not {sent}"),
        )),
        other => text(other),
    }
}

/// The manager's id in a stored or rendered document.
fn stored_id(doc: &Map<String, Value>) -> Option<&str> {
    let ext = json::get(doc, ENTERPRISE_SCHEMA)?.as_object()?;
    let manager = json::get(ext, "manager")?.as_object()?;
    json::get(manager, "value")?.as_str()
}

/// The manager as returned, without its name (see [`name_all`]): `$ref` added to the stored
/// form. A document stored before managers were normalised is read the same way.
pub fn render(doc: &mut Map<String, Value>, base: &str) {
    if normalize(doc).is_err() {
        return;
    }
    let Some(id) = stored_id(doc).map(str::to_owned) else {
        return;
    };
    let reference = format!("{base}/Users/{}", path_segment(&id));
    if let Some(Value::Object(ext)) = json::get_mut(doc, ENTERPRISE_SCHEMA)
        && let Some(Value::Object(manager)) = json::get_mut(ext, "manager")
    {
        manager.insert("$ref".into(), Value::String(reference));
    }
}

/// Adds `displayName` to the managers of rendered users of `node` that are users SCIM can see
/// there and have a displayName, in one query for the whole page.
pub fn name_all(
    conn: &mut DbConnection,
    node: NodeId,
    docs: &mut [Map<String, Value>],
) -> Result<(), StorageError> {
    let mut ids: Vec<UserId> = docs
        .iter()
        .filter_map(|d| stored_id(d)?.parse().ok())
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let names: HashMap<UserId, String> = users::visible_display_names(conn, node, &ids)?
        .into_iter()
        .collect();
    for doc in docs {
        let Some(name) = stored_id(doc)
            .and_then(|id| id.parse::<UserId>().ok())
            .and_then(|id| names.get(&id))
            .cloned()
        else {
            continue;
        };
        if let Some(Value::Object(ext)) = json::get_mut(doc, ENTERPRISE_SCHEMA)
            && let Some(Value::Object(manager)) = json::get_mut(ext, "manager")
        {
            manager.insert("displayName".into(), Value::String(name));
        }
    }
    Ok(())
}

/// An id as one URI path segment (ids are opaque: one the client made up may hold anything).
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{normalize, render};
    use crate::json::ENTERPRISE_SCHEMA;

    fn doc(value: &Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn every_shape_a_client_sends_is_stored_as_an_object() {
        for sent in [
            json!({ENTERPRISE_SCHEMA: {"manager": "m-1", "department": "Ops"}}),
            json!({ENTERPRISE_SCHEMA: {"manager": {"value": " m-1 ", "displayName": "Wrong", "$ref": "x"}, "department": "Ops"}}),
            json!({"manager": "m-1", ENTERPRISE_SCHEMA: {"department": "Ops"}}),
            json!({"Manager": {"value": "m-1"}, ENTERPRISE_SCHEMA: {"department": "Ops"}}),
        ] {
            let mut d = doc(&sent);
            normalize(&mut d).unwrap();
            assert_eq!(
                Value::Object(d),
                json!({ENTERPRISE_SCHEMA: {"manager": {"value": "m-1"}, "department": "Ops"}}),
                "{sent}"
            );
        }
        let mut d = doc(&json!({"manager": "m-1"}));
        normalize(&mut d).unwrap();
        assert_eq!(
            Value::Object(d),
            json!({ENTERPRISE_SCHEMA: {"manager": {"value": "m-1"}}})
        );
    }

    #[test]
    fn an_empty_manager_is_no_manager_and_nonsense_is_refused() {
        for sent in [
            json!(""),
            json!(null),
            json!({"value": ""}),
            json!({"displayName": "x"}),
        ] {
            let mut d = doc(&json!({ENTERPRISE_SCHEMA: {"manager": sent, "costCenter": "1"}}));
            normalize(&mut d).unwrap();
            assert_eq!(
                Value::Object(d),
                json!({ENTERPRISE_SCHEMA: {"costCenter": "1"}})
            );
        }
        for sent in [json!(["m-1"]), json!(true), json!({"value": ["m-1"]})] {
            let mut d = doc(&json!({ENTERPRISE_SCHEMA: {"manager": sent}}));
            assert!(normalize(&mut d).is_err());
        }
        let mut none = doc(&json!({"userName": "x"}));
        normalize(&mut none).unwrap();
        assert_eq!(Value::Object(none), json!({"userName": "x"}));
    }

    #[test]
    fn the_reference_is_the_managers_location() {
        let mut d = doc(&json!({ENTERPRISE_SCHEMA: {"manager": "a b/c"}}));
        render(&mut d, "https://sso.test/scim");
        assert_eq!(
            d[ENTERPRISE_SCHEMA]["manager"],
            json!({"value": "a b/c", "$ref": "https://sso.test/scim/Users/a%20b%2Fc"})
        );
    }
}

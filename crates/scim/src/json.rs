//! Case-insensitive access to SCIM attributes in JSON documents (attribute names are
//! case-insensitive, RFC 7643 §2.1) and lenient reading of client values.

use serde_json::{Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The key of `map` equal to `name` regardless of case.
pub fn key_of<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name))
}

pub fn get<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_of(map, name).and_then(|k| map.get(k))
}

pub fn get_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = key_of(map, name)?.clone();
    map.get_mut(&key)
}

pub fn remove(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_of(map, name)?.clone();
    map.remove(&key)
}

/// Sets `name`, replacing a differently cased key that already exists.
pub fn set(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_of(map, name)
        .cloned()
        .unwrap_or_else(|| name.to_owned());
    map.insert(key, value);
}

/// A boolean as clients send it: `true`, `"True"`, `"false"`.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A non-empty string value.
pub fn as_text(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

/// Whether a value counts as present (`pr`): not null, not an empty string, array or object.
pub fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

/// Splits a possibly URN-qualified attribute path into (schema URN, remaining path).
/// `urn:…:enterprise:2.0:User:department` → (Some(enterprise URN), "department").
pub fn split_urn(path: &str) -> (Option<&'static str>, &str) {
    for urn in [ENTERPRISE_SCHEMA, USER_SCHEMA, GROUP_SCHEMA] {
        if path.len() > urn.len()
            && path[..urn.len()].eq_ignore_ascii_case(urn)
            && path.as_bytes()[urn.len()] == b':'
        {
            return (Some(urn), &path[urn.len() + 1..]);
        }
        if path.eq_ignore_ascii_case(urn) {
            return (Some(urn), "");
        }
    }
    (None, path)
}

/// The extension schema an attribute path belongs to, when it is not the core one: its own URN
/// when it has the enterprise one, and also `manager` without a URN (or under the core User
/// URN), which the core schema does not define: clients mean the enterprise manager.
pub fn extension_of(uri: Option<&str>, name: &str) -> Option<&'static str> {
    match uri {
        Some(uri) if uri.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) => Some(ENTERPRISE_SCHEMA),
        Some(uri) if !uri.eq_ignore_ascii_case(USER_SCHEMA) => None,
        _ if name.eq_ignore_ascii_case("manager") => Some(ENTERPRISE_SCHEMA),
        _ => None,
    }
}

//! `/Users`: create, read, list, replace, patch and delete, with Keeper's semantics: a delete
//! or `active=false` locks the account and never removes it (unless the node opts into hard
//! delete), and a user created again after a lock or a delete is restored, not refused.

mod read;
mod write;

use std::collections::HashMap;

use idgate_store::users::{User, UserFields, UserStatus};
use idgate_store::{StorageError, TeamId, UserId, teams};
use serde_json::{Map, Value, json};

use crate::error::{ScimError, ScimType};
use crate::filter::format_time;
use crate::http;
use crate::json::{self, ENTERPRISE_SCHEMA, USER_SCHEMA};
use crate::manager;

pub use read::{get, list, matching, search};
pub use write::{create, delete, modify, replace};

/// Canonical spellings of the core attributes, so that a client's `UserName` is stored and
/// returned as `userName`.
const CORE_ATTRIBUTES: &[&str] = &[
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
    "externalId",
];

/// Keys never stored in the document: server-assigned, write-only or read-only.
const NOT_STORED: &[&str] = &["id", "meta", "schemas", "password", "groups"];

/// Splits a client's user JSON into the stored document and the indexed columns.
pub fn normalize(body: &Value) -> Result<(Map<String, Value>, UserFields), ScimError> {
    let Value::Object(input) = body else {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            "a User is a JSON object",
        ));
    };
    let mut doc = Map::new();
    for (key, value) in input {
        if NOT_STORED.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            continue;
        }
        let key = CORE_ATTRIBUTES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(key))
            .map_or_else(|| canonical_urn(key), |k| (*k).to_owned());
        let mut value = value.clone();
        if let Value::Object(ext) = &mut value
            && key.starts_with("urn:")
        {
            json::remove(ext, "schemas");
        }
        if !value.is_null() {
            doc.insert(key, value);
        }
    }
    manager::normalize(&mut doc)?;
    let user_name = json::get(&doc, "userName")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if user_name.is_empty() {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "userName is required",
        ));
    }
    if user_name.chars().count() > 256 {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "userName is longer than 256 characters",
        ));
    }
    if !idgate_store::printable(&user_name) {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "userName contains a control character",
        ));
    }
    // `active` is kept as the client set it (a boolean, even when sent as "False"); absent
    // means the account is not locked.
    let active = match json::remove(&mut doc, "active") {
        None | Some(Value::Null) => true,
        Some(v) => {
            let active = json::as_bool(&v).ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("active must be a boolean, not {v}"),
                )
            })?;
            doc.insert("active".into(), Value::Bool(active));
            active
        }
    };
    let name = json::get(&doc, "name").and_then(Value::as_object);
    let text = |v: Option<&Value>| v.and_then(json::as_text).map(str::to_owned);
    let email = primary_email(&doc);
    if email
        .as_deref()
        .is_some_and(|e| !idgate_store::printable(e))
    {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "the primary email contains a control character",
        ));
    }
    let fields = UserFields {
        user_name,
        external_id: text(json::get(&doc, "externalId")),
        email,
        given_name: text(name.and_then(|n| json::get(n, "givenName"))),
        family_name: text(name.and_then(|n| json::get(n, "familyName"))),
        display_name: text(json::get(&doc, "displayName")),
        attributes: Value::Object(doc.clone()).to_string(),
        active,
    };
    Ok((doc, fields))
}

fn canonical_urn(key: &str) -> String {
    if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
        ENTERPRISE_SCHEMA.to_owned()
    } else {
        key.to_owned()
    }
}

/// The primary email, else the first work email, else the first.
fn primary_email(doc: &Map<String, Value>) -> Option<String> {
    let emails = json::get(doc, "emails")?.as_array()?;
    let value = |e: &Value| {
        e.as_object()
            .and_then(|o| json::get(o, "value"))
            .and_then(json::as_text)
            .map(str::to_owned)
    };
    let flag = |e: &Value, k: &str, want: &str| {
        e.as_object()
            .and_then(|o| json::get(o, k))
            .is_some_and(|v| match v {
                Value::Bool(b) => want == "true" && *b,
                Value::String(s) => s.eq_ignore_ascii_case(want),
                _ => false,
            })
    };
    emails
        .iter()
        .find(|e| flag(e, "primary", "true"))
        .or_else(|| emails.iter().find(|e| flag(e, "type", "work")))
        .or_else(|| emails.first())
        .and_then(value)
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

/// Why a userName does not follow "userName is the email", if it does not.
fn user_name_mismatch(fields: &UserFields) -> Option<String> {
    if !looks_like_email(&fields.user_name) {
        return Some(format!(
            "userName '{}' is not an email address",
            fields.user_name
        ));
    }
    match &fields.email {
        Some(email) if !email.eq_ignore_ascii_case(&fields.user_name) => Some(format!(
            "userName '{}' differs from the primary email '{email}'",
            fields.user_name
        )),
        _ => None,
    }
}

/// The full SCIM representation of a stored user, but for its manager's name (added for a
/// whole page by [`manager::name_all`]).
pub fn render(user: &User, groups: Option<&[(TeamId, String)]>, base: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = serde_json::from_str(&user.attributes).unwrap_or_default();
    let mut schemas = vec![Value::from(USER_SCHEMA)];
    if json::get(&out, ENTERPRISE_SCHEMA).is_some() {
        schemas.push(Value::from(ENTERPRISE_SCHEMA));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::from(user.id.as_str()));
    manager::render(&mut out, base);
    json::set(&mut out, "userName", Value::from(user.user_name.clone()));
    // Shown when the client set it, and always for a locked account.
    if out.contains_key("active") || user.status == UserStatus::Locked {
        out.insert(
            "active".into(),
            Value::Bool(user.status == UserStatus::Active),
        );
    }
    if let Some(groups) = groups {
        let list: Vec<Value> = groups
            .iter()
            .map(|(id, name)| json!({"value": id.as_str(), "display": name, "$ref": format!("{base}/Groups/{id}"), "type": "direct"}))
            .collect();
        if !list.is_empty() {
            out.insert("groups".into(), Value::Array(list));
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": format_time(user.created_at),
            "lastModified": format_time(user.updated_at),
            "location": format!("{base}/Users/{}", user.id),
            "version": http::etag(user.version),
        }),
    );
    out
}

/// What PATCH edits: the stored document, with `active` as the account's status says.
fn editable(user: &User) -> Map<String, Value> {
    let mut doc: Map<String, Value> = serde_json::from_str(&user.attributes).unwrap_or_default();
    if doc.contains_key("active") || user.status == UserStatus::Locked {
        doc.insert(
            "active".into(),
            Value::Bool(user.status == UserStatus::Active),
        );
    }
    doc
}

fn groups_map(
    conn: &mut idgate_store::DbConnection,
    ids: &[UserId],
) -> Result<HashMap<UserId, Vec<(TeamId, String)>>, StorageError> {
    let mut map: HashMap<UserId, Vec<(TeamId, String)>> = HashMap::new();
    for (user, team, name) in teams::teams_of_users(conn, ids)? {
        map.entry(user).or_default().push((team, name));
    }
    Ok(map)
}

fn one_rendered(
    conn: &mut idgate_store::DbConnection,
    user: &User,
    base: &str,
) -> Result<Map<String, Value>, StorageError> {
    let groups = teams::teams_of_user(conn, &user.id)?;
    let mut rendered = render(user, Some(&groups), base);
    manager::name_all(conn, user.node_id, std::slice::from_mut(&mut rendered))?;
    Ok(rendered)
}

fn parse_id(raw: &str) -> Result<UserId, ScimError> {
    raw.parse::<UserId>()
        .map_err(|_| ScimError::not_found("user not found"))
}

//! PATCH (RFC 7644 §3.5.2) on a resource's JSON, in every form real clients send: with and
//! without `path`, op names in any case, dotted and URN-qualified keys in a path-less value,
//! value filters with an optional sub-attribute, and removal by value array.

use scim_v2::filter::{
    AttrExp, AttrPath, CompValue, CompareOp, PatchPath, PatchValuePath, ValFilter,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ScimError, ScimType};
use crate::filter::matching_elements;
use crate::json::{self, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The three operations, whatever their case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One operation with its path parsed.
#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

#[derive(Deserialize)]
struct RawOp {
    op: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

/// Reads a PatchOp request body.
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let obj = body.as_object().ok_or_else(|| {
        ScimError::bad_request(ScimType::InvalidSyntax, "a PatchOp body is a JSON object")
    })?;
    if let Some(schemas) = json::get(obj, "schemas").and_then(Value::as_array)
        && !schemas.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
        })
    {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("schemas must contain {PATCH_SCHEMA}"),
        ));
    }
    let ops = json::get(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::bad_request(ScimType::InvalidSyntax, "Operations must be an array")
        })?;
    if ops.is_empty() {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            "Operations is empty",
        ));
    }
    ops.iter()
        .map(|raw| {
            let lowered = lowercase_keys(raw);
            let raw: RawOp = serde_json::from_value(lowered).map_err(|e| {
                ScimError::bad_request(ScimType::InvalidSyntax, format!("invalid operation: {e}"))
            })?;
            let kind = match raw.op.to_ascii_lowercase().as_str() {
                "add" => OpKind::Add,
                "replace" => OpKind::Replace,
                "remove" => OpKind::Remove,
                other => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidSyntax,
                        format!("unknown PATCH op '{other}' (add, replace or remove)"),
                    ));
                }
            };
            let path = match raw.path.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                None => None,
                Some(p) => Some(parse_path(p)?),
            };
            if path.is_none() && kind == OpKind::Remove {
                return Err(ScimError::bad_request(
                    ScimType::NoTarget,
                    "remove needs a path",
                ));
            }
            if kind != OpKind::Remove && raw.value.is_none() {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("{} needs a value", raw.op),
                ));
            }
            Ok(Operation {
                kind,
                path,
                value: raw.value,
            })
        })
        .collect()
}

/// Parses a PATCH path; any error is 400 `invalidPath`.
pub fn parse_path(raw: &str) -> Result<PatchPath, ScimError> {
    raw.parse::<PatchPath>().map_err(|e| {
        ScimError::bad_request(ScimType::InvalidPath, format!("invalid path {raw:?}: {e}"))
    })
}

fn lowercase_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies operations to a resource document in order.
pub fn apply(doc: &mut Map<String, Value>, ops: &[Operation]) -> Result<(), ScimError> {
    for op in ops {
        match &op.path {
            None => apply_pathless(doc, op.kind, op.value.as_ref().expect("checked in parse"))?,
            Some(path) => apply_path(doc, op.kind, path, op.value.as_ref())?,
        }
    }
    Ok(())
}

/// `{"op":"replace","value":{"name.givenName":"Jo","active":false,"urn:…:User:department":"X"}}`
fn apply_pathless(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    value: &Value,
) -> Result<(), ScimError> {
    let Value::Object(changes) = value else {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "an operation without a path needs an object value",
        ));
    };
    for (key, value) in changes {
        let (urn, rest) = json::split_urn(key);
        if let (Some(urn), true) = (urn, rest.is_empty()) {
            // An extension object (or the core schema URN itself) given whole.
            let is_core = urn == USER_SCHEMA || urn == GROUP_SCHEMA;
            match value {
                Value::Object(inner) if is_core => {
                    apply_pathless(doc, kind, &Value::Object(inner.clone()))?;
                }
                Value::Object(inner) => {
                    let ext = object_at(doc, urn);
                    for (k, v) in inner
                        .iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                    {
                        set_attr(ext, kind, k, None, v.clone());
                    }
                }
                _ => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("{key} must be an object"),
                    ));
                }
            }
            continue;
        }
        let path = parse_path(key)?;
        apply_path(doc, kind, &path, Some(value))?;
    }
    Ok(())
}

/// The object under `key`, created when absent (or replacing a non-object).
fn object_at<'a>(doc: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    if !matches!(json::get(doc, key), Some(Value::Object(_))) {
        json::set(doc, key, Value::Object(Map::new()));
    }
    json::get_mut(doc, key)
        .and_then(Value::as_object_mut)
        .expect("just set")
}

/// The map an attribute path lives in: the document, or the extension object of its URN (or
/// of `manager`, see [`json::extension_of`]).
fn scope_of<'a>(
    doc: &'a mut Map<String, Value>,
    path: &AttrPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    match json::extension_of(path.uri.as_deref(), &path.name) {
        Some(ext) if create => Some(object_at(doc, ext)),
        Some(ext) => json::get_mut(doc, ext).and_then(Value::as_object_mut),
        None => Some(doc),
    }
}

/// Adds or replaces `name` (or `name.sub`) in `scope`.
fn set_attr(
    scope: &mut Map<String, Value>,
    kind: OpKind,
    name: &str,
    sub: Option<&str>,
    value: Value,
) {
    if let Some(sub) = sub {
        let parent = object_at(scope, name);
        set_attr(parent, kind, sub, None, value);
        return;
    }
    let existing = json::get_mut(scope, name);
    match (kind, existing, value) {
        // add to a multi-valued attribute appends what is not there yet
        (OpKind::Add, Some(Value::Array(items)), Value::Array(new)) => {
            for v in new {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
        }
        (OpKind::Add, Some(Value::Array(items)), v) => {
            if !items.contains(&v) {
                items.push(v);
            }
        }
        // add of a complex value merges its sub-attributes
        (OpKind::Add, Some(Value::Object(current)), Value::Object(new)) => {
            for (k, v) in new {
                json::set(current, &k, v);
            }
        }
        (_, _, v) => json::set(scope, name, v),
    }
}

fn apply_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) => {
            if let Some(urn) = whole_schema(attr) {
                apply_schema_path(doc, kind, urn, value)
            } else {
                apply_attr_path(doc, kind, attr, value);
                Ok(())
            }
        }
        PatchPath::Value(vp) => apply_value_path(doc, kind, vp, value),
    }
}

/// The schema URN a path names whole (`urn:…:enterprise:2.0:User`), which the path grammar
/// reads as URI `urn:…:enterprise:2.0` plus attribute `User`.
fn whole_schema(attr: &AttrPath) -> Option<&'static str> {
    let uri = attr.uri.as_deref()?;
    if attr.sub_attr.is_some() {
        return None;
    }
    let full = format!("{uri}:{}", attr.name);
    [ENTERPRISE_SCHEMA, USER_SCHEMA, GROUP_SCHEMA]
        .into_iter()
        .find(|urn| urn.eq_ignore_ascii_case(&full))
}

/// A path that is a schema URN: the core schema stands for the resource itself, an extension
/// for its whole object.
fn apply_schema_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    urn: &'static str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let is_core = urn == USER_SCHEMA || urn == GROUP_SCHEMA;
    match (kind, value) {
        (OpKind::Remove, _) if is_core => Err(ScimError::bad_request(
            ScimType::NoTarget,
            "the core schema cannot be removed",
        )),
        (OpKind::Remove, _) => {
            json::remove(doc, urn);
            Ok(())
        }
        (_, Some(value)) if is_core => apply_pathless(doc, kind, value),
        (_, Some(Value::Object(fields))) => {
            let ext = object_at(doc, urn);
            if kind == OpKind::Replace {
                ext.clear();
            }
            for (k, v) in fields
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
            {
                set_attr(ext, kind, k, None, v.clone());
            }
            Ok(())
        }
        _ => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("{urn} needs an object value"),
        )),
    }
}

/// `name`, `name.givenName`, `urn:…:User:department`.
fn apply_attr_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    attr: &AttrPath,
    value: Option<&Value>,
) {
    if kind == OpKind::Remove {
        let Some(scope) = scope_of(doc, attr, false) else {
            return;
        };
        match (&attr.sub_attr, value) {
            (Some(sub), _) => {
                if let Some(Value::Object(parent)) = json::get_mut(scope, &attr.name) {
                    json::remove(parent, sub);
                }
            }
            // JumpCloud: {"op":"remove","path":"members","value":[{"value":"id"}]}
            (None, Some(Value::Array(values))) => {
                if let Some(Value::Array(items)) = json::get_mut(scope, &attr.name) {
                    items.retain(|item| !values.iter().any(|v| same_value(item, v)));
                }
            }
            (None, _) => {
                json::remove(scope, &attr.name);
            }
        }
        return;
    }
    let value = value.expect("checked in parse").clone();
    let scope = scope_of(doc, attr, true).expect("created");
    set_attr(scope, kind, &attr.name, attr.sub_attr.as_deref(), value);
}

/// `emails[type eq "work"]` and `emails[type eq "work"].value`.
fn apply_value_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    vp: &PatchValuePath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let Some(scope) = scope_of(doc, &vp.attr, kind != OpKind::Remove) else {
        return Ok(());
    };
    let local = AttrPath {
        uri: None,
        ..vp.attr.clone()
    };
    let matches: Vec<Map<String, Value>> = matching_elements(scope, &local, &vp.filter)
        .into_iter()
        .cloned()
        .collect();
    let Some(Value::Array(items)) = json::get_mut(scope, &vp.attr.name).map(|v| {
        if !v.is_array() {
            *v = Value::Array(if v.is_null() {
                Vec::new()
            } else {
                vec![v.clone()]
            });
        }
        v
    }) else {
        // Nothing there yet: add/replace of `emails[type eq "work"].value` creates the
        // element the filter describes (what Entra ID expects).
        if kind == OpKind::Remove {
            return Ok(());
        }
        let element = element_from_filter(&vp.filter, vp.sub_attr.as_deref(), value)?;
        json::set(
            scope,
            &vp.attr.name,
            Value::Array(vec![Value::Object(element)]),
        );
        return Ok(());
    };
    if matches.is_empty() {
        if kind != OpKind::Remove {
            let element = element_from_filter(&vp.filter, vp.sub_attr.as_deref(), value)?;
            items.push(Value::Object(element));
        }
        return Ok(());
    }
    let is_match = |item: &Value| item.as_object().is_some_and(|o| matches.contains(o));
    match (kind, &vp.sub_attr) {
        (OpKind::Remove, None) => items.retain(|item| !is_match(item)),
        (OpKind::Remove, Some(sub)) => {
            for item in items.iter_mut().filter(|i| is_match(i)) {
                if let Some(o) = item.as_object_mut() {
                    json::remove(o, sub);
                }
            }
        }
        (_, Some(sub)) => {
            let value = value.expect("checked in parse");
            for item in items.iter_mut().filter(|i| is_match(i)) {
                if let Some(o) = item.as_object_mut() {
                    json::set(o, sub, value.clone());
                }
            }
        }
        (_, None) => {
            let Some(Value::Object(new)) = value else {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    "a value filter path without a sub-attribute needs an object value",
                ));
            };
            for item in items.iter_mut().filter(|i| is_match(i)) {
                if let Some(o) = item.as_object_mut() {
                    if kind == OpKind::Replace {
                        o.clear();
                    }
                    for (k, v) in new {
                        json::set(o, k, v.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Builds `{"type":"work","value":…}` from `type eq "work"` and the sub-attribute's value.
fn element_from_filter(
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<Map<String, Value>, ScimError> {
    let mut element = Map::new();
    collect_equalities(filter, &mut element)?;
    match (sub, value) {
        (Some(sub), Some(v)) => json::set(&mut element, sub, v.clone()),
        (None, Some(Value::Object(o))) => {
            for (k, v) in o {
                json::set(&mut element, k, v.clone());
            }
        }
        _ => {}
    }
    Ok(element)
}

fn collect_equalities(filter: &ValFilter, into: &mut Map<String, Value>) -> Result<(), ScimError> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value))
            if path.sub_attr.is_none() =>
        {
            let v = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => Value::Null,
            };
            json::set(into, &path.name, v);
            Ok(())
        }
        ValFilter::And(items) => items
            .as_slice()
            .iter()
            .try_for_each(|f| collect_equalities(f, into)),
        _ => Err(ScimError::bad_request(
            ScimType::NoTarget,
            "the value filter matches no element",
        )),
    }
}

/// Whether a multi-valued element is the one a removal value names (by `value`, else whole).
fn same_value(item: &Value, wanted: &Value) -> bool {
    match (item, wanted) {
        (Value::Object(a), Value::Object(b)) => {
            match (json::get(a, "value"), json::get(b, "value")) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            }
        }
        (Value::Object(a), b) => json::get(a, "value") == Some(b),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests;

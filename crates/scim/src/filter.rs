//! SCIM filters (RFC 7644 §3.4.2.2): parsed by `scim_v2`, evaluated here against a resource's
//! JSON, and pushed down to SQL for the attributes that have indexed columns.

use idgate_store::predicate::{Op, Predicate, Value as SqlValue};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::{Map, Value};

use crate::error::{ScimError, ScimType};
use crate::json;

mod sub_attr;

/// Parses a filter expression; any error is 400 `invalidFilter`. A value path followed by a
/// sub-attribute (`emails[type eq "work"].value eq "x"`, Entra ID's form) is read as the RFC's
/// `emails[type eq "work" and value eq "x"]`.
pub fn parse(raw: &str) -> Result<Filter, ScimError> {
    sub_attr::fold(raw).parse::<Filter>().map_err(|e| {
        ScimError::bad_request(
            ScimType::InvalidFilter,
            format!("invalid filter {raw:?}: {e}"),
        )
    })
}

/// Attributes compared case-sensitively (`caseExact: true` in RFC 7643's schemas); every other
/// string attribute compares regardless of case.
fn case_exact(name: &str, sub: Option<&str>) -> bool {
    let name = name.to_ascii_lowercase();
    let sub = sub.map(str::to_ascii_lowercase);
    matches!(name.as_str(), "id" | "externalid" | "password")
        || matches!(
            (name.as_str(), sub.as_deref()),
            ("members" | "groups" | "manager", Some("value" | "$ref")) | ("meta", Some("version"))
        )
}

/// The JSON values an attribute path selects in a resource (several for multi-valued ones).
fn select<'a>(resource: &'a Map<String, Value>, path: &AttrPath) -> Vec<&'a Value> {
    let mut scope = resource;
    if let Some(ext) = json::extension_of(path.uri.as_deref(), &path.name) {
        match json::get(resource, ext).and_then(Value::as_object) {
            Some(ext) => scope = ext,
            None => return Vec::new(),
        }
    }
    let Some(top) = json::get(scope, &path.name) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    match &path.sub_attr {
        Some(sub) => items
            .into_iter()
            .filter_map(|item| item.as_object().and_then(|o| json::get(o, sub)))
            .collect(),
        // Comparing a complex multi-valued attribute compares its `value` sub-attribute.
        None => items
            .into_iter()
            .map(|item| match item {
                Value::Object(o) => json::get(o, "value").unwrap_or(item),
                other => other,
            })
            .collect(),
    }
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = |o: Ordering| match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    };
    match expected {
        CompValue::Str(want) => {
            let Some(have) = actual.as_str() else {
                // A string compared with a boolean attribute: clients send "True".
                return match (json::as_bool(actual), want.to_ascii_lowercase().as_str()) {
                    (Some(b), "true" | "false") => {
                        ordering(b.cmp(&want.eq_ignore_ascii_case("true")))
                    }
                    _ => false,
                };
            };
            let (have, want) = if exact {
                (have.to_owned(), want.clone())
            } else {
                (have.to_ascii_lowercase(), want.to_ascii_lowercase())
            };
            match op {
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                _ => ordering(have.cmp(&want)),
            }
        }
        CompValue::True | CompValue::False => {
            let want = matches!(expected, CompValue::True);
            json::as_bool(actual).is_some_and(|have| ordering(have.cmp(&want)))
        }
        CompValue::Number(want) => match (actual.as_f64(), want.as_f64()) {
            (Some(have), Some(want)) => have.partial_cmp(&want).is_some_and(ordering),
            _ => false,
        },
        CompValue::Null => match op {
            CompareOp::Eq => actual.is_null(),
            CompareOp::Ne => !actual.is_null(),
            _ => false,
        },
    }
}

fn eval_attr(resource: &Map<String, Value>, exp: &AttrExp) -> bool {
    match exp {
        AttrExp::Present(path) => select(resource, path).into_iter().any(json::is_present),
        AttrExp::Comparison(path, op, value) => {
            let exact = case_exact(&path.name, path.sub_attr.as_deref());
            let values = select(resource, path);
            if values.is_empty() {
                // An absent attribute equals nothing, so it is "not equal" to anything.
                return *op == CompareOp::Ne && !matches!(value, CompValue::Null)
                    || (*op == CompareOp::Eq && matches!(value, CompValue::Null));
            }
            if *op == CompareOp::Ne {
                values.iter().all(|v| compare(v, op, value, exact))
            } else {
                values.iter().any(|v| compare(v, op, value, exact))
            }
        }
    }
}

fn eval_val(element: &Map<String, Value>, filter: &ValFilter) -> bool {
    match filter {
        ValFilter::Attr(exp) => eval_attr(element, exp),
        ValFilter::Not(inner) => !eval_val(element, inner),
        ValFilter::And(items) => items.as_slice().iter().all(|f| eval_val(element, f)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| eval_val(element, f)),
    }
}

/// The elements of a multi-valued attribute that a bracket filter selects.
pub fn matching_elements<'a>(
    resource: &'a Map<String, Value>,
    attr: &AttrPath,
    filter: &ValFilter,
) -> Vec<&'a Map<String, Value>> {
    let mut scope = resource;
    if let Some(ext) = json::extension_of(attr.uri.as_deref(), &attr.name) {
        match json::get(resource, ext).and_then(Value::as_object) {
            Some(ext) => scope = ext,
            None => return Vec::new(),
        }
    }
    match json::get(scope, &attr.name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .filter(|e| eval_val(e, filter))
            .collect(),
        Some(Value::Object(single)) if eval_val(single, filter) => vec![single],
        _ => Vec::new(),
    }
}

/// Whether the resource (its full SCIM JSON) matches the filter.
pub fn matches(resource: &Map<String, Value>, filter: &Filter) -> bool {
    match filter {
        Filter::Attr(exp) => eval_attr(resource, exp),
        Filter::ValuePath(vp) => !matching_elements(resource, &vp.attr, &vp.filter).is_empty(),
        Filter::Not(inner) => !matches(resource, inner),
        Filter::And(items) => items.as_slice().iter().all(|f| matches(resource, f)),
        Filter::Or(items) => items.as_slice().iter().any(|f| matches(resource, f)),
    }
}

/// What a filter turns into for the database: `sql` selects a superset of the matches, and
/// `exact` says whether it selects exactly them (no evaluation left to do in memory).
#[derive(Debug)]
pub struct Pushdown<C> {
    pub sql: Predicate<C>,
    pub exact: bool,
}

/// Maps an attribute path to a column, or `None` when it has none.
pub type ColumnOf<C> = fn(&AttrPath) -> Option<C>;

fn op_of(op: &CompareOp) -> Op {
    match op {
        CompareOp::Eq => Op::Eq,
        CompareOp::Ne => Op::Ne,
        CompareOp::Co => Op::Co,
        CompareOp::Sw => Op::Sw,
        CompareOp::Ew => Op::Ew,
        CompareOp::Gt => Op::Gt,
        CompareOp::Ge => Op::Ge,
        CompareOp::Lt => Op::Lt,
        CompareOp::Le => Op::Le,
    }
}

/// Whether a column holds a time (compared as epoch milliseconds).
pub type IsTime<C> = fn(C) -> bool;

fn exact_push<C: Copy>(
    filter: &Filter,
    column_of: ColumnOf<C>,
    is_time: IsTime<C>,
) -> Option<Predicate<C>> {
    match filter {
        Filter::Attr(AttrExp::Present(path)) => column_of(path).map(Predicate::Present),
        Filter::Attr(AttrExp::Comparison(path, op, value)) => {
            let column = column_of(path)?;
            let value = match value {
                CompValue::Str(s) if is_time(column) => SqlValue::Int(parse_time(s)?),
                CompValue::Str(s) => SqlValue::Text(s.clone()),
                CompValue::True => SqlValue::Bool(true),
                CompValue::False => SqlValue::Bool(false),
                CompValue::Number(_) | CompValue::Null => return None,
            };
            Some(Predicate::Cmp(column, op_of(op), value))
        }
        Filter::ValuePath(_) => None,
        Filter::Not(inner) => {
            exact_push(inner, column_of, is_time).map(|p| Predicate::Not(Box::new(p)))
        }
        Filter::And(items) => items
            .as_slice()
            .iter()
            .map(|f| exact_push(f, column_of, is_time))
            .collect::<Option<Vec<_>>>()
            .map(Predicate::And),
        Filter::Or(items) => items
            .as_slice()
            .iter()
            .map(|f| exact_push(f, column_of, is_time))
            .collect::<Option<Vec<_>>>()
            .map(Predicate::Or),
    }
}

/// Translates what can be translated: the whole filter when every part has a column, else the
/// translatable conjuncts of a top-level `and` (the rest is evaluated in memory).
pub fn push_down<C: Copy>(
    filter: Option<&Filter>,
    column_of: ColumnOf<C>,
    is_time: IsTime<C>,
) -> Pushdown<C> {
    let Some(filter) = filter else {
        return Pushdown {
            sql: Predicate::True,
            exact: true,
        };
    };
    if let Some(sql) = exact_push(filter, column_of, is_time) {
        return Pushdown { sql, exact: true };
    }
    let sql = match filter {
        Filter::And(items) => Predicate::and(
            items
                .as_slice()
                .iter()
                .filter_map(|f| exact_push(f, column_of, is_time))
                .collect(),
        ),
        _ => Predicate::True,
    };
    Pushdown { sql, exact: false }
}

/// An RFC 3339 instant as epoch milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let time = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
    let millis = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(millis).ok()
}

/// Epoch milliseconds as RFC 3339 with milliseconds, UTC.
pub fn format_time(millis: i64) -> String {
    let time = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or_default());
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests;

//! Request and response plumbing shared by the resource handlers: bounded JSON bodies, ETags,
//! `application/scim+json` responses, list parameters and attribute projection.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use idgate_store::NodeId;
use idgate_store::events::{NewEvent, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::auth::ScimNode;
use crate::error::{SCIM_CONTENT_TYPE, ScimError, ScimType};
use crate::json;

/// The largest request body accepted (RFC 7644 lets a server bound it; 413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The largest page a list returns (advertised as `filter.maxResults`).
pub const MAX_RESULTS: i64 = 1000;
/// The page size when the client gives no `count`.
pub const DEFAULT_COUNT: i64 = 100;

/// The node the request was authenticated for.
pub fn node_of(req: &HttpRequest) -> Result<NodeId, ScimError> {
    req.extensions()
        .get::<ScimNode>()
        .map(|n| n.0)
        .ok_or_else(|| ScimError::new(StatusCode::UNAUTHORIZED, None, "not authenticated"))
}

/// Reads a JSON body of at most [`MAX_BODY_BYTES`]: 413 beyond, 400 invalidSyntax if malformed.
pub async fn read_json(mut payload: web::Payload) -> Result<Value, ScimError> {
    let too_large = || {
        ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        )
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_large(),
            other => ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("cannot read the body: {other}"),
            ),
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| {
        ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

/// `W/"<version>"`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` header demands: `None` when absent or `*`.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ScimError> {
    let Some(raw) = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    let digits = raw.trim_start_matches("W/").trim_matches('"');
    // A tag that is none of ours can never match.
    Ok(Some(digits.parse().unwrap_or(-1)))
}

pub fn precondition_failed() -> ScimError {
    ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        "the resource changed since the version given in If-Match",
    )
}

/// A resource response with its ETag.
pub fn resource(
    status: StatusCode,
    body: &Value,
    version: i64,
    location: Option<&str>,
) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.content_type(SCIM_CONTENT_TYPE);
    if let Ok(tag) = HeaderValue::from_str(&etag(version)) {
        res.insert_header((header::ETAG, tag));
    }
    if let Some(location) = location {
        res.insert_header((header::LOCATION, location.to_owned()));
    }
    res.body(body.to_string())
}

pub fn json_response(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(SCIM_CONTENT_TYPE)
        .body(body.to_string())
}

/// The base URL of this node's SCIM endpoint: from idgate's configured public URL
/// ([`idgate_store::PublicBaseUrl`]), never from the request's Host header.
pub fn base_url(req: &HttpRequest, node: NodeId) -> String {
    let public = req
        .app_data::<web::Data<idgate_store::PublicBaseUrl>>()
        .map_or_else(
            || {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            },
            |b| b.0.clone(),
        );
    crate::node_base_url(&public, node)
}

/// `filter`, paging, sorting and projection, from a query string or a `.search` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Option<StringOrList>,
    pub excluded_attributes: Option<StringOrList>,
}

/// `"a,b"` in a query string, `["a","b"]` in a search body.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    pub fn items(&self) -> Vec<String> {
        match self {
            StringOrList::One(s) => s
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            StringOrList::Many(v) => v
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }
}

/// The list parameters of RFC 7644 §3.4.2, spelled canonically, whatever the client's case.
fn canonical_param(key: &str) -> Option<&'static str> {
    [
        "filter",
        "startIndex",
        "count",
        "sortBy",
        "sortOrder",
        "attributes",
        "excludedAttributes",
    ]
    .into_iter()
    .find(|k| k.eq_ignore_ascii_case(key))
}

impl ListParams {
    /// Reads the query string, accepting parameter names in any case.
    pub fn from_query(req: &HttpRequest) -> Result<Self, ScimError> {
        let pairs: Vec<(String, String)> =
            web::Query::<Vec<(String, String)>>::from_query(req.query_string())
                .map_err(|e| {
                    ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("invalid query string: {e}"),
                    )
                })?
                .into_inner();
        let mut map = Map::new();
        for (key, value) in pairs {
            let canonical = canonical_param(&key);
            if let Some(k) = canonical {
                map.insert(k.to_owned(), Value::String(value));
            }
        }
        Self::from_map(map)
    }

    /// Reads a `POST …/.search` body.
    pub fn from_body(body: &Value) -> Result<Self, ScimError> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::bad_request(ScimType::InvalidSyntax, "a SearchRequest is a JSON object")
        })?;
        let mut map = Map::new();
        for (key, value) in obj {
            let canonical = canonical_param(key);
            if let Some(k) = canonical {
                let value = match value {
                    Value::Number(n) => Value::String(n.to_string()),
                    other => other.clone(),
                };
                map.insert(k.to_owned(), value);
            }
        }
        Self::from_map(map)
    }

    fn from_map(map: Map<String, Value>) -> Result<Self, ScimError> {
        serde_json::from_value(Value::Object(map)).map_err(|e| {
            ScimError::bad_request(
                ScimType::InvalidValue,
                format!("invalid list parameters: {e}"),
            )
        })
    }

    /// The parsed `filter`, if one was given (400 `invalidFilter` when it does not parse).
    pub fn filter_expr(&self) -> Result<Option<scim_v2::filter::Filter>, ScimError> {
        self.filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(crate::filter::parse)
            .transpose()
    }

    /// 1-based start (values below 1 mean 1, as RFC 7644 §3.4.2.4 says).
    pub fn start_index(&self) -> Result<i64, ScimError> {
        match &self.start_index {
            None => Ok(1),
            Some(raw) => raw.trim().parse::<i64>().map(|n| n.max(1)).map_err(|_| {
                ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("startIndex '{raw}' is not a number"),
                )
            }),
        }
    }

    /// Page size: default 100, negative means 0, at most [`MAX_RESULTS`].
    pub fn count(&self) -> Result<i64, ScimError> {
        match &self.count {
            None => Ok(DEFAULT_COUNT),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .map(|n| n.clamp(0, MAX_RESULTS))
                .map_err(|_| {
                    ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("count '{raw}' is not a number"),
                    )
                }),
        }
    }

    pub fn descending(&self) -> bool {
        self.sort_order
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("descending"))
    }

    /// Whether the projection leaves out `attribute` entirely (e.g. `members`), so that it
    /// need not be loaded at all.
    pub fn excludes(&self, attribute: &str) -> bool {
        let listed = |list: &Option<StringOrList>| {
            list.as_ref().map(|l| {
                l.items().iter().any(|p| {
                    let (_, rest) = json::split_urn(p);
                    rest.split('.')
                        .next()
                        .is_some_and(|top| top.eq_ignore_ascii_case(attribute))
                })
            })
        };
        match (listed(&self.attributes), listed(&self.excluded_attributes)) {
            (Some(included), _) => !included,
            (None, Some(excluded)) => excluded,
            (None, None) => false,
        }
    }

    pub fn projection(&self) -> Projection {
        Projection {
            attributes: self.attributes.as_ref().map(StringOrList::items),
            excluded: self
                .excluded_attributes
                .as_ref()
                .map(StringOrList::items)
                .unwrap_or_default(),
        }
    }
}

/// `attributes` / `excludedAttributes` applied to a rendered resource.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    pub attributes: Option<Vec<String>>,
    pub excluded: Vec<String>,
}

/// Attributes always returned whatever the projection says.
const ALWAYS: &[&str] = &["id", "schemas", "meta"];

impl Projection {
    pub fn apply(&self, resource: &mut Map<String, Value>) {
        if let Some(wanted) = &self.attributes {
            let keep: Vec<(Option<&str>, String, Option<String>)> =
                wanted.iter().map(|p| parse(p)).collect();
            retain(resource, &keep, None);
        }
        for path in &self.excluded {
            let (urn, top, sub) = parse(path);
            let scope = match urn {
                Some(urn) if urn != json::USER_SCHEMA && urn != json::GROUP_SCHEMA => {
                    match json::get_mut(resource, urn).and_then(Value::as_object_mut) {
                        Some(ext) => ext,
                        None => continue,
                    }
                }
                _ => &mut *resource,
            };
            if ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&top)) && urn.is_none() {
                continue;
            }
            match sub {
                None => {
                    json::remove(scope, &top);
                }
                Some(sub) => match json::get_mut(scope, &top) {
                    Some(Value::Object(o)) => {
                        json::remove(o, &sub);
                    }
                    Some(Value::Array(items)) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            json::remove(item, &sub);
                        }
                    }
                    _ => {}
                },
            }
        }
    }
}

/// `urn:…:User:name.givenName` → (URN, "name", Some("givenName")).
fn parse(path: &str) -> (Option<&'static str>, String, Option<String>) {
    let (urn, rest) = json::split_urn(path);
    let mut parts = rest.splitn(2, '.');
    let top = parts.next().unwrap_or_default().to_owned();
    (urn, top, parts.next().map(str::to_owned))
}

fn retain(
    resource: &mut Map<String, Value>,
    keep: &[(Option<&str>, String, Option<String>)],
    within: Option<&str>,
) {
    let keys: Vec<String> = resource.keys().cloned().collect();
    for key in keys {
        if within.is_none() && ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&key)) {
            continue;
        }
        let (key_urn, _) = json::split_urn(&key);
        if within.is_none() && key_urn.is_some() {
            // An extension object: keep what is asked of it (or all of it when asked whole).
            let asked: Vec<_> = keep
                .iter()
                .filter(|(u, _, _)| *u == key_urn)
                .cloned()
                .collect();
            if asked.is_empty() {
                resource.remove(&key);
            } else if !asked.iter().any(|(_, top, _)| top.is_empty())
                && let Some(Value::Object(ext)) = resource.get_mut(&key)
            {
                retain(ext, &asked, key_urn);
            }
            continue;
        }
        let wanted: Vec<&(Option<&str>, String, Option<String>)> = keep
            .iter()
            .filter(|(u, top, _)| {
                let same_scope = match within {
                    None => {
                        u.is_none()
                            || *u == Some(json::USER_SCHEMA)
                            || *u == Some(json::GROUP_SCHEMA)
                    }
                    Some(scope) => *u == Some(scope),
                };
                same_scope && top.eq_ignore_ascii_case(&key)
            })
            .collect();
        if wanted.is_empty() {
            resource.remove(&key);
            continue;
        }
        if wanted.iter().any(|(_, _, sub)| sub.is_none()) {
            continue;
        }
        let subs: Vec<&str> = wanted.iter().filter_map(|(_, _, s)| s.as_deref()).collect();
        let keep_subs = |o: &mut Map<String, Value>| {
            o.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
        };
        match resource.get_mut(&key) {
            Some(Value::Object(o)) => keep_subs(o),
            Some(Value::Array(items)) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(keep_subs),
            _ => {}
        }
    }
}

/// A ListResponse body.
pub fn list_response(total: i64, start_index: i64, resources: &[Value]) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Records a SCIM audit event (never failing the request over it: the failure is logged).
pub fn audit(
    conn: &mut idgate_store::DbConnection,
    node: NodeId,
    kind: &str,
    target: &str,
    outcome: Outcome,
    detail: &str,
) {
    let recorded = idgate_store::events::record(
        conn,
        &NewEvent {
            node_id: Some(node),
            kind,
            actor: "scim",
            target: Some(target),
            outcome,
            detail,
        },
    );
    if let Err(err) = recorded {
        tracing::error!(error = %err, kind, "cannot record an audit event");
    }
}

//! `/Users`: create, read, list, replace, patch and delete, with Keeper's semantics: a delete
//! or `active=false` locks the account and never removes it (unless the node opts into hard
//! delete), and a user created again after a lock or a delete is restored, not refused.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::Outcome;
use idgate_store::predicate::Direction;
use idgate_store::scim::UserNamePolicy;
use idgate_store::users::{
    self, Provenance, User, UserColumn, UserFields, UserListing, UserStatus,
};
use idgate_store::{StorageError, Store, TeamId, UserId, teams};
use scim_v2::filter::{AttrPath, Filter};
use serde_json::{Map, Value, json};

use crate::error::{ScimError, ScimType};
use crate::filter::{self, format_time};
use crate::http::{
    self, ListParams, Projection, audit, if_match, node_of, precondition_failed, read_json,
};
use crate::json::{self, ENTERPRISE_SCHEMA, USER_SCHEMA};
use crate::patch;

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
    let fields = UserFields {
        user_name,
        external_id: text(json::get(&doc, "externalId")),
        email: primary_email(&doc),
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

/// The full SCIM representation of a stored user.
pub fn render(user: &User, groups: Option<&[(TeamId, String)]>, base: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = serde_json::from_str(&user.attributes).unwrap_or_default();
    let mut schemas = vec![Value::from(USER_SCHEMA)];
    if json::get(&out, ENTERPRISE_SCHEMA).is_some() {
        schemas.push(Value::from(ENTERPRISE_SCHEMA));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::from(user.id.as_str()));
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

/// Maps storage errors onto SCIM answers.
pub fn storage_error(err: StorageError, what: &str) -> ScimError {
    match err {
        StorageError::NotFound { .. } => ScimError::not_found(format!("{what} not found")),
        StorageError::Conflict { constraint } if constraint.contains(users::USER_NAME_INDEX) => {
            ScimError::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                "userName is already taken",
            )
        }
        StorageError::Conflict { constraint } if constraint.contains(teams::DISPLAY_NAME_INDEX) => {
            ScimError::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                "displayName is already taken",
            )
        }
        StorageError::Conflict { .. } => ScimError::new(
            StatusCode::CONFLICT,
            Some(ScimType::Uniqueness),
            format!("{what} conflicts with an existing one"),
        ),
        StorageError::VersionMismatch => precondition_failed(),
        other => {
            tracing::error!(error = %other, "SCIM storage failure");
            ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "storage is unavailable; retry later",
            )
        }
    }
}

/// A write that the client's data made impossible (a taken name, a version that moved on) is
/// audited as a failure and answered; any other storage failure stays an error.
pub(crate) fn refused_write<T>(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    (kind, target, what): (&str, &str, &'static str),
    result: Result<T, StorageError>,
) -> Result<Result<T, ScimError>, StorageError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e @ (StorageError::Conflict { .. } | StorageError::VersionMismatch)) => {
            audit(c, node, kind, target, Outcome::Failure, &e.to_string());
            Ok(Err(storage_error(e, what)))
        }
        Err(e) => Err(e),
    }
}

/// Runs `f` in the store, turning storage errors into SCIM errors.
pub async fn run<T, F>(store: &Store, what: &'static str, f: F) -> Result<T, ScimError>
where
    F: FnOnce(&mut idgate_store::DbConnection) -> Result<Result<T, ScimError>, StorageError>
        + Send
        + 'static,
    T: Send + 'static,
{
    store.run(f).await.map_err(|e| storage_error(e, what))?
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
    Ok(render(user, Some(&groups), base))
}

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let body = read_json(payload).await?;
    let base = http::base_url(&req, node);
    let (_, fields) = match normalize(&body) {
        Ok(ok) => ok,
        Err(err) => {
            let detail = err.detail.clone();
            let _ = store
                .run(move |c| {
                    audit(
                        c,
                        node,
                        "user_create_provision",
                        "",
                        Outcome::Failure,
                        &detail,
                    );
                    Ok(())
                })
                .await;
            return Err(err);
        }
    };
    let (user, rendered) = run(&store, "user", move |c| {
        create_in_store(c, node, &fields, &base)
    })
    .await?;
    let location = format!("{}/Users/{}", http::base_url(&req, node), user.id);
    Ok(http::resource(
        StatusCode::CREATED,
        &Value::Object(rendered),
        user.version,
        Some(&location),
    ))
}

/// A stored user with its SCIM representation.
type Rendered = (User, Map<String, Value>);

/// The store side of a create: the userName policy, restore-or-insert, the audit event.
fn create_in_store(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    fields: &UserFields,
    base: &str,
) -> Result<Result<Rendered, ScimError>, StorageError> {
    let method = idgate_store::scim::get(c, node)?.ok_or(StorageError::NotFound {
        what: "SCIM method",
    })?;
    let mismatch = user_name_mismatch(fields);
    if let (Some(why), UserNamePolicy::Refuse) = (&mismatch, method.username_policy) {
        audit(
            c,
            node,
            "user_create_provision",
            &fields.user_name,
            Outcome::Failure,
            why,
        );
        return Ok(Err(ScimError::bad_request(
            ScimType::InvalidValue,
            why.clone(),
        )));
    }
    let outcome = idgate_store::transaction(c, |c| {
        match users::find_by_user_name(c, node, &fields.user_name)? {
            Some(existing) if existing.scim_visible && existing.status == UserStatus::Active => {
                Ok(None)
            }
            Some(existing) => {
                users::update(c, node, &existing.id, None, fields).map(|u| Some((u, true)))
            }
            None => users::insert(c, node, fields, Provenance::Scim).map(|u| Some((u, false))),
        }
    });
    let (user, restored) = match outcome {
        Ok(Some(done)) => done,
        Ok(None) | Err(StorageError::Conflict { .. }) => {
            audit(
                c,
                node,
                "user_create_provision",
                &fields.user_name,
                Outcome::Failure,
                "userName is already taken",
            );
            return Ok(Err(storage_error(
                StorageError::Conflict {
                    constraint: users::USER_NAME_INDEX.into(),
                },
                "user",
            )));
        }
        Err(e) => return Err(e),
    };
    let mut detail = if restored {
        "restored the existing locked account".to_owned()
    } else {
        String::new()
    };
    if let Some(why) = mismatch {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str(&why);
    }
    audit(
        c,
        node,
        "user_create_provision",
        &user.user_name,
        Outcome::Success,
        &detail,
    );
    let rendered = one_rendered(c, &user, base)?;
    Ok(Ok((user, rendered)))
}

/// The user a request names (as the client can see it), checked against `If-Match`.
fn current_user(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    id: &UserId,
    expected: Option<i64>,
) -> Result<Result<User, ScimError>, StorageError> {
    let Some(found) = users::get(c, node, id)?.filter(|u| u.scim_visible) else {
        return Ok(Err(ScimError::not_found("user not found")));
    };
    if expected.is_some_and(|v| v != found.version) {
        return Ok(Err(precondition_failed()));
    }
    Ok(Ok(found))
}

fn parse_id(raw: &str) -> Result<UserId, ScimError> {
    raw.parse::<UserId>()
        .map_err(|_| ScimError::not_found("user not found"))
}

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn get(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let params = ListParams::from_query(&req)?;
    let base = http::base_url(&req, node);
    let (user, mut rendered) = run(&store, "user", move |c| {
        match users::get(c, node, &id)?.filter(|u| u.scim_visible) {
            None => Ok(Err(ScimError::not_found("user not found"))),
            Some(user) => {
                let rendered = one_rendered(c, &user, &base)?;
                Ok(Ok((user, rendered)))
            }
        }
    })
    .await?;
    params.projection().apply(&mut rendered);
    Ok(http::resource(
        StatusCode::OK,
        &Value::Object(rendered),
        user.version,
        None,
    ))
}

fn column_of(path: &AttrPath) -> Option<UserColumn> {
    if path
        .uri
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(USER_SCHEMA))
    {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    Some(match (name.as_str(), sub.as_deref()) {
        ("id", None) => UserColumn::Id,
        ("username", None) => UserColumn::UserName,
        ("externalid", None) => UserColumn::ExternalId,
        ("displayname", None) => UserColumn::DisplayName,
        ("name", Some("givenname")) => UserColumn::GivenName,
        ("name", Some("familyname")) => UserColumn::FamilyName,
        ("active", None) => UserColumn::Active,
        ("meta", Some("created")) => UserColumn::Created,
        ("meta", Some("lastmodified")) => UserColumn::LastModified,
        _ => return None,
    })
}

fn is_time(c: UserColumn) -> bool {
    matches!(c, UserColumn::Created | UserColumn::LastModified)
}

fn sort_column(sort_by: &str) -> Option<UserColumn> {
    let (_, path) = json::split_urn(sort_by);
    let lower = path.to_ascii_lowercase();
    if lower == "emails" || lower == "emails.value" {
        return Some(UserColumn::Email);
    }
    let mut parts = path.splitn(2, '.');
    let name = parts.next()?.to_owned();
    let attr = AttrPath {
        uri: None,
        name,
        sub_attr: parts.next().map(str::to_owned),
    };
    column_of(&attr)
}

/// How many matching rows are read per round when part of a filter is evaluated in memory.
const SCAN_BATCH: i64 = 1000;

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn list(req: HttpRequest, store: web::Data<Store>) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_query(&req)?;
    list_with(req, store, params).await
}

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn search(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let body = read_json(payload).await?;
    let params = ListParams::from_body(&body)?;
    list_with(req, store, params).await
}

async fn list_with(
    req: HttpRequest,
    store: web::Data<Store>,
    params: ListParams,
) -> Result<HttpResponse, ScimError> {
    let start = params.start_index()?;
    let (total, resources) = matching(&req, &store, &params).await?;
    Ok(http::json_response(&http::list_response(
        total, start, &resources,
    )))
}

/// One page of matching resources, projected, with the total count.
pub async fn matching(
    req: &HttpRequest,
    store: &Store,
    params: &ListParams,
) -> Result<(i64, Vec<Value>), ScimError> {
    let node = node_of(req)?;
    let base = http::base_url(req, node);
    let filter: Option<Filter> = params.filter_expr()?;
    let start = params.start_index()?;
    let count = params.count()?;
    let with_groups = !params.excludes("groups");
    let sort = params.sort_by.as_deref().and_then(sort_column).map(|c| {
        (
            c,
            if params.descending() {
                Direction::Descending
            } else {
                Direction::Ascending
            },
        )
    });
    let pushed = filter::push_down(filter.as_ref(), column_of, is_time);
    let raw_filter = params.filter.clone();
    let (total, resources) = run(store, "user", move |c| {
        let listing = UserListing {
            filter: pushed.sql,
            scim_visible_only: true,
            sort,
        };
        let (total, page) = if pushed.exact {
            exact_page(c, node, &listing, (start, count), with_groups, &base)?
        } else {
            let filter = filter.as_ref().expect("a filter that is not exact exists");
            scanned_page(c, node, &listing, filter, (start, count), &base)?
        };
        if let Some(raw) = raw_filter {
            audit(
                c,
                node,
                "user_lookup_provision",
                &raw,
                Outcome::Success,
                &format!("{total} match(es)"),
            );
        }
        Ok(Ok((total, page)))
    })
    .await?;
    let projection: Projection = params.projection();
    let resources: Vec<Value> = resources
        .into_iter()
        .map(|mut r| {
            projection.apply(&mut r);
            Value::Object(r)
        })
        .collect();
    Ok((total, resources))
}

type Page = (i64, Vec<Map<String, Value>>);

/// A page straight from SQL: the filter was translated whole.
fn exact_page(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    listing: &UserListing,
    (start, count): (i64, i64),
    with_groups: bool,
    base: &str,
) -> Result<Page, StorageError> {
    let total = users::count(c, node, listing)?;
    let page = users::page(c, node, listing, start - 1, count)?;
    let groups = if with_groups {
        groups_map(c, &page.iter().map(|u| u.id.clone()).collect::<Vec<_>>())?
    } else {
        HashMap::new()
    };
    let rendered = page
        .iter()
        .map(|u| {
            let of_user = groups.get(&u.id).map_or(&[][..], Vec::as_slice);
            render(u, with_groups.then_some(of_user), base)
        })
        .collect();
    Ok((total, rendered))
}

/// A page of a filter that SQL only narrows: the rest is evaluated on each candidate.
fn scanned_page(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    listing: &UserListing,
    filter: &Filter,
    (start, count): (i64, i64),
    base: &str,
) -> Result<Page, StorageError> {
    let mut matched = Vec::new();
    let mut offset = 0;
    loop {
        let batch = users::page(c, node, listing, offset, SCAN_BATCH)?;
        let done = i64::try_from(batch.len()).unwrap_or(0) < SCAN_BATCH;
        let groups = groups_map(c, &batch.iter().map(|u| u.id.clone()).collect::<Vec<_>>())?;
        for user in &batch {
            let of_user = groups.get(&user.id).map_or(&[][..], Vec::as_slice);
            let rendered = render(user, Some(of_user), base);
            if filter::matches(&rendered, filter) {
                matched.push(rendered);
            }
        }
        if done {
            break;
        }
        offset += SCAN_BATCH;
    }
    let total = i64::try_from(matched.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(count).unwrap_or(0);
    Ok((total, matched.into_iter().skip(skip).take(take).collect()))
}

/// The event a change of the user's status reads as.
fn change_event(before: UserStatus, after_active: bool) -> (&'static str, &'static str) {
    match (before, after_active) {
        (UserStatus::Active, false) => ("user_deprovision", "locked"),
        (UserStatus::Locked, true) => ("user_update_provision", "re-activated"),
        _ => ("user_update_provision", ""),
    }
}

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn replace(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let expected = if_match(&req)?;
    let body = read_json(payload).await?;
    let (_, fields) = normalize(&body)?;
    let base = http::base_url(&req, node);
    let (user, rendered) = run(&store, "user", move |c| {
        let current = match current_user(c, node, &id, expected)? {
            Ok(found) => found,
            Err(err) => return Ok(Err(err)),
        };
        let attempt = users::update(c, node, &id, Some(current.version), &fields);
        let user = match refused_write(
            c,
            node,
            ("user_update_provision", &current.user_name, "user"),
            attempt,
        )? {
            Ok(done) => done,
            Err(err) => return Ok(Err(err)),
        };
        let (kind, detail) = change_event(current.status, fields.active);
        audit(c, node, kind, &user.user_name, Outcome::Success, detail);
        let rendered = one_rendered(c, &user, &base)?;
        Ok(Ok((user, rendered)))
    })
    .await?;
    Ok(http::resource(
        StatusCode::OK,
        &Value::Object(rendered),
        user.version,
        None,
    ))
}

/// How often a PATCH re-reads and retries when another write got in between.
const PATCH_ATTEMPTS: usize = 5;

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn modify(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let expected = if_match(&req)?;
    let body = read_json(payload).await?;
    let ops = patch::parse_request(&body)?;
    let params = ListParams::from_query(&req)?;
    let base = http::base_url(&req, node);
    let (user, mut rendered) = run(&store, "user", move |c| {
        for _ in 0..PATCH_ATTEMPTS {
            let current = match current_user(c, node, &id, expected)? {
                Ok(found) => found,
                Err(err) => return Ok(Err(err)),
            };
            let mut doc = editable(&current);
            if let Err(err) = patch::apply(&mut doc, &ops) {
                audit(
                    c,
                    node,
                    "user_update_provision",
                    &current.user_name,
                    Outcome::Failure,
                    &err.detail,
                );
                return Ok(Err(err));
            }
            let fields = match normalize(&Value::Object(doc)) {
                Ok((_, fields)) => fields,
                Err(err) => {
                    audit(
                        c,
                        node,
                        "user_update_provision",
                        &current.user_name,
                        Outcome::Failure,
                        &err.detail,
                    );
                    return Ok(Err(err));
                }
            };
            match users::update(c, node, &id, Some(current.version), &fields) {
                Ok(user) => {
                    let (kind, detail) = change_event(current.status, fields.active);
                    audit(c, node, kind, &user.user_name, Outcome::Success, detail);
                    let rendered = one_rendered(c, &user, &base)?;
                    return Ok(Ok((user, rendered)));
                }
                Err(StorageError::VersionMismatch) if expected.is_none() => {}
                Err(e @ (StorageError::Conflict { .. } | StorageError::VersionMismatch)) => {
                    audit(
                        c,
                        node,
                        "user_update_provision",
                        &current.user_name,
                        Outcome::Failure,
                        &e.to_string(),
                    );
                    return Ok(Err(storage_error(e, "user")));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Err(ScimError::new(
            StatusCode::CONFLICT,
            None,
            "the user kept changing; retry",
        )))
    })
    .await?;
    params.projection().apply(&mut rendered);
    Ok(http::resource(
        StatusCode::OK,
        &Value::Object(rendered),
        user.version,
        None,
    ))
}

#[tracing::instrument(skip_all, fields(scim.resource = "User"))]
pub async fn delete(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let expected = if_match(&req)?;
    run(&store, "user", move |c| {
        let current = match current_user(c, node, &id, expected)? {
            Ok(found) => found,
            Err(err) => return Ok(Err(err)),
        };
        let hard = idgate_store::scim::get(c, node)?.is_some_and(|m| m.hard_delete);
        if hard {
            users::delete(c, node, &id)?;
            audit(
                c,
                node,
                "user_delete_provision",
                &current.user_name,
                Outcome::Success,
                "deleted (hard delete is on for this node)",
            );
        } else {
            users::set_status(c, node, &id, UserStatus::Locked, false)?;
            audit(
                c,
                node,
                "user_delete_provision",
                &current.user_name,
                Outcome::Success,
                "locked and hidden from SCIM; the account is kept",
            );
        }
        Ok(Ok(()))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

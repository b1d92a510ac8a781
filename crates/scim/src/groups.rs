//! `/Groups` (idgate's teams). Teams created by SCIM wait for an admin's approval but exist for
//! the client at once; a create whose name matches an existing team takes it over. Membership
//! changes touch only the rows they name, so a PATCH costs the same in a team of 100 or
//! 100,000, and two concurrent PATCHes cannot lose each other's members.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::Outcome;
use idgate_store::predicate::Direction;
use idgate_store::teams::{self, Member, Team, TeamColumn, TeamListing, TeamStatus};
use idgate_store::{DbConnection, NodeId, StorageError, Store, TeamId, UserId};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValFilter};
use serde_json::{Map, Value, json};

use crate::error::{ScimError, ScimType};
use crate::filter::{self, format_time};
use crate::http::{self, ListParams, audit, if_match, node_of, precondition_failed, read_json};
use crate::json::{self, GROUP_SCHEMA};
use crate::patch::{self, OpKind, Operation};
use crate::users::{refused_write, run, storage_error};

/// The SCIM representation of a team; `members` only when loaded.
pub fn render(team: &Team, members: Option<&[Member]>, base: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    out.insert("id".into(), Value::from(team.id.as_str()));
    out.insert("displayName".into(), Value::from(team.display_name.clone()));
    if let Some(ext) = &team.external_id {
        out.insert("externalId".into(), Value::from(ext.clone()));
    }
    if let Some(members) = members {
        let list: Vec<Value> = members
            .iter()
            .map(|m| json!({"value": m.user_id.as_str(), "$ref": format!("{base}/Users/{}", m.user_id), "type": "User"}))
            .collect();
        out.insert("members".into(), Value::Array(list));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": format_time(team.created_at),
            "lastModified": format_time(team.updated_at),
            "location": format!("{base}/Groups/{}", team.id),
            "version": http::etag(team.version),
        }),
    );
    out
}

/// displayName, externalId and member ids of a Group body.
struct GroupBody {
    display_name: String,
    external_id: Option<String>,
    members: Option<Vec<UserId>>,
}

fn member_ids(value: &Value) -> Result<Vec<UserId>, ScimError> {
    let items = match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    };
    items
        .iter()
        .map(|item| {
            let raw = match item {
                Value::Object(o) => json::get(o, "value").and_then(Value::as_str),
                Value::String(s) => Some(s.as_str()),
                _ => None,
            };
            raw.and_then(|r| r.parse::<UserId>().ok()).ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("a member needs a user id as value: {item}"),
                )
            })
        })
        .collect()
}

fn parse_body(body: &Value) -> Result<GroupBody, ScimError> {
    let Value::Object(obj) = body else {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            "a Group is a JSON object",
        ));
    };
    let display_name = json::get(obj, "displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if display_name.is_empty() {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "displayName is required",
        ));
    }
    Ok(GroupBody {
        display_name: display_name.to_owned(),
        external_id: json::get(obj, "externalId")
            .and_then(json::as_text)
            .map(str::to_owned),
        members: json::get(obj, "members").map(member_ids).transpose()?,
    })
}

/// The group a request names (as the client can see it), checked against `If-Match`.
fn current_team(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    id: &TeamId,
    expected: Option<i64>,
) -> Result<Result<Team, ScimError>, StorageError> {
    let Some(found) = teams::get(c, node, id)? else {
        return Ok(Err(ScimError::not_found("group not found")));
    };
    if expected.is_some_and(|v| v != found.version) {
        return Ok(Err(precondition_failed()));
    }
    Ok(Ok(found))
}

fn parse_id(raw: &str) -> Result<TeamId, ScimError> {
    raw.parse::<TeamId>()
        .map_err(|_| ScimError::not_found("group not found"))
}

fn rendered_with_members(
    c: &mut DbConnection,
    team: &Team,
    base: &str,
    with_members: bool,
) -> Result<Map<String, Value>, StorageError> {
    let members = if with_members {
        Some(teams::members(c, &team.id)?)
    } else {
        None
    };
    Ok(render(team, members.as_deref(), base))
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let body = parse_body(&read_json(payload).await?)?;
    let base = http::base_url(&req, node);
    let (team, rendered) = run(&store, "group", move |c| {
        let (team, detail) = idgate_store::transaction(c, |c| {
            let (team, mut detail) =
                if let Some(existing) = teams::find_by_display_name(c, node, &body.display_name)? {
                    let team = teams::update(
                        c,
                        node,
                        &existing.id,
                        None,
                        &existing.display_name,
                        body.external_id.as_deref(),
                    )?;
                    if body.members.is_some() {
                        teams::clear_members(c, &team.id)?;
                    }
                    (team, "took over the existing team of that name".to_owned())
                } else {
                    let team = teams::insert(
                        c,
                        node,
                        &body.display_name,
                        body.external_id.as_deref(),
                        TeamStatus::Pending,
                        "scim",
                    )?;
                    (team, "pending approval".to_owned())
                };
            let added = match &body.members {
                Some(ids) => teams::add_members(c, node, &team.id, ids)?,
                None => 0,
            };
            if added == 0 {
                detail.push_str("; empty team");
            } else {
                detail = format!("{detail}; {added} member(s)");
            }
            Ok((team, detail))
        })?;
        audit(
            c,
            node,
            "group_create_provision",
            &team.display_name,
            Outcome::Success,
            &detail,
        );
        let rendered = rendered_with_members(c, &team, &base, true)?;
        Ok(Ok((team, rendered)))
    })
    .await?;
    let location = format!("{}/Groups/{}", http::base_url(&req, node), team.id);
    Ok(http::resource(
        StatusCode::CREATED,
        &Value::Object(rendered),
        team.version,
        Some(&location),
    ))
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn get(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let params = ListParams::from_query(&req)?;
    let with_members = !params.excludes("members");
    let base = http::base_url(&req, node);
    let (team, mut rendered) = run(&store, "group", move |c| match teams::get(c, node, &id)? {
        None => Ok(Err(ScimError::not_found("group not found"))),
        Some(team) => {
            let rendered = rendered_with_members(c, &team, &base, with_members)?;
            Ok(Ok((team, rendered)))
        }
    })
    .await?;
    params.projection().apply(&mut rendered);
    Ok(http::resource(
        StatusCode::OK,
        &Value::Object(rendered),
        team.version,
        None,
    ))
}

fn column_of(path: &AttrPath) -> Option<TeamColumn> {
    if path
        .uri
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(GROUP_SCHEMA))
    {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    Some(match (name.as_str(), sub.as_deref()) {
        ("id", None) => TeamColumn::Id,
        ("displayname", None) => TeamColumn::DisplayName,
        ("externalid", None) => TeamColumn::ExternalId,
        ("meta", Some("created")) => TeamColumn::Created,
        ("meta", Some("lastmodified")) => TeamColumn::LastModified,
        _ => return None,
    })
}

fn is_time(c: TeamColumn) -> bool {
    matches!(c, TeamColumn::Created | TeamColumn::LastModified)
}

/// `members[value eq "id"]` and `members.value eq "id"` have an index too.
fn member_lookup(filter: &Filter) -> Option<String> {
    let is_members = |p: &AttrPath| p.name.eq_ignore_ascii_case("members");
    match filter {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)))
            if is_members(path)
                && path
                    .sub_attr
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case("value")) =>
        {
            Some(v.clone())
        }
        Filter::ValuePath(vp) if is_members(&vp.attr) => match vp.filter.as_ref() {
            ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                if p.name.eq_ignore_ascii_case("value") =>
            {
                Some(v.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn list(req: HttpRequest, store: web::Data<Store>) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_query(&req)?;
    list_with(req, store, params).await
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn search(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_body(&read_json(payload).await?)?;
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
    let with_members = !params.excludes("members");
    let sort = params.sort_by.as_deref().and_then(|s| {
        let (_, path) = json::split_urn(s);
        let mut parts = path.splitn(2, '.');
        column_of(&AttrPath {
            uri: None,
            name: parts.next()?.to_owned(),
            sub_attr: parts.next().map(str::to_owned),
        })
    });
    let sort = sort.map(|c| {
        (
            c,
            if params.descending() {
                Direction::Descending
            } else {
                Direction::Ascending
            },
        )
    });
    let mut pushed = filter::push_down(filter.as_ref(), column_of, is_time);
    if let Some(member) = filter.as_ref().and_then(member_lookup) {
        pushed = filter::Pushdown {
            sql: idgate_store::predicate::Predicate::Cmp(
                TeamColumn::Member,
                idgate_store::predicate::Op::Eq,
                idgate_store::predicate::Value::Text(member),
            ),
            exact: true,
        };
    }
    let (total, resources) = run(store, "group", move |c| {
        let listing = TeamListing {
            filter: pushed.sql,
            status: None,
            sort,
        };
        if pushed.exact {
            let total = teams::count(c, node, &listing)?;
            let page = teams::page(c, node, &listing, start - 1, count)?;
            let rendered = page
                .iter()
                .map(|t| rendered_with_members(c, t, &base, with_members))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Ok((total, rendered)));
        }
        let filter = filter.as_ref().expect("a filter that is not exact exists");
        let all = teams::page(c, node, &listing, 0, i64::MAX)?;
        let mut matched = Vec::new();
        for team in &all {
            let rendered = rendered_with_members(c, team, &base, true)?;
            if filter::matches(&rendered, filter) {
                matched.push(rendered);
            }
        }
        let total = i64::try_from(matched.len()).unwrap_or(i64::MAX);
        let page = matched
            .into_iter()
            .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .collect();
        Ok(Ok((total, page)))
    })
    .await?;
    let projection = params.projection();
    let resources: Vec<Value> = resources
        .into_iter()
        .map(|mut r| {
            if !with_members {
                r.remove("members");
            }
            projection.apply(&mut r);
            Value::Object(r)
        })
        .collect();
    Ok((total, resources))
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn replace(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let expected = if_match(&req)?;
    let body = parse_body(&read_json(payload).await?)?;
    let base = http::base_url(&req, node);
    let (team, rendered) = run(&store, "group", move |c| {
        let current = match current_team(c, node, &id, expected)? {
            Ok(found) => found,
            Err(err) => return Ok(Err(err)),
        };
        let result = idgate_store::transaction(c, |c| {
            let team = teams::update(
                c,
                node,
                &id,
                Some(current.version),
                &body.display_name,
                body.external_id.as_deref(),
            )?;
            teams::clear_members(c, &id)?;
            if let Some(ids) = &body.members {
                teams::add_members(c, node, &id, ids)?;
            }
            Ok(team)
        });
        let team = match refused_write(
            c,
            node,
            ("group_update_provision", &current.display_name, "group"),
            result,
        )? {
            Ok(done) => done,
            Err(err) => return Ok(Err(err)),
        };
        audit(
            c,
            node,
            "group_update_provision",
            &team.display_name,
            Outcome::Success,
            "replaced",
        );
        let rendered = rendered_with_members(c, &team, &base, true)?;
        Ok(Ok((team, rendered)))
    })
    .await?;
    Ok(http::resource(
        StatusCode::OK,
        &Value::Object(rendered),
        team.version,
        None,
    ))
}

/// What a group PATCH changes, gathered from its operations.
#[derive(Default)]
struct GroupChanges {
    display_name: Option<String>,
    external_id: Option<ExternalIdChange>,
    /// Membership steps in order: (clear first?, add, remove).
    steps: Vec<MemberStep>,
}

/// A PATCH's effect on externalId: set to a value, or removed.
#[derive(Clone)]
enum ExternalIdChange {
    Set(String),
    Remove,
}

enum MemberStep {
    Clear,
    Add(Vec<UserId>),
    Remove(Vec<UserId>),
}

fn is_attr(path: &AttrPath, name: &str) -> bool {
    path.name.eq_ignore_ascii_case(name)
        && path
            .uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(GROUP_SCHEMA))
}

fn text_value(value: Option<&Value>, what: &str) -> Result<String, ScimError> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ScimError::bad_request(
                ScimType::InvalidValue,
                format!("{what} must be a non-empty string"),
            )
        })
}

fn gather(ops: &[Operation]) -> Result<GroupChanges, ScimError> {
    let mut changes = GroupChanges::default();
    for op in ops {
        match &op.path {
            None => {
                let Some(Value::Object(obj)) = &op.value else {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        "an operation without a path needs an object value",
                    ));
                };
                for (key, value) in obj {
                    let path = patch::parse_path(key)?;
                    gather_one(&mut changes, op.kind, &path, Some(value))?;
                }
            }
            Some(path) => gather_one(&mut changes, op.kind, path, op.value.as_ref())?,
        }
    }
    Ok(changes)
}

fn gather_one(
    changes: &mut GroupChanges,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) if is_attr(attr, "displayName") => match kind {
            OpKind::Remove => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some(ScimType::Mutability),
                    "displayName is required and cannot be removed",
                ));
            }
            _ => changes.display_name = Some(text_value(value, "displayName")?),
        },
        PatchPath::Attr(attr) if is_attr(attr, "externalId") => {
            changes.external_id = Some(match kind {
                OpKind::Remove => ExternalIdChange::Remove,
                _ => ExternalIdChange::Set(text_value(value, "externalId")?),
            });
        }
        PatchPath::Attr(attr) if is_attr(attr, "members") && attr.sub_attr.is_none() => {
            match (kind, value) {
                (OpKind::Add, Some(v)) => changes.steps.push(MemberStep::Add(member_ids(v)?)),
                (OpKind::Replace, Some(v)) => {
                    changes.steps.push(MemberStep::Clear);
                    changes.steps.push(MemberStep::Add(member_ids(v)?));
                }
                // JumpCloud removes by value array; without a value, every member goes.
                (OpKind::Remove, Some(v)) if !v.is_null() => {
                    changes.steps.push(MemberStep::Remove(member_ids(v)?));
                }
                (OpKind::Remove, _) => changes.steps.push(MemberStep::Clear),
                (_, None) => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        "members needs a value",
                    ));
                }
            }
        }
        PatchPath::Value(vp) if is_attr(&vp.attr, "members") => {
            let ids = filter_member_ids(&vp.filter)?;
            match kind {
                OpKind::Remove => changes.steps.push(MemberStep::Remove(ids)),
                _ => changes.steps.push(MemberStep::Add(ids)),
            }
        }
        // Other attributes of a group are not kept; they are ignored, not refused.
        _ => {}
    }
    Ok(())
}

/// `value eq "a" or value eq "b"` → [a, b]
fn filter_member_ids(filter: &ValFilter) -> Result<Vec<UserId>, ScimError> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
            if p.name.eq_ignore_ascii_case("value") =>
        {
            Ok(v.parse::<UserId>().into_iter().collect())
        }
        ValFilter::Or(items) => items
            .as_slice()
            .iter()
            .map(filter_member_ids)
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.concat()),
        _ => Err(ScimError::bad_request(
            ScimType::InvalidFilter,
            "members can be selected by value eq \"id\" only",
        )),
    }
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn modify(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let expected = if_match(&req)?;
    let ops = patch::parse_request(&read_json(payload).await?)?;
    let changes = gather(&ops)?;
    let params = ListParams::from_query(&req)?;
    let with_members = !params.excludes("members");
    let base = http::base_url(&req, node);
    let (team, mut rendered) = run(&store, "group", move |c| {
        let current = match current_team(c, node, &id, expected)? {
            Ok(found) => found,
            Err(err) => return Ok(Err(err)),
        };
        let result =
            idgate_store::transaction(c, |c| apply_changes(c, node, &current, expected, &changes));
        let (team, detail) = match result {
            Ok(done) => done,
            Err(e @ (StorageError::Conflict { .. } | StorageError::VersionMismatch)) => {
                audit(
                    c,
                    node,
                    "group_update_provision",
                    &current.display_name,
                    Outcome::Failure,
                    &e.to_string(),
                );
                return Ok(Err(storage_error(e, "group")));
            }
            Err(e) => return Err(e),
        };
        audit(
            c,
            node,
            "group_update_provision",
            &team.display_name,
            Outcome::Success,
            &detail,
        );
        let rendered = rendered_with_members(c, &team, &base, with_members)?;
        Ok(Ok((team, rendered)))
    })
    .await?;
    params.projection().apply(&mut rendered);
    Ok(http::resource(
        StatusCode::OK,
        &Value::Object(rendered),
        team.version,
        None,
    ))
}

fn apply_changes(
    c: &mut DbConnection,
    node: NodeId,
    current: &Team,
    expected: Option<i64>,
    changes: &GroupChanges,
) -> Result<(Team, String), StorageError> {
    let mut detail = Vec::new();
    let (mut added, mut removed) = (0, 0);
    for step in &changes.steps {
        match step {
            MemberStep::Clear => removed += teams::clear_members(c, &current.id)?,
            MemberStep::Add(ids) => added += teams::add_members(c, node, &current.id, ids)?,
            MemberStep::Remove(ids) => removed += teams::remove_members(c, &current.id, ids)?,
        }
    }
    if added > 0 {
        detail.push(format!("added {added} member(s)"));
    }
    if removed > 0 {
        detail.push(format!("removed {removed} member(s)"));
    }
    let team = if changes.display_name.is_some() || changes.external_id.is_some() {
        let name = changes
            .display_name
            .clone()
            .unwrap_or_else(|| current.display_name.clone());
        if name != current.display_name {
            detail.push(format!("renamed from '{}'", current.display_name));
        }
        let external = match &changes.external_id {
            None => current.external_id.clone(),
            Some(ExternalIdChange::Set(value)) => Some(value.clone()),
            Some(ExternalIdChange::Remove) => None,
        };
        teams::update(c, node, &current.id, expected, &name, external.as_deref())?
    } else {
        teams::touch(c, node, &current.id, expected)?;
        teams::get(c, node, &current.id)?.ok_or(StorageError::NotFound { what: "team" })?
    };
    Ok((team, detail.join("; ")))
}

#[tracing::instrument(skip_all, fields(scim.resource = "Group"))]
pub async fn delete(
    req: HttpRequest,
    id: web::Path<(String, String)>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let node = node_of(&req)?;
    let id = parse_id(&id.1)?;
    let expected = if_match(&req)?;
    run(&store, "group", move |c| {
        let current = match current_team(c, node, &id, expected)? {
            Ok(found) => found,
            Err(err) => return Ok(Err(err)),
        };
        teams::delete(c, node, &id)?;
        audit(
            c,
            node,
            "group_delete_provision",
            &current.display_name,
            Outcome::Success,
            "deleted; its members stay",
        );
        Ok(Ok(()))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `/Groups` (idgate's teams). Teams created by SCIM wait for an admin's approval but exist for
//! the client at once, and so does a rename of an approved team (applications keep the approved
//! name meanwhile); a create whose name matches an existing team takes it over. Membership
//! changes touch only the rows they name, so a PATCH costs the same in a team of 100 or
//! 100,000, and two concurrent PATCHes cannot lose each other's members.

mod list;
mod patch;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::Outcome;
use idgate_store::teams::{self, Member, Team, TeamStatus};
use idgate_store::{DbConnection, StorageError, Store, TeamId, UserId};
use serde_json::{Map, Value, json};

use crate::error::{ScimError, ScimType};
use crate::filter::format_time;
use crate::http::{self, ListParams, audit, if_match, node_of, precondition_failed, read_json};
use crate::json::{self, GROUP_SCHEMA};
use crate::storage::{refused_write, run};

pub use list::{list, matching, search};
pub use patch::modify;

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

/// What the audit event of a write says when the team's name now differs from the one its
/// approval gave it: SCIM shows the new name, applications keep the approved one until an admin
/// approves the rename.
fn rename_note(team: &Team) -> Option<String> {
    team.rename_awaiting().map(|approved| {
        format!("the new name awaits approval; applications still see '{approved}'")
    })
}

fn rendered_with_members(
    c: &mut DbConnection,
    team: &Team,
    base: &str,
    with_members: bool,
) -> Result<Map<String, Value>, StorageError> {
    let members = if with_members {
        Some(teams::visible_members(c, &team.id)?)
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
        let detail = match rename_note(&team) {
            Some(awaiting) => format!("replaced; {awaiting}"),
            None => "replaced".to_owned(),
        };
        audit(
            c,
            node,
            "group_update_provision",
            &team.display_name,
            Outcome::Success,
            &detail,
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

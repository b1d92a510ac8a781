//! Group PATCH: operations gathered into a rename, an externalId change and membership steps,
//! applied as row inserts and deletes (never a rewrite of the member list).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::Outcome;
use idgate_store::teams::{self, Team};
use idgate_store::{DbConnection, NodeId, StorageError, Store, UserId};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::Value;

use super::{current_team, member_ids, parse_id, rename_note, rendered_with_members};
use crate::error::{ScimError, ScimType};
use crate::http::{self, ListParams, audit, if_match, node_of, read_json};
use crate::json::GROUP_SCHEMA;
use crate::patch::{self, OpKind, Operation};
use crate::storage::{run, storage_error};

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
    // The team's row first (renamed, or its version bumped), then the membership rows: every
    // PATCH of one team takes the team's row lock before any membership row, so concurrent
    // PATCHes queue on it instead of deadlocking on each other's members (PostgreSQL).
    let mut renamed = None;
    let team = if changes.display_name.is_some() || changes.external_id.is_some() {
        let name = changes
            .display_name
            .clone()
            .unwrap_or_else(|| current.display_name.clone());
        if name != current.display_name {
            renamed = Some(format!("renamed from '{}'", current.display_name));
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
    let (mut added, mut removed) = (0, 0);
    for step in &changes.steps {
        match step {
            MemberStep::Clear => removed += teams::clear_members(c, &current.id)?,
            MemberStep::Add(ids) => added += teams::add_members(c, node, &current.id, ids)?,
            MemberStep::Remove(ids) => removed += teams::remove_members(c, &current.id, ids)?,
        }
    }
    let mut detail = Vec::new();
    if added > 0 {
        detail.push(format!("added {added} member(s)"));
    }
    if removed > 0 {
        detail.push(format!("removed {removed} member(s)"));
    }
    detail.extend(renamed);
    detail.extend(rename_note(&team));
    Ok((team, detail.join("; ")))
}

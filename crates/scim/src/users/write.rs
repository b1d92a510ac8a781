//! Writing users: create (or restore), replace, patch and delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::Outcome;
use idgate_store::scim::UserNamePolicy;
use idgate_store::users::{self, Provenance, User, UserFields, UserStatus};
use idgate_store::{StorageError, Store, UserId};
use serde_json::{Map, Value};

use super::{editable, normalize, one_rendered, parse_id, user_name_mismatch};
use crate::error::{ScimError, ScimType};
use crate::http::{self, ListParams, audit, if_match, node_of, precondition_failed, read_json};
use crate::patch;
use crate::storage::{refused_write, run, storage_error};

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
    let (user, restored) = match restore_or_insert(c, node, fields) {
        Ok(Some(done)) => done,
        // Taken by an active user, or by a create that got there first (the unique index
        // refused the insert, or the account kept changing under the restore).
        Ok(None) | Err(StorageError::Conflict { .. } | StorageError::VersionMismatch) => {
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

/// How often a create re-reads the account of its userName when a concurrent write changed it.
const RESTORE_ATTEMPTS: usize = 5;

/// Inserts the user, or restores the locked or deleted account of its userName (`true` in the
/// answer); `None` when an active user has the name. The restore is conditional on the version
/// read: of many concurrent creates of one deleted user exactly one restores it, and the others
/// read again and find the name taken.
fn restore_or_insert(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    fields: &UserFields,
) -> Result<Option<(User, bool)>, StorageError> {
    for _ in 0..RESTORE_ATTEMPTS {
        let attempt = idgate_store::transaction(c, |c| {
            match users::find_by_user_name(c, node, &fields.user_name)? {
                Some(existing)
                    if existing.scim_visible && existing.status == UserStatus::Active =>
                {
                    Ok(None)
                }
                Some(existing) => {
                    users::update(c, node, &existing.id, Some(existing.version), fields)
                        .map(|u| Some((u, true)))
                }
                None => users::insert(c, node, fields, Provenance::Scim).map(|u| Some((u, false))),
            }
        });
        match attempt {
            Err(StorageError::VersionMismatch) => {}
            other => return other,
        }
    }
    Err(StorageError::VersionMismatch)
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

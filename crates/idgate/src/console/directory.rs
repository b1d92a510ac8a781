//! A node's people and teams: users (search, paging, lock and unlock, detail with recent
//! events) and the team approval queue.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::events::{self, Event, EventQuery};
use idgate_store::predicate::Predicate;
use idgate_store::teams::{self, TeamColumn, TeamListing, TeamStatus};
use idgate_store::users::{self, User, UserListing, UserStatus};
use idgate_store::{NodeId, Store, TeamId, UserId, nodes};
use serde::Deserialize;

use super::{Admin, Chrome, MAX_PAGE, PAGE_SIZE, notice, see_other, unavailable, with_status};
use crate::actions::{self, ActionError, Decision};
use crate::cli::rfc3339;
use crate::pages::render;

struct UserRow {
    id: String,
    user_name: String,
    name: String,
    email: String,
    status: &'static str,
    provenance: &'static str,
    teams: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage<'a> {
    chrome: Chrome,
    node_id: String,
    node_name: &'a str,
    q: &'a str,
    users: Vec<UserRow>,
    total: i64,
    page: i64,
    pages: i64,
}

#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    page: Option<i64>,
}

fn display_name(user: &User) -> String {
    user.display_name
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| {
            [user.given_name.as_deref(), user.family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
}

async fn node_name(store: &Store, admin: &Admin, node_id: NodeId) -> Result<String, HttpResponse> {
    match store.run(move |c| nodes::get(c, node_id)).await {
        Ok(Some(node)) => Ok(node.name),
        Ok(None) => Err(admin.not_found(&format!("There is no node with id {node_id}."))),
        Err(err) => Err(unavailable(&err)),
    }
}

pub async fn users(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<NodeId>,
    query: web::Query<UsersQuery>,
) -> HttpResponse {
    let node_id = *path;
    let name = match node_name(&store, &admin, node_id).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    let q = query.q.clone().unwrap_or_default().trim().to_owned();
    let page = query.page.unwrap_or(1).clamp(1, MAX_PAGE);
    let listing = UserListing::search(&q);
    let found = store
        .run(move |c| {
            let total = users::count(c, node_id, &listing)?;
            let found = users::page(c, node_id, &listing, (page - 1) * PAGE_SIZE, PAGE_SIZE)?;
            let ids: Vec<UserId> = found.iter().map(|u| u.id.clone()).collect();
            let memberships = teams::teams_of_users(c, &ids)?;
            Ok((total, found, memberships))
        })
        .await;
    let (total, found, memberships) = match found {
        Ok(found) => found,
        Err(err) => return unavailable(&err),
    };
    let rows = found
        .iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            user_name: u.user_name.clone(),
            name: display_name(u),
            email: u.email.clone().unwrap_or_default(),
            status: u.status.as_str(),
            provenance: u.provenance.as_str(),
            teams: memberships
                .iter()
                .filter(|(user, _, _)| *user == u.id)
                .map(|(_, _, team)| team.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    render(&UsersPage {
        chrome: admin.chrome(None, None),
        node_id: node_id.to_string(),
        node_name: &name,
        q: &q,
        users: rows,
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    })
}

struct EventRow {
    at: String,
    kind: String,
    actor: String,
    outcome: &'static str,
    detail: String,
}

fn event_row(e: &Event) -> EventRow {
    EventRow {
        at: rfc3339(e.at),
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        outcome: e.outcome.as_str(),
        detail: e.detail.clone(),
    }
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage<'a> {
    chrome: Chrome,
    node_id: String,
    node_name: &'a str,
    user: &'a User,
    name: String,
    status: &'static str,
    attributes: String,
    teams: Vec<String>,
    links: Vec<super::links::LinkRow>,
    events: Vec<EventRow>,
    created: String,
    updated: String,
}

#[derive(Debug, Deserialize)]
pub struct UserQuery {
    done: Option<String>,
}

pub async fn user(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<(NodeId, UserId)>,
    query: web::Query<UserQuery>,
) -> HttpResponse {
    let (node_id, user_id) = path.into_inner();
    let name = match node_name(&store, &admin, node_id).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    let loaded = store
        .run(move |c| {
            let Some(user) = users::get(c, node_id, &user_id)? else {
                return Ok(None);
            };
            let teams = teams::teams_of_user(c, &user.id)?
                .into_iter()
                .map(|(_, name)| name)
                .collect::<Vec<_>>();
            let recent = events::search(
                c,
                &EventQuery {
                    node_id: Some(node_id),
                    target: Some(user.user_name.clone()),
                    ..EventQuery::default()
                },
                0,
                20,
            )?;
            let links = idgate_store::links::list_for_user(c, &user.id)?;
            Ok(Some((user, teams, links, recent)))
        })
        .await;
    let (user, teams, links, recent) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => {
            return admin.not_found("There is no such user in this node.");
        }
        Err(err) => return unavailable(&err),
    };
    let attributes = serde_json::from_str::<serde_json::Value>(&user.attributes)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| user.attributes.clone());
    render(&UserPage {
        chrome: admin.chrome(notice(query.done.as_deref()), None),
        node_id: node_id.to_string(),
        node_name: &name,
        name: display_name(&user),
        status: user.status.as_str(),
        attributes,
        teams,
        links: links.iter().map(super::links::LinkRow::of).collect(),
        events: recent.iter().map(event_row).collect(),
        created: rfc3339(user.created_at),
        updated: rfc3339(user.updated_at),
        user: &user,
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    csrf: String,
    status: String,
}

pub async fn set_status(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<(NodeId, UserId)>,
    form: web::Form<StatusForm>,
) -> HttpResponse {
    let (node_id, user_id) = path.into_inner();
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let (status, done) = match form.status.as_str() {
        "locked" => (UserStatus::Locked, "locked"),
        "active" => (UserStatus::Active, "unlocked"),
        _ => {
            return admin.message(
                StatusCode::BAD_REQUEST,
                "Not done",
                "Choose to lock or to unlock the user.",
            );
        }
    };
    let back = format!("/console/nodes/{node_id}/users/{user_id}?done={done}");
    match actions::set_user_status(&store, &admin.actor, node_id, user_id, status).await {
        Ok(()) => see_other(&back),
        Err(err) => admin.failed(&err),
    }
}

struct TeamRow {
    id: String,
    name: String,
    /// For the rename of an approved team: the approved name.
    renamed_from: Option<String>,
    members: Vec<String>,
    created: String,
}

struct ApprovedRow {
    /// The name applications see.
    name: String,
    /// A rename that awaits approval.
    renaming_to: Option<String>,
    members: i64,
    created: String,
}

#[derive(Template)]
#[template(path = "console/teams.html")]
struct TeamsPage<'a> {
    chrome: Chrome,
    node_id: String,
    node_name: &'a str,
    pending: Vec<TeamRow>,
    approved: Vec<ApprovedRow>,
    approved_total: i64,
}

async fn teams_page(
    store: &Store,
    admin: &Admin,
    node_id: NodeId,
    chrome: Chrome,
    status: StatusCode,
) -> HttpResponse {
    let name = match node_name(store, admin, node_id).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    let loaded = store
        .run(move |c| {
            let row = |c: &mut idgate_store::DbConnection, t: teams::Team| {
                Ok::<_, idgate_store::StorageError>(TeamRow {
                    members: teams::members(c, &t.id)?
                        .into_iter()
                        .map(|m| m.display)
                        .collect(),
                    id: t.id.to_string(),
                    renamed_from: t.rename_awaiting().map(str::to_owned),
                    name: t.display_name,
                    created: rfc3339(t.created_at),
                })
            };
            let pending = teams::pending(c, Some(node_id))?
                .into_iter()
                .map(|t| row(c, t))
                .collect::<Result<Vec<_>, _>>()?;
            let listing = TeamListing {
                filter: Predicate::True,
                status: Some(TeamStatus::Approved),
                sort: Some((
                    TeamColumn::DisplayName,
                    idgate_store::predicate::Direction::Ascending,
                )),
            };
            let total = teams::count(c, node_id, &listing)?;
            let approved = teams::page(c, node_id, &listing, 0, 200)?
                .into_iter()
                .map(|t| {
                    Ok::<_, idgate_store::StorageError>(ApprovedRow {
                        members: teams::member_count(c, &t.id)?,
                        renaming_to: t.rename_awaiting().map(|_| t.display_name.clone()),
                        name: t.approved_name.unwrap_or(t.display_name),
                        created: rfc3339(t.created_at),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((pending, approved, total))
        })
        .await;
    match loaded {
        Ok((pending, approved, approved_total)) => with_status(
            render(&TeamsPage {
                chrome,
                node_id: node_id.to_string(),
                node_name: &name,
                pending,
                approved,
                approved_total,
            }),
            status,
        ),
        Err(err) => unavailable(&err),
    }
}

pub async fn teams(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<NodeId>,
    query: web::Query<UserQuery>,
) -> HttpResponse {
    let chrome = admin.chrome(notice(query.done.as_deref()), None);
    teams_page(&store, &admin, *path, chrome, StatusCode::OK).await
}

/// Approves or denies the ticked teams (`team=…` repeated, `decision=approve|deny`), or the
/// one of a row's own button (`one=approve:ID` or `one=deny:ID`); `shown:ID` carries the name
/// each row showed, and a team renamed since is left for the admin to see again.
pub async fn decide(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<NodeId>,
    body: web::Bytes,
) -> HttpResponse {
    let node_id = *path;
    let mut csrf = String::new();
    let mut ticked = Vec::new();
    let mut decision = None;
    let mut one = None;
    let mut shown = std::collections::HashMap::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "csrf" => csrf = value.into_owned(),
            "team" => ticked.push(value.into_owned()),
            "decision" => decision = Some(value.into_owned()),
            "one" => one = Some(value.into_owned()),
            other => {
                if let Some(id) = other.strip_prefix("shown:") {
                    shown.insert(id.to_owned(), value.into_owned());
                }
            }
        }
    }
    if let Some(response) = admin.csrf_refusal(&csrf) {
        return response;
    }
    let (decision, ids) = match one.as_deref().and_then(|o| o.split_once(':')) {
        Some((d, id)) => (Some(d.to_owned()), vec![id.to_owned()]),
        None => (decision, ticked),
    };
    let decision = match decision.as_deref() {
        Some("approve") => Decision::Approve,
        Some("deny") => Decision::Deny,
        _ => {
            let chrome = admin.chrome(None, Some("Choose to approve or to deny."));
            return teams_page(&store, &admin, node_id, chrome, StatusCode::BAD_REQUEST).await;
        }
    };
    if ids.is_empty() {
        let chrome = admin.chrome(None, Some("Tick at least one team first."));
        return teams_page(&store, &admin, node_id, chrome, StatusCode::BAD_REQUEST).await;
    }
    let mut gone = Vec::new();
    for id in ids {
        let seen = shown.get(&id).cloned();
        let decided = match id.parse::<TeamId>() {
            Ok(team) => {
                actions::decide_team(&store, &admin.actor, Some(node_id), team, decision, seen)
                    .await
            }
            Err(why) => Err(ActionError::NotFound(why)),
        };
        match decided {
            Ok(_) => {}
            Err(ActionError::NotFound(_)) => gone.push(id),
            Err(err) => return admin.failed(&err),
        }
    }
    if !gone.is_empty() {
        let message = format!(
            "{} team(s) were no longer awaiting approval as shown (decided elsewhere, renamed again or removed by the identity provider) and were left as they are; any others were done.",
            gone.len()
        );
        let chrome = admin.chrome(None, Some(&message));
        return teams_page(&store, &admin, node_id, chrome, StatusCode::CONFLICT).await;
    }
    see_other(&format!("/console/nodes/{node_id}/teams?done=decided"))
}

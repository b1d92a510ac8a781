//! Reading users: one by id, lists and searches (filters pushed down to SQL where they can be).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::Outcome;
use idgate_store::predicate::Direction;
use idgate_store::users::{self, UserColumn, UserListing};
use idgate_store::{StorageError, Store};
use scim_v2::filter::{AttrPath, Filter};
use serde_json::{Map, Value};

use super::{groups_map, one_rendered, parse_id, render};
use crate::error::ScimError;
use crate::filter;
use crate::http::{self, ListParams, Projection, audit, node_of, read_json};
use crate::json::{self, USER_SCHEMA};
use crate::manager;
use crate::storage::run;

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
    let mut rendered: Vec<_> = page
        .iter()
        .map(|u| {
            let of_user = groups.get(&u.id).map_or(&[][..], Vec::as_slice);
            render(u, with_groups.then_some(of_user), base)
        })
        .collect();
    manager::name_all(c, node, &mut rendered)?;
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
        let mut rendered: Vec<_> = batch
            .iter()
            .map(|user| {
                let of_user = groups.get(&user.id).map_or(&[][..], Vec::as_slice);
                render(user, Some(of_user), base)
            })
            .collect();
        manager::name_all(c, node, &mut rendered)?;
        matched.extend(rendered.into_iter().filter(|r| filter::matches(r, filter)));
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

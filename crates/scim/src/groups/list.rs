//! Listing and searching groups; membership lookups (`members[value eq "id"]`) use an index.

use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::Store;
use idgate_store::predicate::Direction;
use idgate_store::teams::{self, TeamColumn, TeamListing};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::rendered_with_members;
use crate::error::ScimError;
use crate::filter;
use crate::http::{self, ListParams, node_of, read_json};
use crate::json::{self, GROUP_SCHEMA};
use crate::storage::run;

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

//! `POST /.search` at the root (RFC 7644 §3.4.3): Users and Groups together.

use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::Store;
use serde_json::Value;

use crate::error::ScimError;
use crate::http::{self, ListParams, MAX_RESULTS, read_json};
use crate::{groups, users};

#[tracing::instrument(skip_all, fields(scim.resource = "root"))]
pub async fn root(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
) -> Result<HttpResponse, ScimError> {
    let body = read_json(payload).await?;
    let params = ListParams::from_body(&body)?;
    let start = params.start_index()?;
    let count = params.count()?;
    // Each type's matches from the first, then one page over both.
    let mut each = ListParams::from_body(&body)?;
    each.start_index = None;
    each.count = Some(MAX_RESULTS.to_string());
    let (user_total, user_hits) = users::matching(&req, &store, &each).await?;
    let (group_total, group_hits) = groups::matching(&req, &store, &each).await?;
    let page: Vec<Value> = user_hits
        .into_iter()
        .chain(group_hits)
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .collect();
    Ok(http::json_response(&http::list_response(
        user_total + group_total,
        start,
        &page,
    )))
}

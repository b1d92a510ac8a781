//! Bearer tokens: 256 random bits, shown once, stored as a SHA-256 hash, compared in constant
//! time. A token belongs to one node and is checked against that node's method only.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use idgate_store::{NodeId, Store, scim};

use crate::error::ScimError;

pub use idgate_store::token::{
    NewToken, generate as generate_token, hash as hash_token, matches as token_matches,
};

/// The node an authenticated SCIM request acts on, set by [`require_bearer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimNode(pub NodeId);

fn unauthorized(detail: &str) -> ScimError {
    ScimError::new(StatusCode::UNAUTHORIZED, None, detail)
}

fn with_challenge(err: &ScimError) -> actix_web::HttpResponse<BoxBody> {
    let mut response = err.error_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"idgate SCIM\""),
    );
    response
}

/// Middleware for `/api/rest/scim/v2/{node_id}`: checks the bearer token against the node's
/// SCIM method, marks the method active on first use, and records the node for handlers.
/// A node that does not exist, or has no SCIM method, answers exactly like a wrong token.
pub async fn require_bearer(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let node_id = req
        .match_info()
        .get("node_id")
        .and_then(|raw| raw.parse::<NodeId>().ok());
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        let err = unauthorized("a bearer token is required");
        return Ok(req.into_response(with_challenge(&err)));
    };
    let Some(node_id) = node_id else {
        let err = unauthorized("the bearer token is not valid for this SCIM base URL");
        return Ok(req.into_response(with_challenge(&err)));
    };
    let Some(store) = req.app_data::<web::Data<Store>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("store missing"));
    };
    let verdict = store
        .run(move |c| {
            let Some(method) = scim::get(c, node_id)? else {
                return Ok(false);
            };
            if !token_matches(&token, &method.token_hash) {
                return Ok(false);
            }
            if scim::mark_used(c, node_id)? {
                tracing::info!(%node_id, "SCIM provisioning method is now active");
            }
            Ok(true)
        })
        .await;
    match verdict {
        Ok(true) => {
            req.extensions_mut().insert(ScimNode(node_id));
            next.call(req).await
        }
        Ok(false) => {
            tracing::warn!(%node_id, "SCIM request with an invalid token");
            let err = unauthorized("the bearer token is not valid for this SCIM base URL");
            Ok(req.into_response(with_challenge(&err)))
        }
        Err(err) => {
            tracing::error!(error = %err, "SCIM authentication could not reach the database");
            let err = ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, "storage unavailable");
            Ok(req.into_response(err.error_response()))
        }
    }
}

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

/// A freshly generated token: give `token` to the client once, store `hash`.
#[derive(Debug)]
pub struct NewToken {
    pub token: String,
    pub hash: String,
}

/// Generates a token (43 URL-safe characters carrying 256 random bits).
pub fn generate_token() -> NewToken {
    let mut bytes = [0u8; 32];
    openssl::rand::rand_bytes(&mut bytes).expect("the system random generator works");
    let token = base64_url(&bytes);
    let hash = hash_token(&token);
    NewToken { token, hash }
}

/// Hex SHA-256 of a token. A fast hash suffices: the token has 256 bits of entropy.
pub fn hash_token(token: &str) -> String {
    let digest = openssl::sha::sha256(token.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

fn base64_url(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// Whether `presented` is the token whose hash is `stored_hash`, in constant time.
pub fn token_matches(presented: &str, stored_hash: &str) -> bool {
    let presented = hash_token(presented);
    presented.len() == stored_hash.len()
        && openssl::memcmp::eq(presented.as_bytes(), stored_hash.as_bytes())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_only_their_hash_matches() {
        let a = generate_token();
        let b = generate_token();
        assert_eq!(a.token.len(), 43);
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
        assert!(token_matches(&a.token, &a.hash));
        assert!(!token_matches(&b.token, &a.hash));
        assert!(!token_matches("", &a.hash));
    }
}

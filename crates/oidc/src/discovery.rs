//! OpenID Connect Discovery 1.0 (`/.well-known/openid-configuration`) and the JWKS.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use idgate_store::{PublicBaseUrl, Store};
use serde_json::{Value, json};

use crate::claims::{SCOPES, SUPPORTED_CLAIMS};
use crate::endpoint;

/// The provider's metadata.
pub fn metadata(base: &PublicBaseUrl) -> Value {
    json!({
        "issuer": crate::issuer(base),
        "authorization_endpoint": endpoint(base, "/oauth2/authorize"),
        "token_endpoint": endpoint(base, "/oauth2/token"),
        "userinfo_endpoint": endpoint(base, "/oauth2/userinfo"),
        "jwks_uri": endpoint(base, "/oauth2/jwks"),
        "end_session_endpoint": endpoint(base, "/oauth2/logout"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": SUPPORTED_CLAIMS,
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}

pub async fn configuration(base: web::Data<PublicBaseUrl>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(metadata(&base))
}

pub async fn jwks(store: web::Data<Store>) -> HttpResponse {
    match store.run(crate::keys::published).await {
        Ok(keys) => {
            let keys: Vec<Value> = keys
                .iter()
                .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
                .collect();
            HttpResponse::Ok()
                .insert_header((CACHE_CONTROL, "public, max-age=300"))
                .json(json!({ "keys": keys }))
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot read the signing keys");
            HttpResponse::ServiceUnavailable().json(json!({"error": "temporarily_unavailable"}))
        }
    }
}

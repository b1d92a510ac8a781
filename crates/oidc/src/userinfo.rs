//! The userinfo endpoint (`GET|POST /oauth2/userinfo`, OIDC Core section 5.3): the claims of
//! the access token's user, as the ID token has them. A locked or deprovisioned user's token
//! is refused like an unknown one (401, RFC 6750 section 3).

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::oidc::{self, TokenKind};
use idgate_store::{Store, token};
use serde_json::{Value, json};

use crate::claims::Subject;

fn refused(error: &str, description: &str) -> HttpResponse {
    let challenge = if error.is_empty() {
        "Bearer realm=\"idgate\"".to_owned()
    } else {
        format!("Bearer realm=\"idgate\", error=\"{error}\", error_description=\"{description}\"")
    };
    HttpResponse::Unauthorized()
        .insert_header((WWW_AUTHENTICATE, challenge))
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({"error": if error.is_empty() { "invalid_request" } else { error }, "error_description": description}))
}

pub async fn endpoint(req: HttpRequest, store: web::Data<Store>) -> HttpResponse {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, value)| value.trim().to_owned());
    let Some(bearer) = bearer else {
        return refused("", "an access token is required");
    };
    let hash = token::hash(&bearer);
    let found = store
        .run(move |c| {
            let Some(info) = oidc::token(c, &hash, TokenKind::Access)? else {
                return Ok(Err("the access token is not valid"));
            };
            let granted = idgate_store::apps::get(c, &info.client_id)?
                .is_some_and(|app| app.grants(info.node_id));
            if !granted {
                return Ok(Err(
                    "the application may no longer sign in people of this organisation",
                ));
            }
            let subject = Subject::load(c, info.node_id, &info.user_id)?;
            let Some(subject) = subject.filter(|s| info.user_active && s.active()) else {
                return Ok(Err("the user's account is locked"));
            };
            Ok(Ok(Value::Object(subject.claims(&info.scope, info.sso_id))))
        })
        .await;
    match found {
        Ok(Ok(claims)) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(claims),
        Ok(Err(why)) => refused("invalid_token", why),
        Err(err) => {
            tracing::error!(error = %err, "OIDC storage failure at the userinfo endpoint");
            HttpResponse::ServiceUnavailable().json(json!({"error": "temporarily_unavailable"}))
        }
    }
}

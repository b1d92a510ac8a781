//! Who is signed in: `GET /auth/session` (JSON), `GET /auth/verify` (forward-auth for nginx
//! `auth_request`, Traefik and Caddy) and `POST /logout`.

use actix_web::cookie::Cookie;
use actix_web::http::header::{LOCATION, ORIGIN};
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::sessions::{self, Session};
use idgate_store::{Store, events, teams, token};
use serde_json::json;

use crate::acs::SESSION_COOKIE;

/// The live session of the request's cookie (an active user's), with the user's approved teams;
/// on a storage failure, the 503 to answer (already logged).
pub async fn current(
    req: &HttpRequest,
    store: &Store,
) -> Result<Option<(Session, Vec<String>)>, HttpResponse> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token::hash(cookie.value());
    let found = store
        .run(move |c| {
            let Some(session) = sessions::get(c, &hash)?.filter(|s| s.user_active) else {
                return Ok(None);
            };
            let names = teams::approved_teams_of_user(c, &session.user_id)?;
            Ok(Some((session, names)))
        })
        .await;
    found.map_err(|err| crate::unavailable(&err))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .content_type("application/json")
        .body(json!({"error": "not signed in"}).to_string())
}

/// `GET /auth/session`: the signed-in identity, or 401.
pub async fn session(req: HttpRequest, store: web::Data<Store>) -> HttpResponse {
    match current(&req, &store).await {
        Ok(Some((s, teams))) => HttpResponse::Ok().json(json!({
            "user": s.user_name,
            "email": s.email,
            "display_name": s.display_name,
            "node_id": s.node_id,
            "sso_id": s.sso_id,
            "teams": teams,
            "expires": crate::rfc3339(s.expires_at),
        })),
        Ok(None) => unauthorized(),
        Err(response) => response,
    }
}

/// Header values cannot hold control characters; names never need them.
fn header_safe(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// `GET /auth/verify`: 200 with identity headers for the proxy, or 401.
pub async fn verify(req: HttpRequest, store: web::Data<Store>) -> HttpResponse {
    match current(&req, &store).await {
        Ok(Some((s, teams))) => HttpResponse::Ok()
            .insert_header(("X-Idgate-User", header_safe(&s.user_name)))
            .insert_header((
                "X-Idgate-Email",
                header_safe(s.email.as_deref().unwrap_or_default()),
            ))
            .insert_header(("X-Idgate-Groups", header_safe(&teams.join(","))))
            .finish(),
        Ok(None) => HttpResponse::Unauthorized().finish(),
        Err(response) => response,
    }
}

/// Whether an `Origin` header names the origin of the public base URL.
fn same_origin(origin: &[u8], base: &str) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    base.strip_prefix(origin)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `POST /logout`: ends the session and clears the cookie, then sends the browser through the
/// IdP's single logout when the IdP has an SLO endpoint, else to `/`.
pub async fn logout(
    req: HttpRequest,
    store: web::Data<Store>,
    base: web::Data<idgate_store::PublicBaseUrl>,
) -> HttpResponse {
    if let Some(origin) = req.headers().get(ORIGIN)
        && !same_origin(origin.as_bytes(), &base.0)
    {
        // Another site (a sibling subdomain, say) posting here: not this site's sign-out button.
        return HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("Sign out from this site's own page.");
    }
    let mut next = "/".to_owned();
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let hash = token::hash(cookie.value());
        let ended = store
            .run(move |c| {
                let Some(session) = sessions::get(c, &hash)? else {
                    return Ok(None);
                };
                events::record(
                    c,
                    &NewEvent {
                        node_id: Some(session.node_id),
                        kind: "sso_logout",
                        actor: "user",
                        target: Some(&session.user_name),
                        outcome: Outcome::Success,
                        detail: "",
                    },
                )?;
                sessions::delete(c, &hash)?;
                let method = match session.sso_id {
                    Some(id) => idgate_store::sso::get(c, id)?,
                    None => None,
                };
                Ok(method.map(|m| (m, session)))
            })
            .await;
        match ended {
            Ok(Some((method, session))) => {
                if let Some(url) = session.name_id.as_deref().and_then(|name_id| {
                    crate::slo::logout_url(
                        &method,
                        &base.0,
                        name_id,
                        session.session_index.as_deref(),
                    )
                }) {
                    next = url;
                }
            }
            Ok(None) => {}
            Err(err) => return crate::unavailable(&err),
        }
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header((LOCATION, next))
        .cookie(gone)
        .finish()
}

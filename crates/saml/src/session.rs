//! Who is signed in: `GET /auth/session` (JSON), `GET /auth/verify` (forward-auth for nginx
//! `auth_request`, Traefik and Caddy) and `POST /logout`.
//!
//! The session cookie is `__Host-idgate_session` when the public base URL is HTTPS (the prefix
//! makes browsers keep it only when it is Secure, for `Path=/` and without `Domain`, so a sibling
//! subdomain cannot plant one), `idgate_session` over plain HTTP. A request carrying more than
//! one session cookie (one planted beside the real one, say) is not signed in: which of them the
//! browser meant cannot be told.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, LOCATION, ORIGIN};
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::sessions::{self, Session};
use idgate_store::{NodeId, PublicBaseUrl, Store, events, teams, token};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

/// The session cookie's name over plain HTTP.
pub const SESSION_COOKIE: &str = "idgate_session";
/// The session cookie's name under HTTPS.
pub const HOST_SESSION_COOKIE: &str = "__Host-idgate_session";

/// The session cookie's name: `__Host-`-prefixed when the public base URL is HTTPS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// Under HTTPS, the removal of a plain `idgate_session` cookie (one set before the base URL
/// became HTTPS): beside the new cookie it would make two, and no one signed in.
pub fn stale_cookie(secure: bool) -> Option<Cookie<'static>> {
    secure.then(|| removal(SESSION_COOKIE, false))
}

/// A cookie that clears `name` (with the attributes a `__Host-` cookie must carry to be
/// accepted, removal included).
fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut gone = Cookie::build(name, "")
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    gone.make_removal();
    gone
}

/// Whether the public base URL is HTTPS (the app always registers it).
fn secure(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<PublicBaseUrl>>()
        .is_some_and(|base| base.0.starts_with("https://"))
}

/// Every value the request's `Cookie` header(s) carry under the session cookie's name for this
/// scheme, read here rather than through a cookie jar so that duplicates are seen, not
/// collapsed. Under HTTPS a plain `idgate_session` is no session cookie at all (a sibling
/// subdomain could plant one): it is neither read nor counted.
fn session_cookies(req: &HttpRequest) -> Vec<String> {
    let wanted = cookie_name(secure(req));
    let mut found = Vec::new();
    for header in req.headers().get_all(COOKIE) {
        for pair in header.as_bytes().split(|b| *b == b';') {
            let pair = String::from_utf8_lossy(pair);
            let (name, value) = pair.split_once('=').unwrap_or((&pair, ""));
            if name.trim() == wanted {
                found.push(value.trim().to_owned());
            }
        }
    }
    found
}

/// The request's session token: its one session cookie.
fn session_token(req: &HttpRequest) -> Option<String> {
    let mut found = session_cookies(req);
    if found.len() > 1 {
        tracing::info!(
            cookies = found.len(),
            "a request carried several session cookies: not signed in"
        );
        return None;
    }
    found.pop()
}

/// The live session of the request's cookie (an active user's), with the user's approved teams;
/// on a storage failure, the 503 to answer (already logged).
pub async fn current(
    req: &HttpRequest,
    store: &Store,
) -> Result<Option<(Session, Vec<String>)>, HttpResponse> {
    let Some(cookie) = session_token(req) else {
        return Ok(None);
    };
    let hash = token::hash(&cookie);
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

/// A refusal of `/auth/session` or `/auth/verify`, with its reason.
fn refusal(status: StatusCode, reason: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(json!({ "error": reason }).to_string())
}

/// The `node` query parameter: absent, one node id, or why it is not one.
fn node_param(query: &str) -> Result<Option<NodeId>, String> {
    let mut node = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name != "node" {
            continue;
        }
        if node.is_some() {
            return Err("give the node parameter once".to_owned());
        }
        node = Some(value.parse::<NodeId>()?);
    }
    Ok(node)
}

/// The signed-in identity, or the answer refusing it: 400 for a malformed `?node=`, 401 when
/// no one is signed in, 403 when the session belongs to another node than `?node=` names.
async fn identity(
    req: &HttpRequest,
    store: &Store,
) -> Result<(Session, Vec<String>), HttpResponse> {
    let node =
        node_param(req.query_string()).map_err(|why| refusal(StatusCode::BAD_REQUEST, &why))?;
    match current(req, store).await? {
        None => Err(refusal(StatusCode::UNAUTHORIZED, "not signed in")),
        Some((session, _)) if node.is_some_and(|n| n != session.node_id) => Err(refusal(
            StatusCode::FORBIDDEN,
            "the session belongs to another node",
        )),
        Some(found) => Ok(found),
    }
}

/// `GET /auth/session[?node=NODE_ID]`: the signed-in identity, or the refusal.
pub async fn session(req: HttpRequest, store: web::Data<Store>) -> HttpResponse {
    match identity(&req, &store).await {
        Ok((s, teams)) => HttpResponse::Ok().json(json!({
            "user": s.user_name,
            "user_id": s.user_id,
            "email": s.email,
            "display_name": s.display_name,
            "node_id": s.node_id,
            "sso_id": s.sso_id,
            "teams": teams,
            "expires": crate::rfc3339(s.expires_at),
        })),
        Err(response) => response,
    }
}

/// Header values cannot hold control characters; names never need them.
fn header_safe(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// What a team name keeps unencoded in `X-Idgate-Groups`: RFC 3986's unreserved characters.
const TEAM_NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Team names for `X-Idgate-Groups`: each name's UTF-8 bytes percent-encoded except
/// `A–Z a–z 0–9 - . _ ~` (so no name holds a comma, a control character or a space), then
/// joined with commas.
pub fn groups_header(names: &[String]) -> String {
    names
        .iter()
        .map(|name| utf8_percent_encode(name, TEAM_NAME).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `GET /auth/verify[?node=NODE_ID]`: 200 with identity headers for the proxy, or the refusal.
pub async fn verify(req: HttpRequest, store: web::Data<Store>) -> HttpResponse {
    match identity(&req, &store).await {
        Ok((s, teams)) => {
            let mut ok = HttpResponse::Ok();
            ok.insert_header(("X-Idgate-User", header_safe(&s.user_name)))
                .insert_header(("X-Idgate-User-Id", s.user_id.as_str()))
                .insert_header(("X-Idgate-Node", s.node_id.to_string()))
                .insert_header((
                    "X-Idgate-Email",
                    header_safe(s.email.as_deref().unwrap_or_default()),
                ))
                .insert_header(("X-Idgate-Groups", groups_header(&teams)));
            if let Some(sso_id) = s.sso_id {
                ok.insert_header(("X-Idgate-Sso", sso_id.to_string()));
            }
            ok.finish()
        }
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
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    if let Some(origin) = req.headers().get(ORIGIN)
        && !same_origin(origin.as_bytes(), &base.0)
    {
        // Another site (a sibling subdomain, say) posting here: not this site's sign-out button.
        return HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("Sign out from this site's own page.");
    }
    let next = match end(&req, &store).await {
        Ok(Some((method, session))) => session
            .name_id
            .as_deref()
            .and_then(|name_id| {
                crate::slo::logout_url(
                    &method,
                    &base.0,
                    name_id,
                    session.session_index.as_deref(),
                    None,
                )
            })
            .unwrap_or_else(|| "/".to_owned()),
        Ok(None) => "/".to_owned(),
        Err(unavailable) => return unavailable,
    };
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, next));
    clear(&mut response, base.0.starts_with("https://"));
    response.finish()
}

/// Whether `origin` (an `Origin` header) is the origin of the public base URL.
pub fn same_origin_as(origin: &[u8], base: &PublicBaseUrl) -> bool {
    same_origin(origin, &base.0)
}

/// Ends every session a session cookie of the request names (a planted one too), each with its
/// `sso_logout` event. When there was exactly one, returns it with its SSO method, for the
/// IdP's single logout. On a storage failure, the 503 to answer (logged).
pub async fn end(
    req: &HttpRequest,
    store: &Store,
) -> Result<Option<(idgate_store::sso::SsoMethod, Session)>, HttpResponse> {
    let hashes: Vec<String> = session_cookies(req)
        .iter()
        .map(|value| token::hash(value))
        .collect();
    if hashes.is_empty() {
        return Ok(None);
    }
    let single = hashes.len() == 1;
    store
        .run(move |c| {
            let mut last = None;
            for hash in &hashes {
                let Some(session) = sessions::get(c, hash)? else {
                    continue;
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
                sessions::delete(c, hash)?;
                last = Some(session);
            }
            let Some(session) = last.filter(|_| single) else {
                return Ok(None);
            };
            let method = match session.sso_id {
                Some(id) => idgate_store::sso::get(c, id)?,
                None => None,
            };
            Ok(method.map(|m| (m, session)))
        })
        .await
        .map_err(|err| crate::unavailable(&err))
}

/// Clears the session cookie (and under HTTPS a stale plain one) on `response`.
pub fn clear(response: &mut actix_web::HttpResponseBuilder, secure: bool) {
    response.cookie(removal(cookie_name(secure), secure));
    if let Some(stale) = stale_cookie(secure) {
        response.cookie(stale);
    }
}

#[cfg(test)]
mod tests;

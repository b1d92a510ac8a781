//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `/oauth2/logout`, GET or
//! POST: ends idgate's session and, when the SSO method's IdP has an SLO endpoint, the IdP's
//! too; then sends the browser to the `post_logout_redirect_uri` registered for the client
//! (with `state`), or shows that the user is signed out.
//!
//! The `id_token_hint` (an ID token idgate signed, expired or not) names the client and the
//! user. Without a valid hint for the signed-in user, idgate asks the user first (so that
//! another site cannot sign people out with a link).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use idgate_store::apps::{self, ClientId};
use idgate_store::oidc::{self, PendingLogout};
use idgate_store::{PublicBaseUrl, Store, now_millis, token};

use crate::page;
use crate::params::Params;

/// How long idgate waits for the IdP to answer its LogoutRequest.
const LOGOUT_SECONDS: i64 = 600;

pub async fn get(
    req: HttpRequest,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes());
    logout(&req, &params, false, &store, &base).await
}

pub async fn post(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let params = Params::parse(&body);
    let own_form = params.confirmed_by_own_form(&req, &base);
    logout(&req, &params, own_form, &store, &base).await
}

fn invalid(text: &str) -> HttpResponse {
    page::message(
        StatusCode::BAD_REQUEST,
        "This sign-out link is not valid",
        text,
    )
}

#[derive(Template)]
#[template(path = "oidc/logout.html")]
struct Confirm<'a> {
    hidden: Vec<(&'a str, &'a str)>,
}

async fn logout(
    req: &HttpRequest,
    params: &Params,
    confirmed: bool,
    store: &Store,
    base: &PublicBaseUrl,
) -> HttpResponse {
    if let Some(name) = &params.repeated {
        return invalid(&format!("The parameter {name} was given more than once."));
    }
    let (hint, post_logout) = match hint_and_return(params, store, base).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let session = match idgate_saml::session::current(req, store).await {
        Ok(session) => session.map(|(s, _)| s),
        Err(unavailable) => return unavailable,
    };
    let hint_fits = hint.as_ref().is_some_and(|claims| {
        session
            .as_ref()
            .is_none_or(|s| claims["sub"] == s.user_id.as_str())
    });
    if !(confirmed || hint_fits || session.is_none()) {
        let page = Confirm {
            hidden: params.except(&["confirm"]).collect(),
        };
        return match page.render() {
            Ok(html) => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((CACHE_CONTROL, "no-store"))
                .body(html),
            Err(err) => {
                tracing::error!(error = %err, "cannot render the sign-out page");
                HttpResponse::InternalServerError().finish()
            }
        };
    }
    let ended = match idgate_saml::session::end(req, store).await {
        Ok(ended) => ended,
        Err(unavailable) => return unavailable,
    };
    // Where the browser goes once every session has ended.
    let mut relay = None;
    if let Some(pending) = &post_logout
        && ended.is_some()
    {
        let id = token::generate();
        let (hash, pending) = (id.hash.clone(), pending.clone());
        let expires = now_millis() + LOGOUT_SECONDS * 1000;
        if let Err(err) = store
            .run(move |c| oidc::create_logout(c, &hash, &pending, expires))
            .await
        {
            return page::unavailable(&err);
        }
        relay = Some(format!("/oauth2/logged-out/{}", id.token));
    }
    let through_idp = ended.and_then(|(method, session)| {
        let name_id = session.name_id.as_deref()?;
        idgate_saml::slo::logout_url(
            &method,
            &base.0,
            name_id,
            session.session_index.as_deref(),
            relay.as_deref(),
        )
    });
    let next = match (through_idp, &post_logout) {
        (Some(idp), _) => idp,
        (None, Some(pending)) => back(pending),
        (None, None) => "/oauth2/logged-out/done".to_owned(),
    };
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((LOCATION, next))
        .insert_header((CACHE_CONTROL, "no-store"));
    idgate_saml::session::clear(&mut response, base.0.starts_with("https://"));
    response.finish()
}

/// The verified `id_token_hint`'s claims and the registered post-logout redirect (with
/// `state`), or the page that says why the request is not valid.
async fn hint_and_return(
    params: &Params,
    store: &Store,
    base: &PublicBaseUrl,
) -> Result<(Option<serde_json::Value>, Option<PendingLogout>), HttpResponse> {
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(raw) => {
            let raw = raw.to_owned();
            match store.run(crate::keys::kept).await {
                Ok(keys) => match crate::jws::verified_claims(&raw, &keys) {
                    Some(claims) if claims["iss"] == base.0.as_str() => Some(claims),
                    _ => return Err(invalid("The ID token it carries was not issued here.")),
                },
                Err(err) => return Err(page::unavailable(&err)),
            }
        }
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|c| c["aud"].as_str().map(str::to_owned));
    let client = match (params.get("client_id"), hinted_client) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err(invalid(
                "Its client_id is not the audience of its ID token.",
            ));
        }
        (Some(given), _) => Some(given.to_owned()),
        (None, hinted) => hinted,
    };
    let post_logout = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(client_id) = client.as_deref().and_then(|c| c.parse::<ClientId>().ok()) else {
                return Err(invalid(
                    "It names a return address but not the application (no client_id or id_token_hint).",
                ));
            };
            let app = match store.run(move |c| apps::get(c, &client_id)).await {
                Ok(Some(app)) => app,
                Ok(None) => return Err(invalid("The application is not registered here.")),
                Err(err) => return Err(page::unavailable(&err)),
            };
            if app.post_logout_redirect_uri(uri).is_none() {
                return Err(invalid(
                    "The return address is not registered for the application.",
                ));
            }
            Some(PendingLogout {
                client_id: app.client_id.clone(),
                redirect_uri: uri.to_owned(),
                state: params.get("state").map(str::to_owned),
            })
        }
    };
    Ok((hint, post_logout))
}

/// The registered post-logout redirect URI with `state`.
fn back(pending: &PendingLogout) -> String {
    match url::Url::parse(&pending.redirect_uri) {
        Ok(mut url) => {
            if let Some(state) = &pending.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            url.to_string()
        }
        Err(_) => "/oauth2/logged-out/done".to_owned(),
    }
}

fn signed_out() -> HttpResponse {
    page::message(
        StatusCode::OK,
        "You are signed out",
        "You can close this window.",
    )
}

/// `GET /oauth2/logged-out/{id}`: the IdP answered; on to the application's post-logout
/// redirect URI, or the signed-out page.
pub async fn after_idp(path: web::Path<String>, store: web::Data<Store>) -> HttpResponse {
    let id = path.into_inner();
    if id == "done" {
        return signed_out();
    }
    let hash = token::hash(&id);
    match store.run(move |c| oidc::take_logout(c, &hash)).await {
        Ok(Some(pending)) => HttpResponse::SeeOther()
            .insert_header((LOCATION, back(&pending)))
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish(),
        Ok(None) => signed_out(),
        Err(err) => page::unavailable(&err),
    }
}

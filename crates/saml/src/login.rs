//! SP-initiated login: `GET /api/rest/sso/ext_login/{sso_id}` sends the browser to the IdP with
//! an AuthnRequest whose 128-bit id is remembered in the database (with the RelayState) until it
//! is answered or expires. Redirect binding when the IdP offers it (signed when the method says
//! so), else an auto-submitting POST form (JumpCloud's default metadata).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use idgate_store::sso::SsoMethod;
use idgate_store::{PublicBaseUrl, SsoId, Store, saml_state, token};
use samael::schema::{AuthnRequest, Issuer};
use samael::traits::ToXml;
use serde::Deserialize;

use crate::idp::HTTP_POST;
use crate::sp::SpUrls;

/// How long an AuthnRequest waits for its answer.
pub const REQUEST_MINUTES: i64 = 10;

/// The cookie that names the browser which started an SP-initiated sign-in (HTTPS only).
pub const BROWSER_COOKIE: &str = "__Host-idgate_browser";

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

#[derive(Template)]
#[template(path = "saml/post_binding.html")]
struct PostBinding<'a> {
    destination: &'a str,
    saml_request: &'a str,
    relay_state: Option<&'a str>,
}

/// A fresh AuthnRequest id: 128 random bits (samael's own ids carry 32).
pub(crate) fn request_id() -> String {
    format!("_{}", &token::hash(&token::generate().token)[..32])
}

fn request(method: &SsoMethod, base_url: &str, id: &str, destination: &str) -> AuthnRequest {
    let urls = SpUrls::of(base_url, method);
    AuthnRequest {
        id: id.to_owned(),
        version: "2.0".to_owned(),
        issue_instant: chrono::Utc::now(),
        destination: Some(destination.to_owned()),
        issuer: Some(Issuer {
            value: Some(urls.entity_id),
            ..Issuer::default()
        }),
        assertion_consumer_service_url: Some(urls.acs_url),
        protocol_binding: Some(HTTP_POST.to_owned()),
        ..AuthnRequest::default()
    }
}

fn plain(status: actix_web::http::StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(text.to_owned())
}

#[tracing::instrument(skip_all, fields(sso_id = %path))]
pub async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LoginQuery>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let Ok(sso_id) = path.parse::<SsoId>() else {
        return crate::not_found();
    };
    let method = match store.run(move |c| idgate_store::sso::get(c, sso_id)).await {
        Ok(Some(method)) => method,
        Ok(None) => return crate::not_found(),
        Err(err) => return crate::unavailable(&err),
    };
    let relay = query
        .into_inner()
        .relay_state
        .map(|r| crate::relay::target(Some(&r)));
    begin(
        &req,
        &store,
        &base,
        &method,
        &Begin {
            relay,
            ..Begin::default()
        },
    )
    .await
}

/// How an SP-initiated sign-in starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Begin {
    /// The local path the browser goes to once the assertion consumer accepts the answer.
    pub relay: Option<String>,
    /// Keep `relay` in the database only, never in the RelayState sent through the IdP (when
    /// what it leads to must not ride in the browser: an authorization of an app).
    pub relay_in_database_only: bool,
    /// Ask the IdP to authenticate the user afresh (`ForceAuthn`), not from its own session.
    pub force_authn: bool,
}

/// Starts an SP-initiated sign-in through `method`: an AuthnRequest with a 128-bit id
/// remembered in the database (with where to go after, and under HTTPS the hash of the
/// browser's `__Host-idgate_browser` cookie, so that only this browser can finish it), and the
/// response that carries it to the IdP. The sign-in is finished by the assertion consumer.
pub async fn begin(
    req: &HttpRequest,
    store: &Store,
    base: &PublicBaseUrl,
    method: &SsoMethod,
    how: &Begin,
) -> HttpResponse {
    let (destination, redirect) = match (&method.idp_sso_redirect_url, &method.idp_sso_post_url) {
        (Some(url), _) => (url.clone(), true),
        (None, Some(url)) => (url.clone(), false),
        (None, None) => {
            return plain(
                actix_web::http::StatusCode::BAD_REQUEST,
                "Sign-in is not set up for this SSO method yet. Your administrator must import the identity provider's metadata.",
            );
        }
    };
    let relay = how.relay.as_deref().map(|r| crate::relay::target(Some(r)));
    // Under HTTPS the browser gets a cookie (kept or fresh) whose hash the request remembers:
    // only that browser can then finish the sign-in (no login CSRF with a response obtained
    // elsewhere). The IdP posts the answer cross-site, which sends only SameSite=None cookies,
    // and those must be Secure: over plain HTTP there is no such binding.
    let browser = base.0.starts_with("https://").then(|| {
        req.cookie(BROWSER_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| (32..=128).contains(&v.len()))
            .unwrap_or_else(|| token::generate().token)
    });
    let browser_hash = browser.as_deref().map(token::hash);
    let id = request_id();
    let mut authn = request(method, &base.0, &id, &destination);
    if how.force_authn {
        authn.force_authn = Some(true);
    }
    let expires = idgate_store::now_millis() + REQUEST_MINUTES * 60_000;
    let (remember_id, remember_relay, sso_id) = (id.clone(), relay.clone(), method.sso_id);
    if let Err(err) = store
        .run(move |c| {
            saml_state::remember_request(
                c,
                sso_id,
                &remember_id,
                remember_relay.as_deref(),
                browser_hash.as_deref(),
                expires,
            )
        })
        .await
    {
        return crate::unavailable(&err);
    }
    let sent_relay = relay.as_deref().filter(|_| !how.relay_in_database_only);
    let mut response = send(method, &authn, &destination, redirect, sent_relay);
    if let Some(token) = browser
        && (response.status().is_success() || response.status().is_redirection())
    {
        let cookie = Cookie::build(BROWSER_COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(true)
            .same_site(SameSite::None)
            .max_age(actix_web::cookie::time::Duration::minutes(REQUEST_MINUTES))
            .finish();
        if let Err(err) = response.add_cookie(&cookie) {
            tracing::error!(error = %err, "cannot set the sign-in browser cookie");
        }
    }
    response
}

/// The way to the IdP: a redirect, or the auto-submitting POST form.
fn send(
    method: &SsoMethod,
    authn: &AuthnRequest,
    destination: &str,
    redirect: bool,
    relay: Option<&str>,
) -> HttpResponse {
    let relay_text = relay.unwrap_or_default();
    if redirect {
        let url = if method.sign_requests {
            openssl::pkey::PKey::private_key_from_pem(method.sp_key_pem.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|key| {
                    authn
                        .signed_redirect(relay_text, &key)
                        .map_err(|e| e.to_string())
                })
        } else {
            authn.redirect(relay_text).map_err(|e| e.to_string())
        };
        if let Ok(Some(url)) = &url {
            return HttpResponse::Found()
                .insert_header((LOCATION, url.to_string()))
                .insert_header((CACHE_CONTROL, "no-store"))
                .finish();
        }
        tracing::error!(?url, "cannot build the redirect to the IdP");
        return plain(
            actix_web::http::StatusCode::BAD_GATEWAY,
            "The identity provider's sign-in address is not usable. Tell your administrator.",
        );
    }
    let xml = match authn.to_string() {
        Ok(xml) => xml,
        Err(err) => {
            tracing::error!(error = ?err, "cannot write the AuthnRequest");
            return plain(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The sign-in request could not be prepared.",
            );
        }
    };
    let encoded = openssl::base64::encode_block(xml.as_bytes());
    let page = PostBinding {
        destination,
        saml_request: &encoded,
        relay_state: relay,
    };
    match page.render() {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "cannot render the POST binding form");
            plain(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The sign-in request could not be prepared.",
            )
        }
    }
}

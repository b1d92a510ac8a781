//! The assertion consumer (HTTP-POST binding) at `/api/rest/sso/saml/{sso_id}`,
//! `/api/rest/sso/saml/sso/{sso_id}` and `/api/rest/sso/ext_login/{sso_id}`.
//!
//! A response is accepted only when every rule of [`crate::validate`] holds, its InResponseTo
//! answers a pending request of this method (consumed once) or is absent with IdP-initiated
//! login allowed, its assertion id was never used, and the user may sign in. Each refusal is
//! logged and audited (`sso_login_failed`) with its rule; the browser gets a plain page.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::sso::SsoMethod;
use idgate_store::{
    DbConnection, PublicBaseUrl, SsoId, StorageError, Store, events, saml_state, sessions, token,
};
use serde::Deserialize;

use crate::identity::{self, Asserted};
use crate::validate::{self, Expectations, Rejection, Verified};

pub(crate) mod failure;

use failure::Failure;

/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 8;

#[derive(Debug, Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// Records a sign-in's audit event (`sso_login`, or `sso_login_failed` whose target is the
/// rule's code).
fn audit(
    c: &mut DbConnection,
    method: &SsoMethod,
    kind: &str,
    target: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), StorageError> {
    events::record(
        c,
        &NewEvent {
            node_id: Some(method.node_id),
            kind,
            actor: "saml",
            target: Some(target),
            outcome,
            detail,
        },
    )
}

/// The POST handler of the three assertion consumer paths.
#[tracing::instrument(skip_all, fields(sso_id = %path))]
pub async fn consume(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcsForm>,
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
    let acs_url = format!("{}{}", base.0, req.path());
    let form = form.into_inner();
    // Signature verification is CPU-bound (xmlsec): off the async workers.
    let checked = {
        let method = method.clone();
        let base = base.0.clone();
        web::block(move || verify(&method, &base, &acs_url, &form.saml_response)).await
    };
    let verified = match checked {
        Ok(Ok(verified)) => verified,
        Ok(Err(failure)) => return refuse(&store, method, failure).await,
        Err(err) => {
            tracing::error!(error = %err, "signature verification was interrupted");
            return HttpResponse::ServiceUnavailable().finish();
        }
    };
    let relay = form.relay_state;
    let secure = base.0.starts_with("https://");
    let browser = req
        .cookie(crate::login::BROWSER_COOKIE)
        .map(|c| token::hash(c.value()));
    let method_for_run = method.clone();
    let outcome = store
        .run(move |c| sign_in(c, &method_for_run, &verified, relay, browser.as_deref()))
        .await;
    match outcome {
        Ok(Ok((session_token, target))) => {
            let cookie = Cookie::build(crate::session::cookie_name(secure), session_token)
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::hours(SESSION_HOURS))
                .finish();
            let mut response = HttpResponse::SeeOther();
            response.insert_header((LOCATION, target)).cookie(cookie);
            if let Some(stale) = crate::session::stale_cookie(secure) {
                response.cookie(stale);
            }
            response.finish()
        }
        // Audited in the sign-in's own transaction.
        Ok(Err(failure)) => refused_page(&method, &failure),
        Err(err) => crate::unavailable(&err),
    }
}

fn verify(
    method: &SsoMethod,
    base_url: &str,
    acs_url: &str,
    posted: &str,
) -> Result<Verified, Failure> {
    let Some(idp_entity_id) = method.idp_entity_id.as_deref() else {
        return Err(Failure::NotConfigured);
    };
    let sp_entity_id = crate::sp::SpUrls::of(base_url, method).entity_id;
    let expect = Expectations {
        idp_entity_id,
        idp_certs: &method.idp_certs,
        sp_entity_id: &sp_entity_id,
        acs_url,
        now: chrono::Utc::now(),
        clock_skew: chrono::Duration::seconds(i64::from(method.clock_skew_secs)),
        allow_sha1: method.allow_sha1,
        require_signed: method.require_signed,
        sp_key_pem: Some(&method.sp_key_pem),
        require_encryption: method.require_encryption,
    };
    validate::decode(posted)
        .and_then(|xml| validate::validate(&xml, &expect))
        .map_err(Failure::Rejected)
}

/// The database half, in one transaction: InResponseTo, replay, the account (link, lookup or
/// JIT), session and audit event commit together; a refusal commits with its audit event (the
/// request and the assertion id stay used). Returns the session token and where to send the
/// browser.
fn sign_in(
    c: &mut DbConnection,
    method: &SsoMethod,
    verified: &Verified,
    relay: Option<String>,
    browser_hash: Option<&str>,
) -> Result<Result<(String, String), Failure>, StorageError> {
    idgate_store::transaction(c, |c| {
        let outcome = accept(c, method, verified, relay, browser_hash)?;
        if let Err(failure) = &outcome {
            audit(
                c,
                method,
                "sso_login_failed",
                failure.code(),
                Outcome::Failure,
                &failure.detail(),
            )?;
        }
        Ok(outcome)
    })
}

fn accept(
    c: &mut DbConnection,
    method: &SsoMethod,
    verified: &Verified,
    relay: Option<String>,
    browser_hash: Option<&str>,
) -> Result<Result<(String, String), Failure>, StorageError> {
    let relay = match &verified.in_response_to {
        Some(request_id) => match saml_state::consume_request(c, method.sso_id, request_id)? {
            Some(pending) => {
                // The request was made by a browser with a cookie: only that browser finishes.
                if let Some(expected) = &pending.browser_hash
                    && browser_hash != Some(expected.as_str())
                {
                    return Ok(Err(Failure::OtherBrowser));
                }
                pending.relay_state.or(relay)
            }
            None => {
                return Ok(Err(Failure::Rejected(Rejection::UnknownRequest {
                    found: request_id.clone(),
                })));
            }
        },
        // An IdP-initiated sign-in without a RelayState goes to the method's default
        // application, if it has one (OIDC third-party initiated login, `/oauth2/initiate`).
        None if method.idp_initiated => relay.filter(|r| !r.is_empty()).or_else(|| {
            method
                .default_app_id
                .as_ref()
                .map(|app| format!("/oauth2/initiate/{app}"))
        }),
        None => return Ok(Err(Failure::Rejected(Rejection::Unsolicited))),
    };
    let remember_until =
        verified.not_on_or_after.timestamp_millis() + i64::from(method.clock_skew_secs) * 1000;
    if !saml_state::first_use_of_assertion(
        c,
        method.sso_id,
        &verified.assertion_id,
        remember_until,
    )? {
        return Ok(Err(Failure::Rejected(Rejection::Replay)));
    }
    let resolved = match identity::resolve(c, method, &Asserted::of(method, verified))? {
        Ok(resolved) => resolved,
        Err(failure) => return Ok(Err(failure)),
    };
    let user = resolved.user;
    let session = token::generate();
    sessions::create(
        c,
        &sessions::NewSession {
            token_hash: &session.hash,
            user_id: &user.id,
            node_id: method.node_id,
            sso_id: Some(method.sso_id),
            name_id: Some(&verified.name_id),
            session_index: verified.session_index.as_deref(),
            authn_instant: verified.authn_instant.map(|at| at.timestamp_millis()),
            needs_confirmation: verified.in_response_to.is_none(),
            expires_at: (idgate_store::now_millis() + SESSION_HOURS * 3_600_000).min(
                verified
                    .session_not_on_or_after
                    .map_or(i64::MAX, |end| end.timestamp_millis()),
            ),
        },
    )?;
    audit(
        c,
        method,
        "sso_login",
        &user.user_name,
        Outcome::Success,
        if resolved.created {
            "account created (JIT)"
        } else {
            ""
        },
    )?;
    Ok(Ok((session.token, crate::relay::target(relay.as_deref()))))
}

/// Logs a refusal and answers the user's page.
fn refused_page(method: &SsoMethod, failure: &Failure) -> HttpResponse {
    tracing::warn!(sso_id = %method.sso_id, rule = failure.code(), reason = %failure.detail(), "SAML sign-in refused");
    failure.page()
}

/// A refusal before the database half: audited on its own.
async fn refuse(store: &Store, method: SsoMethod, failure: Failure) -> HttpResponse {
    let (code, detail) = (failure.code(), failure.detail());
    let audited = method.clone();
    let recorded = store
        .run(move |c| {
            audit(
                c,
                &audited,
                "sso_login_failed",
                code,
                Outcome::Failure,
                &detail,
            )
        })
        .await;
    if let Err(err) = recorded {
        tracing::error!(error = %err, "cannot record a failed sign-in");
    }
    refused_page(&method, &failure)
}

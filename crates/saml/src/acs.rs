//! The assertion consumer (HTTP-POST binding) at `/api/rest/sso/saml/{sso_id}`,
//! `/api/rest/sso/saml/sso/{sso_id}` and `/api/rest/sso/ext_login/{sso_id}`.
//!
//! A response is accepted only when every rule of [`crate::validate`] holds, its InResponseTo
//! answers a pending request of this method (consumed once) or is absent with IdP-initiated
//! login allowed, its assertion id was never used, and the user may sign in. Each refusal is
//! logged and audited (`sso_login_failed`) with its rule; the browser gets a plain page.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::sso::SsoMethod;
use idgate_store::users::{self, Provenance, User, UserFields, UserStatus};
use idgate_store::{
    DbConnection, PublicBaseUrl, SsoId, StorageError, Store, events, saml_state, sessions, token,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::validate::{self, Expectations, Rejection, Verified};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "idgate_session";
/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 8;

#[derive(Debug, Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// Why a sign-in did not happen.
#[derive(Debug)]
enum Failure {
    Rejected(Rejection),
    NotConfigured,
    Locked(String),
    NoAccount(String),
    /// The NameID and the email attribute name two different existing users.
    IdentityConflict {
        name_id: String,
        email: String,
    },
    /// An address outside the method's reserved email domains.
    OutsideDomains(String),
    /// The response answers a request that another browser started (login CSRF).
    OtherBrowser,
}

impl Failure {
    fn code(&self) -> &'static str {
        match self {
            Failure::Rejected(r) => r.code(),
            Failure::NotConfigured => "not_configured",
            Failure::Locked(_) => "locked",
            Failure::NoAccount(_) => "no_account",
            Failure::IdentityConflict { .. } => "identity_conflict",
            Failure::OutsideDomains(_) => "domain",
            Failure::OtherBrowser => "other_browser",
        }
    }

    fn detail(&self) -> String {
        match self {
            Failure::Rejected(r) => r.to_string(),
            Failure::NotConfigured => "the SSO method has no imported IdP metadata".to_owned(),
            Failure::Locked(user) => format!("the account {user} is locked"),
            Failure::NoAccount(user) => {
                format!("no account for {user} and JIT provisioning is off")
            }
            Failure::IdentityConflict { name_id, email } => {
                format!("the NameID {name_id} and the email {email} are two different accounts")
            }
            Failure::OutsideDomains(address) => {
                format!("{address} is outside the SSO method's reserved email domains")
            }
            Failure::OtherBrowser => {
                "the response answers a sign-in that another browser started".to_owned()
            }
        }
    }

    fn page(&self) -> HttpResponse {
        let (status, text) = match self {
            Failure::Rejected(_) => (
                StatusCode::BAD_REQUEST,
                "Sign-in failed: the identity provider's answer could not be accepted. Start again from your identity provider, and tell your administrator if it keeps failing.",
            ),
            Failure::NotConfigured => (
                StatusCode::BAD_REQUEST,
                "Sign-in is not set up for this SSO method yet. Your administrator must import the identity provider's metadata.",
            ),
            Failure::Locked(_) => (
                StatusCode::FORBIDDEN,
                "Your account is locked. Ask your administrator to unlock it.",
            ),
            Failure::NoAccount(_) => (
                StatusCode::FORBIDDEN,
                "You have no account here yet. Ask your administrator to give you access.",
            ),
            Failure::OtherBrowser => (
                StatusCode::BAD_REQUEST,
                "Sign-in failed: it was started in another browser or window. Start again from the sign-in page.",
            ),
            Failure::IdentityConflict { .. } | Failure::OutsideDomains(_) => (
                StatusCode::FORBIDDEN,
                "Sign-in failed: the identity provider named an account that cannot sign in this way. Tell your administrator.",
            ),
        };
        let page = RefusedPage {
            heading: match self {
                Failure::NotConfigured => "Sign-in is not set up",
                _ => "Sign-in refused",
            },
            text,
            code: self.code(),
            at: crate::rfc3339(idgate_store::now_millis()),
        };
        let mut response = match askama::Template::render(&page) {
            Ok(html) => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(_) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body(text),
        };
        *response.status_mut() = status;
        response
    }
}

/// The page a refused sign-in shows: what to do, and the reason code the audit event carries.
#[derive(askama::Template)]
#[template(path = "saml/refused.html")]
struct RefusedPage<'a> {
    heading: &'a str,
    text: &'a str,
    code: &'static str,
    at: String,
}

/// The attribute names a method reads the email and names from, in order of preference.
fn names(configured: Option<&String>, defaults: &[&'static str]) -> Vec<String> {
    configured
        .into_iter()
        .cloned()
        .chain(defaults.iter().map(|d| (*d).to_owned()))
        .collect()
}

fn attribute(verified: &Verified, candidates: &[String]) -> Option<String> {
    candidates.iter().find_map(|name| {
        verified
            .attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.iter().find(|v| !v.trim().is_empty()))
            .map(|v| v.trim().to_owned())
    })
}

const EMAIL: &[&str] = &[
    "email",
    "Email",
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
];
const FIRST: &[&str] = &[
    "firstname",
    "First",
    "givenName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const LAST: &[&str] = &[
    "lastname",
    "Last",
    "sn",
    "surname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];

/// Finds the user an assertion names, creating it when JIT provisioning is on.
///
/// The NameID and the email attribute are each looked up (by userName or email, any case); when
/// they name two different users the sign-in is refused rather than one chosen. When the method
/// has reserved email domains, every address the assertion identifies the user by (the email
/// attribute, the NameID when it is an address, else the found user's email) must be in one.
fn resolve_user(
    c: &mut DbConnection,
    method: &SsoMethod,
    verified: &Verified,
) -> Result<Result<User, Failure>, StorageError> {
    let email = attribute(verified, &names(method.attr_email.as_ref(), EMAIL));
    let asserted: Vec<&str> = email
        .as_deref()
        .into_iter()
        .chain(Some(verified.name_id.as_str()).filter(|n| n.contains('@')))
        .collect();
    if let Some(outside) = asserted.iter().find(|a| !in_domains(method, a)) {
        return Ok(Err(Failure::OutsideDomains((*outside).to_owned())));
    }
    let login = email.clone().unwrap_or_else(|| verified.name_id.clone());
    let by_name_id = users::find_by_login(c, method.node_id, &verified.name_id)?;
    // JumpCloud's usual NameID is the email itself: the same lookup once is enough.
    let by_email = match &email {
        Some(address) if !address.eq_ignore_ascii_case(&verified.name_id) => {
            users::find_by_login(c, method.node_id, address)?
        }
        _ => None,
    };
    if let (Some(named), Some(mailed)) = (&by_name_id, &by_email)
        && named.id != mailed.id
    {
        return Ok(Err(Failure::IdentityConflict {
            name_id: verified.name_id.clone(),
            email: email.unwrap_or_default(),
        }));
    }
    if let Some(user) = by_email.or(by_name_id) {
        if asserted.is_empty()
            && let Some(stored) = user.email.as_deref()
            && !in_domains(method, stored)
        {
            return Ok(Err(Failure::OutsideDomains(stored.to_owned())));
        }
        if user.status == UserStatus::Locked || !user.scim_visible {
            return Ok(Err(Failure::Locked(user.user_name)));
        }
        return Ok(Ok(user));
    }
    if !method.jit {
        return Ok(Err(Failure::NoAccount(login)));
    }
    let given = attribute(verified, &names(method.attr_first_name.as_ref(), FIRST));
    let family = attribute(verified, &names(method.attr_last_name.as_ref(), LAST));
    let mut doc = json!({"userName": login, "active": true});
    if let Some(email) = &email {
        doc["emails"] = json!([{"value": email, "primary": true}]);
    }
    if given.is_some() || family.is_some() {
        doc["name"] = json!({"givenName": given, "familyName": family});
    }
    let fields = UserFields {
        user_name: login.clone(),
        email: email.or_else(|| login.contains('@').then(|| login.clone())),
        given_name: given,
        family_name: family,
        attributes: Value::to_string(&doc),
        active: true,
        ..UserFields::default()
    };
    users::insert(c, method.node_id, &fields, Provenance::Jit).map(Ok)
}

/// Whether `address` is in one of the method's reserved domains (always, when it has none).
fn in_domains(method: &SsoMethod, address: &str) -> bool {
    if method.domains.is_empty() {
        return true;
    }
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim().trim_end_matches('.');
    method
        .domains
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(domain))
}

/// Only local paths are followed after sign-in (no open redirect).
pub fn safe_relay(relay: Option<&str>) -> String {
    match relay {
        Some(r)
            if r.starts_with('/')
                && !r.starts_with("//")
                && !r.contains('\\')
                && !r.chars().any(char::is_control) =>
        {
            r.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn audit(
    c: &mut DbConnection,
    method: &SsoMethod,
    kind: &str,
    target: &str,
    outcome: Outcome,
    detail: &str,
) {
    let recorded = events::record(
        c,
        &NewEvent {
            node_id: Some(method.node_id),
            kind,
            actor: "saml",
            target: Some(target),
            outcome,
            detail,
        },
    );
    if let Err(err) = recorded {
        tracing::error!(error = %err, "cannot record a sign-in event");
    }
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
        Ok(Err(failure)) => return fail(&store, method, failure).await,
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
            let cookie = Cookie::build(SESSION_COOKIE, session_token)
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::hours(SESSION_HOURS))
                .finish();
            HttpResponse::SeeOther()
                .insert_header((LOCATION, target))
                .cookie(cookie)
                .finish()
        }
        Ok(Err(failure)) => fail(&store, method, failure).await,
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

/// The database half: InResponseTo, replay, user, session, audit. Returns the session token and
/// where to send the browser.
fn sign_in(
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
        None if method.idp_initiated => relay,
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
    let user = match resolve_user(c, method, verified)? {
        Ok(user) => user,
        Err(failure) => return Ok(Err(failure)),
    };
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
            expires_at: idgate_store::now_millis() + SESSION_HOURS * 3_600_000,
        },
    )?;
    let detail = if user.provenance == Provenance::Jit && user.version == 1 {
        "account created (JIT)"
    } else {
        ""
    };
    audit(
        c,
        method,
        "sso_login",
        &user.user_name,
        Outcome::Success,
        detail,
    );
    Ok(Ok((session.token, safe_relay(relay.as_deref()))))
}

async fn fail(store: &Store, method: SsoMethod, failure: Failure) -> HttpResponse {
    tracing::warn!(sso_id = %method.sso_id, rule = failure.code(), reason = %failure.detail(), "SAML sign-in refused");
    let (code, detail) = (failure.code(), failure.detail());
    let recorded = store
        .run(move |c| {
            audit(
                c,
                &method,
                "sso_login_failed",
                code,
                Outcome::Failure,
                &detail,
            );
            Ok(())
        })
        .await;
    if let Err(err) = recorded {
        tracing::error!(error = %err, "cannot record a failed sign-in");
    }
    failure.page()
}

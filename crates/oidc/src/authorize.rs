//! The authorization endpoint (`/oauth2/authorize`, GET and POST), the way back from the SAML
//! sign-in (`/oauth2/resume/{id}`) and IdP-initiated sign-ins into an application
//! (`/oauth2/initiate/{client_id}`, OIDC Core section 4).
//!
//! An unknown client or redirect URI gets a page, never a redirect; every other error goes
//! back to the redirect URI (RFC 6749 section 4.1.2.1) with `state` and `iss` (RFC 9207). The
//! node and SSO method are picked by `connection` (an SSO id), `organization` (a node id) or
//! `login_hint` (an email, through the reserved domains as `/login` does); otherwise the email
//! page asks. A session the browser already has is used when it fits what was asked (and
//! `prompt=login` or `max_age` do not ask for a fresh sign-in). Otherwise the authorization is
//! kept in the database and the browser goes through the method's SP-initiated sign-in; the
//! assertion consumer sends it back to `/oauth2/resume/{id}` (a path kept in the database,
//! never in the RelayState sent through the IdP), which issues the code.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use idgate_saml::login::{self, Begin};
use idgate_store::apps::{self, App, ClientId};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::oidc::{self, Authorization, Grant};
use idgate_store::sessions::Session;
use idgate_store::sso::{self, SsoMethod};
use idgate_store::{
    DbConnection, EmailDomain, IdentityKey, NodeId, PublicBaseUrl, SsoId, StorageError, Store,
    events, nodes, now_millis, token,
};

use crate::claims::granted_scope;
use crate::page;
use crate::params::Params;

/// Parameters longer than this are refused (a state or nonce has no need of more).
const MAX_PARAM: usize = 2048;
/// How much older than its authorization a session may be and still count as the sign-in
/// the authorization asked for (clocks of replicas differ a little).
const CLOCK_SLACK_MILLIS: i64 = 30_000;

/// Where errors and the code go: the registered redirect URI, with `state` and `iss`.
struct Back {
    redirect_uri: String,
    state: Option<String>,
    issuer: String,
}

impl Back {
    fn to(&self, pairs: &[(&str, &str)]) -> HttpResponse {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(url) => url,
            Err(err) => {
                tracing::error!(error = %err, "a registered redirect URI does not parse");
                return page::message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The application's address is not usable",
                    "Tell the application's administrator.",
                );
            }
        };
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in pairs {
                query.append_pair(k, v);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        HttpResponse::Found()
            .insert_header((LOCATION, url.to_string()))
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish()
    }

    /// An RFC 6749 section 4.1.2.1 error.
    fn error(&self, code: &str, description: &str) -> HttpResponse {
        tracing::info!(error = code, description, "authorization request refused");
        self.to(&[("error", code), ("error_description", description)])
    }
}

/// A validated authorization request, before the node and method are known.
struct Request {
    app: App,
    back: Back,
    asked: Validated,
}

pub async fn get(
    req: HttpRequest,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes());
    authorize(&req, params, false, &store, &base).await
}

pub async fn post(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let params = Params::parse(&body);
    let confirmed = params.confirmed_by_own_form(&req, &base);
    authorize(&req, params, confirmed, &store, &base).await
}

fn no_app_page(text: &str) -> HttpResponse {
    page::message(
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid",
        text,
    )
}

/// The checks made before anything may go back to the redirect URI: the client and its
/// redirect URI. `Err` is the page to show.
async fn client_and_redirect(
    params: &Params,
    store: &Store,
) -> Result<(App, String), HttpResponse> {
    for name in ["client_id", "redirect_uri"] {
        if params.repeated.as_deref() == Some(name) {
            return Err(no_app_page(&format!(
                "The application sent {name} more than once. Tell the application's administrator."
            )));
        }
    }
    let Some(raw) = params.get("client_id") else {
        return Err(no_app_page(
            "The application did not say which application it is (no client_id). Tell the application's administrator.",
        ));
    };
    let Ok(client_id) = raw.parse::<ClientId>() else {
        return Err(no_app_page(
            "The application is not registered with this sign-in service. Tell the application's administrator.",
        ));
    };
    let app = match store.run(move |c| apps::get(c, &client_id)).await {
        Ok(Some(app)) => app,
        Ok(None) => {
            return Err(no_app_page(
                "The application is not registered with this sign-in service. Tell the application's administrator.",
            ));
        }
        Err(err) => return Err(page::unavailable(&err)),
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(no_app_page(
            "The application did not say where to return (no redirect_uri). Tell the application's administrator.",
        ));
    };
    let Some(registered) = app.redirect_uri(redirect_uri) else {
        return Err(no_app_page(
            "The application asked to return to an address that is not registered for it. Tell the application's administrator.",
        ));
    };
    let registered = registered.as_str().to_owned();
    Ok((app, registered))
}

/// Whether `challenge` is an S256 code challenge: base64url of 32 bytes (43 characters).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An error to send back to the redirect URI: its code and description.
type Refusal = (&'static str, String);

fn refusal(code: &'static str, text: &str) -> Refusal {
    (code, text.to_owned())
}

/// The parameters that must be absent, once each, and bounded.
fn check_shape(params: &Params) -> Result<(), Refusal> {
    if let Some(name) = &params.repeated {
        return Err(refusal(
            "invalid_request",
            &format!("the parameter {name} was given more than once"),
        ));
    }
    if let Some((name, _)) = params.except(&[]).find(|(_, v)| v.len() > MAX_PARAM) {
        return Err(refusal(
            "invalid_request",
            &format!("the parameter {name} is too long"),
        ));
    }
    if params.get("request").is_some() {
        return Err(refusal(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refusal(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(refusal("invalid_request", "response_type is missing")),
        Some(_) => {
            return Err(refusal(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(refusal(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    Ok(())
}

/// The PKCE challenge: S256 only (RFC 7636), required of a public client.
fn pkce(params: &Params, public: bool) -> Result<Option<String>, Refusal> {
    let challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(refusal(
                "invalid_request",
                "the code_challenge is not an S256 challenge",
            ));
        }
        // Without a method, RFC 7636 means plain.
        (Some(_), None | Some("plain")) => {
            return Err(refusal(
                "invalid_request",
                "PKCE method plain is not accepted: use S256",
            ));
        }
        (None, Some(_)) => {
            return Err(refusal(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(refusal(
                "invalid_request",
                "the only PKCE method supported is S256",
            ));
        }
    };
    if public && challenge.is_none() {
        return Err(refusal(
            "invalid_request",
            "a public client must use PKCE (code_challenge with S256)",
        ));
    }
    Ok(challenge)
}

/// A parameter parsed as `T`, absent, or refused with `what` it should have been.
fn parsed<T: std::str::FromStr>(
    params: &Params,
    name: &str,
    what: &str,
) -> Result<Option<T>, Refusal> {
    params
        .get(name)
        .map(|raw| {
            raw.parse::<T>()
                .map_err(|_| refusal("invalid_request", &format!("{name} is not {what}")))
        })
        .transpose()
}

/// Every rule of the request that can be answered at the redirect URI.
fn validate(params: &Params, app: &App) -> Result<Validated, Refusal> {
    check_shape(params)?;
    let Some(scope) = params.get("scope").and_then(granted_scope) else {
        return Err(refusal("invalid_scope", "the scope must contain openid"));
    };
    let code_challenge = pkce(params, app.is_public())?;
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(refusal(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age: Option<u32> = parsed(params, "max_age", "a number of seconds")?;
    Ok(Validated {
        scope,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        force_login: prompts.contains(&"login") || max_age == Some(0),
        prompt_none,
        max_age: max_age.map(i64::from),
        organization: parsed(params, "organization", "a node id")?,
        connection: parsed(params, "connection", "an SSO id")?,
        login_hint: params
            .get("login_hint")
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned),
    })
}

/// What the application asked for, as [`validate`] read it.
struct Validated {
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    force_login: bool,
    prompt_none: bool,
    max_age: Option<i64>,
    organization: Option<NodeId>,
    connection: Option<SsoId>,
    login_hint: Option<String>,
}

async fn authorize(
    req: &HttpRequest,
    params: Params,
    confirmed: bool,
    store: &Store,
    base: &PublicBaseUrl,
) -> HttpResponse {
    let (app, redirect_uri) = match client_and_redirect(&params, store).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let back = Back {
        redirect_uri,
        state: params.get("state").map(str::to_owned),
        issuer: crate::issuer(base).to_owned(),
    };
    let asked = match validate(&params, &app) {
        Ok(asked) => asked,
        Err((code, text)) => return back.error(code, &text),
    };
    let request = Request { app, back, asked };
    let session = match idgate_saml::session::current(req, store).await {
        Ok(session) => session.map(|(s, _)| s),
        Err(unavailable) => return unavailable,
    };
    if let Some(session) = session.filter(|s| fits(&request, s)) {
        return from_session(store, &request, &params, &session, confirmed).await;
    }
    if request.asked.prompt_none {
        return request
            .back
            .error("login_required", "the user is not signed in");
    }
    let method = match pick(&request, store).await {
        Ok(Picked::Method(method)) => *method,
        Ok(Picked::Ask(message)) => {
            return ask_email(
                &request.app,
                &params,
                request.asked.login_hint.as_deref(),
                message.as_deref(),
            );
        }
        Ok(Picked::Refused(text)) => return request.back.error("invalid_request", &text),
        Err(err) => return page::unavailable(&err),
    };
    if !request.app.grants(method.node_id) {
        return request.back.error(
            "access_denied",
            &format!(
                "this application may not sign in people of organisation {}",
                method.node_id
            ),
        );
    }
    let id = token::generate();
    let authorization = Authorization {
        client_id: request.app.client_id.clone(),
        redirect_uri: request.back.redirect_uri.clone(),
        scope: request.asked.scope.clone(),
        state: request.back.state.clone(),
        nonce: request.asked.nonce.clone(),
        code_challenge: request.asked.code_challenge.clone(),
        node_id: method.node_id,
        sso_id: method.sso_id,
        max_age: request.asked.max_age,
        force_login: request.asked.force_login,
        created_at: now_millis(),
    };
    let expires = now_millis() + crate::AUTHORIZATION_SECONDS * 1000;
    let hash = id.hash.clone();
    if let Err(err) = store
        .run(move |c| oidc::create_authorization(c, &hash, &authorization, expires))
        .await
    {
        return page::unavailable(&err);
    }
    login::begin(
        req,
        store,
        base,
        &method,
        &Begin {
            relay: Some(format!("/oauth2/resume/{}", id.token)),
            relay_in_database_only: true,
            // With max_age too: idgate cannot tell how old the IdP's own session is.
            force_authn: request.asked.force_login || request.asked.max_age.is_some(),
        },
    )
    .await
}

/// Answers the request from the browser's session (which fits it).
async fn from_session(
    store: &Store,
    request: &Request,
    params: &Params,
    session: &Session,
    confirmed: bool,
) -> HttpResponse {
    // A session made from an unsolicited response may be someone else's (login CSRF): the
    // user says it is theirs before the application learns who it is, once.
    if session.needs_confirmation {
        if request.asked.prompt_none {
            return request
                .back
                .error("interaction_required", "the user must confirm the sign-in");
        }
        if !confirmed {
            return confirm_page(&request.app, params, session);
        }
        let hash = session.token_hash.clone();
        if let Err(err) = store
            .run(move |c| idgate_store::sessions::confirm(c, &hash))
            .await
        {
            return page::unavailable(&err);
        }
    }
    let sso = session.sso_id;
    issue_code(store, request, session, sso).await
}

/// Whether the browser's session answers the request without a new sign-in.
fn fits(request: &Request, session: &Session) -> bool {
    if request.asked.force_login || !request.app.grants(session.node_id) {
        return false;
    }
    if let Some(max_age) = request.asked.max_age
        && now_millis() - session.auth_time() > max_age.saturating_mul(1000)
    {
        return false;
    }
    if request
        .asked
        .organization
        .is_some_and(|node| node != session.node_id)
        || request
            .asked
            .connection
            .is_some_and(|sso| Some(sso) != session.sso_id)
    {
        return false;
    }
    match &request.asked.login_hint {
        None => true,
        Some(hint) => {
            let hinted = IdentityKey::of(hint);
            session.email.as_deref().map(IdentityKey::of) == Some(hinted.clone())
                || IdentityKey::of(&session.user_name) == hinted
        }
    }
}

enum Picked {
    Method(Box<SsoMethod>),
    /// Ask for an email (with why, when one was given and found nothing).
    Ask(Option<String>),
    /// The request named something that does not exist.
    Refused(String),
}

/// The SSO method the request leads to.
async fn pick(request: &Request, store: &Store) -> Result<Picked, StorageError> {
    let (organization, connection, hint) = (
        request.asked.organization,
        request.asked.connection,
        request.asked.login_hint.clone(),
    );
    store
        .run(move |c| pick_in(c, organization, connection, hint.as_deref()))
        .await
}

fn pick_in(
    c: &mut DbConnection,
    organization: Option<NodeId>,
    connection: Option<SsoId>,
    hint: Option<&str>,
) -> Result<Picked, StorageError> {
    if let Some(sso_id) = connection {
        return Ok(match sso::get(c, sso_id)? {
            Some(method) if organization.is_none_or(|node| node == method.node_id) => {
                Picked::Method(Box::new(method))
            }
            Some(_) => Picked::Refused(format!(
                "SSO method {sso_id} is not one of organisation {}",
                organization.map(|n| n.to_string()).unwrap_or_default()
            )),
            None => Picked::Refused(format!("there is no SSO method {sso_id}")),
        });
    }
    let domain = hint.and_then(EmailDomain::of_address_or_domain);
    let routed = match &domain {
        Some(domain) => sso::domain_owner(c, domain)?,
        None => None,
    };
    if let Some(node) = organization {
        if nodes::get(c, node)?.is_none() {
            return Ok(Picked::Refused(format!("there is no organisation {node}")));
        }
        if let Some((sso_id, _)) = routed.filter(|(_, owner)| *owner == node)
            && let Some(method) = sso::get(c, sso_id)?
        {
            return Ok(Picked::Method(Box::new(method)));
        }
        let methods = sso::list_for_node(c, node)?;
        if let [only] = methods.as_slice()
            && let Some(method) = sso::get(c, only.sso_id)?
        {
            return Ok(Picked::Method(Box::new(method)));
        }
        if methods.is_empty() {
            return Ok(Picked::Refused(format!(
                "organisation {node} has no SSO method"
            )));
        }
        return Ok(Picked::Ask(hint.map(|_| {
            "Single sign-on is not set up for that address in this organisation. Check the address, or ask your administrator.".to_owned()
        })));
    }
    match (hint, domain, routed) {
        (_, _, Some((sso_id, _))) => Ok(match sso::get(c, sso_id)? {
            Some(method) => Picked::Method(Box::new(method)),
            None => Picked::Ask(None),
        }),
        (Some(_), None, _) => Ok(Picked::Ask(Some(
            "That is not an email address. Enter your work email, such as jane@acme.com."
                .to_owned(),
        ))),
        (Some(_), Some(domain), None) => Ok(Picked::Ask(Some(format!(
            "Single sign-on is not set up for {domain}. Check the address, or ask your administrator."
        )))),
        (None, _, None) => Ok(Picked::Ask(None)),
    }
}

#[derive(Template)]
#[template(path = "oidc/email.html")]
struct EmailPage<'a> {
    app: &'a str,
    email: &'a str,
    message: Option<&'a str>,
    hidden: Vec<(&'a str, &'a str)>,
}

/// The email page: the request again, with the email typed as `login_hint`.
fn ask_email(
    app: &App,
    params: &Params,
    typed: Option<&str>,
    message: Option<&str>,
) -> HttpResponse {
    let page = EmailPage {
        app: &app.name,
        email: typed.unwrap_or_default(),
        message,
        hidden: params.except(&["login_hint"]).collect(),
    };
    let status = if message.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "cannot render the email page");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[derive(Template)]
#[template(path = "oidc/confirm.html")]
struct ConfirmPage<'a> {
    app: &'a str,
    who: &'a str,
    hidden: Vec<(&'a str, &'a str)>,
}

/// "Continue to the application as …?": the request again, by POST, with `confirm=yes`.
fn confirm_page(app: &App, params: &Params, session: &Session) -> HttpResponse {
    let page = ConfirmPage {
        app: &app.name,
        who: session.email.as_deref().unwrap_or(&session.user_name),
        hidden: params.except(&["confirm"]).collect(),
    };
    match page.render() {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((CACHE_CONTROL, "no-store"))
            // Not in a frame: a page of another site must not get the click.
            .insert_header(("X-Frame-Options", "DENY"))
            .insert_header(("Content-Security-Policy", "frame-ancestors 'none'"))
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "cannot render the confirmation page");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Issues a code for the session's user and sends the browser back with it.
async fn issue_code(
    store: &Store,
    request: &Request,
    session: &Session,
    sso: Option<SsoId>,
) -> HttpResponse {
    let code = token::generate();
    let grant = Grant {
        grant_id: uuid::Uuid::new_v4().simple().to_string(),
        client_id: request.app.client_id.clone(),
        redirect_uri: request.back.redirect_uri.clone(),
        scope: request.asked.scope.clone(),
        nonce: request.asked.nonce.clone(),
        code_challenge: request.asked.code_challenge.clone(),
        user_id: session.user_id.clone(),
        node_id: session.node_id,
        sso_id: sso,
        auth_time: session.auth_time(),
        // The grant ends with the SAML session (which the IdP's SessionNotOnOrAfter may
        // shorten), and never later than its length after the sign-in at the IdP.
        ends_at: session
            .expires_at
            .min(session.auth_time() + crate::GRANT_SECONDS * 1000),
    };
    let (hash, user_name, app_name) = (
        code.hash.clone(),
        session.user_name.clone(),
        request.app.name.clone(),
    );
    let expires = now_millis() + crate::CODE_SECONDS * 1000;
    let stored = store
        .run(move |c| {
            idgate_store::transaction(c, |c| {
                oidc::create_code(c, &hash, &grant, expires)?;
                events::record(
                    c,
                    &NewEvent {
                        node_id: Some(grant.node_id),
                        kind: "oidc_login",
                        actor: "oidc",
                        target: Some(&user_name),
                        outcome: Outcome::Success,
                        detail: &format!("application '{app_name}' ({})", grant.client_id),
                    },
                )
            })
        })
        .await;
    match stored {
        Ok(()) => request.back.to(&[("code", &code.token)]),
        Err(err) => page::unavailable(&err),
    }
}

/// `GET /oauth2/resume/{id}`: the assertion consumer accepted the sign-in an authorization
/// started; the code goes to the application.
pub async fn resume(
    req: HttpRequest,
    path: web::Path<String>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let hash = token::hash(&path.into_inner());
    let taken = store.run(move |c| oidc::take_authorization(c, &hash)).await;
    let authz = match taken {
        Ok(Some(authz)) => authz,
        Ok(None) => {
            return page::message(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired",
                "It took too long, or it was already completed. Go back to the application and sign in again.",
            );
        }
        Err(err) => return page::unavailable(&err),
    };
    let session = match idgate_saml::session::current(&req, &store).await {
        Ok(session) => session.map(|(s, _)| s),
        Err(unavailable) => return unavailable,
    };
    let Some(session) = session.filter(|s| {
        s.node_id == authz.node_id
            && s.sso_id == Some(authz.sso_id)
            && s.created_at >= authz.created_at - CLOCK_SLACK_MILLIS
    }) else {
        return page::message(
            StatusCode::FORBIDDEN,
            "This sign-in cannot be completed",
            "The identity provider's answer did not sign you in for this application's request. Go back to the application and sign in again.",
        );
    };
    let client_id = authz.client_id.clone();
    let app = match store.run(move |c| apps::get(c, &client_id)).await {
        Ok(Some(app)) => app,
        Ok(None) => return no_app_page("The application is no longer registered."),
        Err(err) => return page::unavailable(&err),
    };
    let authz_created = authz.created_at;
    let request = Request {
        back: Back {
            redirect_uri: authz.redirect_uri,
            state: authz.state,
            issuer: crate::issuer(&base).to_owned(),
        },
        asked: Validated {
            scope: authz.scope,
            nonce: authz.nonce,
            code_challenge: authz.code_challenge,
            force_login: authz.force_login,
            prompt_none: false,
            max_age: authz.max_age,
            organization: Some(authz.node_id),
            connection: Some(authz.sso_id),
            login_hint: None,
        },
        app,
    };
    // A fresh sign-in was asked for (prompt=login, max_age): the IdP must have authenticated
    // the user after the request, not answered from an older session of its own.
    if (request.asked.force_login || request.asked.max_age.is_some())
        && session.auth_time() < authz_created - CLOCK_SLACK_MILLIS
    {
        return request.back.error(
            "login_required",
            "the identity provider did not authenticate the user again",
        );
    }
    // The application's redirect URI or nodes may have changed meanwhile.
    if request
        .app
        .redirect_uri(&request.back.redirect_uri)
        .is_none()
    {
        return no_app_page("The application's return address is no longer registered.");
    }
    if !request.app.grants(session.node_id) {
        return request.back.error(
            "access_denied",
            &format!(
                "this application may not sign in people of organisation {}",
                session.node_id
            ),
        );
    }
    issue_code(&store, &request, &session, Some(authz.sso_id)).await
}

/// `GET /oauth2/initiate/{client_id}`: an IdP-initiated sign-in of a method whose default
/// application this is: the browser goes to the application's initiate-login URI with `iss`
/// and `login_hint`, and the application starts a code flow that the session answers.
pub async fn initiate(
    req: HttpRequest,
    path: web::Path<String>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let Ok(client_id) = path.parse::<ClientId>() else {
        return no_app_page("The application is not registered with this sign-in service.");
    };
    let session = match idgate_saml::session::current(&req, &store).await {
        Ok(Some((session, _))) => session,
        Ok(None) => {
            return page::message(
                StatusCode::UNAUTHORIZED,
                "You are not signed in",
                "Start again from your organisation's identity provider.",
            );
        }
        Err(unavailable) => return unavailable,
    };
    let app = match store.run(move |c| apps::get(c, &client_id)).await {
        Ok(Some(app)) => app,
        Ok(None) => return no_app_page("The application is no longer registered."),
        Err(err) => return page::unavailable(&err),
    };
    let Some(initiate) = app
        .initiate_login_uri
        .as_ref()
        .filter(|_| app.grants(session.node_id))
    else {
        return page::message(
            StatusCode::FORBIDDEN,
            "This application cannot be opened from here",
            "Your administrator has not set it up for sign-in from the identity provider. Open the application itself.",
        );
    };
    let Ok(mut url) = url::Url::parse(initiate.as_str()) else {
        return no_app_page("The application's sign-in address is not usable.");
    };
    url.query_pairs_mut()
        .append_pair("iss", crate::issuer(&base))
        .append_pair(
            "login_hint",
            session.email.as_deref().unwrap_or(&session.user_name),
        );
    HttpResponse::Found()
        .insert_header((LOCATION, url.to_string()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

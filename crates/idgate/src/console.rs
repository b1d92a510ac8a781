//! The admin console (server-rendered with askama): first-admin setup, sign-in with lock-out,
//! and the pages behind it. Sessions live in the database; cookies are `HttpOnly`,
//! SameSite=Strict and Secure under HTTPS; every form carries a CSRF token.
//!
//! Every change goes through [`crate::actions`], as the CLI's do. A mistake in a form answers
//! with the page again (status 400) and a message; a missing thing with a 404 page.

mod apps;
mod auth;
mod directory;
mod events;
mod home;
mod links;
mod nodes;
mod sso;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, error, middleware, web};
use askama::Template;
use idgate_store::admins::AdminSession;
use idgate_store::{Store, token};

use crate::actions::{ActionError, Actor};
use crate::pages::render;

pub use auth::issue_setup_token;

/// The console session cookie.
pub const SESSION_COOKIE: &str = "idgate_admin";
/// The pre-sign-in CSRF cookie (double submit).
pub const CSRF_COOKIE: &str = "idgate_csrf";
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;
/// Rows per page in listings.
const PAGE_SIZE: i64 = 50;
/// The last page number a listing takes (larger ones show this page, empty).
const MAX_PAGE: i64 = 1_000_000;

/// Mounts the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            // Console pages carry CSRF tokens and secrets: never framed, cached or referred.
            .wrap(
                middleware::DefaultHeaders::new()
                    .add((CACHE_CONTROL, "no-store"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Content-Security-Policy", CONSOLE_CSP))
                    .add(("Referrer-Policy", "no-referrer"))
                    .add(("X-Content-Type-Options", "nosniff")),
            )
            .default_service(web::to(|| async {
                plain(StatusCode::NOT_FOUND, "There is no such page in the console.")
            }))
            .app_data(web::FormConfig::default().limit(64 * 1024).error_handler(|err, _| {
                error::InternalError::from_response(
                    err,
                    plain(
                        StatusCode::BAD_REQUEST,
                        "The form was incomplete or malformed; go back, reload the page and try again.",
                    ),
                )
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                error::InternalError::from_response(
                    err,
                    plain(StatusCode::NOT_FOUND, "There is no such page in the console."),
                )
                .into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                error::InternalError::from_response(
                    err,
                    plain(
                        StatusCode::BAD_REQUEST,
                        "The address has a malformed query; go back and try again.",
                    ),
                )
                .into()
            }))
            .route("/assets/console.js", web::get().to(script))
            .route("", web::get().to(home::home))
            .route("/login", web::get().to(auth::login_form))
            .route("/login", web::post().to(auth::login))
            .route("/logout", web::post().to(auth::logout))
            .route("/setup", web::get().to(auth::setup_form))
            .route("/setup", web::post().to(auth::setup))
            .route("/nodes", web::post().to(home::create_node))
            .route("/nodes/{node}", web::get().to(nodes::show))
            .route("/nodes/{node}/rename", web::post().to(nodes::rename))
            .route("/nodes/{node}/sso", web::post().to(nodes::create_sso))
            .route("/nodes/{node}/scim", web::post().to(nodes::generate_token))
            .route("/nodes/{node}/users", web::get().to(directory::users))
            .route("/nodes/{node}/users/{user}", web::get().to(directory::user))
            .route(
                "/nodes/{node}/users/{user}/status",
                web::post().to(directory::set_status),
            )
            .route(
                "/nodes/{node}/users/{user}/unlink",
                web::post().to(links::unlink),
            )
            .route("/nodes/{node}/teams", web::get().to(directory::teams))
            .route("/nodes/{node}/teams", web::post().to(directory::decide))
            .route("/sso/{sso}", web::get().to(sso::show))
            .route("/sso/{sso}/idp", web::post().to(sso::import_idp))
            .route("/sso/{sso}/settings", web::post().to(sso::settings))
            .route("/sso/{sso}/rotate", web::post().to(sso::rotate))
            .route("/sso/{sso}/default-app", web::post().to(sso::default_app))
            .route("/sso/{sso}/delete", web::post().to(sso::delete))
            .route("/apps", web::get().to(apps::list))
            .route("/apps", web::post().to(apps::create))
            .route("/apps/{client_id}", web::get().to(apps::show))
            .route("/apps/{client_id}", web::post().to(apps::update))
            .route("/apps/{client_id}/rotate", web::post().to(apps::rotate))
            .route("/apps/{client_id}/delete", web::post().to(apps::delete))
            .route("/events", web::get().to(events::list))
            .route("/events/export", web::get().to(events::export)),
    );
}

/// What console pages may load and do: their own script and styles, forms posting back to the
/// console only, never framed.
const CONSOLE_CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's one script: copy buttons (`<button data-copy="element-id">`).
const SCRIPT: &str = r#"document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) return;
  var text = document.getElementById(b.dataset.copy).textContent;
  navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; });
});
"#;

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT)
}

/// A cookie for the console: HttpOnly, SameSite=Strict, Secure under HTTPS, path `/console`.
fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// The signed-in admin, if the request carries a live console session.
async fn current(req: &HttpRequest, store: &Store) -> Option<AdminSession> {
    lookup(req, store).await.unwrap_or_else(|err| {
        tracing::error!(error = %err, "cannot read the console session");
        None
    })
}

/// The request's console session, or why it could not be read.
async fn lookup(
    req: &HttpRequest,
    store: &Store,
) -> Result<Option<AdminSession>, idgate_store::StorageError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token::hash(cookie.value());
    store
        .run(move |c| idgate_store::admins::session(c, &hash))
        .await
}

/// Whether a submitted CSRF token equals the expected one (constant time).
fn csrf_matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty()
        && expected.len() == submitted.len()
        && openssl::memcmp::eq(expected.as_bytes(), submitted.as_bytes())
}

fn plain(status: StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(text.to_owned())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location.to_owned()))
        .finish()
}

fn with_status(mut response: HttpResponse, status: StatusCode) -> HttpResponse {
    *response.status_mut() = status;
    response
}

/// What every page behind sign-in shows around its content.
#[derive(Debug, Clone)]
struct Chrome {
    admin: String,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

/// A signed-in request: the admin and what the layout needs.
#[derive(Debug)]
struct Admin {
    chrome: Chrome,
    actor: Actor,
}

impl Admin {
    /// The layout with a message for the admin: a notice after a change, or an error.
    fn chrome(&self, notice: Option<&str>, error: Option<&str>) -> Chrome {
        Chrome {
            notice: notice.map(str::to_owned),
            error: error.map(str::to_owned),
            ..self.chrome.clone()
        }
    }

    /// A console page with a heading and one sentence (not found, gone …).
    fn message(&self, status: StatusCode, heading: &str, text: &str) -> HttpResponse {
        with_status(
            render(&MessagePage {
                chrome: self.chrome(None, None),
                heading,
                text,
            }),
            status,
        )
    }

    /// The answer to a form whose CSRF token is not the session's; `None` when it is.
    fn csrf_refusal(&self, submitted: &str) -> Option<HttpResponse> {
        (!csrf_matches(&self.chrome.csrf, submitted)).then(|| {
            plain(
                StatusCode::BAD_REQUEST,
                "The form expired; reload the page and try again.",
            )
        })
    }

    /// The 404 page for something a path names.
    fn not_found(&self, text: &str) -> HttpResponse {
        self.message(StatusCode::NOT_FOUND, "Not found", text)
    }

    /// The answer to an action that failed for a reason other than the form's content.
    fn failed(&self, err: &ActionError) -> HttpResponse {
        match err {
            ActionError::Invalid(why) => self.message(StatusCode::BAD_REQUEST, "Not done", why),
            ActionError::NotFound(why) => self.not_found(why),
            ActionError::Storage(e) => unavailable(e),
        }
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    chrome: Chrome,
    heading: &'a str,
    text: &'a str,
}

/// Every page behind sign-in takes an [`Admin`]: a request without a live console session is
/// sent to the sign-in page and the handler never runs (its other extractors, such as a
/// bounded form, may have been read alongside).
impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = match req.app_data::<web::Data<Store>>() {
                Some(store) => match lookup(&req, store).await {
                    Ok(session) => session,
                    Err(err) => {
                        return Err(error::InternalError::from_response(
                            "session lookup failed",
                            unavailable(&err),
                        )
                        .into());
                    }
                },
                None => None,
            };
            let Some(session) = session else {
                return Err(error::InternalError::from_response(
                    "not signed in",
                    see_other("/console/login"),
                )
                .into());
            };
            Ok(Admin {
                actor: Actor::console(&session.admin.username),
                chrome: Chrome {
                    admin: session.admin.username,
                    csrf: session.csrf_token,
                    notice: None,
                    error: None,
                },
            })
        })
    }
}

fn unavailable(err: &impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %err, "console storage failure");
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "The console is temporarily unavailable.",
    )
}

/// A form that only confirms an action (a ticked box, `confirm`) besides its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    confirm: Option<String>,
}

/// The success notices a redirect can ask a page to show (`?done=…`).
fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "node-created" => "Node created.",
        "renamed" => "Node renamed.",
        "sso-created" => {
            "SSO method created. Give the values below to your identity provider, then import its metadata."
        }
        "idp-imported" => "IdP metadata imported.",
        "saved" => "Settings saved.",
        "rotated" => {
            "New SP certificate generated. Give the identity provider the new SP metadata or certificate."
        }
        "sso-deleted" => "SSO method deleted.",
        "locked" => "User locked; their sessions were ended.",
        "unlocked" => "User unlocked.",
        "unlinked" => {
            "Identity link removed. The next sign-in through that SSO method links the account again, if the method may take it."
        }
        "decided" => "Done.",
        _ => return None,
    })
}

/// `?done=…` of a page request.
#[derive(Debug, serde::Deserialize)]
struct Done {
    done: Option<String>,
}

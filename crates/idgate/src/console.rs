//! The admin console (server-rendered with askama): first-admin setup, sign-in with lock-out,
//! and the pages behind it. Sessions live in the database; cookies are `HttpOnly`,
//! SameSite=Strict and Secure under HTTPS; every form carries a CSRF token.

mod auth;
mod home;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, web};
use idgate_store::admins::AdminSession;
use idgate_store::{Store, token};

pub use auth::issue_setup_token;

/// The console session cookie.
pub const SESSION_COOKIE: &str = "idgate_admin";
/// The pre-sign-in CSRF cookie (double submit).
pub const CSRF_COOKIE: &str = "idgate_csrf";
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Mounts the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(home::home))
        .route("/console/login", web::get().to(auth::login_form))
        .route("/console/login", web::post().to(auth::login))
        .route("/console/logout", web::post().to(auth::logout))
        .route("/console/setup", web::get().to(auth::setup_form))
        .route("/console/setup", web::post().to(auth::setup));
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
    let hash = token::hash(req.cookie(SESSION_COOKIE)?.value());
    match store
        .run(move |c| idgate_store::admins::session(c, &hash))
        .await
    {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the console session");
            None
        }
    }
}

/// Whether a submitted CSRF token equals the expected one (constant time).
fn csrf_matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty()
        && expected.len() == submitted.len()
        && openssl::memcmp::eq(expected.as_bytes(), submitted.as_bytes())
}

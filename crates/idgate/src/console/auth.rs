//! Setup of the first admin, sign-in (argon2id, lock-out after repeated failures), sign-out.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::{
    PublicBaseUrl, StorageError, Store, admins, events, now_millis, settings, token,
};
use serde::Deserialize;

use super::{
    CSRF_COOKIE, SESSION_COOKIE, SESSION_HOURS, cookie, csrf_matches, current, plain, with_status,
};
use crate::pages::render;
use crate::password;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    username: &'a str,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage<'a> {
    token: &'a str,
    username: &'a str,
    message: Option<&'a str>,
}

fn secure(base: &PublicBaseUrl) -> bool {
    base.0.starts_with("https://")
}

/// While no admin exists, creates a one-time setup token (its hash kept in the database, for
/// any replica) and returns it; `None` once an admin exists.
pub async fn issue_setup_token(store: &Store) -> Result<Option<String>, StorageError> {
    store
        .run(|c| {
            if admins::count(c)? > 0 {
                settings::delete(c, settings::SETUP_TOKEN_HASH)?;
                return Ok(None);
            }
            let fresh = token::generate();
            settings::set(c, settings::SETUP_TOKEN_HASH, &fresh.hash)?;
            Ok(Some(fresh.token))
        })
        .await
}

async fn setup_token_valid(store: &Store, presented: String) -> Result<bool, StorageError> {
    store
        .run(move |c| {
            if admins::count(c)? > 0 {
                return Ok(false);
            }
            Ok(settings::get(c, settings::SETUP_TOKEN_HASH)?
                .is_some_and(|hash| token::matches(&presented, &hash)))
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

const SETUP_GONE: &str = "This setup link is not valid (any more). An administrator exists, or idgate restarted and printed a new link in its log.";

pub async fn setup_form(query: web::Query<SetupQuery>, store: web::Data<Store>) -> HttpResponse {
    let presented = query.into_inner().token.unwrap_or_default();
    match setup_token_valid(&store, presented.clone()).await {
        Ok(true) => render(&SetupPage {
            token: &presented,
            username: "",
            message: None,
        }),
        Ok(false) => plain(StatusCode::NOT_FOUND, SETUP_GONE),
        Err(err) => {
            tracing::error!(error = %err, "cannot check the setup token");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is temporarily unavailable.",
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    token: String,
    username: String,
    password: String,
    confirm: String,
}

pub async fn setup(
    form: web::Form<SetupForm>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let form = form.into_inner();
    match setup_token_valid(&store, form.token.clone()).await {
        Ok(true) => {}
        Ok(false) => return plain(StatusCode::NOT_FOUND, SETUP_GONE),
        Err(_) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is temporarily unavailable.",
            );
        }
    }
    let again = |message: &str| {
        with_status(
            render(&SetupPage {
                token: &form.token,
                username: &form.username,
                message: Some(message),
            }),
            StatusCode::BAD_REQUEST,
        )
    };
    let name = match admins::AdminName::parse(&form.username) {
        Ok(name) => name,
        Err(why) => return again(&why),
    };
    if form.password != form.confirm {
        return again("The two passwords differ.");
    }
    let secret = form.password.clone();
    let phc = match web::block(move || password::hash(&secret)).await {
        Ok(Ok(phc)) => phc,
        Ok(Err(why)) => return again(&why.to_string()),
        Err(_) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is temporarily unavailable.",
            );
        }
    };
    let session = token::generate();
    let csrf = token::generate().token;
    let session_hash = session.hash.clone();
    let presented_hash = token::hash(&form.token);
    let created = store
        .run(move |c| {
            idgate_store::transaction(c, |c| {
                // Claiming the token is the one statement two setups at once cannot both win.
                if !settings::take(c, settings::SETUP_TOKEN_HASH, &presented_hash)?
                    || admins::count(c)? > 0
                {
                    return Ok(None);
                }
                let admin = admins::create(c, &name, &phc)
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                admins::create_session(
                    c,
                    &session_hash,
                    &admin.id,
                    &csrf,
                    now_millis() + SESSION_HOURS * 3_600_000,
                )?;
                audit(
                    c,
                    "admin_create",
                    &admin.username,
                    Outcome::Success,
                    "first administrator, by the setup link",
                );
                Ok(Some(admin))
            })
        })
        .await;
    match created {
        Ok(Some(_)) => HttpResponse::SeeOther()
            .insert_header((LOCATION, "/console"))
            .cookie(cookie(SESSION_COOKIE, session.token, secure(&base)))
            .finish(),
        Ok(None) => plain(StatusCode::NOT_FOUND, SETUP_GONE),
        Err(err) => {
            tracing::error!(error = %err, "cannot create the first administrator");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is temporarily unavailable.",
            )
        }
    }
}

fn audit(
    c: &mut idgate_store::DbConnection,
    kind: &str,
    target: &str,
    outcome: Outcome,
    detail: &str,
) {
    let recorded = events::record(
        c,
        &NewEvent {
            node_id: None,
            kind,
            actor: "console",
            target: Some(target),
            outcome,
            detail,
        },
    );
    if let Err(err) = recorded {
        tracing::error!(error = %err, "cannot record a console event");
    }
}

/// The sign-in form, with a fresh double-submit CSRF token.
fn login_page(
    username: &str,
    message: Option<&str>,
    status: StatusCode,
    secure_cookie: bool,
) -> HttpResponse {
    let csrf = token::generate().token;
    let mut response = with_status(
        render(&LoginPage {
            csrf: &csrf,
            username,
            message,
        }),
        status,
    );
    let _ = response.add_cookie(&cookie(CSRF_COOKIE, csrf, secure_cookie));
    response
}

pub async fn login_form(
    req: HttpRequest,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    if current(&req, &store).await.is_some() {
        return HttpResponse::SeeOther()
            .insert_header((LOCATION, "/console"))
            .finish();
    }
    login_page("", None, StatusCode::OK, secure(&base))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: String,
}

const WRONG: &str = "Wrong user name or password.";

/// How a sign-in attempt ended.
enum Attempt {
    SignedIn(admins::Admin),
    Wrong,
    /// Locked out for this many more minutes.
    Locked(i64),
    Unavailable,
}

/// The name an audit event records for what was typed (bounded: the field is free text).
fn typed_name(username: &str) -> String {
    username.chars().take(64).collect()
}

/// Checks a name and password. The attempt is counted before the password is checked, so
/// parallel guesses cannot get past the lock-out (see `admins::reserve_attempt`).
async fn attempt(store: &Store, username: &str, password: String) -> Attempt {
    if admins::AdminName::parse(username).is_err() {
        // No account can have such a name: nothing to look up, hash or count.
        let target = typed_name(username);
        let _ = store
            .run(move |c| {
                audit(
                    c,
                    "admin_login",
                    &target,
                    Outcome::Failure,
                    "not a user name",
                );
                Ok(())
            })
            .await;
        return Attempt::Wrong;
    }
    let lookup = username.to_owned();
    let reserved = store
        .run(move |c| {
            let Some(admin) = admins::find_by_username(c, &lookup)? else {
                return Ok(None);
            };
            let attempt = admins::reserve_attempt(c, &admin.id)?;
            if let admins::Attempt::LockedUntil(_) = attempt {
                audit(
                    c,
                    "admin_login",
                    &admin.username,
                    Outcome::Failure,
                    "locked out",
                );
            }
            Ok(Some((admin, attempt)))
        })
        .await;
    let Ok(found) = reserved else {
        return Attempt::Unavailable;
    };
    if let Some((_, admins::Attempt::LockedUntil(until))) = &found {
        return Attempt::Locked((until - now_millis()).max(0) / 60_000 + 1);
    }
    let admin = found.map(|(admin, _)| admin);
    // Hash even for an unknown name, so that timing does not tell which names exist.
    let phc = admin.as_ref().map(|a| a.password_hash.clone());
    let ok = web::block(move || {
        if let Some(phc) = phc {
            password::verify(&password, &phc)
        } else {
            let _ = password::hash("timing-equaliser-password");
            false
        }
    })
    .await
    .unwrap_or(false);
    match admin {
        Some(admin) if ok => Attempt::SignedIn(admin),
        found => {
            let (target, detail) = match found {
                Some(admin) => (admin.username, "wrong password"),
                None => (typed_name(username), "unknown user name"),
            };
            let _ = store
                .run(move |c| {
                    audit(c, "admin_login", &target, Outcome::Failure, detail);
                    Ok(())
                })
                .await;
            Attempt::Wrong
        }
    }
}

/// Opens a console session for a signed-in admin; returns the cookie's token.
async fn open_session(store: &Store, admin: admins::Admin) -> Result<String, StorageError> {
    let session = token::generate();
    let csrf = token::generate().token;
    let hash = session.hash.clone();
    store
        .run(move |c| {
            admins::record_success(c, &admin.id)?;
            admins::create_session(
                c,
                &hash,
                &admin.id,
                &csrf,
                now_millis() + SESSION_HOURS * 3_600_000,
            )?;
            audit(c, "admin_login", &admin.username, Outcome::Success, "");
            Ok(())
        })
        .await?;
    Ok(session.token)
}

pub async fn login(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let form = form.into_inner();
    let secure_cookie = secure(&base);
    let expected = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if !csrf_matches(&expected, &form.csrf) {
        return login_page(
            &form.username,
            Some("The form expired; please sign in again."),
            StatusCode::BAD_REQUEST,
            secure_cookie,
        );
    }
    let username = form.username.trim().to_owned();
    let admin = match attempt(&store, &username, form.password).await {
        Attempt::SignedIn(admin) => admin,
        Attempt::Wrong => {
            return login_page(
                &username,
                Some(WRONG),
                StatusCode::UNAUTHORIZED,
                secure_cookie,
            );
        }
        Attempt::Locked(minutes) => {
            let message = format!("Too many failed attempts: try again in {minutes} minute(s).");
            return login_page(
                &username,
                Some(&message),
                StatusCode::TOO_MANY_REQUESTS,
                secure_cookie,
            );
        }
        Attempt::Unavailable => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is temporarily unavailable.",
            );
        }
    };
    match open_session(&store, admin).await {
        Ok(session_token) => {
            let mut gone = cookie(CSRF_COOKIE, String::new(), secure_cookie);
            gone.make_removal();
            HttpResponse::SeeOther()
                .insert_header((LOCATION, "/console"))
                .cookie(cookie(SESSION_COOKIE, session_token, secure_cookie))
                .cookie(gone)
                .finish()
        }
        Err(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "The console is temporarily unavailable.",
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    req: HttpRequest,
    form: web::Form<CsrfForm>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let Some(session) = current(&req, &store).await else {
        return HttpResponse::SeeOther()
            .insert_header((LOCATION, "/console/login"))
            .finish();
    };
    if !csrf_matches(&session.csrf_token, &form.csrf) {
        return plain(
            StatusCode::BAD_REQUEST,
            "The form expired; reload the page and try again.",
        );
    }
    let hash = token::hash(
        req.cookie(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .unwrap_or_default()
            .as_str(),
    );
    let who = session.admin.username.clone();
    let _ = store
        .run(move |c| {
            admins::end_session(c, &hash)?;
            audit(c, "admin_logout", &who, Outcome::Success, "");
            Ok(())
        })
        .await;
    let mut gone = cookie(SESSION_COOKIE, String::new(), secure(&base));
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header((LOCATION, "/console/login"))
        .cookie(gone)
        .finish()
}

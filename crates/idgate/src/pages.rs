//! Pages for people: the start page, which is also where a user lands after signing in (it
//! says who they are and offers to sign out), and the rendering helper every page uses.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use idgate_store::Store;

use crate::config::Config;

/// Who is signed in, as the landing page shows it.
struct SignedIn {
    name: String,
    email: Option<String>,
    teams: Vec<String>,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    base_url: &'a str,
    user: Option<SignedIn>,
}

/// Renders an askama page, or a plain 500 if rendering itself fails.
pub fn render(page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "page rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// The user of the request's sign-in session, if it is live and the account is active.
async fn signed_in(req: &HttpRequest, store: &Store) -> Option<SignedIn> {
    // A storage failure is logged there; the start page then shows the signed-out view.
    let (session, teams) = idgate_saml::session::current(req, store).await.ok()??;
    Some(SignedIn {
        name: session
            .display_name
            .filter(|d| !d.is_empty())
            .unwrap_or(session.user_name),
        email: session.email,
        teams,
    })
}

pub async fn index(
    req: HttpRequest,
    config: web::Data<Config>,
    store: web::Data<Store>,
) -> HttpResponse {
    render(&IndexPage {
        base_url: &config.base_url,
        user: signed_in(&req, &store).await,
    })
}

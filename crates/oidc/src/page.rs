//! The pages a browser sees when a request cannot go back to the application: an unknown
//! application or redirect URI (never redirected, RFC 6749 section 4.1.2.1), an expired
//! sign-in, an unavailable store.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use askama::Template;

#[derive(Template)]
#[template(path = "oidc/message.html")]
struct Message<'a> {
    heading: &'a str,
    text: &'a str,
}

/// A plain page with a heading and a sentence.
pub(crate) fn message(status: StatusCode, heading: &str, text: &str) -> HttpResponse {
    match (Message { heading, text }).render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "cannot render a sign-in page");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(format!("{heading}. {text}"))
        }
    }
}

/// The store failed (logged here): try again.
pub(crate) fn unavailable(err: &idgate_store::StorageError) -> HttpResponse {
    tracing::error!(error = %err, "OIDC storage failure");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is temporarily unavailable",
        "Try again shortly.",
    )
}

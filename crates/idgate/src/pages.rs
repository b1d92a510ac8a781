//! Pages for people: the start page for now; the console and login pages join it.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::config::Config;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    base_url: &'a str,
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

pub async fn index(config: web::Data<Config>) -> HttpResponse {
    render(&IndexPage {
        base_url: &config.base_url,
    })
}

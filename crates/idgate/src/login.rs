//! `GET /login`: asks for an email and sends the user into the SSO method its domain is
//! reserved for (`?email=jane@acme.com`, or `?domain=acme.com` for "Enterprise SSO" login).

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::{Store, sso};
use serde::Deserialize;

use crate::pages::render;

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    email: Option<String>,
    domain: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    email: &'a str,
    message: Option<&'a str>,
}

fn page(email: &str, message: Option<&str>, status: actix_web::http::StatusCode) -> HttpResponse {
    let mut response = render(&LoginPage { email, message });
    *response.status_mut() = status;
    response
}

/// The domain part of an email, or a bare domain, lower-cased; `None` when there is none.
fn domain_of(input: &str) -> Option<String> {
    let domain = input
        .trim()
        .rsplit_once('@')
        .map_or(input.trim(), |(_, d)| d);
    let domain = domain.trim_matches('.').to_ascii_lowercase();
    (domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
    .then_some(domain)
}

pub async fn login(query: web::Query<LoginQuery>, store: web::Data<Store>) -> HttpResponse {
    use actix_web::http::StatusCode;
    let query = query.into_inner();
    let typed = query
        .email
        .clone()
        .or(query.domain.clone())
        .unwrap_or_default();
    if typed.trim().is_empty() {
        return page("", None, StatusCode::OK);
    }
    let Some(domain) = domain_of(&typed) else {
        return page(
            &typed,
            Some("That is not an email address. Enter your work email, such as jane@acme.com."),
            StatusCode::BAD_REQUEST,
        );
    };
    let lookup = domain.clone();
    match store.run(move |c| sso::find_by_domain(c, &lookup)).await {
        Ok(Some(sso_id)) => {
            let mut target = format!("/api/rest/sso/ext_login/{sso_id}");
            if let Some(relay) = query
                .relay_state
                .filter(|r| r.starts_with('/') && !r.starts_with("//"))
            {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(relay.as_bytes()).collect();
                target = format!("{target}?RelayState={encoded}");
            }
            HttpResponse::SeeOther()
                .insert_header((LOCATION, target))
                .finish()
        }
        Ok(None) => page(
            &typed,
            Some(&format!(
                "Single sign-on is not set up for {domain}. Check the address, or ask your administrator."
            )),
            StatusCode::NOT_FOUND,
        ),
        Err(err) => {
            tracing::error!(error = %err, "cannot look up the SSO domain");
            page(
                &typed,
                Some("Sign-in is temporarily unavailable. Try again shortly."),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn domains_come_from_emails_or_stand_alone() {
        assert_eq!(
            super::domain_of("Jane@Acme.COM").as_deref(),
            Some("acme.com")
        );
        assert_eq!(super::domain_of("acme.com").as_deref(), Some("acme.com"));
        assert_eq!(super::domain_of("jane"), None);
        assert_eq!(super::domain_of("jane@<script>.com"), None);
    }
}

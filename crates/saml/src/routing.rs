//! `GET /login`: asks for an email and sends the user into the SSO method its domain is
//! reserved for (`?email=jane@acme.com`, or `?domain=acme.com` for "Enterprise SSO" login). The
//! domain is read as everywhere else in idgate ([`EmailDomain`]), and a RelayState is carried on
//! only when the assertion consumer would follow it ([`crate::relay`]).

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::{EmailDomain, Store, sso};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    email: Option<String>,
    domain: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

#[derive(Template)]
#[template(path = "saml/login.html")]
struct LoginPage<'a> {
    email: &'a str,
    message: Option<&'a str>,
    relay_state: Option<&'a str>,
}

fn page(
    email: &str,
    message: Option<&str>,
    relay_state: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let page = LoginPage {
        email,
        message,
        relay_state,
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "cannot render the sign-in page");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// The handler of `GET /login`.
pub async fn login(query: web::Query<LoginQuery>, store: web::Data<Store>) -> HttpResponse {
    let query = query.into_inner();
    let relay = query
        .relay_state
        .as_deref()
        .and_then(crate::relay::local_path);
    let typed = query.email.or(query.domain).unwrap_or_default();
    if typed.trim().is_empty() {
        return page("", None, relay, StatusCode::OK);
    }
    let Some(domain) = EmailDomain::of_address_or_domain(&typed) else {
        return page(
            &typed,
            Some("That is not an email address. Enter your work email, such as jane@acme.com."),
            relay,
            StatusCode::BAD_REQUEST,
        );
    };
    let lookup = domain.clone();
    match store.run(move |c| sso::domain_owner(c, &lookup)).await {
        Ok(Some((sso_id, _))) => {
            let mut target = format!("/api/rest/sso/ext_login/{sso_id}");
            if let Some(relay) = relay {
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
            relay,
            StatusCode::NOT_FOUND,
        ),
        Err(err) => {
            tracing::error!(error = %err, "cannot look up the SSO domain");
            page(
                &typed,
                Some("Sign-in is temporarily unavailable. Try again shortly."),
                relay,
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    }
}

//! Why a sign-in did not happen: one code per rule (the audit event's target and the log's
//! `rule`), a sentence for the administrator, and a plain page for the user.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use crate::validate::Rejection;

#[derive(Debug)]
pub(crate) enum Failure {
    Rejected(Rejection),
    NotConfigured,
    Locked(String),
    NoAccount(String),
    /// The assertion names two different accounts, or an account the method links under
    /// another NameID.
    IdentityConflict(String),
    /// The method may not speak for this existing account (or this address).
    NotAuthoritative(String),
    /// An address outside the method's reserved email domains; `None` when the assertion has
    /// no address at all and the method's accounts must have one.
    OutsideDomains(Option<String>),
    /// A transient NameID and no email: nothing that names the same person twice.
    NoIdentity,
    /// A NameID or an email with a control character, which proxies and logs would drop.
    Unprintable,
    /// The response answers a request that another browser started (login CSRF).
    OtherBrowser,
}

impl Failure {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Failure::Rejected(r) => r.code(),
            Failure::NotConfigured => "not_configured",
            Failure::Locked(_) => "locked",
            Failure::NoAccount(_) => "no_account",
            Failure::IdentityConflict(_) => "identity_conflict",
            Failure::NotAuthoritative(_) => "not_authoritative",
            Failure::OutsideDomains(_) => "domain",
            Failure::NoIdentity => "no_identity",
            Failure::Unprintable => "control_character",
            Failure::OtherBrowser => "other_browser",
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            Failure::Rejected(r) => r.to_string(),
            Failure::NotConfigured => "the SSO method has no imported IdP metadata".to_owned(),
            Failure::Locked(user) => format!("the account {user} is locked"),
            Failure::NoAccount(user) => {
                format!("no account for {user} and JIT provisioning is off")
            }
            Failure::IdentityConflict(why) | Failure::NotAuthoritative(why) => why.clone(),
            Failure::OutsideDomains(Some(address)) => {
                format!("{address} is outside the SSO method's reserved email domains")
            }
            Failure::OutsideDomains(None) => "the assertion carries no email address, and the SSO method's accounts must have one in its reserved domains".to_owned(),
            Failure::NoIdentity => "the NameID is transient and the assertion carries no email attribute: no account can be named by it".to_owned(),
            Failure::Unprintable => "the NameID or the email contains a control character".to_owned(),
            Failure::OtherBrowser => {
                "the response answers a sign-in that another browser started".to_owned()
            }
        }
    }

    pub(crate) fn page(&self) -> HttpResponse {
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
            Failure::IdentityConflict(_)
            | Failure::NotAuthoritative(_)
            | Failure::OutsideDomains(_)
            | Failure::NoIdentity
            | Failure::Unprintable => (
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

//! idgate-oidc: idgate as an OpenID Connect provider in front of every node's SAML IdP.
//!
//! An application (an OIDC client, [`idgate_store::apps`]) sends the browser to the
//! authorization endpoint; idgate picks the node and SSO method, sends the user through that
//! method's SP-initiated SAML sign-in (or reuses the session the user already has), and
//! answers the application with a code it exchanges for an ID token, an access token and a
//! refresh token. One issuer (the public base URL) serves every node; the `org_id` claim
//! names the node.
//!
//! | path | what |
//! |---|---|
//! | `/.well-known/openid-configuration` | discovery ([`discovery`]) |
//! | `/oauth2/jwks` | the public keys ID tokens are signed with |
//! | `/oauth2/authorize` | the authorization endpoint ([`authorize`]) |
//! | `/oauth2/resume/{id}` | where the assertion consumer sends the browser back |
//! | `/oauth2/initiate/{client_id}` | IdP-initiated sign-ins into an application |
//! | `/oauth2/token` | the token endpoint ([`token`]) |
//! | `/oauth2/userinfo` | the userinfo endpoint ([`userinfo`]) |
//! | `/oauth2/logout` | RP-initiated logout ([`logout`]) |

pub mod authorize;
mod claims;
pub mod discovery;
pub mod jws;
pub mod keys;
pub mod logout;
mod page;
mod params;
pub mod token;
pub mod userinfo;

use actix_web::web;

/// How long an access token and an ID token last.
pub const ACCESS_TOKEN_SECONDS: i64 = 900;
/// How long a code lasts.
pub const CODE_SECONDS: i64 = 60;
/// How long a grant (its chain of refresh tokens) lasts from the sign-in at the IdP: a SAML
/// session's length.
pub const GRANT_SECONDS: i64 = idgate_saml::acs::SESSION_HOURS * 3600;
/// How long an authorization waits for the SAML sign-in.
pub const AUTHORIZATION_SECONDS: i64 = idgate_saml::login::REQUEST_MINUTES * 60;

/// Mounts the provider's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(discovery::configuration),
    )
    .route("/oauth2/jwks", web::get().to(discovery::jwks))
    .service(
        web::resource("/oauth2/authorize")
            .route(web::get().to(authorize::get))
            .route(web::post().to(authorize::post)),
    )
    .route("/oauth2/resume/{id}", web::get().to(authorize::resume))
    .route(
        "/oauth2/initiate/{client_id}",
        web::get().to(authorize::initiate),
    )
    .route("/oauth2/token", web::post().to(token::endpoint))
    .service(
        web::resource("/oauth2/userinfo")
            .route(web::get().to(userinfo::endpoint))
            .route(web::post().to(userinfo::endpoint)),
    )
    .service(
        web::resource("/oauth2/logout")
            .route(web::get().to(logout::get))
            .route(web::post().to(logout::post)),
    )
    .route("/oauth2/logged-out/{id}", web::get().to(logout::after_idp));
}

/// The issuer: the public base URL.
pub(crate) fn issuer(base: &idgate_store::PublicBaseUrl) -> &str {
    &base.0
}

/// A path of the provider as an absolute URL.
pub(crate) fn endpoint(base: &idgate_store::PublicBaseUrl, path: &str) -> String {
    format!("{}{path}", base.0)
}

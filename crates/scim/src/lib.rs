//! idgate-scim: the SCIM 2.0 server (RFC 7643/7644) that JumpCloud, Okta or Entra ID provision
//! into, mounted per node at `/api/rest/scim/v2/{node_id}`.
//!
//! Requests are authenticated by the node's bearer token ([`auth::require_bearer`]); filters are
//! parsed by `scim_v2` and evaluated or pushed down to SQL here ([`filter`]); PATCH is applied by
//! [`patch`]; storage is reached only through `idgate-store`'s repositories.

pub mod auth;
mod discovery;
mod error;
pub mod filter;
mod groups;
pub mod http;
pub mod json;
mod manager;
pub mod patch;
mod search;
mod storage;
mod users;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, web};

pub use error::{ScimError, ScimType};

/// The path prefix of every SCIM endpoint.
pub const SCIM_PREFIX: &str = "/api/rest/scim/v2";

/// A node's SCIM base URL under idgate's public base URL (what the IdP is given).
pub fn node_base_url(public_base: &str, node: idgate_store::NodeId) -> String {
    format!("{public_base}{SCIM_PREFIX}/{node}")
}

/// Mounts the SCIM scope. A known path asked with a method it does not serve answers 405;
/// anything else under the prefix answers 404; both with RFC 7644 error bodies.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(&format!("{SCIM_PREFIX}/{{node_id}}"))
            .wrap(from_fn(auth::require_bearer))
            .service(
                resource("/ServiceProviderConfig")
                    .route(web::get().to(discovery::service_provider_config)),
            )
            .service(resource("/ResourceTypes").route(web::get().to(discovery::resource_type_list)))
            .service(
                resource("/ResourceTypes/{name}").route(web::get().to(discovery::resource_type)),
            )
            .service(resource("/Schemas").route(web::get().to(discovery::schema_list)))
            .service(resource("/Schemas/{id}").route(web::get().to(discovery::schema)))
            .service(resource("/.search").route(web::post().to(search::root)))
            .service(
                resource("/Users")
                    .route(web::get().to(users::list))
                    .route(web::post().to(users::create)),
            )
            .service(resource("/Users/.search").route(web::post().to(users::search)))
            .service(
                resource("/Users/{id}")
                    .route(web::get().to(users::get))
                    .route(web::put().to(users::replace))
                    .route(web::patch().to(users::modify))
                    .route(web::delete().to(users::delete)),
            )
            .service(
                resource("/Groups")
                    .route(web::get().to(groups::list))
                    .route(web::post().to(groups::create)),
            )
            .service(resource("/Groups/.search").route(web::post().to(groups::search)))
            .service(
                resource("/Groups/{id}")
                    .route(web::get().to(groups::get))
                    .route(web::put().to(groups::replace))
                    .route(web::patch().to(groups::modify))
                    .route(web::delete().to(groups::delete)),
            )
            .default_service(web::to(unknown_endpoint)),
    )
    .service(web::scope(SCIM_PREFIX).default_service(web::to(unknown_endpoint)));
}

/// A resource whose other methods answer 405.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn unknown_endpoint(req: HttpRequest) -> ScimError {
    let method = req.method().clone();
    ScimError::not_found(format!("no SCIM endpoint for {method} {}", req.path()))
}

async fn method_not_allowed(req: HttpRequest) -> ScimError {
    ScimError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{} is not allowed on {}", req.method(), req.path()),
    )
}

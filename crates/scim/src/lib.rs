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
pub mod patch;
mod users;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, web};

pub use error::{ScimError, ScimType};

/// The path prefix of every SCIM endpoint.
pub const SCIM_PREFIX: &str = "/api/rest/scim/v2";

/// Mounts the SCIM scope. Anything under it that no resource serves gets an RFC 7644 error.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(&format!("{SCIM_PREFIX}/{{node_id}}"))
            .wrap(from_fn(auth::require_bearer))
            .route(
                "/ServiceProviderConfig",
                web::get().to(discovery::service_provider_config),
            )
            .route(
                "/ResourceTypes",
                web::get().to(discovery::resource_type_list),
            )
            .route(
                "/ResourceTypes/{name}",
                web::get().to(discovery::resource_type),
            )
            .route("/Schemas", web::get().to(discovery::schema_list))
            .route("/Schemas/{id}", web::get().to(discovery::schema))
            .route("/Users", web::post().to(users::create))
            .route("/Users", web::get().to(users::list))
            .route("/Users/.search", web::post().to(users::search))
            .route("/Users/{id}", web::get().to(users::get))
            .route("/Users/{id}", web::put().to(users::replace))
            .route("/Users/{id}", web::patch().to(users::modify))
            .route("/Users/{id}", web::delete().to(users::delete))
            .route("/Groups", web::post().to(groups::create))
            .route("/Groups", web::get().to(groups::list))
            .route("/Groups/.search", web::post().to(groups::search))
            .route("/Groups/{id}", web::get().to(groups::get))
            .route("/Groups/{id}", web::put().to(groups::replace))
            .route("/Groups/{id}", web::patch().to(groups::modify))
            .route("/Groups/{id}", web::delete().to(groups::delete))
            .default_service(web::to(unknown_endpoint)),
    )
    .service(web::scope(SCIM_PREFIX).default_service(web::to(unknown_endpoint)));
}

async fn unknown_endpoint(req: HttpRequest) -> ScimError {
    let method = req.method().clone();
    ScimError::not_found(format!("no SCIM endpoint for {method} {}", req.path()))
}

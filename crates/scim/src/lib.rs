//! idgate-scim: the SCIM 2.0 server (RFC 7643/7644) that JumpCloud, Okta or Entra ID provision
//! into, mounted per node at `/api/rest/scim/v2/{node_id}`.

mod error;

use actix_web::{HttpRequest, web};

pub use error::{ScimError, ScimType};

/// The path prefix of every SCIM endpoint.
pub const SCIM_PREFIX: &str = "/api/rest/scim/v2";

/// Mounts the SCIM scope. Anything under it that no resource serves gets an RFC 7644 error.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope(SCIM_PREFIX).default_service(web::to(unknown_endpoint)));
}

async fn unknown_endpoint(req: HttpRequest) -> ScimError {
    ScimError::not_found(format!("no SCIM endpoint at {}", req.path()))
}

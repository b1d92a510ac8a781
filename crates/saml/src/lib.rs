//! idgate-saml: the SAML 2.0 service provider side of idgate, one SSO method at a time.
//!
//! Paths keep Keeper SSO Connect's shapes (`/api/rest/sso/saml/{sso_id}`, …) so that JumpCloud
//! guides read the same. Storage is reached only through `idgate-store`'s repository API.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use idgate_store::{SsoId, Store, sso};

/// Mounts the SAML routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/rest/sso/saml/{sso_id}/cert",
        web::get().to(sp_certificate),
    );
}

/// The SP certificate of an SSO method as a PEM download (JumpCloud's "SP Certificate" upload).
#[tracing::instrument(skip(store))]
async fn sp_certificate(sso_id: web::Path<String>, store: web::Data<Store>) -> HttpResponse {
    let Ok(sso_id) = sso_id.parse::<SsoId>() else {
        return not_found();
    };
    match store.run(move |c| sso::get_summary(c, sso_id)).await {
        Ok(Some(method)) => HttpResponse::Ok()
            .content_type("application/x-pem-file")
            .insert_header(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(format!(
                    "idgate-sp-{sso_id}.pem"
                ))],
            })
            .body(method.sp_cert_pem),
        Ok(None) => not_found(),
        Err(err) => {
            tracing::error!(error = %err, "cannot read the SSO method");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("The SSO service is temporarily unavailable. Try again shortly.")
        }
    }
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("No such SSO method. Check the SSO id in the URL.")
}

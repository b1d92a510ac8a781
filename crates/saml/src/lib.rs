//! idgate-saml: the SAML 2.0 service provider side of idgate, one SSO method at a time.
//!
//! Paths keep Keeper SSO Connect's shapes (`/api/rest/sso/saml/{sso_id}`, …) so that JumpCloud
//! guides read the same. Storage is reached only through `idgate-store`'s repository API; XML
//! parsing and signatures are samael's (with xmlsec), never hand-written here.

pub mod idp;
pub mod keys;
pub mod sp;
pub mod validate;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use idgate_store::sso::SsoMethod;
use idgate_store::{PublicBaseUrl, SsoId, Store, sso};

/// Mounts the SAML routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/rest/sso/saml/{sso_id}/cert",
        web::get().to(sp_certificate),
    )
    .route(
        "/api/rest/sso/saml/{sso_id}/metadata",
        web::get().to(sp_metadata),
    );
}

async fn load(sso_id: &str, store: &Store) -> Result<SsoMethod, HttpResponse> {
    let Ok(sso_id) = sso_id.parse::<SsoId>() else {
        return Err(not_found());
    };
    match store.run(move |c| sso::get(c, sso_id)).await {
        Ok(Some(method)) => Ok(method),
        Ok(None) => Err(not_found()),
        Err(err) => {
            tracing::error!(error = %err, "cannot read the SSO method");
            Err(HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("The SSO service is temporarily unavailable. Try again shortly."))
        }
    }
}

fn download(content_type: &str, filename: String, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .body(body)
}

/// The SP certificate of an SSO method as a PEM download (JumpCloud's "SP Certificate" upload).
#[tracing::instrument(skip(store))]
async fn sp_certificate(sso_id: web::Path<String>, store: web::Data<Store>) -> HttpResponse {
    match load(&sso_id, &store).await {
        Ok(method) => download(
            "application/x-pem-file",
            format!("idgate-sp-{}.pem", method.sso_id),
            method.sp_cert_pem,
        ),
        Err(response) => response,
    }
}

/// The SP metadata of an SSO method as an XML download (JumpCloud's "SP Metadata" upload).
#[tracing::instrument(skip(store, base))]
async fn sp_metadata(
    sso_id: web::Path<String>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let method = match load(&sso_id, &store).await {
        Ok(method) => method,
        Err(response) => return response,
    };
    match sp::metadata_xml(&base.0, &method) {
        Ok(xml) => download(
            "application/samlmetadata+xml",
            format!("idgate-sp-metadata-{}.xml", method.sso_id),
            xml,
        ),
        Err(err) => {
            tracing::error!(error = %err, "cannot write SP metadata");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The SP metadata could not be produced.")
        }
    }
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("No such SSO method. Check the SSO id in the URL.")
}

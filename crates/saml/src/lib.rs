//! idgate-saml: the SAML 2.0 service provider side of idgate, one SSO method at a time.
//!
//! Paths keep Keeper SSO Connect's shapes (`/api/rest/sso/saml/{sso_id}`, …) so that JumpCloud
//! guides read the same. Storage is reached only through `idgate-store`'s repository API; XML
//! parsing and signatures are samael's (with xmlsec), never hand-written here. Encrypted
//! assertions are opened with openssl's RSA-OAEP and AES (`decrypt`, see docs/adr/0007).

pub mod acs;
mod decrypt;
mod dsig;
mod identity;
pub mod idp;
pub mod keys;
pub mod login;
mod names;
pub mod relay;
pub mod routing;
pub mod session;
pub mod slo;
pub mod sp;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod validate;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use idgate_store::sso::SsoMethod;
use idgate_store::{PublicBaseUrl, SsoId, Store, sso};

/// Mounts the SAML routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Real responses exceed actix's 16 KiB default form limit; keep an explicit bound.
    let form = web::FormConfig::default()
        .limit(validate::MAX_RESPONSE_BYTES * 4 / 3 + 8 * 1024)
        .error_handler(|err, _req| {
            let text = format!("The sign-in request could not be read: {err}");
            actix_web::error::InternalError::from_response(
                err,
                HttpResponse::BadRequest()
                    .content_type("text/plain; charset=utf-8")
                    .body(text),
            )
            .into()
        });
    for acs in [
        "/api/rest/sso/saml/{sso_id}",
        "/api/rest/sso/saml/sso/{sso_id}",
    ] {
        cfg.service(
            web::resource(acs)
                .app_data(form.clone())
                .route(web::post().to(acs::consume)),
        );
    }
    // The Login URL: GET starts SP-initiated login, POST consumes assertions.
    cfg.service(
        web::resource("/api/rest/sso/ext_login/{sso_id}")
            .app_data(form)
            .route(web::get().to(login::start))
            .route(web::post().to(acs::consume)),
    );
    cfg.route(
        "/api/rest/sso/saml/{sso_id}/cert",
        web::get().to(sp_certificate),
    )
    .route(
        "/api/rest/sso/saml/{sso_id}/metadata",
        web::get().to(sp_metadata),
    )
    .route("/login", web::get().to(routing::login))
    .route("/auth/session", web::get().to(session::session))
    .route("/auth/verify", web::get().to(session::verify))
    .route("/logout", web::post().to(session::logout))
    .service(
        web::resource("/api/rest/sso/saml/slo/{sso_id}")
            .route(web::get().to(slo::endpoint))
            .route(web::post().to(slo::endpoint)),
    );
}

/// A plain 503 page, the error logged.
pub(crate) fn unavailable(err: &idgate_store::StorageError) -> HttpResponse {
    tracing::error!(error = %err, "SSO storage failure");
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .body("The SSO service is temporarily unavailable. Try again shortly.")
}

/// Epoch milliseconds as RFC 3339.
pub(crate) fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

async fn load(sso_id: &str, store: &Store) -> Result<SsoMethod, HttpResponse> {
    let Ok(sso_id) = sso_id.parse::<SsoId>() else {
        return Err(not_found());
    };
    match store.run(move |c| sso::get(c, sso_id)).await {
        Ok(Some(method)) => Ok(method),
        Ok(None) => Err(not_found()),
        Err(err) => Err(unavailable(&err)),
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

pub(crate) fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("No such SSO method. Check the SSO id in the URL.")
}

/// Verifies a known signed response once, on the calling thread: initialises libxml2 and xmlsec
/// there (they initialise lazily behind a global lock otherwise) and proves that signature
/// verification works on this machine (for example that libxmlsec1-openssl is installed).
/// Call it at start-up on the main thread.
pub fn self_test() -> Result<(), String> {
    const RESPONSE: &str = include_str!("../tests/fixtures/jumpcloud/assertion.xml");
    const METADATA: &str = include_str!("../tests/fixtures/jumpcloud/metadata.xml");
    let idp = idp::import(METADATA).map_err(|e| e.to_string())?;
    let now = chrono::DateTime::parse_from_rfc3339("2023-11-18T16:43:05.562Z")
        .map_err(|e| e.to_string())?
        .with_timezone(&chrono::Utc);
    let expect = validate::Expectations {
        idp_entity_id: &idp.entity_id,
        idp_certs: &idp.certs,
        sp_entity_id: "ssoready-entity-id",
        acs_url: "http://localhost",
        now,
        clock_skew: chrono::Duration::seconds(0),
        allow_sha1: false,
        require_signed: idgate_store::sso::RequireSigned::Either,
        sp_key_pem: None,
        require_encryption: false,
    };
    validate::validate(RESPONSE, &expect)
        .map(|_| ())
        .map_err(|e| format!("SAML signature verification does not work here: {e}"))
}

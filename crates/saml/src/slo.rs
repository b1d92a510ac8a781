//! SP-initiated single logout: after idgate ends its own session, the browser is sent to the
//! IdP's SLO endpoint (when the metadata names one) with a LogoutRequest by the Redirect
//! binding, signed when the method signs its requests. The IdP's LogoutResponse comes back to
//! `/api/rest/sso/saml/slo/{sso_id}`.

use std::io::Write;

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use idgate_store::sso::SsoMethod;
use samael::schema::{Issuer, LogoutRequest, NameID};
use samael::traits::ToXml;
use serde::Deserialize;

use crate::sp::SpUrls;

/// The URL that carries a LogoutRequest for `name_id` to the IdP, or `None` when the IdP has
/// no SLO endpoint (or the request cannot be built, which is logged).
pub fn logout_url(
    method: &SsoMethod,
    base_url: &str,
    name_id: &str,
    session_index: Option<&str>,
) -> Option<String> {
    let slo = method.idp_slo_url.as_deref()?;
    let request = LogoutRequest {
        id: Some(crate::login::request_id()),
        version: Some("2.0".to_owned()),
        issue_instant: Some(chrono::Utc::now()),
        destination: Some(slo.to_owned()),
        issuer: Some(Issuer {
            value: Some(SpUrls::of(base_url, method).entity_id),
            ..Issuer::default()
        }),
        signature: None,
        session_index: session_index.map(str::to_owned),
        name_id: Some(NameID {
            format: None,
            value: name_id.to_owned(),
        }),
    };
    let built = (|| -> Result<String, Box<dyn std::error::Error>> {
        let xml = request.to_string().map_err(|e| format!("{e:?}"))?;
        let mut deflated = Vec::new();
        {
            let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
            encoder.write_all(xml.as_bytes())?;
        }
        let mut url = url::Url::parse(slo)?;
        url.query_pairs_mut()
            .append_pair("SAMLRequest", &openssl::base64::encode_block(&deflated));
        if method.sign_requests {
            let key = openssl::pkey::PKey::private_key_from_pem(method.sp_key_pem.as_bytes())?;
            url = samael::crypto::sign_url(url, &key)?;
        }
        Ok(url.to_string())
    })();
    match built {
        Ok(url) => Some(url),
        Err(err) => {
            tracing::error!(error = %err, sso_id = %method.sso_id, "cannot build the LogoutRequest");
            None
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SloParams {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
}

/// The IdP's answer to an SP-initiated logout (the session already ended): back to the start.
/// IdP-initiated LogoutRequests are refused with a plain page.
pub async fn returned(
    query: web::Query<SloParams>,
    form: Option<web::Form<SloParams>>,
) -> HttpResponse {
    let params = form.map_or_else(|| query.into_inner(), web::Form::into_inner);
    if params.saml_response.is_some() {
        return HttpResponse::SeeOther()
            .insert_header((LOCATION, "/"))
            .finish();
    }
    let text = if params.saml_request.is_some() {
        "Logout started by the identity provider is not supported: sign out from the application instead."
    } else {
        "This address receives the identity provider's logout answer; there is nothing to do here."
    };
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .body(text)
}

//! Logout responses. The one idgate sends back to an IdP's LogoutRequest goes by the binding the
//! IdP's metadata offers at its SLO endpoint (HTTP-Redirect, or an auto-submitting HTTP-POST
//! form when the endpoint takes POST only), and carries back, unchanged, the RelayState the IdP
//! sent with its request: bindings 3.4.3 and 3.5.3 make that a MUST, and an IdP that keeps its
//! own state there would otherwise end the user's logout on an error page. The one an IdP sends
//! back to idgate's LogoutRequest is read only for what it is: idgate's session ended before
//! the request left.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use askama::Template;
use idgate_store::sso::SsoMethod;
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::schema::{Issuer, LogoutResponse, Status, StatusCode};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;

use crate::idp::HTTP_POST;
use crate::sp::SpUrls;
use crate::validate::Rejection;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

#[derive(Template)]
#[template(path = "saml/post_logout_response.html")]
struct PostBinding<'a> {
    destination: &'a str,
    saml_response: &'a str,
    relay_state: Option<&'a str>,
}

/// The Success LogoutResponse to the IdP's LogoutRequest `in_response_to`, with its RelayState;
/// `None` when the IdP has no SLO endpoint or the answer cannot be built (which is logged).
pub(super) fn reply(
    method: &SsoMethod,
    base_url: &str,
    in_response_to: &str,
    relay_state: Option<&str>,
) -> Option<HttpResponse> {
    let slo = method.idp_slo_url.as_deref()?;
    let response = LogoutResponse {
        id: Some(crate::login::request_id()),
        in_response_to: Some(in_response_to.to_owned()),
        version: Some("2.0".to_owned()),
        issue_instant: Some(chrono::Utc::now()),
        destination: Some(slo.to_owned()),
        consent: None,
        issuer: Some(Issuer {
            value: Some(SpUrls::of(base_url, method).entity_id),
            ..Issuer::default()
        }),
        signature: None,
        status: Some(Status {
            status_code: StatusCode {
                value: Some(SUCCESS.to_owned()),
            },
            status_message: None,
            status_detail: None,
        }),
    };
    if crate::idp::slo_binding(method.idp_metadata_xml.as_deref(), slo) == HTTP_POST {
        return post(method, response, slo, relay_state);
    }
    let xml = match response.to_string() {
        Ok(xml) => xml,
        Err(err) => {
            tracing::error!(error = ?err, "cannot write the LogoutResponse");
            return None;
        }
    };
    let url = super::redirect_to(method, slo, "SAMLResponse", &xml, relay_state)?;
    Some(
        HttpResponse::Found()
            .insert_header((LOCATION, url))
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish(),
    )
}

/// The HTTP-POST binding: a page whose form posts the response (signed when the method signs
/// its messages) and the RelayState to the IdP.
fn post(
    method: &SsoMethod,
    response: LogoutResponse,
    destination: &str,
    relay_state: Option<&str>,
) -> Option<HttpResponse> {
    let xml = match xml_of(method, response) {
        Ok(xml) => xml,
        Err(err) => {
            tracing::error!(error = %err, sso_id = %method.sso_id, "cannot write the LogoutResponse");
            return None;
        }
    };
    let encoded = openssl::base64::encode_block(xml.as_bytes());
    let page = PostBinding {
        destination,
        saml_response: &encoded,
        relay_state,
    };
    match page.render() {
        Ok(html) => Some(
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((CACHE_CONTROL, "no-store"))
                .body(html),
        ),
        Err(err) => {
            tracing::error!(error = %err, "cannot render the logout POST form");
            None
        }
    }
}

/// The response's XML; with `--sign-requests on`, an enveloped signature (RSA-SHA256, SHA-256
/// digest, exclusive C14N) by the SP key, made by samael with xmlsec.
fn xml_of(method: &SsoMethod, mut response: LogoutResponse) -> Result<String, String> {
    if !method.sign_requests {
        return response.to_string().map_err(|e| e.to_string());
    }
    let cert = openssl::x509::X509::from_pem(method.sp_cert_pem.as_bytes())
        .and_then(|c| c.to_der())
        .map_err(|e| e.to_string())?;
    let key = openssl::pkey::PKey::private_key_from_pem(method.sp_key_pem.as_bytes())
        .and_then(|k| k.private_key_to_der())
        .map_err(|e| e.to_string())?;
    let id = response.id.clone().unwrap_or_default();
    let mut signature = Signature::template(&id, &CertificateDer::from(cert));
    // samael's template digests with SHA-1; idgate sends nothing it would refuse itself.
    for reference in &mut signature.signed_info.reference {
        reference.digest_method.algorithm = DigestAlgorithm::Sha256;
    }
    response.signature = Some(signature);
    let unsigned = response.to_string().map_err(|e| e.to_string())?;
    Crypto::sign_xml(unsigned, &key).map_err(|e| e.to_string())
}

/// The IdP's answer to idgate's LogoutRequest, by either binding: screened like every message,
/// and a `samlp:LogoutResponse` with its names in their SAML namespaces.
pub(super) fn read_answer(post: bool, encoded: &str) -> Result<(), Rejection> {
    let xml = if post {
        let xml = crate::validate::decode(encoded)?;
        crate::validate::screen_markup(&xml)?;
        xml
    } else {
        super::inflate(encoded)?
    };
    crate::names::check(&xml, crate::names::LOGOUT_RESPONSE)
}

//! SP-initiated single logout: after idgate ends its own session, the browser is sent to the
//! IdP's SLO endpoint (when the metadata names one) with a LogoutRequest by the Redirect
//! binding, signed when the method signs its requests. The IdP's LogoutResponse comes back to
//! `/api/rest/sso/saml/slo/{sso_id}`, which also answers LogoutRequests the IdP starts (with the
//! RelayState the IdP sent, see [`response`]).

use std::io::{Read, Write};
use std::str::FromStr;

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use idgate_store::sso::SsoMethod;
use idgate_store::{PublicBaseUrl, SsoId, Store};
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use samael::crypto::CryptoProvider;
use samael::schema::{Issuer, LogoutRequest, NameID};
use samael::traits::ToXml;
use serde::Deserialize;

use crate::sp::SpUrls;
use crate::validate::Rejection;

/// The URL that carries a LogoutRequest for `name_id` to the IdP, or `None` when the IdP has
/// no SLO endpoint (or the request cannot be built, which is logged). `relay_state`, a local
/// path, is where the browser goes when the IdP answers.
pub fn logout_url(
    method: &SsoMethod,
    base_url: &str,
    name_id: &str,
    session_index: Option<&str>,
    relay_state: Option<&str>,
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
    let xml = match request.to_string() {
        Ok(xml) => xml,
        Err(err) => {
            tracing::error!(error = ?err, "cannot write the LogoutRequest");
            return None;
        }
    };
    let relay_state = relay_state.and_then(crate::relay::local_path);
    redirect_to(method, slo, "SAMLRequest", &xml, relay_state)
}

/// `destination?{param}=<deflated, base64 message>[&RelayState=…]`, signed (`SigAlg`,
/// `Signature`, over the query in that order: bindings 3.4.4.1) when the method signs its
/// requests.
fn redirect_to(
    method: &SsoMethod,
    destination: &str,
    param: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Option<String> {
    let built = (|| -> Result<String, Box<dyn std::error::Error>> {
        let mut deflated = Vec::new();
        {
            let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
            encoder.write_all(xml.as_bytes())?;
        }
        let mut url = url::Url::parse(destination)?;
        url.query_pairs_mut()
            .append_pair(param, &openssl::base64::encode_block(&deflated));
        if let Some(relay_state) = relay_state {
            url.query_pairs_mut().append_pair("RelayState", relay_state);
        }
        if method.sign_requests {
            let key = openssl::pkey::PKey::private_key_from_pem(method.sp_key_pem.as_bytes())?;
            url = samael::crypto::sign_url(url, &key)?;
        }
        Ok(url.to_string())
    })();
    match built {
        Ok(url) => Some(url),
        Err(err) => {
            tracing::error!(error = %err, sso_id = %method.sso_id, "cannot build the redirect to the IdP");
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
    /// The IdP's state, carried back unchanged with the answer to its LogoutRequest.
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

fn plain(status: actix_web::http::StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(text.to_owned())
}

/// `GET|POST /api/rest/sso/saml/slo/{sso_id}`: the IdP's answer to an SP-initiated logout (the
/// session already ended, so back to the start), or an IdP-initiated LogoutRequest, which
/// must be signed by the IdP, recent, and never seen before: it ends the user's sessions of this
/// method and is answered with a LogoutResponse.
pub async fn endpoint(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<SloParams>,
    form: Option<web::Form<SloParams>>,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let post = form.is_some();
    let params = form.map_or_else(|| query.into_inner(), web::Form::into_inner);
    if params.saml_response.is_none() && params.saml_request.is_none() {
        return plain(
            actix_web::http::StatusCode::BAD_REQUEST,
            "This address receives the identity provider's logout messages; there is nothing to do here.",
        );
    }
    let Ok(sso_id) = path.parse::<SsoId>() else {
        return crate::not_found();
    };
    let method = match store.run(move |c| idgate_store::sso::get(c, sso_id)).await {
        Ok(Some(method)) => method,
        Ok(None) => return crate::not_found(),
        Err(err) => return crate::unavailable(&err),
    };
    let Some(saml_request) = params.saml_request else {
        // The answer to idgate's own LogoutRequest: the session ended before it was sent, so
        // only what the message is, is checked. The RelayState idgate sent with it (a local
        // path: an application's logout finishing) is followed.
        let answer = params.saml_response.unwrap_or_default();
        // Only the RelayState idgate itself sends (an application's logout in progress): the
        // answer is not signed, so it leads nowhere else.
        let next = params
            .relay_state
            .as_deref()
            .filter(|r| r.starts_with("/oauth2/logged-out/"))
            .map_or_else(|| "/".to_owned(), |r| crate::relay::target(Some(r)));
        return match response::read_answer(post, &answer) {
            Ok(()) => HttpResponse::SeeOther()
                .insert_header((LOCATION, next))
                .finish(),
            Err(rejection) => refused(&store, &method, &rejection, ANSWER_REFUSED).await,
        };
    };
    let slo_url = SpUrls::of(&base.0, &method).slo_url;
    let raw_query = req.query_string().to_owned();
    let checked = {
        let method = method.clone();
        let params = SloParams {
            saml_request: Some(saml_request),
            ..params
        };
        web::block(move || {
            let (xml, relay) = if post {
                // RelayState is outside the POST binding's signature by the binding itself.
                verify_posted(&method, params.saml_request.as_deref().unwrap_or_default())
                    .map(|xml| (xml, params.relay_state.clone()))
            } else {
                verify_redirect(&method, &raw_query, &params)
            }?;
            check_request(&method, &slo_url, &xml, chrono::Utc::now()).map(|c| (c, relay))
        })
        .await
    };
    let (checked, relay_state) = match checked {
        Ok(Ok(checked)) => checked,
        Ok(Err(rejection)) => return refused(&store, &method, &rejection, REQUEST_REFUSED).await,
        Err(_) => return HttpResponse::ServiceUnavailable().finish(),
    };
    let request_id = checked.id.clone();
    match end_sessions(&store, &method, &checked).await {
        Ok(true) => {}
        Ok(false) => {
            return refused(&store, &method, &Rejection::Replay, REQUEST_REFUSED).await;
        }
        Err(err) => return crate::unavailable(&err),
    }
    response::reply(&method, &base.0, &request_id, relay_state.as_deref()).unwrap_or_else(|| {
        HttpResponse::SeeOther()
            .insert_header((LOCATION, "/"))
            .finish()
    })
}

const REQUEST_REFUSED: &str = "The logout request could not be accepted.";
const ANSWER_REFUSED: &str = "You are signed out here, but the identity provider's answer to the logout could not be accepted.";

/// Logs and audits (`sso_logout_failed`, the rule's code as target) a refused logout message;
/// the browser gets `text`.
async fn refused(
    store: &Store,
    method: &SsoMethod,
    rejection: &Rejection,
    text: &str,
) -> HttpResponse {
    tracing::warn!(sso_id = %method.sso_id, rule = rejection.code(), reason = %rejection, "IdP logout message refused");
    let (node, code, detail) = (method.node_id, rejection.code(), rejection.to_string());
    let recorded = store
        .run(move |c| {
            idgate_store::events::record(
                c,
                &idgate_store::events::NewEvent {
                    node_id: Some(node),
                    kind: "sso_logout_failed",
                    actor: "idp",
                    target: Some(code),
                    outcome: idgate_store::events::Outcome::Failure,
                    detail: &detail,
                },
            )
        })
        .await;
    if let Err(err) = recorded {
        tracing::error!(error = %err, "cannot record a refused logout request");
    }
    plain(actix_web::http::StatusCode::BAD_REQUEST, text)
}

/// Records the request's ID (refusing a second use, on any replica) and ends the sessions of
/// its NameID; `false` for a replay.
async fn end_sessions(
    store: &Store,
    method: &SsoMethod,
    checked: &CheckedLogout,
) -> Result<bool, idgate_store::StorageError> {
    let sso_id = method.sso_id;
    let node = method.node_id;
    let name_id = checked.name_id.clone();
    let request_id = checked.id.clone();
    let remember_until = checked.remember_until.timestamp_millis();
    store
        .run(move |c| {
            if !idgate_store::saml_state::first_use_of_logout_request(
                c,
                sso_id,
                &request_id,
                remember_until,
            )? {
                return Ok(false);
            }
            let count = idgate_store::sessions::delete_for_name_id(c, sso_id, &name_id)?;
            idgate_store::events::record(
                c,
                &idgate_store::events::NewEvent {
                    node_id: Some(node),
                    kind: "sso_logout",
                    actor: "idp",
                    target: Some(&name_id),
                    outcome: idgate_store::events::Outcome::Success,
                    detail: &format!("{count} session(s) ended by the IdP"),
                },
            )?;
            Ok(true)
        })
        .await
}

/// A posted LogoutRequest with an enveloped XML signature: the signed LogoutRequest, reduced to
/// what the signature covers.
fn verify_posted(method: &SsoMethod, posted: &str) -> Result<String, Rejection> {
    let xml = crate::validate::decode(posted)?;
    crate::validate::screen_markup(&xml)?;
    let certs = crate::validate::certificates_of(&method.idp_certs)?;
    // Before xmlsec dereferences anything (see crate::dsig).
    crate::dsig::screen(&xml, crate::dsig::LOGOUT_REQUEST, method.allow_sha1)?;
    let reduced = samael::crypto::Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        &xml,
        &certs,
        samael::crypto::ReduceMode::ValidateAndMarkNoAncestors,
        crate::validate::allowed_algorithms(method.allow_sha1),
    )
    .map_err(|_| Rejection::BadSignature)?;
    let local = reduced
        .split('<')
        .find(|t| !t.starts_with('?') && !t.trim().is_empty())
        .and_then(|t| {
            t.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
        })
        .map(|name| name.rsplit(':').next().unwrap_or(name).to_owned());
    if local.as_deref() != Some("LogoutRequest") {
        return Err(Rejection::NotSigned("logout request"));
    }
    Ok(reduced)
}

/// A LogoutRequest by the Redirect binding: the signature covers the query string. Returns the
/// inflated request and the RelayState, both read from the very pairs the signature covers
/// (never from a key spelt otherwise, such as `Relay%53tate`, which the signature would not
/// cover).
fn verify_redirect(
    method: &SsoMethod,
    raw_query: &str,
    params: &SloParams,
) -> Result<(String, Option<String>), Rejection> {
    let raw = |key: &str| {
        raw_query.split('&').find_map(|part| {
            part.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v.to_owned())
        })
    };
    let decode = |v: &str| {
        url::form_urlencoded::parse(format!("v={v}").as_bytes())
            .next()
            .map(|(_, d)| d.into_owned())
    };
    let (Some(request), Some(sig_alg), Some(signature)) =
        (raw("SAMLRequest"), raw("SigAlg"), raw("Signature"))
    else {
        return Err(Rejection::NotSigned("logout request"));
    };
    let raw_relay = raw("RelayState");
    let relay = raw_relay.as_deref().and_then(decode);
    // What the handler read must be what the signature covers.
    if decode(&request) != params.saml_request || relay != params.relay_state {
        return Err(Rejection::NotSigned("logout request"));
    }
    let mut signed = format!("SAMLRequest={request}");
    if let Some(raw_relay) = &raw_relay {
        signed.push_str("&RelayState=");
        signed.push_str(raw_relay);
    }
    signed.push_str("&SigAlg=");
    signed.push_str(&sig_alg);
    let digest = match decode(&sig_alg).as_deref() {
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") => MessageDigest::sha256(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384") => MessageDigest::sha384(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512") => MessageDigest::sha512(),
        Some("http://www.w3.org/2000/09/xmldsig#rsa-sha1") if method.allow_sha1 => {
            MessageDigest::sha1()
        }
        Some("http://www.w3.org/2000/09/xmldsig#rsa-sha1") => return Err(Rejection::Sha1),
        Some(other) => return Err(Rejection::Algorithm(other.to_owned())),
        None => return Err(Rejection::BadSignature),
    };
    let signature = decode(&signature)
        .and_then(|s| openssl::base64::decode_block(&s).ok())
        .ok_or(Rejection::BadSignature)?;
    let verified = method.idp_certs.iter().any(|pem| {
        openssl::x509::X509::from_pem(pem.as_bytes())
            .and_then(|cert| cert.public_key())
            .and_then(|key| {
                let mut verifier = Verifier::new(digest, &key)?;
                verifier.update(signed.as_bytes())?;
                verifier.verify(&signature)
            })
            .unwrap_or(false)
    });
    if !verified {
        return Err(Rejection::BadSignature);
    }
    let xml = inflate(&decode(&request).unwrap_or_default())?;
    Ok((xml, relay))
}

/// A message of the Redirect binding: base64 of DEFLATE, bounded once inflated, then screened.
fn inflate(encoded: &str) -> Result<String, Rejection> {
    let deflated =
        openssl::base64::decode_block(encoded.trim()).map_err(|_| Rejection::NotBase64)?;
    let mut xml = String::new();
    std::io::Read::take(
        DeflateDecoder::new(&deflated[..]),
        crate::validate::MAX_RESPONSE_BYTES as u64,
    )
    .read_to_string(&mut xml)
    .map_err(|_| Rejection::NotXml("the message does not inflate".to_owned()))?;
    crate::validate::screen_markup(&xml)?;
    Ok(xml)
}

/// A verified LogoutRequest that may be acted on once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedLogout {
    pub id: String,
    pub name_id: String,
    /// Until when its ID must be remembered (replay protection).
    pub remember_until: DateTime<Utc>,
}

/// A `samlp:LogoutRequest` (its names in their SAML namespaces), issuer, destination, a NameID,
/// an ID, an IssueInstant no older than [`crate::validate::MAX_MESSAGE_AGE`] and not in the
/// future, and NotOnOrAfter when present, all with the method's skew.
fn check_request(
    method: &SsoMethod,
    slo_url: &str,
    xml: &str,
    now: DateTime<Utc>,
) -> Result<CheckedLogout, Rejection> {
    crate::names::check(xml, crate::names::LOGOUT_REQUEST)?;
    let request = LogoutRequest::from_str(xml).map_err(|e| Rejection::NotXml(e.to_string()))?;
    let expected = method.idp_entity_id.clone().unwrap_or_default();
    let issuer = request
        .issuer
        .as_ref()
        .and_then(|i| i.value.clone())
        .unwrap_or_default();
    if issuer.trim() != expected {
        return Err(Rejection::Issuer {
            expected,
            found: issuer,
        });
    }
    // Every request acted on is signed (by either binding), and a signed message names where it
    // was sent (bindings 3.4.5.2, 3.5.5.2).
    let destination = request
        .destination
        .as_deref()
        .ok_or(Rejection::NoDestination("logout request"))?;
    if destination != slo_url {
        return Err(Rejection::Destination {
            expected: slo_url.to_owned(),
            found: destination.to_owned(),
        });
    }
    let name_id = request
        .name_id
        .as_ref()
        .map(|n| n.value.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or(Rejection::NoNameId)?;
    let id = request
        .id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or(Rejection::NoId)?;
    let skew = Duration::seconds(i64::from(method.clock_skew_secs));
    let instant = request.issue_instant.ok_or(Rejection::NoIssueInstant)?;
    crate::validate::check_issue_instant(instant, now, skew)?;
    // samael's LogoutRequest has no NotOnOrAfter: read from the same (verified) text.
    let not_on_or_after = not_on_or_after(xml)?;
    if let Some(until) = not_on_or_after
        && now >= until + skew
    {
        return Err(Rejection::Expired(until));
    }
    let remember_until = not_on_or_after
        .unwrap_or(instant)
        .max(instant + crate::validate::MAX_MESSAGE_AGE)
        + skew;
    Ok(CheckedLogout {
        id,
        name_id,
        remember_until,
    })
}

/// The root element's NotOnOrAfter, when it has one.
fn not_on_or_after(xml: &str) -> Result<Option<DateTime<Utc>>, Rejection> {
    let document = libxml::parser::Parser::default()
        .parse_string(xml)
        .map_err(|_| Rejection::NotXml("libxml2 cannot parse it".to_owned()))?;
    let Some(value) = document
        .get_root_readonly()
        .and_then(|root| root.get_attribute("NotOnOrAfter"))
    else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| Rejection::NotXml(format!("NotOnOrAfter '{value}' is not a time")))
}

mod response;

#[cfg(test)]
mod tests;

//! Importing IdP metadata: JumpCloud's export (free-text entityID, HTTP-POST only, one signing
//! certificate, no SLO) and the common shapes (Redirect binding, several certificates during a
//! rotation, EntitiesDescriptor wrappers). Metadata without a signing certificate is refused:
//! without one, nothing could be verified.

use std::str::FromStr;

use idgate_store::sso::IdpSettings;
use samael::metadata::{EntityDescriptor, EntityDescriptorType};

use crate::keys::pem_from_metadata;

pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// The largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the metadata is larger than {MAX_METADATA_BYTES} bytes")]
    TooLarge,
    #[error("the metadata contains a DTD or an entity declaration, which is refused")]
    Dtd,
    #[error("the metadata is not valid SAML metadata XML: {0}")]
    Xml(String),
    #[error("the metadata describes no identity provider (no IDPSSODescriptor)")]
    NoIdentityProvider,
    #[error("the identity provider has no entityID")]
    NoEntityId,
    #[error(
        "the identity provider has no SingleSignOnService with the HTTP-POST or HTTP-Redirect binding"
    )]
    NoSingleSignOn,
    #[error(
        "the identity provider has no signing certificate; without one no response could be verified"
    )]
    NoSigningCertificate,
}

/// Reads IdP metadata into the settings an SSO method keeps.
pub fn import(xml: &str) -> Result<IdpSettings, ImportError> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(ImportError::TooLarge);
    }
    let upper = xml.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(ImportError::Dtd);
    }
    let root = EntityDescriptorType::from_str(xml.trim_start_matches('\u{feff}'))
        .map_err(|e| ImportError::Xml(first_line(&e.to_string())))?;
    let entity: &EntityDescriptor = root
        .iter()
        .find(|e| {
            e.idp_sso_descriptors
                .as_ref()
                .is_some_and(|d| !d.is_empty())
        })
        .ok_or(ImportError::NoIdentityProvider)?;
    let entity_id = entity
        .entity_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(ImportError::NoEntityId)?
        .to_owned();
    let descriptors = entity.idp_sso_descriptors.as_deref().unwrap_or_default();
    let sso_location = |binding: &str| {
        descriptors
            .iter()
            .flat_map(|d| &d.single_sign_on_services)
            .find(|s| s.binding == binding)
            .map(|s| s.location.trim().to_owned())
    };
    let sso_post_url = sso_location(HTTP_POST);
    let sso_redirect_url = sso_location(HTTP_REDIRECT);
    if sso_post_url.is_none() && sso_redirect_url.is_none() {
        return Err(ImportError::NoSingleSignOn);
    }
    let logout_url = descriptors
        .iter()
        .flat_map(|d| &d.single_logout_services)
        .find(|s| s.binding == HTTP_REDIRECT || s.binding == HTTP_POST)
        .map(|s| s.location.trim().to_owned());
    let mut certs: Vec<String> = Vec::new();
    for key in descriptors.iter().flat_map(|d| &d.key_descriptors) {
        if key.key_use.as_deref().is_some_and(|u| u != "signing") {
            continue;
        }
        let texts = key.key_info.x509_data.iter().flat_map(|x| &x.certificates);
        for pem in texts.filter_map(|t| pem_from_metadata(t)) {
            if !certs.contains(&pem) {
                certs.push(pem);
            }
        }
    }
    if certs.is_empty() {
        return Err(ImportError::NoSigningCertificate);
    }
    Ok(IdpSettings {
        entity_id,
        metadata_xml: xml.to_owned(),
        sso_post_url,
        sso_redirect_url,
        slo_url: logout_url,
        certs,
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests;

//! Importing IdP metadata: JumpCloud's export (free-text entityID, HTTP-POST only, one signing
//! certificate, no SLO) and the common shapes (Redirect binding, several certificates during a
//! rotation, EntitiesDescriptor wrappers). Metadata without a signing certificate is refused:
//! without one, nothing could be verified. So is metadata past its `validUntil`, and metadata
//! that describes several identity providers unless the one to import is named. Certificates
//! that expire soon (or have) are reported, not refused: they still verify signatures, and
//! replacing them is the IdP admin's act.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use idgate_store::sso::IdpSettings;
use samael::metadata::{EntityDescriptor, EntityDescriptorType};

use crate::keys::pem_from_metadata;

pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// The largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// How far ahead a certificate's end is reported.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;

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
        "the metadata describes {} identity providers ({}); name the one to import by its entity id",
        .0.len(),
        .0.join(", ")
    )]
    SeveralEntities(Vec<String>),
    #[error("the metadata has no identity provider '{wanted}' (it has: {})", .found.join(", "))]
    NoSuchEntity { wanted: String, found: Vec<String> },
    #[error(
        "the metadata expired at {} (validUntil); export it again from the identity provider",
        .0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    Expired(DateTime<Utc>),
    #[error(
        "the identity provider has no SingleSignOnService with the HTTP-POST or HTTP-Redirect binding"
    )]
    NoSingleSignOn,
    #[error(
        "the identity provider has no signing certificate; without one no response could be verified"
    )]
    NoSigningCertificate,
}

/// Reads IdP metadata describing one identity provider, valid now, into the settings an SSO
/// method keeps.
pub fn import(xml: &str) -> Result<IdpSettings, ImportError> {
    import_entity(xml, None, Utc::now())
}

/// Reads the identity provider `entity_id` (needed when the metadata describes several) from
/// metadata that must still be valid at `now`.
pub fn import_entity(
    xml: &str,
    entity_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<IdpSettings, ImportError> {
    let root = parse(xml)?;
    let found = identity_providers(&root);
    let ids: Vec<String> = found.iter().map(|(e, _)| entity_id_of(e)).collect();
    let (entity, valid_until) = match entity_id.map(str::trim) {
        Some(wanted) => found
            .iter()
            .find(|(e, _)| entity_id_of(e) == wanted)
            .ok_or_else(|| ImportError::NoSuchEntity {
                wanted: wanted.to_owned(),
                found: ids.clone(),
            })?,
        None => match &found[..] {
            [] => return Err(ImportError::NoIdentityProvider),
            [only] => only,
            _ => return Err(ImportError::SeveralEntities(ids)),
        },
    };
    if let Some(until) = *valid_until
        && now >= until
    {
        return Err(ImportError::Expired(until));
    }
    let entity_id = Some(entity_id_of(entity))
        .filter(|id| !id.is_empty())
        .ok_or(ImportError::NoEntityId)?;
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
    // Redirect first: idgate's own LogoutRequests go by that binding.
    let logout_location = |binding: &str| {
        descriptors
            .iter()
            .flat_map(|d| &d.single_logout_services)
            .find(|s| s.binding == binding)
            .map(|s| s.location.trim().to_owned())
    };
    let logout_url = logout_location(HTTP_REDIRECT).or_else(|| logout_location(HTTP_POST));
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

/// The entity ids of the identity providers a metadata document describes (for a choice).
pub fn identity_provider_ids(xml: &str) -> Vec<String> {
    parse(xml)
        .map(|root| {
            identity_providers(&root)
                .iter()
                .map(|(e, _)| entity_id_of(e))
                .collect()
        })
        .unwrap_or_default()
}

fn parse(xml: &str) -> Result<EntityDescriptorType, ImportError> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(ImportError::TooLarge);
    }
    let upper = xml.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(ImportError::Dtd);
    }
    EntityDescriptorType::from_str(xml.trim_start_matches('\u{feff}'))
        .map_err(|e| ImportError::Xml(first_line(&e.to_string())))
}

fn entity_id_of(entity: &EntityDescriptor) -> String {
    entity
        .entity_id
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned()
}

/// Every entity with an IDPSSODescriptor, with the earliest `validUntil` that bounds it (its
/// own, that of each of its `IDPSSODescriptor`s, and those of every `EntitiesDescriptor` around
/// it).
fn identity_providers(
    root: &EntityDescriptorType,
) -> Vec<(&EntityDescriptor, Option<DateTime<Utc>>)> {
    fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    let mut out = Vec::new();
    let mut pending = vec![(root, None)];
    while let Some((node, bound)) = pending.pop() {
        match node {
            EntityDescriptorType::EntitiesDescriptor(group) => {
                let bound = earliest(bound, group.valid_until);
                pending.extend(group.descriptors.iter().rev().map(|d| (d, bound)));
            }
            EntityDescriptorType::EntityDescriptor(entity) => {
                let descriptors = entity.idp_sso_descriptors.as_deref().unwrap_or_default();
                if descriptors.is_empty() {
                    continue;
                }
                let own = descriptors
                    .iter()
                    .fold(earliest(bound, entity.valid_until), |b, d| {
                        earliest(b, d.valid_until)
                    });
                out.push((entity, own));
            }
        }
    }
    out
}

/// The binding to send a message to the IdP's SLO endpoint `slo_url` with: HTTP-POST when the
/// stored metadata offers only that binding there, else HTTP-Redirect.
pub fn slo_binding(metadata_xml: Option<&str>, slo_url: &str) -> &'static str {
    let Some(root) = metadata_xml.and_then(|xml| parse(xml).ok()) else {
        return HTTP_REDIRECT;
    };
    let providers = identity_providers(&root);
    let bindings: Vec<&str> = providers
        .iter()
        .flat_map(|(e, _)| e.idp_sso_descriptors.as_deref().unwrap_or_default())
        .flat_map(|d| &d.single_logout_services)
        .filter(|s| s.location.trim() == slo_url)
        .map(|s| s.binding.as_str())
        .collect();
    if bindings.contains(&HTTP_POST) && !bindings.contains(&HTTP_REDIRECT) {
        HTTP_POST
    } else {
        HTTP_REDIRECT
    }
}

/// An IdP signing certificate that has expired, or expires within
/// [`CERTIFICATE_WARNING_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpiringCertificate {
    /// The certificate's subject, as `CN=…, O=…`.
    pub subject: String,
    pub not_after: DateTime<Utc>,
    pub expired: bool,
}

impl std::fmt::Display for ExpiringCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = self.not_after.format("%Y-%m-%d");
        if self.expired {
            write!(
                f,
                "the IdP signing certificate {} expired on {day}; it still verifies sign-ins until the IdP's new certificate is imported",
                self.subject
            )
        } else {
            write!(
                f,
                "the IdP signing certificate {} expires on {day}; import the IdP's metadata again once it has a new certificate",
                self.subject
            )
        }
    }
}

/// The certificates among `pems` that have expired at `now` or expire within
/// [`CERTIFICATE_WARNING_DAYS`] of it.
pub fn expiring_certificates(pems: &[String], now: DateTime<Utc>) -> Vec<ExpiringCertificate> {
    let horizon = now + chrono::Duration::days(CERTIFICATE_WARNING_DAYS);
    pems.iter()
        .filter_map(|pem| openssl::x509::X509::from_pem(pem.as_bytes()).ok())
        .filter_map(|cert| {
            let not_after = asn1_to_utc(cert.not_after())?;
            (not_after <= horizon).then(|| ExpiringCertificate {
                subject: subject_of(&cert),
                not_after,
                expired: not_after <= now,
            })
        })
        .collect()
}

fn asn1_to_utc(time: &openssl::asn1::Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(time).ok()?;
    DateTime::from_timestamp(i64::from(diff.days) * 86_400 + i64::from(diff.secs), 0)
}

fn subject_of(cert: &openssl::x509::X509) -> String {
    let parts: Vec<String> = cert
        .subject_name()
        .entries()
        .filter_map(|entry| {
            let key = entry.object().nid().short_name().ok()?;
            let value = entry.data().to_string().ok()?;
            Some(format!("{key}={value}"))
        })
        .collect();
    if parts.is_empty() {
        "(no subject)".to_owned()
    } else {
        parts.join(", ")
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests;

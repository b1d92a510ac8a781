//! The SP side of an SSO method: its URLs (Keeper's shapes) and its metadata document.

use idgate_store::SsoId;
use idgate_store::sso::SsoMethod;
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EncryptionMethod, Endpoint, EntityDescriptor, IndexedEndpoint, KeyDescriptor, SpSsoDescriptor,
};
use samael::traits::ToXml;

use crate::idp::{HTTP_POST, HTTP_REDIRECT};
use crate::keys::pem_body;

/// Every URL of an SSO method, as an admin copies them into the IdP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpUrls {
    pub entity_id: String,
    /// The assertion consumer (ACS) URL.
    pub acs_url: String,
    /// Also consumes assertions; the "Login URL" JumpCloud is given (SP-initiated start on GET).
    pub login_url: String,
    pub metadata_url: String,
    pub cert_url: String,
    pub slo_url: String,
}

impl SpUrls {
    pub fn new(base_url: &str, sso_id: SsoId, custom_entity_id: Option<&str>) -> Self {
        let base = base_url.trim_end_matches('/');
        let saml = format!("{base}/api/rest/sso/saml/{sso_id}");
        Self {
            entity_id: custom_entity_id.map_or_else(|| saml.clone(), str::to_owned),
            acs_url: saml.clone(),
            login_url: format!("{base}/api/rest/sso/ext_login/{sso_id}"),
            metadata_url: format!("{saml}/metadata"),
            cert_url: format!("{saml}/cert"),
            slo_url: format!("{base}/api/rest/sso/saml/slo/{sso_id}"),
        }
    }

    pub fn of(base_url: &str, method: &SsoMethod) -> Self {
        Self::new(base_url, method.sso_id, method.sp_entity_id.as_deref())
    }

    /// Every URL at which this method consumes assertions (HTTP-POST binding).
    pub fn assertion_consumers(&self, base_url: &str, sso_id: SsoId) -> Vec<String> {
        let base = base_url.trim_end_matches('/');
        vec![
            self.acs_url.clone(),
            format!("{base}/api/rest/sso/saml/sso/{sso_id}"),
            self.login_url.clone(),
        ]
    }
}

pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The SP metadata document of a method.
pub fn metadata_xml(base_url: &str, method: &SsoMethod) -> Result<String, String> {
    let urls = SpUrls::of(base_url, method);
    let cert = pem_body(&method.sp_cert_pem);
    let key = |key_use: &str| KeyDescriptor {
        key_use: Some(key_use.to_owned()),
        key_info: KeyInfo {
            id: None,
            x509_data: Some(X509Data {
                certificates: vec![cert.clone()],
            }),
        },
        // What the assertion consumer decrypts (crate::decrypt), strongest first: an IdP that
        // reads them picks from these.
        encryption_methods: (key_use == "encryption").then(|| {
            crate::decrypt::CONTENT_ALGORITHMS
                .iter()
                .chain(&crate::decrypt::KEY_TRANSPORT_ALGORITHMS)
                .map(|algorithm| EncryptionMethod {
                    algorithm: (*algorithm).to_owned(),
                })
                .collect()
        }),
    };
    let consumers = urls
        .assertion_consumers(base_url, method.sso_id)
        .into_iter()
        .enumerate()
        .map(|(index, location)| IndexedEndpoint {
            binding: HTTP_POST.to_owned(),
            location,
            response_location: None,
            index,
            is_default: Some(index == 0),
        })
        .collect();
    let slo = |binding: &str| Endpoint {
        binding: binding.to_owned(),
        location: urls.slo_url.clone(),
        response_location: None,
    };
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".to_owned()),
        key_descriptors: Some(vec![key("signing"), key("encryption")]),
        single_logout_services: Some(vec![slo(HTTP_REDIRECT), slo(HTTP_POST)]),
        name_id_formats: Some(vec![NAMEID_EMAIL.to_owned(), NAMEID_UNSPECIFIED.to_owned()]),
        authn_requests_signed: Some(method.sign_requests),
        want_assertions_signed: Some(true),
        assertion_consumer_services: consumers,
        ..SpSsoDescriptor::default()
    };
    let entity = EntityDescriptor {
        entity_id: Some(urls.entity_id),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    entity.to_string().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use idgate_store::sso::{RequireSigned, SsoMethod};
    use samael::metadata::EntityDescriptor;

    use super::*;

    fn method(entity: Option<&str>) -> SsoMethod {
        let pair = crate::keys::generate("test").unwrap();
        SsoMethod {
            sso_id: "123456789012".parse().unwrap(),
            node_id: "1234567890123456".parse().unwrap(),
            name: "JumpCloud".into(),
            sp_entity_id: entity.map(str::to_owned),
            sp_key_pem: pair.key_pem,
            sp_cert_pem: pair.cert_pem,
            idp_entity_id: None,
            idp_metadata_xml: None,
            idp_sso_post_url: None,
            idp_sso_redirect_url: None,
            idp_slo_url: None,
            idp_certs: Vec::new(),
            jit: true,
            idp_initiated: true,
            clock_skew_secs: 180,
            sign_requests: true,
            allow_sha1: false,
            require_signed: RequireSigned::Either,
            require_encryption: false,
            default_app_id: None,
            attr_email: None,
            attr_first_name: None,
            attr_last_name: None,
            domains: Vec::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn urls_keep_keepers_shapes() {
        let urls = SpUrls::new(
            "https://sso.acme.test/",
            "123456789012".parse().unwrap(),
            None,
        );
        assert_eq!(
            urls.entity_id,
            "https://sso.acme.test/api/rest/sso/saml/123456789012"
        );
        assert_eq!(urls.acs_url, urls.entity_id);
        assert_eq!(
            urls.login_url,
            "https://sso.acme.test/api/rest/sso/ext_login/123456789012"
        );
        let custom = SpUrls::new(
            "https://sso.acme.test",
            "123456789012".parse().unwrap(),
            Some("acme-sp"),
        );
        assert_eq!(custom.entity_id, "acme-sp");
        assert_eq!(
            custom.acs_url, urls.acs_url,
            "a custom entity id does not move the ACS"
        );
    }

    #[test]
    fn metadata_lists_the_acs_urls_keys_and_signing_flag() {
        let m = method(Some("urn:acme:sp"));
        let xml = metadata_xml("https://sso.acme.test", &m).unwrap();
        let parsed = EntityDescriptor::from_str(&xml).unwrap();
        assert_eq!(parsed.entity_id.as_deref(), Some("urn:acme:sp"));
        let sp = &parsed.sp_sso_descriptors.as_ref().unwrap()[0];
        let acs: Vec<&str> = sp
            .assertion_consumer_services
            .iter()
            .map(|e| e.location.as_str())
            .collect();
        assert_eq!(
            acs,
            [
                "https://sso.acme.test/api/rest/sso/saml/123456789012",
                "https://sso.acme.test/api/rest/sso/saml/sso/123456789012",
                "https://sso.acme.test/api/rest/sso/ext_login/123456789012",
            ]
        );
        assert!(
            sp.assertion_consumer_services
                .iter()
                .all(|e| e.binding == HTTP_POST)
        );
        assert_eq!(sp.authn_requests_signed, Some(true));
        let keys = sp.key_descriptors.as_ref().unwrap();
        let uses: Vec<_> = keys.iter().map(|k| k.key_use.as_deref()).collect();
        assert_eq!(uses, [Some("signing"), Some("encryption")]);
        assert_eq!(keys[0].encryption_methods, None);
        let methods: Vec<&str> = keys[1]
            .encryption_methods
            .iter()
            .flatten()
            .map(|m| m.algorithm.as_str())
            .collect();
        assert_eq!(
            methods,
            [
                "http://www.w3.org/2009/xmlenc11#aes256-gcm",
                "http://www.w3.org/2009/xmlenc11#aes128-gcm",
                "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
                "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                "http://www.w3.org/2009/xmlenc11#rsa-oaep",
                "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
            ],
            "what the assertion consumer decrypts, never rsa-1_5"
        );
        assert_eq!(
            keys[1].key_info.x509_data.as_ref().unwrap().certificates,
            keys[0].key_info.x509_data.as_ref().unwrap().certificates,
            "assertions are encrypted for the SP key"
        );
        let cert = &keys[0].key_info.x509_data.as_ref().unwrap().certificates[0];
        assert_eq!(crate::keys::pem_from_metadata(cert).unwrap(), m.sp_cert_pem);
        assert!(
            sp.name_id_formats
                .as_ref()
                .unwrap()
                .contains(&NAMEID_EMAIL.to_owned())
        );
        assert_eq!(
            sp.single_logout_services.as_ref().unwrap()[0].location,
            "https://sso.acme.test/api/rest/sso/saml/slo/123456789012"
        );
    }
}

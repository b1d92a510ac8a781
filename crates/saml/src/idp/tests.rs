use super::*;

const JUMPCLOUD: &str = include_str!("../../tests/fixtures/jumpcloud/metadata.xml");

fn cert_body() -> String {
    let pair = crate::keys::generate("test idp").unwrap();
    crate::keys::pem_body(&pair.cert_pem)
}

fn metadata(body: &str) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.test/metadata">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{body}</md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

fn key(use_: &str, cert: &str) -> String {
    format!(
        r"<md:KeyDescriptor{use_}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
}

const POST_SSO: &str = r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/sso/post"/>"#;
const REDIRECT_SSO: &str = r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso/redirect"/>"#;

#[test]
fn jumpclouds_export_imports() {
    let idp = import(JUMPCLOUD).unwrap();
    assert_eq!(
        idp.entity_id, "IdP Entity ID",
        "JumpCloud's entityID is free text"
    );
    assert_eq!(
        idp.sso_post_url.as_deref(),
        Some("https://sso.jumpcloud.com/saml2/ucariontest")
    );
    assert_eq!(idp.sso_redirect_url, None);
    assert_eq!(idp.slo_url, None);
    assert_eq!(idp.certs.len(), 1);
    assert!(idp.certs[0].starts_with("-----BEGIN CERTIFICATE-----"));
}

#[test]
fn redirect_bindings_rotations_and_wrappers_import() {
    let (a, b) = (cert_body(), cert_body());
    let body = format!(
        r#"{}{}{}{POST_SSO}{REDIRECT_SSO}<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/slo"/>"#,
        key(r#" use="signing""#, &a),
        key("", &b),
        key(r#" use="encryption""#, &cert_body()),
    );
    let wrapped = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{}</md:EntitiesDescriptor>"#,
        metadata(&body)
    );
    for doc in [metadata(&body), wrapped] {
        let idp = import(&doc).unwrap();
        assert_eq!(
            idp.certs.len(),
            2,
            "both signing certificates of a rotation, not the encryption one"
        );
        assert_eq!(
            idp.sso_redirect_url.as_deref(),
            Some("https://idp.example.test/sso/redirect")
        );
        assert_eq!(idp.slo_url.as_deref(), Some("https://idp.example.test/slo"));
    }
}

#[test]
fn unusable_metadata_is_refused_with_its_reason() {
    let signing = key(r#" use="signing""#, &cert_body());
    assert_eq!(
        import(&metadata(POST_SSO)),
        Err(ImportError::NoSigningCertificate)
    );
    assert_eq!(
        import(&metadata(&format!(
            "{}{POST_SSO}",
            key(r#" use="encryption""#, &cert_body())
        ))),
        Err(ImportError::NoSigningCertificate)
    );
    assert_eq!(
        import(&metadata(&signing)),
        Err(ImportError::NoSingleSignOn)
    );
    let dtd = format!(
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
        metadata(&format!("{signing}{POST_SSO}"))
    );
    assert_eq!(import(&dtd), Err(ImportError::Dtd));
    assert!(matches!(import("<not metadata"), Err(ImportError::Xml(_))));
    assert_eq!(
        import(&"x".repeat(MAX_METADATA_BYTES + 1)),
        Err(ImportError::TooLarge)
    );
    let sp_only = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#;
    assert_eq!(import(sp_only), Err(ImportError::NoIdentityProvider));
}

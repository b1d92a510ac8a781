use chrono::{DateTime, Utc};

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

fn at(instant: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(instant)
        .unwrap()
        .with_timezone(&Utc)
}

fn entity(entity_id: &str, attributes: &str, body: &str) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}"{attributes}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{body}</md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

#[test]
fn several_identity_providers_need_the_one_to_import_named() {
    let body = format!("{}{POST_SSO}", key(r#" use="signing""#, &cert_body()));
    let sp = r#"<md:EntityDescriptor entityID="https://sp.example.test"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#;
    let federation = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{}{sp}<md:EntitiesDescriptor>{}</md:EntitiesDescriptor></md:EntitiesDescriptor>"#,
        entity("https://a.example.test", "", &body),
        entity("https://b.example.test", "", &body),
    );
    let ids = vec![
        "https://a.example.test".to_owned(),
        "https://b.example.test".to_owned(),
    ];
    assert_eq!(
        import(&federation),
        Err(ImportError::SeveralEntities(ids.clone()))
    );
    assert!(
        ImportError::SeveralEntities(ids.clone())
            .to_string()
            .contains("https://a.example.test, https://b.example.test"),
        "the refusal lists the entity ids"
    );
    assert_eq!(identity_provider_ids(&federation), ids);
    let chosen = import_entity(&federation, Some("https://b.example.test"), Utc::now()).unwrap();
    assert_eq!(chosen.entity_id, "https://b.example.test");
    assert_eq!(
        import_entity(&federation, Some("https://c.example.test"), Utc::now()),
        Err(ImportError::NoSuchEntity {
            wanted: "https://c.example.test".to_owned(),
            found: ids
        })
    );
    // One identity provider beside an SP: no name needed.
    let single = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{}{sp}</md:EntitiesDescriptor>"#,
        entity("https://a.example.test", "", &body)
    );
    assert_eq!(import(&single).unwrap().entity_id, "https://a.example.test");
}

#[test]
fn metadata_past_its_valid_until_is_refused() {
    let body = format!("{}{POST_SSO}", key(r#" use="signing""#, &cert_body()));
    let until = r#" validUntil="2024-06-01T00:00:00Z""#;
    let before = at("2024-05-31T23:59:59Z");
    let after = at("2024-06-01T00:00:00Z");
    let own = entity("https://idp.example.test", until, &body);
    let enclosing = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2030-01-01T00:00:00Z"><md:EntitiesDescriptor validUntil="2024-06-01T00:00:00Z">{}</md:EntitiesDescriptor></md:EntitiesDescriptor>"#,
        entity("https://idp.example.test", "", &body)
    );
    let role = entity("https://idp.example.test", "", &body).replace(
        "<md:IDPSSODescriptor ",
        r#"<md:IDPSSODescriptor validUntil="2024-06-01T00:00:00Z" "#,
    );
    for doc in [own, enclosing, role] {
        assert!(import_entity(&doc, None, before).is_ok(), "{doc}");
        assert_eq!(
            import_entity(&doc, None, after),
            Err(ImportError::Expired(after)),
            "{doc}"
        );
    }
    assert!(
        import(&entity("https://idp.example.test", until, &body))
            .unwrap_err()
            .to_string()
            .contains("expired at 2024-06-01T00:00:00Z")
    );
}

#[test]
fn the_logout_binding_follows_the_metadata() {
    let signing = key(r#" use="signing""#, &cert_body());
    let slo = |binding: &str, location: &str| {
        format!(
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:{binding}" Location="{location}"/>"#
        )
    };
    let both = metadata(&format!(
        "{signing}{}{}{POST_SSO}",
        slo("HTTP-POST", "https://idp.example.test/slo/post"),
        slo("HTTP-Redirect", "https://idp.example.test/slo/redirect"),
    ));
    let imported = import(&both).unwrap();
    assert_eq!(
        imported.slo_url.as_deref(),
        Some("https://idp.example.test/slo/redirect"),
        "Redirect first"
    );
    assert_eq!(
        slo_binding(Some(&both), "https://idp.example.test/slo/redirect"),
        HTTP_REDIRECT
    );
    let post_only = metadata(&format!(
        "{signing}{}{POST_SSO}",
        slo("HTTP-POST", "https://idp.example.test/slo")
    ));
    assert_eq!(
        import(&post_only).unwrap().slo_url.as_deref(),
        Some("https://idp.example.test/slo")
    );
    assert_eq!(
        slo_binding(Some(&post_only), "https://idp.example.test/slo"),
        HTTP_POST
    );
    assert_eq!(
        slo_binding(None, "https://idp.example.test/slo"),
        HTTP_REDIRECT
    );
    assert_eq!(
        slo_binding(Some(""), "https://idp.example.test/slo"),
        HTTP_REDIRECT
    );
}

#[test]
fn certificates_near_or_past_their_end_are_reported() {
    let now = Utc::now();
    let soon = crate::testing::TestIdp::with_certificate_days(-100, 10).cert_pem;
    let gone = crate::testing::TestIdp::with_certificate_days(-100, -1).cert_pem;
    let later = crate::testing::TestIdp::with_certificate_days(-100, 31).cert_pem;
    let found = expiring_certificates(&[soon, gone, later], now);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(!found[0].expired);
    assert!(
        (found[0].not_after - now - chrono::Duration::days(10))
            .num_seconds()
            .abs()
            < 60
    );
    assert_eq!(found[0].subject, "CN=throw-away test IdP");
    assert!(found[0].to_string().contains("expires on"), "{}", found[0]);
    assert!(found[1].expired);
    assert!(found[1].to_string().contains("expired on"), "{}", found[1]);
    // JumpCloud's certificate ends on 2028-11-18.
    let jumpcloud = import(JUMPCLOUD).unwrap().certs;
    assert!(expiring_certificates(&jumpcloud, at("2023-11-18T16:43:05Z")).is_empty());
    let near = expiring_certificates(&jumpcloud, at("2028-11-01T00:00:00Z"));
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].not_after, at("2028-11-18T16:28:09Z"));
}

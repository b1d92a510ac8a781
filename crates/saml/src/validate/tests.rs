//! The real JumpCloud capture: accepted at its instant and parameters, refused when a byte, the
//! clock, the audience or the ACS differs, each with its own reason.

use chrono::{DateTime, Duration, Utc};
use idgate_store::sso::RequireSigned;

use super::*;

const RESPONSE: &str = include_str!("../../tests/fixtures/jumpcloud/assertion.xml");
const METADATA: &str = include_str!("../../tests/fixtures/jumpcloud/metadata.xml");

fn at(instant: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(instant)
        .unwrap()
        .with_timezone(&Utc)
}

fn certs() -> Vec<String> {
    crate::idp::import(METADATA).unwrap().certs
}

fn expect(certs: &[String]) -> Expectations<'_> {
    Expectations {
        idp_entity_id: "IdP Entity ID",
        idp_certs: certs,
        sp_entity_id: "ssoready-entity-id",
        acs_url: "http://localhost",
        now: at("2023-11-18T16:43:05.562Z"),
        clock_skew: Duration::seconds(180),
        allow_sha1: false,
        require_signed: RequireSigned::Either,
        sp_key_pem: None,
        require_encryption: false,
    }
}

#[test]
fn the_capture_is_accepted_at_its_instant_and_parameters() {
    let certs = certs();
    let verified = validate(&decode(RESPONSE).unwrap(), &expect(&certs)).unwrap();
    assert_eq!(verified.name_id, "ulysse.carion@codomaindata.com");
    assert_eq!(
        verified.assertion_id,
        "UQCW5ZYPIJUA5HQCFIIJQFKUTA7B4QPKZU5T1ZEE"
    );
    assert_eq!(verified.signed, "assertion");
    assert_eq!(verified.in_response_to, None);
    assert_eq!(
        verified.session_index.as_deref(),
        Some("247ae9c9-2820-42da-9f71-6c940231f614")
    );
    assert_eq!(check_in_response_to(&verified, None, true), Ok(()));
    assert_eq!(
        check_in_response_to(&verified, None, false),
        Err(Rejection::Unsolicited)
    );
    // Base64, as posted by the browser.
    let b64 = openssl::base64::encode_block(RESPONSE.as_bytes());
    assert_eq!(
        validate(&decode(&b64).unwrap(), &expect(&certs))
            .unwrap()
            .name_id,
        verified.name_id
    );
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    let certs = certs();
    let tampered = RESPONSE.replace(
        "ulysse.carion@codomaindata.com",
        "ulysse.carioN@codomaindata.com",
    );
    assert_eq!(
        validate(&tampered, &expect(&certs)),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn the_clock_is_checked_with_the_skew() {
    let certs = certs();
    let mut e = expect(&certs);
    e.now = at("2023-11-18T16:48:05.562Z") + Duration::seconds(180) + Duration::milliseconds(1);
    assert!(matches!(validate(RESPONSE, &e), Err(Rejection::Expired(_))));
    e.now = at("2023-11-18T16:48:05.562Z") + Duration::seconds(170);
    assert!(
        validate(RESPONSE, &e).is_ok(),
        "within the skew after expiry"
    );
    e.now = at("2023-11-18T16:38:05.562Z") - Duration::seconds(181);
    assert!(matches!(
        validate(RESPONSE, &e),
        Err(Rejection::NotYetValid(_))
    ));
    // Within the skew before NotBefore, but the IssueInstant is still minutes ahead.
    e.now = at("2023-11-18T16:38:05.562Z") - Duration::seconds(170);
    assert_eq!(
        validate(RESPONSE, &e),
        Err(Rejection::IssuedInFuture(at("2023-11-18T16:43:05.562Z")))
    );
    e.now = at("2023-11-18T16:43:05.562Z") - Duration::seconds(170);
    assert!(
        validate(RESPONSE, &e).is_ok(),
        "an IdP clock slightly ahead is tolerated"
    );
}

#[test]
fn the_issue_instant_is_bounded_with_the_skew() {
    let issued = at("2023-11-18T16:43:05.562Z");
    let skew = Duration::seconds(180);
    assert_eq!(
        check_issue_instant(issued, issued + MAX_MESSAGE_AGE + skew, skew),
        Ok(())
    );
    assert_eq!(
        check_issue_instant(
            issued,
            issued + MAX_MESSAGE_AGE + skew + Duration::milliseconds(1),
            skew
        ),
        Err(Rejection::IssuedTooLongAgo(issued))
    );
    assert_eq!(
        check_issue_instant(issued, issued - Duration::seconds(181), skew),
        Err(Rejection::IssuedInFuture(issued))
    );
    assert_eq!(
        check_issue_instant(issued, issued - Duration::seconds(180), skew),
        Ok(())
    );
}

#[test]
fn the_capture_passes_the_reference_screening_and_a_changed_shape_does_not() {
    let certs = certs();
    let e = expect(&certs);
    let reference = r##"<ds:Reference URI="#UQCW5ZYPIJUA5HQCFIIJQFKUTA7B4QPKZU5T1ZEE">"##;
    assert!(RESPONSE.contains(reference));
    let elsewhere = RESPONSE.replace(reference, r#"<ds:Reference URI="file:///dev/zero">"#);
    assert_eq!(
        validate(&elsewhere, &e),
        Err(Rejection::ReferenceUri("file:///dev/zero".to_owned()))
    );
    let with_comments = RESPONSE.replacen(
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#,
        1,
    );
    assert_eq!(
        validate(&with_comments, &e),
        Err(Rejection::Transform(
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments".to_owned()
        ))
    );
}

#[test]
fn another_audience_acs_or_issuer_is_refused() {
    let certs = certs();
    let mut e = expect(&certs);
    e.sp_entity_id = "https://sso.acme.test/api/rest/sso/saml/123456789012";
    assert!(matches!(
        validate(RESPONSE, &e),
        Err(Rejection::Audience { .. })
    ));
    let mut e = expect(&certs);
    e.acs_url = "https://sso.acme.test/api/rest/sso/saml/123456789012";
    assert!(matches!(
        validate(RESPONSE, &e),
        Err(Rejection::Destination { .. })
    ));
    let mut e = expect(&certs);
    e.idp_entity_id = "https://other-idp.test";
    assert!(matches!(
        validate(RESPONSE, &e),
        Err(Rejection::Issuer { .. })
    ));
}

#[test]
fn signing_requirements_and_keys_are_enforced() {
    let certs = certs();
    let mut e = expect(&certs);
    e.require_signed = RequireSigned::Response;
    assert_eq!(
        validate(RESPONSE, &e),
        Err(Rejection::NotSigned("response"))
    );
    e.require_signed = RequireSigned::Assertion;
    assert!(validate(RESPONSE, &e).is_ok());
    let other = vec![crate::keys::generate("not the idp").unwrap().cert_pem];
    assert_eq!(
        validate(RESPONSE, &expect(&other)),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        validate(RESPONSE, &expect(&[])),
        Err(Rejection::NoCertificate)
    );
}

#[test]
fn hostile_or_broken_input_is_refused_before_verification() {
    let certs = certs();
    let e = expect(&certs);
    let commented = RESPONSE.replace(
        "ulysse.carion@codomaindata.com",
        "ulysse.carion@codomaindata.com<!---->.evil",
    );
    assert_eq!(validate(&commented, &e), Err(Rejection::Comment));
    let dtd = format!(
        "<!DOCTYPE r [<!ENTITY x \"y\">]>{}",
        RESPONSE.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    assert_eq!(validate(&dtd, &e), Err(Rejection::Dtd));
    assert!(matches!(
        validate("<saml2p:Response", &e),
        Err(Rejection::NotXml(_))
    ));
    assert_eq!(decode("%%% not base64 %%%"), Err(Rejection::NotBase64));
    assert_eq!(
        decode(&"A".repeat(MAX_RESPONSE_BYTES * 2)),
        Err(Rejection::TooLarge)
    );
    assert_eq!(
        validate(&"x".repeat(MAX_RESPONSE_BYTES + 1), &e),
        Err(Rejection::TooLarge)
    );
}

#[test]
fn the_root_element_is_read_with_its_namespace() {
    assert_eq!(root_element(RESPONSE), Some(Root::Response));
    let assertion = r#"<?xml version="1.0"?>
<a:Assertion xmlns:a="urn:oasis:names:tc:SAML:2.0:assertion" ID="x"/>"#;
    assert_eq!(root_element(assertion), Some(Root::Assertion));
    assert_eq!(
        root_element(r#"<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>"#),
        Some(Root::Assertion)
    );
    assert_eq!(
        root_element(r#"<x:Assertion xmlns:x="urn:evil"/>"#),
        None,
        "a look-alike namespace is not SAML"
    );
    assert_eq!(root_element("<Other/>"), None);
}

#[test]
fn the_start_up_self_test_passes() {
    assert_eq!(crate::self_test(), Ok(()));
}

#[test]
fn the_captures_unsigned_envelope_is_read_by_the_book() {
    let certs = certs();
    let e = expect(&certs);
    let code = |xml: &str| validate(xml, &e).err().map(|r| r.code());
    assert_eq!(code(RESPONSE), None);
    let root = RESPONSE.replacen(
        "<saml2p:Response xmlns:saml2p=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
        "<saml2p:Response xmlns:saml2p=\"urn:oasis:names:tc:SAML:1.0:protocol\"",
        1,
    );
    assert_eq!(code(&root), Some("envelope"));
    let status = RESPONSE.replacen(
        "<saml2p:Status>",
        "<saml2p:Status xmlns:saml2p=\"urn:other\">",
        1,
    );
    assert_eq!(code(&status), Some("namespace"));
    let version = RESPONSE.replacen(
        r#"ID="FQRGC12D4KDUUFHSRZXZ27C8ZT1WHAMF1JBQCISX" IssueInstant="2023-11-18T16:43:05.562Z" Version="2.0""#,
        r#"ID="FQRGC12D4KDUUFHSRZXZ27C8ZT1WHAMF1JBQCISX" IssueInstant="2023-11-18T16:43:05.562Z" Version="2.1""#,
        1,
    );
    assert_eq!(code(&version), Some("version"));
    // Its response is not signed: no Destination would be fine (the Recipient still rules).
    let undirected = RESPONSE.replacen(r#" Destination="http://localhost""#, "", 1);
    assert_eq!(code(&undirected), None);
    let verified = validate(RESPONSE, &e).unwrap();
    assert_eq!(
        verified.session_not_on_or_after, None,
        "JumpCloud sends none"
    );
}

#[test]
fn the_document_the_signature_covers_is_held_to_the_names_on_its_own() {
    use crate::testing::{Claims, TestIdp, assertion_xml, response_around};
    const ACS: &str = "https://sso.acme.test/api/rest/sso/saml/123456789012";
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_reduced");
    let assertion = assertion_xml(&c, true).replacen(
        "<saml:Audience>",
        r#"<saml:Audience xmlns:saml="urn:other">"#,
        1,
    );
    let xml = idp.sign(&response_around(&c, &assertion));
    let certs = [idp.cert_pem.clone()];
    let e = Expectations {
        idp_entity_id: crate::testing::IDP_ENTITY,
        idp_certs: &certs,
        sp_entity_id: ACS,
        acs_url: ACS,
        now: Utc::now(),
        clock_skew: Duration::seconds(180),
        allow_sha1: false,
        require_signed: RequireSigned::Either,
        sp_key_pem: None,
        require_encryption: false,
    };
    // Past the envelope's own check (as a decrypted assertion would be), verify() refuses it.
    let envelope = Response::from_str(&xml).unwrap();
    assert_eq!(
        verify(&xml, &envelope, &e).err().map(|r| r.code()),
        Some("namespace")
    );
    assert_eq!(validate(&xml, &e).unwrap_err().code(), "namespace");
}

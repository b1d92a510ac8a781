//! The walk itself, on documents that need no signature: what samael would read by its local
//! name is refused unless it is in its SAML namespace, and nothing else is looked at.

use std::str::FromStr;

use super::*;

const P: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const A: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

fn response(inner: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="{P}" xmlns:saml="{A}" ID="_r" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>idp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#
    )
}

const ASSERTION: &str = r#"<saml:Assertion ID="_a" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>idp</saml:Issuer><saml:Subject><saml:NameID>jane@acme.test</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="https://sp/acs" NotOnOrAfter="2024-01-01T00:05:00Z"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions><saml:AudienceRestriction><saml:Audience>sp</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="2024-01-01T00:00:00Z"/><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>jane@acme.test</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#;

fn namespace_of_refusal(result: Result<(), Rejection>) -> Option<String> {
    match result {
        Err(Rejection::Namespace { name, .. }) => Some(name),
        _ => None,
    }
}

#[test]
fn a_response_in_its_namespaces_passes() {
    assert_eq!(check(&response(ASSERTION), RESPONSE), Ok(()));
    assert_eq!(check(&response(ASSERTION), SIGNED), Ok(()));
    // Default namespaces and other prefixes are the same names.
    let unprefixed = format!(
        r#"<?xml version="1.0"?><Response xmlns="{P}" ID="_r" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><Issuer xmlns="{A}">idp</Issuer><Status><StatusCode Value="x"/></Status><a:Assertion xmlns:a="{A}" ID="_a" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><a:Issuer>idp</a:Issuer></a:Assertion></Response>"#
    );
    assert_eq!(check(&unprefixed, RESPONSE), Ok(()));
}

#[test]
fn samael_reads_names_by_their_local_part() {
    // Why this module exists: a foreign Issuer and a prefixed attribute are read as SAML's.
    let foreign = response(ASSERTION).replace(
        "<saml:Issuer>idp</saml:Issuer><samlp:Status>",
        r#"<x:Issuer xmlns:x="urn:other">evil</x:Issuer><samlp:Status>"#,
    );
    let parsed = samael::schema::Response::from_str(&foreign).unwrap();
    assert_eq!(parsed.issuer.and_then(|i| i.value).as_deref(), Some("evil"));
    assert_eq!(
        namespace_of_refusal(check(&foreign, RESPONSE)).as_deref(),
        Some("x:Issuer")
    );
    let attribute = response(ASSERTION).replace(
        r#"Recipient="https://sp/acs""#,
        r#"x:Recipient="https://sp/acs" xmlns:x="urn:other""#,
    );
    let parsed = samael::schema::Response::from_str(&attribute).unwrap();
    let data = parsed
        .assertion
        .unwrap()
        .subject
        .unwrap()
        .subject_confirmations
        .unwrap()[0]
        .subject_confirmation_data
        .clone()
        .unwrap();
    assert_eq!(data.recipient.as_deref(), Some("https://sp/acs"));
    assert_eq!(
        namespace_of_refusal(check(&attribute, RESPONSE)).as_deref(),
        Some("saml:SubjectConfirmationData/@x:Recipient")
    );
}

#[test]
fn every_element_read_is_held_to_its_namespace() {
    // Each opening tag as written, moved to another namespace by redeclaring its prefix there.
    let cases = [
        "<samlp:Status>",
        "<samlp:StatusCode ",
        "<saml:Issuer>",
        "<saml:Assertion ",
        "<saml:Subject>",
        "<saml:NameID>",
        "<saml:SubjectConfirmation ",
        "<saml:SubjectConfirmationData ",
        "<saml:Conditions>",
        "<saml:AudienceRestriction>",
        "<saml:Audience>",
        "<saml:AuthnStatement ",
        "<saml:AttributeStatement>",
        "<saml:Attribute ",
        "<saml:AttributeValue>",
    ];
    for open in cases {
        let name = open.trim_end_matches(['>', ' ']);
        let prefix = &name[1..name.find(':').unwrap()];
        let moved = format!("{name} xmlns:{prefix}=\"urn:other\"{}", &open[name.len()..]);
        let xml = response(ASSERTION).replacen(open, &moved, 1);
        assert_ne!(xml, response(ASSERTION), "{open}");
        assert_eq!(
            namespace_of_refusal(check(&xml, RESPONSE)).as_deref(),
            Some(&name[1..]),
            "{open}"
        );
    }
    // The assertion's own Issuer, inside what a signature covers.
    let assertion_issuer = response(&ASSERTION.replacen(
        "<saml:Issuer>idp</saml:Issuer>",
        r#"<x:Issuer xmlns:x="urn:other">idp</x:Issuer>"#,
        1,
    ));
    assert_eq!(
        namespace_of_refusal(check(&assertion_issuer, SIGNED)).as_deref(),
        Some("x:Issuer")
    );
}

#[test]
fn the_root_must_be_the_message_expected() {
    let evil_root = response(ASSERTION)
        .replacen("<samlp:Response ", r#"<x:Response xmlns:x="urn:other" "#, 1)
        .replace("</samlp:Response>", "</x:Response>");
    assert!(matches!(
        check(&evil_root, RESPONSE),
        Err(Rejection::Envelope {
            expected: "samlp:Response",
            ..
        })
    ));
    let assertion = format!(r#"<saml:Assertion xmlns:saml="{A}" ID="_a" Version="2.0"/>"#);
    assert!(matches!(
        check(&assertion, RESPONSE),
        Err(Rejection::Envelope { .. })
    ));
    assert_eq!(check(&assertion, SIGNED), Ok(()));
    let request = format!(r#"<samlp:LogoutRequest xmlns:samlp="{P}" ID="_l"/>"#);
    assert_eq!(check(&request, LOGOUT_REQUEST), Ok(()));
    assert!(matches!(
        check(&request, LOGOUT_RESPONSE),
        Err(Rejection::Envelope {
            expected: "samlp:LogoutResponse",
            ..
        })
    ));
    assert!(matches!(check("", RESPONSE), Err(Rejection::NotXml(_))));
    assert!(matches!(
        check("<x:Response ID='1'/>", RESPONSE),
        Err(Rejection::NotXml(_))
    ));
}

#[test]
fn what_is_not_read_is_left_alone() {
    // Extensions, advice and attribute values may carry any markup; prefixed attributes that are
    // not read (xsi:type) are fine.
    let extended = response(&ASSERTION.replacen(
        "<saml:AttributeValue>",
        r#"<saml:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x:any" xmlns:x="urn:other"><x:Attribute Name="n"/>"#,
        1,
    ))
    .replacen(
        "<samlp:Status>",
        r#"<samlp:Extensions><x:Issuer xmlns:x="urn:other">ext</x:Issuer></samlp:Extensions><samlp:Status>"#,
        1,
    );
    assert_eq!(check(&extended, RESPONSE), Ok(()));
}

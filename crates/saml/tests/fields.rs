//! Every field idgate reads, read by the book: names in their SAML namespaces, SAML 2.0 only, a
//! signed response that says where it was sent, a conditions window that is one, one answer to
//! one request, and an authentication statement whose session has not ended. Each refusal has
//! its own code. Responses are signed by the xmlsec1 command, never by idgate.

use idgate_saml::testing::{
    Claims, IDP_ENTITY, TestIdp, assertion_xml, response_around, response_signature_template,
    signed_response,
};
use idgate_saml::validate::{Expectations, Rejection, Verified, validate};
use idgate_store::sso::RequireSigned;

const ACS: &str = "https://sso.acme.test/api/rest/sso/saml/123456789012";

fn expect(certs: &[String]) -> Expectations<'_> {
    Expectations {
        idp_entity_id: IDP_ENTITY,
        idp_certs: certs,
        sp_entity_id: ACS,
        acs_url: ACS,
        now: chrono::Utc::now(),
        clock_skew: chrono::Duration::seconds(180),
        allow_sha1: false,
        require_signed: RequireSigned::Either,
        sp_key_pem: None,
        require_encryption: false,
    }
}

fn check(idp: &TestIdp, xml: &str) -> Result<Verified, Rejection> {
    validate(xml, &expect(std::slice::from_ref(&idp.cert_pem)))
}

fn code(idp: &TestIdp, xml: &str) -> &'static str {
    match check(idp, xml) {
        Ok(_) => "accepted",
        Err(rejection) => rejection.code(),
    }
}

/// A response whose assertion is signed after `edit` changed its template.
fn signed_after(idp: &TestIdp, c: &Claims<'_>, edit: impl Fn(&str) -> String) -> String {
    idp.sign(&edit(&response_around(c, &assertion_xml(c, true))))
}

/// A response whose Response element (not the assertion) is signed, after `edit`.
fn response_signed(idp: &TestIdp, c: &Claims<'_>, edit: impl Fn(&str) -> String) -> String {
    idp.sign(&edit(&response_signature_template(c)))
}

#[test]
fn the_envelope_must_be_a_saml_protocol_response() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_env");
    let genuine = signed_response(&idp, &c);
    assert_eq!(code(&idp, &genuine), "accepted");
    // The envelope is not signed when only the assertion is: its root can be renamed freely.
    let foreign = genuine
        .replacen(
            "<samlp:Response ",
            r#"<x:Response xmlns:x="urn:oasis:names:tc:SAML:2.0:protocol:evil" "#,
            1,
        )
        .replace("</samlp:Response>", "</x:Response>");
    assert_eq!(code(&idp, &foreign), "envelope");
    let in_assertion_namespace = genuine
        .replacen("<samlp:Response ", "<saml:Response ", 1)
        .replace("</samlp:Response>", "</saml:Response>");
    assert_eq!(code(&idp, &in_assertion_namespace), "envelope");
    let artifact = genuine
        .replacen("<samlp:Response ", "<samlp:ArtifactResponse ", 1)
        .replace("</samlp:Response>", "</samlp:ArtifactResponse>");
    assert_eq!(code(&idp, &artifact), "envelope");
}

#[test]
fn the_envelopes_status_and_issuer_are_read_in_their_namespaces() {
    let idp = TestIdp::new();
    let genuine = signed_response(&idp, &Claims::new(ACS, ACS, "_ns"));
    let success = r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#;
    let status = genuine.replacen(
        &format!("<samlp:Status>{success}</samlp:Status>"),
        &format!(r#"<x:Status xmlns:x="urn:other">{success}</x:Status>"#),
        1,
    );
    assert_eq!(code(&idp, &status), "namespace");
    let status_code = genuine.replacen(
        "<samlp:StatusCode ",
        r#"<x:StatusCode xmlns:x="urn:other" "#,
        1,
    );
    assert_eq!(code(&idp, &status_code), "namespace");
    let issuer = genuine.replacen(
        &format!("<saml:Issuer>{IDP_ENTITY}</saml:Issuer><samlp:Status>"),
        &format!(r#"<x:Issuer xmlns:x="urn:other">{IDP_ENTITY}</x:Issuer><samlp:Status>"#),
        1,
    );
    assert_eq!(code(&idp, &issuer), "namespace");
    let destination =
        genuine.replacen(" Destination=", r#" xmlns:x="urn:other" x:Destination="#, 1);
    assert_eq!(code(&idp, &destination), "namespace");
}

#[test]
fn what_the_signature_covers_is_read_in_its_namespaces() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_signed_ns");
    let foreign = |from: &str, to: &str| {
        let (from, to) = (from.to_owned(), to.to_owned());
        signed_after(&idp, &c, move |t| t.replacen(&from, &to, 1))
    };
    let cases = [
        (
            "<saml:Audience>",
            r#"<saml:Audience xmlns:saml="urn:other">"#,
        ),
        ("<saml:NameID ", r#"<saml:NameID xmlns:saml="urn:other" "#),
        (
            "<saml:SubjectConfirmationData ",
            r#"<saml:SubjectConfirmationData xmlns:saml="urn:other" "#,
        ),
        (
            "<saml:Attribute ",
            r#"<saml:Attribute xmlns:saml="urn:other" "#,
        ),
        (
            "<saml:AttributeValue>",
            r#"<saml:AttributeValue xmlns:saml="urn:other">"#,
        ),
        (
            "<saml:AuthnStatement ",
            r#"<saml:AuthnStatement xmlns:saml="urn:other" "#,
        ),
        (" Recipient=", r#" xmlns:x="urn:other" x:Recipient="#),
    ];
    for (from, to) in cases {
        assert_eq!(code(&idp, &foreign(from, to)), "namespace", "{from}");
    }
}

#[test]
fn only_saml_2_0_is_read() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_version");
    let assertion = signed_after(&idp, &c, |t| {
        t.replacen(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_version" Version="2.0""#,
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_version" Version="1.1""#,
            1,
        )
    });
    assert_eq!(
        check(&idp, &assertion),
        Err(Rejection::Version {
            element: "assertion",
            found: "1.1".to_owned()
        })
    );
    let response = signed_response(&idp, &c).replacen(r#" Version="2.0""#, r#" Version="3.0""#, 1);
    assert_eq!(
        check(&idp, &response),
        Err(Rejection::Version {
            element: "response",
            found: "3.0".to_owned()
        })
    );
    assert_eq!(code(&idp, &response), "version");
}

#[test]
fn a_signed_response_names_its_destination() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_dest");
    assert_eq!(
        code(&idp, &response_signed(&idp, &c, str::to_owned)),
        "accepted"
    );
    let undirected = response_signed(&idp, &c, |t| {
        t.replacen(&format!(r#" Destination="{ACS}""#), "", 1)
    });
    assert_eq!(
        check(&idp, &undirected),
        Err(Rejection::NoDestination("response"))
    );
    assert_eq!(code(&idp, &undirected), "no_destination");
    // Only the assertion signed: the envelope's Destination is optional (its Recipient rules).
    let envelope_only =
        signed_response(&idp, &c).replacen(&format!(r#" Destination="{ACS}""#), "", 1);
    assert_eq!(code(&idp, &envelope_only), "accepted");
}

#[test]
fn a_conditions_window_starts_before_it_ends() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_window");
    let emptied = signed_after(&idp, &c, |t| {
        // NotBefore becomes the NotOnOrAfter: a window of no time, open only through the skew.
        let start = t.find("<saml:Conditions NotBefore=\"").unwrap()
            + "<saml:Conditions NotBefore=\"".len();
        let end = start + t[start..].find('"').unwrap();
        let until_at = t[end..].find("NotOnOrAfter=\"").unwrap() + end + "NotOnOrAfter=\"".len();
        let until = &t[until_at..until_at + t[until_at..].find('"').unwrap()];
        format!("{}{until}{}", &t[..start], &t[end..])
    });
    assert!(
        matches!(
            check(&idp, &emptied),
            Err(Rejection::ConditionsWindow { .. })
        ),
        "{:?}",
        check(&idp, &emptied)
    );
    assert_eq!(code(&idp, &emptied), "conditions_window");
}

#[test]
fn the_response_and_its_confirmation_answer_the_same_request() {
    let idp = TestIdp::new();
    let mut c = Claims::new(ACS, ACS, "_irt");
    c.in_response_to = Some("_request1");
    let genuine = signed_response(&idp, &c);
    assert_eq!(
        check(&idp, &genuine).unwrap().in_response_to.as_deref(),
        Some("_request1")
    );
    // The envelope (unsigned here) says another request.
    let other = genuine.replacen(
        r#" InResponseTo="_request1""#,
        r#" InResponseTo="_request2""#,
        1,
    );
    assert_eq!(
        check(&idp, &other),
        Err(Rejection::InResponseToMismatch {
            response: "_request2".to_owned(),
            confirmation: "'_request1'".to_owned()
        })
    );
    // A response that answers a request while its confirmation answers none.
    let unsolicited = signed_response(&idp, &Claims::new(ACS, ACS, "_irt2"));
    let claimed = unsolicited.replacen(
        &format!(r#" Destination="{ACS}""#),
        &format!(r#" Destination="{ACS}" InResponseTo="_request1""#),
        1,
    );
    assert_eq!(code(&idp, &claimed), "in_response_to_mismatch");
    // A confirmation that answers a request, in a response that does not say: the signed one holds.
    let quiet = genuine.replacen(r#" InResponseTo="_request1""#, "", 1);
    assert_eq!(
        check(&idp, &quiet).unwrap().in_response_to.as_deref(),
        Some("_request1")
    );
}

#[test]
fn an_assertion_without_an_authentication_statement_is_refused() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_authn");
    let without = signed_after(&idp, &c, |t| {
        let start = t.find("<saml:AuthnStatement ").unwrap();
        let end = t.find("</saml:AuthnStatement>").unwrap() + "</saml:AuthnStatement>".len();
        format!("{}{}", &t[..start], &t[end..])
    });
    assert_eq!(check(&idp, &without), Err(Rejection::NoAuthnStatement));
    assert_eq!(code(&idp, &without), "no_authn_statement");
}

#[test]
fn the_idps_session_end_is_honoured_with_the_skew() {
    let idp = TestIdp::new();
    let mut c = Claims::new(ACS, ACS, "_session");
    assert_eq!(
        check(&idp, &signed_response(&idp, &c))
            .unwrap()
            .session_not_on_or_after,
        None
    );
    c.session_not_on_or_after = Some(3600);
    let ends = check(&idp, &signed_response(&idp, &c))
        .unwrap()
        .session_not_on_or_after
        .expect("the session end is passed on");
    let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!((ends - in_an_hour).num_seconds().abs() < 10, "{ends}");
    c.session_not_on_or_after = Some(-60);
    assert!(
        check(&idp, &signed_response(&idp, &c)).is_ok(),
        "ended a minute ago: within the skew"
    );
    c.session_not_on_or_after = Some(-200);
    assert!(matches!(
        check(&idp, &signed_response(&idp, &c)),
        Err(Rejection::SessionExpired(_))
    ));
    assert_eq!(code(&idp, &signed_response(&idp, &c)), "session_expired");
}

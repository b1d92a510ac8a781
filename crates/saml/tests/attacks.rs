//! The published attack classes against SAML service providers, each refused with its reason.
//! Responses are signed by the xmlsec1 command (see `idgate_saml::testing`), never by idgate.

use idgate_saml::testing::{
    Claims, IDP_ENTITY, RSA_SHA1, SHA1, TestIdp, assertion_xml, response_around, signed_response,
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

/// The evil twin of the signed assertion: same shape, another user, no signature.
fn evil(id: &str) -> String {
    let mut c = Claims::new(ACS, ACS, id);
    c.name_id = "admin@acme.test";
    c.email = Some("admin@acme.test");
    assertion_xml(&c, false)
}

/// The signed assertion element cut out of a signed response.
fn signed_assertion(response: &str) -> String {
    let start = response.find("<saml:Assertion").unwrap();
    let end = response.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    response[start..end].to_owned()
}

#[test]
fn a_genuine_response_is_accepted() {
    let idp = TestIdp::new();
    let ok = check(
        &idp,
        &signed_response(&idp, &Claims::new(ACS, ACS, "_genuine")),
    )
    .unwrap();
    assert_eq!(ok.name_id, "jane@acme.test");
}

#[test]
fn signature_wrapping_is_refused() {
    let idp = TestIdp::new();
    let genuine = signed_response(&idp, &Claims::new(ACS, ACS, "_genuine"));
    let signed = signed_assertion(&genuine);
    let c = Claims::new(ACS, ACS, "_unused");
    let attacks = [
        // XSW3: the evil assertion before the signed one.
        ("xsw3", response_around(&c, &format!("{}{signed}", evil("_evil")))),
        // XSW4: the evil assertion wraps the signed one.
        ("xsw4", response_around(&c, &evil("_evil").replace("</saml:Assertion>", &format!("{signed}</saml:Assertion>")))),
        // XSW5-like: the evil assertion carries the genuine one's id.
        ("xsw5", response_around(&c, &format!("{}{signed}", evil("_genuine")))),
        // XSW7: the signed assertion hidden in Extensions, the evil one in its place.
        ("xsw7", response_around(&c, &format!("<samlp:Extensions>{signed}</samlp:Extensions>{}", evil("_evil")))),
        // XSW8: the signed assertion inside an Object of the evil one's (copied) signature.
        ("xsw8", response_around(&c, &evil("_evil").replace(
            "<saml:Subject>",
            &format!(r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>{signed}</ds:Object></ds:Signature><saml:Subject>"#),
        ))),
        // The evil assertion after the signed one.
        ("appended", response_around(&c, &format!("{signed}{}", evil("_evil")))),
    ];
    for (name, xml) in attacks {
        let outcome = check(&idp, &xml);
        match name {
            // Two assertions where the envelope allows one: the document does not parse.
            "xsw3" | "xsw5" | "appended" => assert!(
                matches!(&outcome, Err(Rejection::NotXml(m)) if m.contains("Assertion")),
                "{name}: {outcome:?}"
            ),
            // The signed assertion moved away from where the envelope has its assertion.
            "xsw4" | "xsw7" => assert_eq!(outcome, Err(Rejection::Wrapped), "{name}"),
            // A signature element that is no signature: the document does not parse.
            "xsw8" => assert!(
                matches!(&outcome, Err(Rejection::NotXml(_))),
                "{name}: {outcome:?}"
            ),
            _ => unreachable!(),
        }
    }
}

#[test]
fn comment_injection_in_the_name_id_is_refused() {
    let idp = TestIdp::new();
    let genuine = signed_response(&idp, &Claims::new(ACS, ACS, "_c"));
    let injected = genuine.replace(
        "jane@acme.test</saml:NameID>",
        "jane@acme.test<!---->.evil.test</saml:NameID>",
    );
    assert_eq!(check(&idp, &injected).unwrap_err(), Rejection::Comment);
}

#[test]
fn unsigned_and_wrong_key_responses_are_refused() {
    let idp = TestIdp::new();
    let unsigned = response_around(
        &Claims::new(ACS, ACS, "_u"),
        &assertion_xml(&Claims::new(ACS, ACS, "_u"), false),
    );
    assert_eq!(check(&idp, &unsigned).unwrap_err(), Rejection::BadSignature);
    let stranger = TestIdp::new();
    let foreign = signed_response(&stranger, &Claims::new(ACS, ACS, "_f"));
    assert_eq!(check(&idp, &foreign).unwrap_err(), Rejection::BadSignature);
}

#[test]
fn sha1_is_refused_unless_allowed() {
    let idp = TestIdp::new();
    let mut c = Claims::new(ACS, ACS, "_sha1");
    c.algorithms = (RSA_SHA1, SHA1);
    let response = signed_response(&idp, &c);
    assert_eq!(check(&idp, &response).unwrap_err(), Rejection::Sha1);
    let certs = [idp.cert_pem.clone()];
    let mut e = expect(&certs);
    e.allow_sha1 = true;
    assert_eq!(validate(&response, &e).unwrap().name_id, "jane@acme.test");
}

#[test]
fn entities_are_refused_before_parsing() {
    let idp = TestIdp::new();
    let genuine = signed_response(&idp, &Claims::new(ACS, ACS, "_x"));
    let body = genuine.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let xxe = format!(r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>{body}"#);
    assert_eq!(check(&idp, &xxe).unwrap_err(), Rejection::Dtd);
    let laughs = format!(
        r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>{body}"#
    );
    assert_eq!(check(&idp, &laughs).unwrap_err(), Rejection::Dtd);
}

#[test]
fn replays_expiry_and_mismatches_are_the_callers_and_the_validators() {
    let idp = TestIdp::new();
    let mut c = Claims::new(ACS, ACS, "_late");
    c.shift_secs = -3600;
    assert!(matches!(
        check(&idp, &signed_response(&idp, &c)),
        Err(Rejection::Expired(_))
    ));
    let mut c = Claims::new(ACS, ACS, "_early");
    c.shift_secs = 3600;
    assert!(matches!(
        check(&idp, &signed_response(&idp, &c)),
        Err(Rejection::NotYetValid(_))
    ));
    let c = Claims::new("https://elsewhere.test/acs", ACS, "_dest");
    assert!(matches!(
        check(&idp, &signed_response(&idp, &c)),
        Err(Rejection::Destination { .. })
    ));
    let mut c = Claims::new(ACS, ACS, "_iss");
    c.issuer = "https://evil.test";
    assert!(matches!(
        check(&idp, &signed_response(&idp, &c)),
        Err(Rejection::Issuer { .. })
    ));
}

#[test]
fn recipient_and_status_are_checked() {
    let idp = TestIdp::new();
    // Without a Destination, the signed Recipient still has to name this ACS.
    let c = Claims::new("https://elsewhere.test/acs", ACS, "_rcpt");
    let response =
        signed_response(&idp, &c).replace(r#" Destination="https://elsewhere.test/acs""#, "");
    assert!(
        matches!(check(&idp, &response), Err(Rejection::Recipient { .. })),
        "{:?}",
        check(&idp, &response)
    );
    let c = Claims::new(ACS, ACS, "_status");
    let failed = signed_response(&idp, &c).replace("status:Success", "status:Responder");
    assert_eq!(
        check(&idp, &failed).unwrap_err(),
        Rejection::Status("urn:oasis:names:tc:SAML:2.0:status:Responder".into())
    );
}

/// A response whose Response element (not the assertion) is signed.
fn response_signed(idp: &TestIdp, c: &Claims<'_>, response_id: &str) -> String {
    let unsigned = response_around(c, &assertion_xml(c, false));
    let with_id = unsigned.replacen(
        " ID=\"_r",
        &format!(" ID=\"{response_id}\" data-old=\"_r"),
        1,
    );
    let template = idgate_saml::testing::signature_template(
        response_id,
        idgate_saml::testing::RSA_SHA256,
        idgate_saml::testing::SHA256,
    );
    let signed_template =
        with_id.replacen("<samlp:Status>", &format!("{template}<samlp:Status>"), 1);
    idp.sign(&signed_template)
}

#[test]
fn response_level_wrapping_is_refused() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_ra");
    let genuine = response_signed(&idp, &c, "_resp");
    assert_eq!(check(&idp, &genuine).unwrap().signed, "response");
    // XSW1: an evil response wraps the signed one (as a child); XSW2: the signed one before it.
    let body = genuine.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let evil_c = Claims {
        name_id: "admin@acme.test",
        ..Claims::new(ACS, ACS, "_evil")
    };
    let evil_response = response_around(&evil_c, &assertion_xml(&evil_c, false));
    let xsw1 = evil_response.replacen("<samlp:Status>", &format!("{body}<samlp:Status>"), 1);
    assert_eq!(check(&idp, &xsw1), Err(Rejection::Wrapped), "xsw1");
    let xsw2 = evil_response.replacen("<saml:Issuer>", &format!("{body}<saml:Issuer>"), 1);
    assert_eq!(check(&idp, &xsw2), Err(Rejection::Wrapped), "xsw2");
}

#[test]
fn an_assertion_without_an_audience_restriction_is_refused() {
    let idp = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_noaud");
    let template = response_around(&c, &assertion_xml(&c, true));
    let start = template.find("<saml:AudienceRestriction>").unwrap();
    let end =
        template.find("</saml:AudienceRestriction>").unwrap() + "</saml:AudienceRestriction>".len();
    let without = format!("{}{}", &template[..start], &template[end..]);
    assert_eq!(
        check(&idp, &idp.sign(&without)).unwrap_err(),
        Rejection::NoAudience
    );
}

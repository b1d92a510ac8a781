//! What xmlsec must never be handed: references it would fetch or read, transforms it would
//! run, weak algorithms, other encodings; and assertions that would stay valid forever. Each is
//! refused with its own reason before any signature is verified (see docs/adr/0005).

use std::net::TcpListener;
use std::time::Duration;

use idgate_saml::testing::{
    Claims, IDP_ENTITY, RSA_SHA256, SHA256, TestIdp, assertion_xml, response_around,
    signed_response,
};
use idgate_saml::validate::{Expectations, Rejection, validate};
use idgate_store::sso::RequireSigned;

const ACS: &str = "https://sso.acme.test/api/rest/sso/saml/123456789012";
const XPATH: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";

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

/// A signature (values irrelevant: it is refused before they are read) whose one reference has
/// `uri` and `transforms`.
fn hostile_signature(uri: &str, transforms: &str) -> String {
    format!(
        r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="{uri}">{transforms}<ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"#
    )
}

/// A response whose assertion (id `_a`) carries `signature`.
fn response_with(signature: &str) -> String {
    let c = Claims::new(ACS, ACS, "_a");
    let assertion = assertion_xml(&c, false).replacen(
        "<saml:Subject>",
        &format!("{signature}<saml:Subject>"),
        1,
    );
    response_around(&c, &assertion)
}

#[test]
fn an_http_reference_is_never_fetched() {
    let idp = TestIdp::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "http://127.0.0.1:{}/ssrf-probe",
        listener.local_addr().unwrap().port()
    );
    let xml = response_with(&hostile_signature(&url, ""));
    assert_eq!(
        validate(&xml, &expect(std::slice::from_ref(&idp.cert_pem))),
        Err(Rejection::ReferenceUri(url.clone()))
    );
    std::thread::sleep(Duration::from_millis(200));
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "idgate connected to {url}: {accepted:?}"
    );
}

#[test]
fn a_file_reference_is_never_read() {
    let idp = TestIdp::new();
    let certs = vec![idp.cert_pem.clone()];
    // xmlsec would read /dev/zero until the process dies: refused without reading, on a
    // thread so that a regression fails this test instead of hanging the suite.
    let worker = std::thread::spawn(move || {
        let xml = response_with(&hostile_signature("file:///dev/zero", ""));
        validate(&xml, &expect(&certs))
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !worker.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(worker.is_finished(), "still reading file:///dev/zero");
    assert_eq!(
        worker.join().unwrap(),
        Err(Rejection::ReferenceUri("file:///dev/zero".to_owned()))
    );
    let idp = TestIdp::new();
    let xml = response_with(&hostile_signature("file:///etc/hostname", ""));
    assert_eq!(
        validate(&xml, &expect(std::slice::from_ref(&idp.cert_pem))),
        Err(Rejection::ReferenceUri("file:///etc/hostname".to_owned()))
    );
}

#[test]
fn an_xpath_transform_is_never_run() {
    let idp = TestIdp::new();
    let transforms = format!(
        r#"<ds:Transforms><ds:Transform Algorithm="{XPATH}"><ds:XPath>count(//. | //@*) &gt; 0</ds:XPath></ds:Transform></ds:Transforms>"#
    );
    // Thousands of elements make this transform quadratic in xmlsec (tens of seconds).
    let padding = ["<x0/>", "<x1/>", "<x2/>", "<x3/>"].concat().repeat(2000);
    let xml = response_with(&hostile_signature("#_a", &transforms)).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{padding}</samlp:Extensions><samlp:Status>"),
        1,
    );
    let started = std::time::Instant::now();
    assert_eq!(
        validate(&xml, &expect(std::slice::from_ref(&idp.cert_pem))),
        Err(Rejection::Transform(XPATH.to_owned()))
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn rsa_md5_is_refused_even_with_sha1_allowed() {
    let idp = TestIdp::new();
    let mut c = Claims::new(ACS, ACS, "_md5");
    c.algorithms = (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
        "http://www.w3.org/2001/04/xmldsig-more#md5",
    );
    // Really signed by the IdP's key: only the algorithm is wrong.
    let signed = signed_response(&idp, &c);
    let certs = [idp.cert_pem.clone()];
    let mut e = expect(&certs);
    e.allow_sha1 = true;
    assert_eq!(
        validate(&signed, &e),
        Err(Rejection::Algorithm(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-md5".to_owned()
        ))
    );
    e.allow_sha1 = false;
    assert!(matches!(
        validate(&signed, &e),
        Err(Rejection::Algorithm(_))
    ));
}

#[test]
fn a_utf_7_declaration_is_refused() {
    let idp = TestIdp::new();
    let genuine = signed_response(&idp, &Claims::new(ACS, ACS, "_u7"));
    let body = genuine
        .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .replace('+', "+-")
        .replace(
            "jane@acme.test</saml:NameID>",
            "jane@acme.test+ADw-!---->.evil.test</saml:NameID>",
        );
    let utf7 = format!(r#"<?xml version="1.0" encoding="UTF-7"?>{body}"#);
    assert_eq!(
        validate(&utf7, &expect(std::slice::from_ref(&idp.cert_pem))),
        Err(Rejection::Encoding("UTF-7".to_owned()))
    );
}

/// `xml` without any `name="…"` attribute.
fn strip_attribute(xml: &str, name: &str) -> String {
    let mut out = xml.to_owned();
    let needle = format!(" {name}=\"");
    while let Some(i) = out.find(&needle) {
        let end = out[i + needle.len()..].find('"').unwrap() + i + needle.len() + 1;
        out.replace_range(i..end, "");
    }
    out
}

/// Replaces the value of every `name="…"` attribute.
fn set_attribute(xml: &str, name: &str, value: &str) -> String {
    let needle = format!(" {name}=\"");
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&needle) {
        let start = i + needle.len();
        let end = rest[start..].find('"').unwrap() + start;
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn an_assertion_without_not_on_or_after_is_refused() {
    let idp = TestIdp::new();
    let certs = [idp.cert_pem.clone()];
    let mut c = Claims::new(ACS, ACS, "_forever");
    c.shift_secs = -2 * 365 * 24 * 3600;
    let forever = strip_attribute(&assertion_xml(&c, true), "NotOnOrAfter");
    let signed = idp.sign(&response_around(&c, &forever));
    assert_eq!(validate(&signed, &expect(&certs)), Err(Rejection::NoExpiry));
    // Fresh, and only the conditions carry one: the bearer confirmation still needs its own.
    let c = Claims::new(ACS, ACS, "_bearer");
    let assertion = assertion_xml(&c, true);
    let cut = assertion.find("<saml:Conditions").unwrap();
    let without = format!(
        "{}{}",
        strip_attribute(&assertion[..cut], "NotOnOrAfter"),
        &assertion[cut..]
    );
    let signed = idp.sign(&response_around(&c, &without));
    assert_eq!(validate(&signed, &expect(&certs)), Err(Rejection::NoExpiry));
}

#[test]
fn the_issue_instant_bounds_an_assertion_with_a_far_expiry() {
    let idp = TestIdp::new();
    let certs = [idp.cert_pem.clone()];
    let now = chrono::Utc::now();
    let far = rfc3339(now + chrono::Duration::days(365));
    // Issued 20 minutes ago, valid for a year.
    let mut c = Claims::new(ACS, ACS, "_old");
    c.shift_secs = -20 * 60;
    let old = set_attribute(&assertion_xml(&c, true), "NotOnOrAfter", &far);
    let signed = idp.sign(&response_around(&c, &old));
    assert!(matches!(
        validate(&signed, &expect(&certs)),
        Err(Rejection::IssuedTooLongAgo(_))
    ));
    // Issued an hour from now, otherwise valid.
    let c = Claims::new(ACS, ACS, "_future");
    let ahead = rfc3339(now + chrono::Duration::hours(1));
    let assertion = set_attribute(&assertion_xml(&c, true), "IssueInstant", &ahead);
    let signed = idp.sign(&response_around(&c, &assertion));
    assert!(matches!(
        validate(&signed, &expect(&certs)),
        Err(Rejection::IssuedInFuture(_))
    ));
}

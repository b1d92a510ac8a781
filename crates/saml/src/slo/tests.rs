//! IdP-initiated LogoutRequests by the POST binding: screened before xmlsec like responses, and
//! bounded in time so that a captured one cannot be replayed later (the ID is remembered by
//! the endpoint, see the binary's API tests).

use chrono::{DateTime, Duration, Utc};
use idgate_store::sso::{RequireSigned, SsoMethod};
use idgate_store::{NodeId, SsoId};

use super::*;
use crate::testing::{IDP_ENTITY, RSA_SHA256, SHA256, TestIdp, signature_template};

const SLO: &str = "https://sso.acme.test/api/rest/sso/saml/slo/123456789012";

fn method(idp: &TestIdp) -> SsoMethod {
    SsoMethod {
        sso_id: SsoId::generate(),
        node_id: NodeId::generate(),
        name: "test".into(),
        sp_entity_id: None,
        sp_key_pem: String::new(),
        sp_cert_pem: String::new(),
        idp_entity_id: Some(IDP_ENTITY.into()),
        idp_metadata_xml: None,
        idp_sso_post_url: None,
        idp_sso_redirect_url: None,
        idp_slo_url: Some("https://idp.example.test/slo".into()),
        idp_certs: vec![idp.cert_pem.clone()],
        jit: false,
        idp_initiated: true,
        clock_skew_secs: 180,
        sign_requests: false,
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

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A LogoutRequest issued at `issued` carrying `signature` and `extra` attributes.
fn request(id: &str, issued: DateTime<Utc>, extra: &str, signature: &str) -> String {
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}" Destination="{SLO}"{extra}><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{signature}<saml:NameID>jane@acme.test</saml:NameID></samlp:LogoutRequest>"#,
        issued = instant(issued),
    )
}

fn hostile_signature(uri: &str, transforms: &str) -> String {
    format!(
        r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{RSA_SHA256}"/><ds:Reference URI="{uri}">{transforms}<ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"#
    )
}

fn posted(xml: &str) -> String {
    openssl::base64::encode_block(xml.as_bytes())
}

#[test]
fn a_signed_request_is_accepted_and_remembered_long_enough() {
    let idp = TestIdp::new();
    let m = method(&idp);
    let now = Utc::now();
    let signed = idp.sign(&request(
        "_ok",
        now,
        "",
        &signature_template("_ok", RSA_SHA256, SHA256),
    ));
    let xml = verify_posted(&m, &posted(&signed)).unwrap();
    let checked = check_request(&m, SLO, &xml, now).unwrap();
    assert_eq!(checked.id, "_ok");
    assert_eq!(checked.name_id, "jane@acme.test");
    let issued = DateTime::parse_from_rfc3339(&instant(now))
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        checked.remember_until,
        issued + crate::validate::MAX_MESSAGE_AGE + Duration::seconds(180),
        "as long as the IssueInstant keeps it acceptable"
    );
}

#[test]
fn references_and_transforms_are_screened_before_xmlsec() {
    let idp = TestIdp::new();
    let m = method(&idp);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "http://127.0.0.1:{}/probe",
        listener.local_addr().unwrap().port()
    );
    let xml = request("_l", Utc::now(), "", &hostile_signature(&url, ""));
    assert_eq!(
        verify_posted(&m, &posted(&xml)),
        Err(Rejection::ReferenceUri(url))
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(listener.accept().is_err(), "no connection was made");
    let xml = request(
        "_l",
        Utc::now(),
        "",
        &hostile_signature("file:///dev/zero", ""),
    );
    assert_eq!(
        verify_posted(&m, &posted(&xml)),
        Err(Rejection::ReferenceUri("file:///dev/zero".to_owned()))
    );
    let xpath = r#"<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform></ds:Transforms>"#;
    let xml = request("_l", Utc::now(), "", &hostile_signature("#_l", xpath));
    assert_eq!(
        verify_posted(&m, &posted(&xml)),
        Err(Rejection::Transform(
            "http://www.w3.org/TR/1999/REC-xpath-19991116".to_owned()
        ))
    );
    let utf7 = format!(
        r#"<?xml version="1.0" encoding="UTF-7"?>{}"#,
        request("_l", Utc::now(), "", "")
    );
    assert_eq!(
        verify_posted(&m, &posted(&utf7)),
        Err(Rejection::Encoding("UTF-7".to_owned()))
    );
    let md5 = idp.sign(&request(
        "_md5",
        Utc::now(),
        "",
        &signature_template(
            "_md5",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
            "http://www.w3.org/2001/04/xmldsig-more#md5",
        ),
    ));
    let mut sha1_allowed = method(&idp);
    sha1_allowed.allow_sha1 = true;
    assert_eq!(
        verify_posted(&sha1_allowed, &posted(&md5)),
        Err(Rejection::Algorithm(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-md5".to_owned()
        ))
    );
}

#[test]
fn old_future_expired_or_unidentified_requests_are_refused() {
    let idp = TestIdp::new();
    let m = method(&idp);
    let now = Utc::now();
    let check = |xml: &str| check_request(&m, SLO, xml, now);
    let old = now - Duration::minutes(30);
    assert!(matches!(
        check(&request("_old", old, "", "")),
        Err(Rejection::IssuedTooLongAgo(_))
    ));
    // A far NotOnOrAfter does not lift the IssueInstant bound.
    let far = format!(r#" NotOnOrAfter="{}""#, instant(now + Duration::days(1)));
    assert!(matches!(
        check(&request("_old", old, &far, "")),
        Err(Rejection::IssuedTooLongAgo(_))
    ));
    assert!(matches!(
        check(&request("_ahead", now + Duration::minutes(10), "", "")),
        Err(Rejection::IssuedInFuture(_))
    ));
    let past = format!(r#" NotOnOrAfter="{}""#, instant(now - Duration::minutes(4)));
    assert!(matches!(
        check(&request("_expired", now - Duration::minutes(5), &past, "")),
        Err(Rejection::Expired(_))
    ));
    let within_skew = format!(r#" NotOnOrAfter="{}""#, instant(now - Duration::minutes(2)));
    assert!(
        check(&request(
            "_skew",
            now - Duration::minutes(5),
            &within_skew,
            ""
        ))
        .is_ok()
    );
    let no_instant =
        request("_n", now, "", "").replace(&format!(r#" IssueInstant="{}""#, instant(now)), "");
    assert_eq!(check(&no_instant), Err(Rejection::NoIssueInstant));
    let no_id = request("_n", now, "", "").replace(r#" ID="_n""#, "");
    assert_eq!(check(&no_id), Err(Rejection::NoId));
    let bad_time = request("_n", now, r#" NotOnOrAfter="tomorrow""#, "");
    assert!(matches!(check(&bad_time), Err(Rejection::NotXml(_))));
}

#[test]
fn only_a_logout_request_in_its_namespaces_with_a_destination_is_acted_on() {
    let idp = TestIdp::new();
    let m = method(&idp);
    let now = Utc::now();
    let check = |xml: &str| check_request(&m, SLO, xml, now);
    let good = request("_g", now, "", "");
    assert!(check(&good).is_ok());
    let foreign_root = good
        .replacen(
            "<samlp:LogoutRequest ",
            r#"<x:LogoutRequest xmlns:x="urn:other" "#,
            1,
        )
        .replace("</samlp:LogoutRequest>", "</x:LogoutRequest>");
    assert!(matches!(
        check(&foreign_root),
        Err(Rejection::Envelope {
            expected: "samlp:LogoutRequest",
            ..
        })
    ));
    assert_eq!(check(&foreign_root).unwrap_err().code(), "envelope");
    let response_root = good
        .replacen("<samlp:LogoutRequest ", "<samlp:LogoutResponse ", 1)
        .replace("</samlp:LogoutRequest>", "</samlp:LogoutResponse>");
    assert_eq!(check(&response_root).unwrap_err().code(), "envelope");
    let foreign_name_id = good.replace(
        "<saml:NameID>jane@acme.test</saml:NameID>",
        r#"<x:NameID xmlns:x="urn:other">admin@acme.test</x:NameID>"#,
    );
    assert_eq!(check(&foreign_name_id).unwrap_err().code(), "namespace");
    let undirected = good.replace(&format!(r#" Destination="{SLO}""#), "");
    assert_eq!(
        check(&undirected),
        Err(Rejection::NoDestination("logout request"))
    );
    assert_eq!(check(&undirected).unwrap_err().code(), "no_destination");
}

#[test]
fn the_idps_answer_must_be_a_logout_response() {
    let answer = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0" IssueInstant="{}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        instant(Utc::now())
    );
    let deflate = |xml: &str| {
        let mut out = Vec::new();
        {
            let mut encoder = DeflateEncoder::new(&mut out, Compression::default());
            encoder.write_all(xml.as_bytes()).unwrap();
        }
        openssl::base64::encode_block(&out)
    };
    assert_eq!(response::read_answer(false, &deflate(&answer)), Ok(()));
    assert_eq!(response::read_answer(true, &posted(&answer)), Ok(()));
    let not_an_answer = request("_r", Utc::now(), "", "");
    for result in [
        response::read_answer(false, &deflate(&not_an_answer)),
        response::read_answer(true, &posted(&not_an_answer)),
    ] {
        assert_eq!(result.unwrap_err().code(), "envelope");
    }
    let foreign_status = answer
        .replace("<samlp:Status>", r#"<x:Status xmlns:x="urn:other">"#)
        .replace("</samlp:Status>", "</x:Status>");
    assert_eq!(
        response::read_answer(true, &posted(&foreign_status))
            .unwrap_err()
            .code(),
        "namespace"
    );
    assert_eq!(response::read_answer(false, "x"), Err(Rejection::NotBase64));
}

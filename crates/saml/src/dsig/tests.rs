//! The screening alone, on unsigned documents: nothing here reaches xmlsec, so the signature
//! values do not matter, only the shapes.

use super::*;

const SHA256_RSA: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const XPATH: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";

/// A signature whose signed info holds `references`, followed by `tail`.
fn signature(method: &str, references: &str, tail: &str) -> String {
    format!(
        r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{method}"/>{references}</ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue>{tail}</ds:Signature>"#
    )
}

fn reference(uri: &str, transforms: &str, digest: &str) -> String {
    format!(
        r#"<ds:Reference URI="{uri}"><ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>"#
    )
}

const STANDARD_TRANSFORMS: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/></ds:Transform>"#;

fn standard(uri: &str) -> String {
    signature(
        SHA256_RSA,
        &reference(uri, STANDARD_TRANSFORMS, SHA256),
        r"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
    )
}

/// A response with `response_sig` in the Response and `assertion_sig` in the Assertion.
fn response(response_sig: &str, assertion_sig: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0"><saml:Issuer>i</saml:Issuer>{response_sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a" Version="2.0"><saml:Issuer>i</saml:Issuer>{assertion_sig}<saml:Subject><saml:NameID>jane@acme.test</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"#
    )
}

fn check(xml: &str) -> Result<(), Rejection> {
    screen(xml, RESPONSE, false)
}

#[test]
fn the_saml_profile_shapes_pass() {
    assert_eq!(check(&response("", &standard("#_a"))), Ok(()));
    assert_eq!(check(&response(&standard("#_r"), "")), Ok(()));
    assert_eq!(check(&response(&standard("#_r"), &standard("#_a"))), Ok(()));
    // No transforms at all, and no KeyInfo, are fine too.
    let bare = signature(
        SHA256_RSA,
        &reference("#_a", "", SHA256).replace("<ds:Transforms></ds:Transforms>", ""),
        "",
    );
    assert_eq!(check(&response("", &bare)), Ok(()));
    assert_eq!(
        check(&response("", "")),
        Ok(()),
        "unsigned: samael refuses it"
    );
}

#[test]
fn a_reference_is_the_signed_elements_id_and_nothing_else() {
    for uri in [
        "http://127.0.0.1:9/probe",
        "file:///etc/passwd",
        "",
        "#_r",
        "#xpointer(id('_a'))",
        "#xpointer(/)",
    ] {
        assert_eq!(
            check(&response("", &standard(uri))),
            Err(Rejection::ReferenceUri(uri.to_owned())),
            "{uri}"
        );
    }
    let no_uri = standard("#_a").replace(r##" URI="#_a""##, "");
    assert_eq!(
        check(&response("", &no_uri)),
        Err(Rejection::ReferenceUri("(none)".to_owned()))
    );
    let two = signature(
        SHA256_RSA,
        &format!(
            "{}{}",
            reference("#_a", STANDARD_TRANSFORMS, SHA256),
            reference("#_a", STANDARD_TRANSFORMS, SHA256)
        ),
        "",
    );
    assert_eq!(check(&response("", &two)), Err(Rejection::References(2)));
    assert_eq!(
        check(&response("", &signature(SHA256_RSA, "", ""))),
        Err(Rejection::References(0))
    );
}

#[test]
fn only_enveloped_and_exclusive_canonicalisation_transforms_run() {
    let xpath = format!(
        r#"<ds:Transform Algorithm="{XPATH}"><ds:XPath>count(//. | //@*) &gt; 0</ds:XPath></ds:Transform>"#
    );
    for (transforms, refused) in [
        (xpath.as_str(), XPATH),
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>"#,
            "http://www.w3.org/TR/1999/REC-xslt-19991116",
        ),
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"/>"#,
            "http://www.w3.org/2002/06/xmldsig-filter2",
        ),
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>"#,
            "http://www.w3.org/2000/09/xmldsig#base64",
        ),
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#,
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        ),
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>"#,
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        ),
    ] {
        let sig = signature(SHA256_RSA, &reference("#_a", transforms, SHA256), "");
        assert_eq!(
            check(&response("", &sig)),
            Err(Rejection::Transform(refused.to_owned())),
            "{refused}"
        );
    }
    let with_comments = standard("#_a").replace(
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#,
    );
    assert_eq!(
        check(&response("", &with_comments)),
        Err(Rejection::Transform(
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments".to_owned()
        ))
    );
    let smuggled = standard("#_a").replace(
        r#"PrefixList="xs"/>"#,
        r#"PrefixList="xs"/><ds:XPath>1</ds:XPath>"#,
    );
    assert_eq!(
        check(&response("", &smuggled)),
        Err(Rejection::SignatureElement("ds:XPath".to_owned()))
    );
    let repeated = format!("{STANDARD_TRANSFORMS}{STANDARD_TRANSFORMS}");
    let sig = signature(SHA256_RSA, &reference("#_a", &repeated, SHA256), "");
    assert!(matches!(
        check(&response("", &sig)),
        Err(Rejection::Transform(_))
    ));
}

#[test]
fn objects_manifests_and_retrieval_methods_are_refused() {
    let object = signature(
        SHA256_RSA,
        &reference("#_a", STANDARD_TRANSFORMS, SHA256),
        r#"<ds:Object><ds:Manifest><ds:Reference URI="http://127.0.0.1:9/"/></ds:Manifest></ds:Object>"#,
    );
    assert_eq!(
        check(&response("", &object)),
        Err(Rejection::SignatureElement("ds:Object".to_owned()))
    );
    let retrieval = signature(
        SHA256_RSA,
        &reference("#_a", STANDARD_TRANSFORMS, SHA256),
        r#"<ds:KeyInfo><ds:RetrievalMethod URI="http://127.0.0.1:9/key"/></ds:KeyInfo>"#,
    );
    assert_eq!(
        check(&response("", &retrieval)),
        Err(Rejection::SignatureElement("ds:RetrievalMethod".to_owned()))
    );
    let reference_11 = signature(
        SHA256_RSA,
        &reference("#_a", STANDARD_TRANSFORMS, SHA256),
        r#"<ds:KeyInfo><dsig11:KeyInfoReference xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" URI="file:///etc/passwd"/></ds:KeyInfo>"#,
    );
    assert_eq!(
        check(&response("", &reference_11)),
        Err(Rejection::SignatureElement(
            "dsig11:KeyInfoReference".to_owned()
        ))
    );
    let foreign = standard("#_a").replace(
        "<ds:SignatureValue>",
        r#"<x:Extra xmlns:x="urn:x"/><ds:SignatureValue>"#,
    );
    assert_eq!(
        check(&response("", &foreign)),
        Err(Rejection::SignatureElement("x:Extra".to_owned()))
    );
}

#[test]
fn signatures_sit_once_on_the_response_and_once_on_the_assertion() {
    let doubled = format!("{}{}", standard("#_a"), standard("#_a"));
    assert_eq!(
        check(&response("", &doubled)),
        Err(Rejection::TooManySignatures)
    );
    let hidden = response("", "").replace(
        "<samlp:Status>",
        &format!(
            r#"<samlp:Extensions ID="_e">{}</samlp:Extensions><samlp:Status>"#,
            standard("#_e")
        ),
    );
    assert_eq!(
        check(&hidden),
        Err(Rejection::SignaturePlacement("samlp:Extensions".to_owned()))
    );
    // A LogoutRequest carries one, on itself.
    let logout = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l">{}</samlp:LogoutRequest>"#,
        standard("#_l")
    );
    assert_eq!(screen(&logout, LOGOUT_REQUEST, false), Ok(()));
    assert_eq!(
        screen(&response("", &standard("#_a")), LOGOUT_REQUEST, false),
        Err(Rejection::SignaturePlacement("saml:Assertion".to_owned()))
    );
}

#[test]
fn algorithms_are_the_strong_ones_and_sha1_only_when_allowed() {
    let with = |method: &str, digest: &str| {
        response(
            "",
            &signature(method, &reference("#_a", STANDARD_TRANSFORMS, digest), ""),
        )
    };
    let md5 = with("http://www.w3.org/2001/04/xmldsig-more#rsa-md5", SHA256);
    for allow_sha1 in [false, true] {
        assert_eq!(
            screen(&md5, RESPONSE, allow_sha1),
            Err(Rejection::Algorithm(
                "http://www.w3.org/2001/04/xmldsig-more#rsa-md5".to_owned()
            ))
        );
    }
    let md5_digest = with(SHA256_RSA, "http://www.w3.org/2001/04/xmldsig-more#md5");
    assert_eq!(
        screen(&md5_digest, RESPONSE, true),
        Err(Rejection::Algorithm(
            "http://www.w3.org/2001/04/xmldsig-more#md5".to_owned()
        ))
    );
    let hmac = with("http://www.w3.org/2000/09/xmldsig#hmac-sha1", SHA256);
    assert!(matches!(
        screen(&hmac, RESPONSE, true),
        Err(Rejection::Algorithm(_))
    ));
    let sha1 = with(RSA_SHA1, SHA1);
    assert_eq!(screen(&sha1, RESPONSE, false), Err(Rejection::Sha1));
    assert_eq!(screen(&sha1, RESPONSE, true), Ok(()));
    for (method, digest) in [
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmlenc#sha512",
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
        ),
    ] {
        assert_eq!(screen(&with(method, digest), RESPONSE, false), Ok(()));
    }
}

#[test]
fn what_libxml2_sees_is_screened_too() {
    let dtd = response("", "").replace(
        "<samlp:Response ",
        "<!DOCTYPE samlp:Response [<!ENTITY x \"y\">]><samlp:Response ",
    );
    assert_eq!(check(&dtd), Err(Rejection::Dtd));
    let comment = response("", "").replace("jane@acme.test", "jane@acme.test<!---->.evil");
    assert_eq!(check(&comment), Err(Rejection::Comment));
}

#[test]
fn only_utf_8_may_be_declared() {
    for ok in [
        r#"<?xml version="1.0" encoding="UTF-8"?><a/>"#,
        "<?xml version='1.0' encoding='utf-8'?><a/>",
        r#"<?xml version="1.0"?><a/>"#,
        "<a/>",
    ] {
        assert_eq!(declared_encoding(ok), Ok(()), "{ok}");
    }
    for (xml, found) in [
        (r#"<?xml version="1.0" encoding="UTF-7"?><a/>"#, "UTF-7"),
        ("<?xml version='1.0' encoding = 'utf-16'?><a/>", "utf-16"),
        (
            r#"<?XML version="1.0" ENCODING="ISO-8859-1"?><a/>"#,
            "ISO-8859-1",
        ),
        (r#"  <?xml version="1.0" encoding="UTF-7"?><a/>"#, "UTF-7"),
    ] {
        assert_eq!(
            declared_encoding(xml),
            Err(Rejection::Encoding(found.to_owned())),
            "{xml}"
        );
    }
    assert!(matches!(
        declared_encoding("<\0?\0x\0m\0l\0"),
        Err(Rejection::NotXml(_))
    ));
}

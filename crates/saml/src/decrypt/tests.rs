//! Encrypted assertions made by the xmlsec1 and openssl commands (never by idgate), opened and
//! validated by `validate::validate`: signatures, placement, wrapping, what the refusals tell,
//! the rules after decryption. Each refusal is asserted by its code. The algorithms and the XML
//! Encryption structures are tested in `xmlenc/tests.rs`.

use chrono::{Duration, Utc};
use idgate_store::sso::RequireSigned;

use crate::testing::{
    Claims, ContentCipher, Encryption, IDP_ENTITY, KeyTransport, Signing, TestIdp, assertion_xml,
    encrypt_assertion, encrypted_response, response_around, signed_response,
    with_response_signature,
};
use crate::validate::{Expectations, Rejection, Verified, validate};

pub(super) const ACS: &str = "https://sso.acme.test/api/rest/sso/saml/123456789012";

/// A test IdP and a throw-away SP key pair.
pub(super) struct Parties {
    pub(super) idp: TestIdp,
    certs: Vec<String>,
    pub(super) sp: crate::keys::SpKeyPair,
}

impl Parties {
    pub(super) fn new() -> Self {
        let idp = TestIdp::new();
        Self {
            certs: vec![idp.cert_pem.clone()],
            idp,
            sp: crate::keys::generate("throw-away test SP").unwrap(),
        }
    }

    pub(super) fn expect(&self) -> Expectations<'_> {
        Expectations {
            idp_entity_id: IDP_ENTITY,
            idp_certs: &self.certs,
            sp_entity_id: ACS,
            acs_url: ACS,
            now: Utc::now(),
            clock_skew: Duration::seconds(180),
            allow_sha1: false,
            require_signed: RequireSigned::Either,
            sp_key_pem: Some(&self.sp.key_pem),
            require_encryption: false,
        }
    }

    pub(super) fn check(&self, xml: &str) -> Result<Verified, Rejection> {
        validate(xml, &self.expect())
    }

    pub(super) fn encrypted(&self, c: &Claims<'_>, how: Encryption, signing: Signing) -> String {
        encrypted_response(&self.idp, c, &self.sp.cert_pem, how, signing)
    }
}

pub(super) const MGF1P: KeyTransport = KeyTransport::OaepMgf1p;
pub(super) const GCM: ContentCipher = ContentCipher::Aes256Gcm;
pub(super) const CBC: ContentCipher = ContentCipher::Aes128Cbc;

pub(super) fn code(result: Result<Verified, Rejection>) -> &'static str {
    result.expect_err("refused").code()
}

#[test]
fn a_signed_response_outside_or_a_signed_assertion_inside() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_where");
    for content in [GCM, CBC] {
        let how = Encryption::new(MGF1P, content);
        let outside = p.encrypted(&c, how, Signing::Response);
        let inside = p.encrypted(&c, how, Signing::Assertion);
        let both = p.encrypted(&c, how, Signing::Both);
        assert_eq!(p.check(&outside).unwrap().signed, "response");
        assert_eq!(p.check(&inside).unwrap().signed, "assertion");
        assert_eq!(p.check(&both).unwrap().signed, "response");

        let response_required = Expectations {
            require_signed: RequireSigned::Response,
            ..p.expect()
        };
        assert_eq!(
            validate(&outside, &response_required).unwrap().name_id,
            "jane@acme.test"
        );
        assert_eq!(code(validate(&inside, &response_required)), "not_signed");
        let assertion_required = Expectations {
            require_signed: RequireSigned::Assertion,
            ..p.expect()
        };
        assert_eq!(code(validate(&outside, &assertion_required)), "not_signed");
        assert_eq!(
            validate(&both, &assertion_required).unwrap().signed,
            "response"
        );
    }
}

#[test]
fn an_encrypted_response_without_any_signature_is_refused() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_unsigned");
    // GCM: the plaintext cannot have been changed, so the reason is told; CBC: whether a
    // changed ciphertext still reads as an assertion must not show, so it is `decryption`.
    for (content, expected) in [(GCM, "encrypted_unsigned"), (CBC, "decryption")] {
        let xml = p.encrypted(&c, Encryption::new(MGF1P, content), Signing::Neither);
        assert_eq!(code(p.check(&xml)), expected, "{content:?}");
    }
}

#[test]
fn required_encryption_refuses_a_plaintext_assertion() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_required");
    let required = Expectations {
        require_encryption: true,
        ..p.expect()
    };
    let plaintext = signed_response(&p.idp, &c);
    assert_eq!(p.check(&plaintext).unwrap().name_id, "jane@acme.test");
    assert_eq!(code(validate(&plaintext, &required)), "not_encrypted");
    let encrypted = p.encrypted(&c, Encryption::new(MGF1P, GCM), Signing::Assertion);
    assert_eq!(
        validate(&encrypted, &required).unwrap().name_id,
        "jane@acme.test"
    );
}

#[test]
fn an_encrypted_assertion_out_of_place_or_beside_another_is_refused() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_placed");
    let xml = p.encrypted(&c, Encryption::new(MGF1P, GCM), Signing::Assertion);
    let start = xml.find("<saml:EncryptedAssertion>").unwrap();
    let end = xml.find("</saml:EncryptedAssertion>").unwrap() + "</saml:EncryptedAssertion>".len();
    let encrypted = &xml[start..end];
    // Two, or beside a plaintext (unsigned, attacker's) assertion.
    let twice = xml.replacen(encrypted, &encrypted.repeat(2), 1);
    assert_eq!(code(p.check(&twice)), "encrypted");
    let evil = Claims {
        name_id: "admin@acme.test",
        ..Claims::new(ACS, ACS, "_evil")
    };
    let beside = xml.replacen(
        encrypted,
        &format!("{}{encrypted}", assertion_xml(&evil, false)),
        1,
    );
    assert_eq!(code(p.check(&beside)), "encrypted");
    // Nested deeper, or in another namespace.
    let nested = xml.replacen(
        encrypted,
        &format!("<samlp:Extensions>{encrypted}</samlp:Extensions>"),
        1,
    );
    assert_eq!(code(p.check(&nested)), "encrypted");
    let foreign = xml
        .replacen(
            "<saml:EncryptedAssertion>",
            r#"<x:EncryptedAssertion xmlns:x="urn:other">"#,
            1,
        )
        .replacen("</saml:EncryptedAssertion>", "</x:EncryptedAssertion>", 1);
    assert_eq!(code(p.check(&foreign)), "encrypted");
}

#[test]
fn a_signed_response_wrapped_in_another_is_refused() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_genuine");
    let genuine = p.encrypted(&c, Encryption::new(MGF1P, GCM), Signing::Response);
    let body = genuine.trim_start_matches(r#"<?xml version="1.0"?>"#);
    // The attacker's own encrypted (unsigned) assertion, the genuine signed response hidden in it.
    let evil_c = Claims {
        name_id: "admin@acme.test",
        ..Claims::new(ACS, ACS, "_evil")
    };
    let evil = encrypt_assertion(
        &response_around(&evil_c, &assertion_xml(&evil_c, false)),
        &p.sp.cert_pem,
        Encryption::new(MGF1P, GCM),
    );
    let wrapped = evil.replacen("<samlp:Status>", &format!("{body}<samlp:Status>"), 1);
    assert_eq!(code(p.check(&wrapped)), "encrypted");
}

#[test]
fn a_signed_assertion_hidden_inside_an_unsigned_one_is_refused() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_genuine");
    let genuine = signed_response(&p.idp, &c);
    let start = genuine.find("<saml:Assertion").unwrap();
    let end = genuine.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let signed = &genuine[start..end];
    let evil_c = Claims {
        name_id: "admin@acme.test",
        ..Claims::new(ACS, ACS, "_evil")
    };
    // The attacker encrypts, for the SP's public certificate, an assertion of their own that
    // carries the genuine signed one in its Advice.
    let evil = assertion_xml(&evil_c, false).replacen(
        "<saml:Conditions",
        &format!("<saml:Advice>{signed}</saml:Advice><saml:Conditions"),
        1,
    );
    let signature = {
        let from = signed.find("<ds:Signature").unwrap();
        let to = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        &signed[from..to]
    };
    // And the same with the genuine signature copied into the attacker's assertion, so that it
    // seems signed.
    let seeming = evil.replacen("</saml:Issuer>", &format!("</saml:Issuer>{signature}"), 1);
    for (content, hidden, seemingly) in [
        (GCM, "encrypted_unsigned", "signatures"),
        (CBC, "decryption", "decryption"),
    ] {
        let how = Encryption::new(MGF1P, content);
        let xml = encrypt_assertion(&response_around(&evil_c, &evil), &p.sp.cert_pem, how);
        assert_eq!(code(p.check(&xml)), hidden, "{content:?}");
        // GCM: the plaintext is the sender's own, so the reason is told; CBC without a signed
        // response: every refusal before the signature is verified is `decryption`.
        let xml = encrypt_assertion(&response_around(&evil_c, &seeming), &p.sp.cert_pem, how);
        assert_eq!(code(p.check(&xml)), seemingly, "{content:?}");
    }
}

#[test]
fn what_the_plaintext_would_tell_is_hidden_when_cbc_is_not_covered_by_a_signature() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_comment");
    // A comment in the NameID (the comment-injection attack) inside a signed assertion.
    let template = response_around(&c, &assertion_xml(&c, true)).replacen(
        "jane@acme.test</saml:NameID>",
        "jane@acme.test<!---->.evil</saml:NameID>",
        1,
    );
    let signed = p.idp.sign(&template);
    for (content, signing, expected) in [
        (GCM, false, "comment"),
        (CBC, true, "comment"),
        (CBC, false, "decryption"),
    ] {
        let mut xml = encrypt_assertion(&signed, &p.sp.cert_pem, Encryption::new(MGF1P, content));
        if signing {
            xml = p.idp.sign(&with_response_signature(&xml));
        }
        assert_eq!(
            code(p.check(&xml)),
            expected,
            "{content:?} signed response {signing}"
        );
    }
}

#[test]
fn the_decrypted_assertion_passes_every_rule() {
    let p = Parties::new();
    let how = Encryption::new(MGF1P, GCM);
    let other = Claims {
        audience: "https://other.test/sp",
        ..Claims::new(ACS, ACS, "_aud")
    };
    assert_eq!(
        code(p.check(&p.encrypted(&other, how, Signing::Assertion))),
        "audience"
    );
    let old = Claims {
        shift_secs: -3600,
        ..Claims::new(ACS, ACS, "_old")
    };
    assert_eq!(
        code(p.check(&p.encrypted(&old, how, Signing::Response))),
        "expired"
    );
    let issuer = Claims {
        issuer: "https://evil.test",
        ..Claims::new(ACS, ACS, "_iss")
    };
    assert_eq!(
        code(p.check(&p.encrypted(&issuer, how, Signing::Both))),
        "issuer"
    );
    let elsewhere = Claims::new("https://other.test/acs", ACS, "_acs");
    assert_eq!(
        code(p.check(&p.encrypted(&elsewhere, how, Signing::Assertion))),
        "destination"
    );
    // Signed by another IdP: the assertion's signature is verified as a plaintext one's.
    let stranger = TestIdp::new();
    let c = Claims::new(ACS, ACS, "_stranger");
    let xml = encrypted_response(&stranger, &c, &p.sp.cert_pem, how, Signing::Assertion);
    assert_eq!(code(p.check(&xml)), "signature");
}

#[test]
fn prefixes_declared_around_the_encrypted_assertion_still_apply() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_context");
    // The assertion uses the `saml` prefix the Response declares, without declaring it itself,
    // so its serialisation (the plaintext) leans on the context.
    let template = response_around(&c, &assertion_xml(&c, true)).replacen(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
        "<saml:Assertion ",
        1,
    );
    let signed = p.idp.sign(&template);
    let xml = encrypt_assertion(&signed, &p.sp.cert_pem, Encryption::new(MGF1P, GCM));
    assert_eq!(p.check(&xml).unwrap().name_id, "jane@acme.test");
}

//! The algorithms and structures of XML Encryption as the xmlsec1 and openssl commands produce
//! them: every key transport with every content algorithm, the shapes IdPs send, and each
//! refusal by its code (a changed ciphertext is always `decryption`, never a panic).

use crate::decrypt::tests::{ACS, CBC, GCM, MGF1P, Parties, code};
use crate::testing::{
    Claims, ContentCipher, Encryption, KeyTransport, Signing, encrypted_response,
};
use crate::validate::{Expectations, Rejection, validate};

/// A change to a ciphertext's bytes.
type Change = dyn Fn(&mut Vec<u8>);

/// The response with the bytes of its `EncryptedData`'s `CipherValue` changed by `change`.
fn with_ciphertext(xml: &str, change: impl Fn(&mut Vec<u8>)) -> String {
    let data = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let end = data + xml[data..].find("</xenc:CipherValue>").unwrap();
    let compact: String = xml[data..end].split_whitespace().collect();
    let mut bytes = openssl::base64::decode_block(&compact).unwrap();
    change(&mut bytes);
    format!(
        "{}{}{}",
        &xml[..data],
        openssl::base64::encode_block(&bytes),
        &xml[end..]
    )
}

#[test]
fn every_key_transport_and_content_algorithm_signs_in() {
    let p = Parties::new();
    let transports = [
        MGF1P,
        KeyTransport::Oaep {
            digest: "sha1",
            mgf1: "sha1",
        },
        KeyTransport::Oaep {
            digest: "sha256",
            mgf1: "sha1",
        },
        KeyTransport::Oaep {
            digest: "sha256",
            mgf1: "sha256",
        },
    ];
    for transport in transports {
        for content in ContentCipher::ALL {
            let c = Claims::new(ACS, ACS, "_every");
            let xml = p.encrypted(&c, Encryption::new(transport, content), Signing::Assertion);
            assert!(xml.contains("EncryptedAssertion") && !xml.contains("jane@acme.test"));
            let verified = p
                .check(&xml)
                .unwrap_or_else(|e| panic!("{transport:?} {content:?}: {e}"));
            assert_eq!(verified.name_id, "jane@acme.test");
            assert_eq!(verified.assertion_id, "_every");
            assert_eq!(verified.signed, "assertion");
            assert!(
                verified
                    .attributes
                    .contains(&("email".to_owned(), vec!["jane@acme.test".to_owned()]))
            );
        }
    }
}

#[test]
fn oaep_parameters_default_to_sha1() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_defaults");
    let sha1 = KeyTransport::Oaep {
        digest: "sha1",
        mgf1: "sha1",
    };
    let xml = p.encrypted(&c, Encryption::new(sha1, GCM), Signing::Assertion);
    // Without DigestMethod and MGF, xmlenc11#rsa-oaep is OAEP with SHA-1 and MGF1-SHA-1.
    let start = xml.find("<ds:DigestMethod").unwrap();
    let end = xml.find("</xenc:EncryptionMethod>").unwrap();
    let bare = format!("{}{}", &xml[..start], &xml[end..]);
    assert!(bare.contains("xmlenc11#rsa-oaep") && !bare.contains("MGF"));
    assert_eq!(p.check(&bare).unwrap().name_id, "jane@acme.test");
    // A digest idgate does not take is named, never tried.
    let sha512 = xml.replacen(
        "http://www.w3.org/2000/09/xmldsig#sha1",
        "http://www.w3.org/2001/04/xmlenc#sha512",
        1,
    );
    assert_eq!(code(p.check(&sha512)), "encryption_algorithm");
}

#[test]
fn an_assertion_encrypted_for_another_key_is_a_decryption_failure() {
    let p = Parties::new();
    let other = crate::keys::generate("throw-away other SP").unwrap();
    let c = Claims::new(ACS, ACS, "_other");
    for (content, signing) in [(GCM, Signing::Assertion), (CBC, Signing::Response)] {
        let xml = encrypted_response(
            &p.idp,
            &c,
            &other.cert_pem,
            Encryption::new(MGF1P, content),
            signing,
        );
        assert_eq!(p.check(&xml), Err(Rejection::Decryption), "{content:?}");
    }
    // Without an SP key, nothing is tried.
    let xml = p.encrypted(&c, Encryption::new(MGF1P, GCM), Signing::Assertion);
    let keyless = Expectations {
        sp_key_pem: None,
        ..p.expect()
    };
    assert_eq!(code(validate(&xml, &keyless)), "no_decryption_key");
}

#[test]
fn a_changed_ciphertext_is_a_decryption_failure_and_never_a_panic() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_tampered");
    for content in ContentCipher::ALL {
        let xml = p.encrypted(&c, Encryption::new(MGF1P, content), Signing::Assertion);
        let changes: [&Change; 5] = [
            &|b| {
                let middle = b.len() / 2;
                b[middle] ^= 0x01;
            },
            &|b| *b.last_mut().unwrap() ^= 0x80,
            &|b| b.truncate(20),
            &|b| b.truncate(0),
            &|b| b.truncate(b.len() - 1),
        ];
        for change in changes {
            assert_eq!(
                p.check(&with_ciphertext(&xml, change)),
                Err(Rejection::Decryption),
                "{content:?}"
            );
        }
        // The wrapped key too (its CipherValue is the first one).
        let key = xml.find("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
        let changed_key = format!(
            "{}{}{}",
            &xml[..key],
            if &xml[key..=key] == "A" { "B" } else { "A" },
            &xml[key + 1..]
        );
        assert_eq!(p.check(&changed_key), Err(Rejection::Decryption));
    }
    // When the Response is signed, its signature covers the ciphertext: a change is a bad
    // signature before anything is decrypted.
    let signed = p.encrypted(&c, Encryption::new(MGF1P, CBC), Signing::Response);
    let changed = with_ciphertext(&signed, |b| b[40] ^= 0x01);
    assert_eq!(code(p.check(&changed)), "signature");
}

#[test]
fn rsa_1_5_key_transport_is_refused() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_rsa15");
    for signing in [Signing::Assertion, Signing::Response] {
        let xml = p.encrypted(&c, Encryption::new(KeyTransport::Rsa15, GCM), signing);
        assert!(xml.contains("xmlenc#rsa-1_5"));
        assert_eq!(code(p.check(&xml)), "rsa1_5");
    }
}

#[test]
fn the_key_may_sit_beside_the_data_and_no_reference_is_followed() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_beside");
    let how = Encryption {
        key_beside: true,
        ..Encryption::new(MGF1P, ContentCipher::Aes256Cbc)
    };
    let xml = p.encrypted(&c, how, Signing::Both);
    assert!(xml.contains("<ds:RetrievalMethod") && xml.contains(r##"URI="#_test-key""##));
    assert_eq!(p.check(&xml).unwrap().signed, "response");
    // A RetrievalMethod to a file or a URL is not fetched: the key beside the data is used.
    let remote = p
        .encrypted(&c, how, Signing::Assertion)
        .replace("#_test-key", "file:///dev/zero");
    assert_eq!(p.check(&remote).unwrap().name_id, "jane@acme.test");
    // A CipherReference is refused before anything is read.
    let reference = p
        .encrypted(&c, Encryption::new(MGF1P, GCM), Signing::Assertion)
        .replacen(
            "<xenc:CipherData><xenc:CipherValue>",
            r#"<xenc:CipherData><xenc:CipherReference URI="http://127.0.0.1/x"/><xenc:CipherValue>"#,
            2,
        );
    assert_eq!(code(p.check(&reference)), "encryption_element");
}

#[test]
fn unsupported_structures_and_algorithms_are_named() {
    let p = Parties::new();
    let c = Claims::new(ACS, ACS, "_shapes");
    let xml = p.encrypted(&c, Encryption::new(MGF1P, GCM), Signing::Assertion);
    let aes192 = xml.replace(
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "http://www.w3.org/2009/xmlenc11#aes192-gcm",
    );
    assert_eq!(
        p.check(&aes192),
        Err(Rejection::EncryptionAlgorithm(
            "http://www.w3.org/2009/xmlenc11#aes192-gcm".into()
        ))
    );
    let kw = xml.replace(
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        "http://www.w3.org/2001/04/xmlenc#kw-aes128",
    );
    assert_eq!(code(p.check(&kw)), "encryption_algorithm");
    let content = xml.replace(
        "http://www.w3.org/2001/04/xmlenc#Element",
        "http://www.w3.org/2001/04/xmlenc#Content",
    );
    assert_eq!(code(p.check(&content)), "encryption_element");
    let start = xml.find("<xenc:EncryptedKey").unwrap();
    let end = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
    let key = &xml[start..end];
    let keyless = format!("{}{}", &xml[..start], &xml[end..]);
    assert_eq!(code(p.check(&keyless)), "encryption_element");
    let five = xml.replacen(key, &key.repeat(5), 1);
    assert_eq!(code(p.check(&five)), "encryption_element");
    let two = xml.replacen(key, &key.repeat(2), 1);
    assert_eq!(p.check(&two).unwrap().name_id, "jane@acme.test");
}

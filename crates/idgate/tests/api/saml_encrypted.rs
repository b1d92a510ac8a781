//! Encrypted assertions over HTTP: the IdP (here the `xmlsec1` command, with a throw-away test
//! IdP key) encrypts for the certificate the SP metadata publishes, and the assertion consumer
//! decrypts with the method's SP key, on every backend.

use idgate::actions::{self, Actor};
use idgate_saml::testing::{
    Claims, ContentCipher, Encryption, KeyTransport, Signing, TestIdp, encrypted_response,
    signed_response,
};
use idgate_store::testing::TestDatabase;
use idgate_store::{SsoId, sso};
use reqwest::StatusCode;

use crate::helpers::{TestApp, between, spawn_app};
use crate::saml_acs::{add_method, last_failure, post};

/// The encryption certificate the SP metadata publishes (PEM), as an IdP reads it.
async fn encryption_certificate(app: &TestApp, sso_id: SsoId) -> String {
    let metadata = app
        .get(&format!("/api/rest/sso/saml/{sso_id}/metadata"))
        .await
        .text()
        .await
        .unwrap();
    let descriptor = between(&metadata, r#"use="encryption""#, "</md:KeyDescriptor>");
    assert!(
        descriptor.contains(r#"Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm""#)
            && descriptor
                .contains(r#"Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p""#)
            && !descriptor.contains("rsa-1_5"),
        "{descriptor}"
    );
    let body = between(descriptor, "<ds:X509Certificate>", "</ds:X509Certificate>");
    idgate_saml::keys::pem_from_metadata(body).unwrap()
}

/// Claims for the method's ACS, with an assertion id of their own.
fn claims<'a>(acs: &'a str, id: &'a str) -> Claims<'a> {
    Claims::new(acs, acs, id)
}

fn fresh_id() -> String {
    format!("_e{}", &idgate_store::token::generate().hash[..24])
}

#[tokio::test]
async fn an_assertion_encrypted_by_xmlsec1_signs_in() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let cert = encryption_certificate(&app, sso_id).await;

        // ADFS's default: the assertion signed, then encrypted with AES-256-CBC for the SP.
        let id = fresh_id();
        let adfs = Encryption {
            key_beside: true,
            ..Encryption::new(KeyTransport::OaepMgf1p, ContentCipher::Aes256Cbc)
        };
        let xml = encrypted_response(&idp, &claims(&acs, &id), &cert, adfs, Signing::Assertion);
        assert!(
            !xml.contains("jane@acme.test"),
            "the identity travels encrypted"
        );
        let res = post(&app, &acs_path, &xml, Some("/app")).await;
        assert_eq!(res.headers().get("location").unwrap(), "/app");
        assert_eq!(
            crate::saml_acs::user_signed_in(&app, res).await,
            "jane@acme.test"
        );

        // XML Encryption 1.1: OAEP with SHA-256, AES-256-GCM, the Response signed around it.
        let id = fresh_id();
        let oaep = KeyTransport::Oaep {
            digest: "sha256",
            mgf1: "sha256",
        };
        let how = Encryption::new(oaep, ContentCipher::Aes256Gcm);
        let xml = encrypted_response(&idp, &claims(&acs, &id), &cert, how, Signing::Response);
        let res = post(&app, &acs_path, &xml, None).await;
        assert_eq!(
            crate::saml_acs::user_signed_in(&app, res).await,
            "jane@acme.test"
        );
        // The decrypted assertion is remembered like any other: a second post is a replay.
        assert_eq!(
            post(&app, &acs_path, &xml, None).await.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(last_failure(&app).await, "replay");
    }
}

#[tokio::test]
async fn refusals_of_encrypted_assertions_name_their_rule() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let cert = encryption_certificate(&app, sso_id).await;
        let other = idgate_saml::keys::generate("throw-away other SP").unwrap();
        let gcm = Encryption::new(KeyTransport::OaepMgf1p, ContentCipher::Aes128Gcm);
        let cases = [
            (cert.as_str(), gcm, Signing::Neither, "encrypted_unsigned"),
            (
                other.cert_pem.as_str(),
                gcm,
                Signing::Assertion,
                "decryption",
            ),
            (
                cert.as_str(),
                Encryption::new(KeyTransport::Rsa15, ContentCipher::Aes128Cbc),
                Signing::Response,
                "rsa1_5",
            ),
        ];
        for (for_cert, how, signing, code) in cases {
            let id = fresh_id();
            let xml = encrypted_response(&idp, &claims(&acs, &id), for_cert, how, signing);
            let res = post(&app, &acs_path, &xml, None).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{code}");
            assert!(
                res.text().await.unwrap().contains(code),
                "the page names {code}"
            );
            assert_eq!(last_failure(&app).await, code);
        }
    }
}

#[tokio::test]
async fn a_method_that_requires_encryption_refuses_a_plaintext_assertion() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let change = sso::SettingsChange {
            require_encryption: Some(true),
            ..sso::SettingsChange::default()
        };
        actions::add_domains(&app.store, &Actor::cli(), sso_id, change, Vec::new())
            .await
            .unwrap();
        let events = app
            .store
            .run(|c| idgate_store::events::latest(c, None, 5))
            .await
            .unwrap();
        let updated = events
            .iter()
            .find(|e| e.kind == "sso_method_updated")
            .unwrap();
        assert_eq!(updated.detail, "require_encryption: off → on");
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);

        let id = fresh_id();
        let plaintext = signed_response(&idp, &claims(&acs, &id));
        let res = post(&app, &acs_path, &plaintext, None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_failure(&app).await, "not_encrypted");

        let cert = encryption_certificate(&app, sso_id).await;
        let how = Encryption::new(KeyTransport::OaepMgf1p, ContentCipher::Aes128Gcm);
        let xml = encrypted_response(&idp, &claims(&acs, &id), &cert, how, Signing::Both);
        let res = post(&app, &acs_path, &xml, None).await;
        assert_eq!(
            crate::saml_acs::user_signed_in(&app, res).await,
            "jane@acme.test"
        );
    }
}

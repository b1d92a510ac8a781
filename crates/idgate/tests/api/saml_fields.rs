//! Every field the assertion consumer and single logout read, read by the book, over HTTP on
//! every backend: each refusal's code in the audit log, idgate's session no longer than the
//! IdP's, and the IdP's RelayState carried back with the answer to its LogoutRequest by either
//! binding. Messages are signed by the xmlsec1 command (or openssl for Redirect query strings).

use idgate_saml::testing::{
    Claims, IDP_ENTITY, TestIdp, assertion_xml, response_around, response_signature_template,
};
use idgate_store::testing::TestDatabase;
use idgate_store::{SsoId, sso, token};
use reqwest::StatusCode;

use crate::helpers::{TestApp, between};
use crate::saml_acs::{
    app_with_method, claims, last_failure, last_logout_failure, logout_request, post, post_logout,
    session_status, set_idp_endpoints, signed, signed_in,
};

/// A response whose assertion is signed after `edit` changed the template.
fn signed_after(idp: &TestIdp, c: &Claims<'_>, edit: impl Fn(&str) -> String) -> String {
    idp.sign(&edit(&response_around(c, &assertion_xml(c, true))))
}

#[tokio::test]
async fn responses_not_read_by_the_book_are_refused_with_their_code() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let genuine = signed(&idp, &claims(&acs, &acs));
        let with_id = |id: &'static str| Claims {
            assertion_id: id,
            ..claims(&acs, &acs)
        };
        let cases: Vec<(String, &str)> = vec![
            (
                genuine
                    .replacen("<samlp:Response ", r#"<x:Response xmlns:x="urn:other" "#, 1)
                    .replace("</samlp:Response>", "</x:Response>"),
                "envelope",
            ),
            (
                genuine.replacen(
                    "<samlp:StatusCode ",
                    r#"<x:StatusCode xmlns:x="urn:other" "#,
                    1,
                ),
                "namespace",
            ),
            (
                genuine.replacen(r#" Version="2.0""#, r#" Version="1.1""#, 1),
                "version",
            ),
            (
                genuine.replacen(
                    &format!(r#" Destination="{acs}""#),
                    &format!(r#" Destination="{acs}" InResponseTo="_not_the_confirmations""#),
                    1,
                ),
                "in_response_to_mismatch",
            ),
            (
                idp.sign(&response_signature_template(&with_id("_nodest")).replacen(
                    &format!(r#" Destination="{acs}""#),
                    "",
                    1,
                )),
                "no_destination",
            ),
            (
                signed_after(&idp, &with_id("_noauthn"), |t| {
                    let start = t.find("<saml:AuthnStatement ").unwrap();
                    let end =
                        t.find("</saml:AuthnStatement>").unwrap() + "</saml:AuthnStatement>".len();
                    format!("{}{}", &t[..start], &t[end..])
                }),
                "no_authn_statement",
            ),
            (
                signed_after(&idp, &with_id("_window"), |t| {
                    // The conditions' NotBefore moved to their NotOnOrAfter.
                    let key = "<saml:Conditions NotBefore=\"";
                    let start = t.find(key).unwrap() + key.len();
                    let end = start + t[start..].find('"').unwrap();
                    let until = between(&t[end..], "NotOnOrAfter=\"", "\"").to_owned();
                    format!("{}{until}{}", &t[..start], &t[end..])
                }),
                "conditions_window",
            ),
            (
                signed(
                    &idp,
                    &Claims {
                        session_not_on_or_after: Some(-600),
                        ..claims(&acs, &acs)
                    },
                ),
                "session_expired",
            ),
        ];
        for (xml, rule) in cases {
            let res = post(&app, &acs_path, &xml, None).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{rule}");
            assert!(res.headers().get("set-cookie").is_none(), "{rule}");
            assert_eq!(last_failure(&app).await, rule);
        }
        let res = post(&app, &acs_path, &genuine, None).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "the genuine one still signs in"
        );
    }
}

/// The session (by its cookie) as the database keeps it: when it expires.
async fn session_expiry(app: &TestApp, res: &reqwest::Response) -> i64 {
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    let session = between(cookie, "idgate_session=", ";").to_owned();
    app.store
        .run(move |c| idgate_store::sessions::get(c, &token::hash(&session)))
        .await
        .unwrap()
        .expect("a session")
        .expires_at
}

#[tokio::test]
async fn the_session_ends_no_later_than_the_idps() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        let acs_path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&acs_path);
        let eight_hours = idgate_saml::acs::SESSION_HOURS * 3_600_000;
        for (session_end, expected) in [
            (Some(600), 600_000),
            (Some(24 * 3600), eight_hours),
            (None, eight_hours),
        ] {
            let c = Claims {
                session_not_on_or_after: session_end,
                ..claims(&acs, &acs)
            };
            let before = idgate_store::now_millis();
            let res = post(&app, &acs_path, &signed(&idp, &c), None).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{session_end:?}");
            let lasts = session_expiry(&app, &res).await - before;
            // The XML instant has whole seconds.
            assert!(
                (lasts - expected).abs() < 3_000,
                "{session_end:?}: {lasts} ms, expected {expected}"
            );
        }
    }
}

const RELAY: &str = "idp/state?step=2&lang=fr-CH";

/// A query string of the Redirect binding carrying `xml` as `param`, signed by `idp` over
/// `param`, `RelayState` and `SigAlg`.
fn redirect_query(idp: &TestIdp, param: &str, xml: &str, relay: Option<&str>) -> String {
    let mut deflated = Vec::new();
    std::io::Write::write_all(
        &mut flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default()),
        xml.as_bytes(),
    )
    .unwrap();
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut query = format!("{param}={}", enc(&openssl::base64::encode_block(&deflated)));
    if let Some(relay) = relay {
        query = format!("{query}&RelayState={}", enc(relay));
    }
    query = format!(
        "{query}&SigAlg={}",
        enc("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    let key = openssl::pkey::PKey::private_key_from_pem(idp.key_pem().as_bytes()).unwrap();
    let mut signature =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    signature.update(query.as_bytes()).unwrap();
    let value = openssl::base64::encode_block(&signature.sign_to_vec().unwrap());
    format!("{query}&Signature={}", enc(&value))
}

async fn sp_cert(app: &TestApp, sso_id: SsoId) -> openssl::x509::X509 {
    let pem = app
        .store
        .run(move |c| Ok(sso::get(c, sso_id)?.unwrap().sp_cert_pem))
        .await
        .unwrap();
    openssl::x509::X509::from_pem(pem.as_bytes()).unwrap()
}

/// The LogoutResponse a Redirect to the IdP carries, after checking its query-string signature
/// by the SP key; and the RelayState it carries.
fn answer_of(location: &str, sp_cert: &openssl::x509::X509) -> (String, Option<String>) {
    let url = url::Url::parse(location).unwrap();
    assert!(location.starts_with("https://idp.example.test/slo?SAMLResponse="));
    let query = url.query().unwrap();
    let (signed, signature) = query.split_once("&Signature=").unwrap();
    let signature = url::form_urlencoded::parse(format!("s={signature}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let key = sp_cert.public_key().unwrap();
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    verifier.update(signed.as_bytes()).unwrap();
    assert!(
        verifier
            .verify(&openssl::base64::decode_block(&signature).unwrap())
            .unwrap(),
        "the RelayState is part of the signed query: {signed}"
    );
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let order: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let deflated = openssl::base64::decode_block(&value("SAMLResponse").unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::DeflateDecoder::new(&deflated[..]),
        &mut xml,
    )
    .unwrap();
    let relay = value("RelayState");
    let expected_order: &[&str] = if relay.is_some() {
        &["SAMLResponse", "RelayState", "SigAlg", "Signature"]
    } else {
        &["SAMLResponse", "SigAlg", "Signature"]
    };
    assert_eq!(order, expected_order);
    (xml, relay)
}

#[tokio::test]
async fn the_answer_to_an_idps_logout_carries_its_relay_state_back_by_redirect() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        set_idp_endpoints(&app, &idp, sso_id, false, true, true).await;
        let cert = sp_cert(&app, sso_id).await;
        let slo_path = format!("/api/rest/sso/saml/slo/{sso_id}");
        let slo = app.url(&slo_path);

        // The IdP's request by POST, its RelayState beside it.
        let cookie = signed_in(&app, &idp, sso_id).await;
        let request = idp.sign(&logout_request("_post_relay", &slo, true));
        let res = app
            .client
            .post(app.url(&slo_path))
            .form(&[
                (
                    "SAMLRequest",
                    openssl::base64::encode_block(request.as_bytes()).as_str(),
                ),
                ("RelayState", RELAY),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        let (answer, relay) = answer_of(res.headers()["location"].to_str().unwrap(), &cert);
        assert_eq!(relay.as_deref(), Some(RELAY), "exactly as sent");
        assert!(answer.contains(r#"InResponseTo="_post_relay""#), "{answer}");
        assert_eq!(session_status(&app, &cookie).await, 401);

        // By Redirect: the RelayState is in the IdP's signed query, and in idgate's.
        let cookie = signed_in(&app, &idp, sso_id).await;
        let query = redirect_query(
            &idp,
            "SAMLRequest",
            &logout_request("_redirect_relay", &slo, false),
            Some(RELAY),
        );
        let res = app.get(&format!("{slo_path}?{query}")).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let (answer, relay) = answer_of(res.headers()["location"].to_str().unwrap(), &cert);
        assert_eq!(relay.as_deref(), Some(RELAY));
        assert!(answer.contains(r#"InResponseTo="_redirect_relay""#));
        assert_eq!(session_status(&app, &cookie).await, 401);

        // Without one, none comes back.
        let query = redirect_query(
            &idp,
            "SAMLRequest",
            &logout_request("_no_relay", &slo, false),
            None,
        );
        let res = app.get(&format!("{slo_path}?{query}")).await;
        let (_, relay) = answer_of(res.headers()["location"].to_str().unwrap(), &cert);
        assert_eq!(relay, None);

        // A RelayState the IdP did not sign is not believed.
        let query = redirect_query(
            &idp,
            "SAMLRequest",
            &logout_request("_forged_relay", &slo, false),
            Some(RELAY),
        )
        .replace("RelayState=idp", "RelayState=evil");
        let res = app.get(&format!("{slo_path}?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "signature");

        // Nor one added beside the signed ones under a key spelt otherwise (it decodes to
        // `RelayState`, but the signature covers only the literal key's pairs).
        let query = redirect_query(
            &idp,
            "SAMLRequest",
            &logout_request("_smuggled_relay", &slo, false),
            None,
        );
        let res = app
            .get(&format!(
                "{slo_path}?{query}&Relay%53tate=https%3A%2F%2Fevil.test"
            ))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "not_signed");
    }
}

#[tokio::test]
async fn an_idp_whose_logout_endpoint_takes_post_only_gets_a_form() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        let metadata = idp.metadata(
            IDP_ENTITY,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/slo"/>"#,
        );
        let settings = idgate_saml::idp::import(&metadata).unwrap();
        app.store
            .run(move |c| {
                sso::set_idp(c, sso_id, &settings)?;
                sso::update_settings(
                    c,
                    sso_id,
                    &sso::SettingsChange {
                        sign_requests: Some(true),
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap();
        let slo_path = format!("/api/rest/sso/saml/slo/{sso_id}");
        let slo = app.url(&slo_path);
        let cookie = signed_in(&app, &idp, sso_id).await;
        let relay = "s=1&t=<2>";
        let query = redirect_query(
            &idp,
            "SAMLRequest",
            &logout_request("_to_post", &slo, false),
            Some(relay),
        );
        let res = app.get(&format!("{slo_path}?{query}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(r#"<form method="post" action="https://idp.example.test/slo">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"name="RelayState" value="s=1&#38;t=&#60;2&#62;""#),
            "the RelayState, escaped for HTML: {html}"
        );
        assert_eq!(session_status(&app, &cookie).await, 401);
        let answer = String::from_utf8(
            openssl::base64::decode_block(between(&html, r#"name="SAMLResponse" value=""#, "\""))
                .unwrap(),
        )
        .unwrap();
        assert!(answer.contains(r#"InResponseTo="_to_post""#), "{answer}");
        assert!(answer.contains(r#"Destination="https://idp.example.test/slo""#));
        // Signed by the SP key, as xmlsec1 (not idgate) verifies it.
        let dir = tempfile::tempdir().unwrap();
        let pem = sp_cert(&app, sso_id).await.to_pem().unwrap();
        std::fs::write(dir.path().join("sp.pem"), pem).unwrap();
        std::fs::write(dir.path().join("answer.xml"), &answer).unwrap();
        let verified = std::process::Command::new("xmlsec1")
            .arg("--verify")
            .arg("--pubkey-cert-pem")
            .arg(dir.path().join("sp.pem"))
            .args([
                "--id-attr:ID",
                "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse",
            ])
            .arg(dir.path().join("answer.xml"))
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stderr)
        );
        assert!(
            answer.contains("http://www.w3.org/2001/04/xmlenc#sha256"),
            "a SHA-256 digest"
        );
    }
}

#[tokio::test]
async fn logout_messages_not_read_by_the_book_are_refused_with_their_code() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let (app, sso_id) = app_with_method(db, &idp, true, true).await;
        set_idp_endpoints(&app, &idp, sso_id, false, true, false).await;
        let slo_path = format!("/api/rest/sso/saml/slo/{sso_id}");
        let slo = app.url(&slo_path);
        let cookie = signed_in(&app, &idp, sso_id).await;

        // A signed request that does not say where it was sent.
        let undirected = idp.sign(
            &logout_request("_undirected", &slo, true)
                .replace(&format!(r#" Destination="{slo}""#), ""),
        );
        let res = post_logout(&app, &slo_path, &undirected).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "no_destination");

        // A signed query carrying something else than a LogoutRequest.
        let other_root = logout_request("_other", &slo, false)
            .replace(
                "<samlp:LogoutRequest ",
                r#"<x:LogoutRequest xmlns:x="urn:other" "#,
            )
            .replace("</samlp:LogoutRequest>", "</x:LogoutRequest>");
        let query = redirect_query(&idp, "SAMLRequest", &other_root, None);
        let res = app.get(&format!("{slo_path}?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "envelope");
        assert_eq!(session_status(&app, &cookie).await, 200, "nothing ended");

        // An answer that is not a LogoutResponse.
        let query = redirect_query(
            &idp,
            "SAMLResponse",
            &logout_request("_as_answer", &slo, false),
            None,
        );
        let res = app.get(&format!("{slo_path}?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(last_logout_failure(&app).await, "envelope");
    }
}

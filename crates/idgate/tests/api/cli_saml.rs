//! `idgate saml check` on the real JumpCloud capture: exit 0 accepted, 1 rejected (with the
//! rule), 2 usage.

use crate::helpers::{idgate, stderr, stdout};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../saml/tests/fixtures/jumpcloud"
);
const AT: &str = "2023-11-18T16:43:05.562Z";

fn check(extra: &[&str], response: &str) -> std::process::Output {
    let cwd = tempfile::tempdir().unwrap();
    let metadata = format!("{DIR}/metadata.xml");
    let mut args = vec!["saml", "check", "--idp-metadata", &metadata];
    args.extend_from_slice(extra);
    args.push(response);
    idgate(cwd.path(), &[], &args, None)
}

fn verdict(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(stdout(output).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

const GOOD: &[&str] = &[
    "--sp-entity-id",
    "ssoready-entity-id",
    "--acs-url",
    "http://localhost",
    "--now",
    AT,
];

#[test]
fn the_capture_is_accepted_under_its_parameters() {
    let out = check(GOOD, &format!("{DIR}/assertion.xml"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = verdict(&out);
    assert_eq!(v["accepted"], true);
    assert_eq!(v["identity"]["name_id"], "ulysse.carion@codomaindata.com");

    // The same as the browser posts it: base64.
    let dir = tempfile::tempdir().unwrap();
    let b64 = dir.path().join("response.b64");
    let xml = std::fs::read(format!("{DIR}/assertion.xml")).unwrap();
    std::fs::write(&b64, openssl::base64::encode_block(&xml)).unwrap();
    assert_eq!(check(GOOD, b64.to_str().unwrap()).status.code(), Some(0));
}

#[test]
fn each_changed_parameter_is_refused_with_its_rule() {
    let response = format!("{DIR}/assertion.xml");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--sp-entity-id",
                "https://sso.acme.test/sp",
                "--acs-url",
                "http://localhost",
                "--now",
                AT,
            ],
            "audience",
        ),
        (
            &[
                "--sp-entity-id",
                "ssoready-entity-id",
                "--acs-url",
                "https://sso.acme.test/acs",
                "--now",
                AT,
            ],
            "destination",
        ),
        (
            &[
                "--sp-entity-id",
                "ssoready-entity-id",
                "--acs-url",
                "http://localhost",
                "--now",
                "2023-11-18T17:00:00Z",
            ],
            "expired",
        ),
        (
            &[
                "--sp-entity-id",
                "ssoready-entity-id",
                "--acs-url",
                "http://localhost",
                "--now",
                AT,
                "--in-response-to",
                "id-123",
            ],
            "unsolicited",
        ),
    ];
    for (args, rule) in cases {
        let out = check(args, &response);
        assert_eq!(out.status.code(), Some(1), "{rule}: {}", stderr(&out));
        let v = verdict(&out);
        assert_eq!(
            (v["accepted"].as_bool(), v["rule"].as_str()),
            (Some(false), Some(rule)),
            "{v}"
        );
        assert!(
            stderr(&out)
                .lines()
                .any(|l| l.starts_with("error: the response was rejected")),
            "{}",
            stderr(&out)
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("tampered.xml");
    let xml = std::fs::read_to_string(&response)
        .unwrap()
        .replace("ulysse.carion@", "ulysse.carioN@");
    std::fs::write(&tampered, xml).unwrap();
    let out = check(GOOD, tampered.to_str().unwrap());
    assert_eq!(
        (out.status.code(), verdict(&out)["rule"].as_str()),
        (Some(1), Some("signature"))
    );
}

#[test]
fn usage_mistakes_exit_2() {
    assert_eq!(
        check(GOOD, "/nonexistent/response.xml").status.code(),
        Some(2)
    );
    let out = check(
        &[
            "--sp-entity-id",
            "x",
            "--acs-url",
            "http://localhost",
            "--now",
            "yesterday",
        ],
        &format!("{DIR}/assertion.xml"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not an RFC 3339 instant"),
        "{}",
        stderr(&out)
    );
    let cwd = tempfile::tempdir().unwrap();
    assert_eq!(
        idgate(cwd.path(), &[], &["saml", "check"], None)
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn an_encrypted_capture_is_checked_with_the_sp_key() {
    use idgate_saml::testing::{
        Claims, ContentCipher, Encryption, KeyTransport, Signing, TestIdp, encrypted_response,
    };
    let dir = tempfile::tempdir().unwrap();
    let idp = TestIdp::new();
    let sp = idgate_saml::keys::generate("throw-away test SP").unwrap();
    let acs = "https://sso.acme.test/api/rest/sso/saml/123456789012";
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let metadata = file("idp.xml", &idp.metadata_xml());
    let key = file("throw-away-sp-key.pem", &sp.key_pem);
    let other = file(
        "throw-away-other-key.pem",
        &idgate_saml::keys::generate("throw-away other SP")
            .unwrap()
            .key_pem,
    );
    let how = Encryption::new(KeyTransport::OaepMgf1p, ContentCipher::Aes256Gcm);
    let xml = encrypted_response(
        &idp,
        &Claims::new(acs, acs, "_captured"),
        &sp.cert_pem,
        how,
        Signing::Assertion,
    );
    let response = file("response.xml", &xml);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "saml",
            "check",
            "--idp-metadata",
            &metadata,
            "--sp-entity-id",
            acs,
            "--acs-url",
            acs,
        ];
        args.extend_from_slice(extra);
        args.push(&response);
        idgate(dir.path(), &[], &args, None)
    };
    let out = run(&["--sp-key", &key]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(verdict(&out)["identity"]["name_id"], "jane@acme.test");
    for (extra, rule) in [
        (vec![], "no_decryption_key"),
        (vec!["--sp-key", other.as_str()], "decryption"),
    ] {
        let out = run(&extra);
        assert_eq!(
            (out.status.code(), verdict(&out)["rule"].as_str()),
            (Some(1), Some(rule))
        );
    }
    assert_eq!(
        run(&["--sp-key", "/nonexistent/key.pem"]).status.code(),
        Some(2)
    );
}

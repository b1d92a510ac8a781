//! `idgate sso …` and the SP downloads over HTTP.

use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, Store};

use crate::cli::json;
use crate::helpers::{assert_one_line_error, idgate, spawn_with, stderr, stdout, test_config};

const JUMPCLOUD_METADATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../saml/tests/fixtures/jumpcloud/metadata.xml"
);

fn node(cwd: &std::path::Path, env: &[(&str, &str)]) -> String {
    json(&idgate(
        cwd,
        env,
        &["node", "create", "acme", "--json"],
        None,
    ))["node_id"]
        .as_i64()
        .unwrap()
        .to_string()
}

/// The SP metadata and certificate the admin uploads to JumpCloud.
fn assert_exports(cwd: &std::path::Path, env: &[(&str, &str)], sso_id: &str) {
    let metadata = stdout(&idgate(cwd, env, &["sso", "export-metadata", sso_id], None));
    assert!(
        metadata.contains(&format!(
            "entityID=\"https://sso.acme.test/api/rest/sso/saml/{sso_id}\""
        )),
        "{metadata}"
    );
    assert!(metadata.contains("AuthnRequestsSigned=\"true\""));
    let cert = stdout(&idgate(cwd, env, &["sso", "export-cert", sso_id], None));
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!metadata.contains("PRIVATE KEY") && !cert.contains("PRIVATE KEY"));
}

/// A second method of the node: a custom entity id, and no claim on the first one's domain.
fn assert_second_method(cwd: &std::path::Path, env: &[(&str, &str)], node: &str) {
    let custom = json(&idgate(
        cwd,
        env,
        &[
            "sso",
            "create",
            node,
            "--name",
            "Other",
            "--entity-id",
            "urn:acme:idgate",
            "--idp-initiated",
            "on",
            "--json",
        ],
        None,
    ));
    assert_eq!(custom["entity_id"], "urn:acme:idgate");
    assert_eq!(
        custom["idp_initiated"], true,
        "the admin chose tile sign-ins"
    );
    let other = custom["sso_id"].as_i64().unwrap().to_string();
    assert_one_line_error(
        &idgate(
            cwd,
            env,
            &["sso", "set", &other, "--domain", "acme.com"],
            None,
        ),
        "the domain 'acme.com' already routes to another SSO method",
    );
}

#[test]
fn an_admin_wires_a_method_to_jumpcloud_from_the_cli() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [
            ("IDGATE_DATABASE_URL", db.url_string()),
            ("IDGATE_BASE_URL", "https://sso.acme.test"),
        ];
        let node = node(cwd.path(), &env);
        let created = json(&idgate(
            cwd.path(),
            &env,
            &["sso", "create", &node, "--name", "JumpCloud", "--json"],
            None,
        ));
        let sso_id = created["sso_id"].as_i64().unwrap().to_string();
        assert_eq!(sso_id.len(), 12);
        assert_eq!(
            created["idp_initiated"], false,
            "IdP-initiated sign-in is off unless asked for"
        );
        assert_eq!(
            created["entity_id"],
            format!("https://sso.acme.test/api/rest/sso/saml/{sso_id}")
        );
        assert_eq!(created["acs_url"], created["entity_id"]);
        assert_eq!(
            created["login_url"],
            format!("https://sso.acme.test/api/rest/sso/ext_login/{sso_id}")
        );
        assert_eq!(
            created["metadata_url"],
            format!("https://sso.acme.test/api/rest/sso/saml/{sso_id}/metadata")
        );

        let imported = idgate(
            cwd.path(),
            &env,
            &["sso", "import-idp", &sso_id, JUMPCLOUD_METADATA],
            None,
        );
        assert!(imported.status.success(), "{}", stderr(&imported));
        assert!(
            stdout(&imported).contains("imported IdP 'IdP Entity ID'"),
            "{}",
            stdout(&imported)
        );

        let set = idgate(
            cwd.path(),
            &env,
            &[
                "sso",
                "set",
                &sso_id,
                "--jit",
                "off",
                "--idp-initiated",
                "off",
                "--clock-skew",
                "60",
                "--domain",
                "Acme.com",
                "--require-signed",
                "assertion",
                "--sign-requests",
                "on",
                "--require-encryption",
                "on",
            ],
            None,
        );
        assert!(set.status.success(), "{}", stderr(&set));
        let shown = json(&idgate(
            cwd.path(),
            &env,
            &["sso", "show", &sso_id, "--json"],
            None,
        ));
        assert_eq!(shown["idp"]["entity_id"], "IdP Entity ID");
        assert_eq!(
            shown["idp"]["sso_post_url"],
            "https://sso.jumpcloud.com/saml2/ucariontest"
        );
        assert_eq!(
            (shown["jit"].as_bool(), shown["idp_initiated"].as_bool()),
            (Some(false), Some(false))
        );
        assert_eq!(shown["clock_skew_secs"], 60);
        assert_eq!(shown["domains"], serde_json::json!(["acme.com"]));
        assert_eq!(shown["require_signed"], "assertion");
        assert_eq!(shown["require_encryption"], true);

        assert_exports(cwd.path(), &env, &sso_id);

        assert_second_method(cwd.path(), &env, &node);
    }
}

#[test]
fn bad_sso_input_gives_one_readable_line() {
    let cwd = tempfile::tempdir().unwrap();
    let env: [(&str, &str); 0] = [];
    let node = node(cwd.path(), &env);
    let sso_id = json(&idgate(
        cwd.path(),
        &env,
        &["sso", "create", &node, "--name", "x", "--json"],
        None,
    ))["sso_id"]
        .as_i64()
        .unwrap()
        .to_string();
    let no_cert = cwd.path().join("no-cert.xml");
    std::fs::write(&no_cert, r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["sso", "import-idp", &sso_id, no_cert.to_str().unwrap()],
            "no signing certificate",
        ),
        (
            vec!["sso", "import-idp", &sso_id, "/nonexistent.xml"],
            "cannot read /nonexistent.xml",
        ),
        (
            vec!["sso", "import-idp", "123456789012", JUMPCLOUD_METADATA],
            "no SSO method with id 123456789012",
        ),
        (
            vec!["sso", "create", "1234567890123456", "--name", "x"],
            "no node with id 1234567890123456",
        ),
        (
            vec!["sso", "create", &node, "--name", "  "],
            "an SSO method name has 1 to 200 characters",
        ),
        (vec!["sso", "set", &sso_id], "nothing to change"),
        (
            vec!["sso", "set", &sso_id, "--domain", "not a domain"],
            "is not an email domain",
        ),
        (
            vec!["sso", "show", "123456789012"],
            "no SSO method with id 123456789012",
        ),
    ];
    for (args, expected) in cases {
        assert_one_line_error(&idgate(cwd.path(), &env, &args, None), expected);
    }
    assert_eq!(
        idgate(
            cwd.path(),
            &env,
            &["sso", "set", &sso_id, "--clock-skew", "-5"],
            None
        )
        .status
        .code(),
        Some(2)
    );
}

#[tokio::test]
async fn sp_metadata_and_certificate_download_over_http() {
    for db in TestDatabase::all() {
        let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
        let pair = idgate_saml::keys::generate("http test").unwrap();
        let cert_pem = pair.cert_pem.clone();
        let sso_id = store
            .run(move |c| {
                let node = idgate_store::nodes::create(
                    c,
                    &idgate_store::nodes::NodeName::parse("acme").unwrap(),
                )
                .map_err(|e| idgate_store::StorageError::Corrupt(e.to_string()))?;
                idgate_store::sso::create(
                    c,
                    &idgate_store::sso::NewSsoMethod {
                        node_id: node.id,
                        name: "JC",
                        sp_entity_id: None,
                        sp_key_pem: &pair.key_pem,
                        sp_cert_pem: &pair.cert_pem,
                        idp_initiated: false,
                    },
                )
            })
            .await
            .unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let config = test_config(
            &db,
            data_dir.path(),
            &[("IDGATE_BASE_URL", "https://sso.acme.test")],
        );
        let app = spawn_with(config, store, db, data_dir);

        let res = app
            .get(&format!("/api/rest/sso/saml/{sso_id}/metadata"))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"],
            "application/samlmetadata+xml"
        );
        assert_eq!(
            res.headers()["content-disposition"],
            format!("attachment; filename=\"idgate-sp-metadata-{sso_id}.xml\"").as_str()
        );
        let xml = res.text().await.unwrap();
        assert!(
            xml.contains(&format!(
                "entityID=\"https://sso.acme.test/api/rest/sso/saml/{sso_id}\""
            )),
            "built from the configured base URL: {xml}"
        );
        assert!(xml.contains(&idgate_saml::keys::pem_body(&cert_pem)));
        let cert = app.get(&format!("/api/rest/sso/saml/{sso_id}/cert")).await;
        assert_eq!(cert.text().await.unwrap(), cert_pem);
        for missing in ["123456789012", "abc"] {
            assert_eq!(
                app.get(&format!("/api/rest/sso/saml/{missing}/metadata"))
                    .await
                    .status(),
                404
            );
        }
    }
}

#[test]
fn attribute_names_are_set_per_method_and_reset_with_an_empty_value() {
    let cwd = tempfile::tempdir().unwrap();
    let env: [(&str, &str); 0] = [];
    let node = node(cwd.path(), &env);
    let sso_id = json(&idgate(
        cwd.path(),
        &env,
        &["sso", "create", &node, "--name", "x", "--json"],
        None,
    ))["sso_id"]
        .as_i64()
        .unwrap()
        .to_string();
    let set = idgate(
        cwd.path(),
        &env,
        &[
            "sso",
            "set",
            &sso_id,
            "--email-attribute",
            "Mail",
            "--last-name-attribute",
            "surname",
        ],
        None,
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let shown = json(&idgate(
        cwd.path(),
        &env,
        &["sso", "show", &sso_id, "--json"],
        None,
    ));
    assert_eq!(
        shown["attributes"],
        serde_json::json!({"email": "Mail", "first_name": null, "last_name": "surname"})
    );
    idgate(
        cwd.path(),
        &env,
        &["sso", "set", &sso_id, "--email-attribute", ""],
        None,
    );
    let shown = json(&idgate(
        cwd.path(),
        &env,
        &["sso", "show", &sso_id, "--json"],
        None,
    ));
    assert!(shown["attributes"]["email"].is_null());
}

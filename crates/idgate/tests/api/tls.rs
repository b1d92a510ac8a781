//! HTTPS with the operator's certificate, or a self-signed one generated on first use.

use std::os::unix::fs::PermissionsExt;

use idgate::tls::{generate_self_signed, self_signed_paths};
use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, Store};

use crate::cli::{free_port, start_server, terminate, wait_healthy};
use crate::helpers::{spawn_with, test_config};

#[tokio::test]
async fn tls_without_a_certificate_generates_one_into_the_data_directory() {
    let db = TestDatabase::sqlite();
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(&db, data_dir.path(), &[("IDGATE_TLS", "true")]);
    let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
    let app = spawn_with(config, store, db, tempfile::tempdir().unwrap());
    assert!(app.address.starts_with("https://"));
    assert_eq!(app.get("/healthz").await.status(), 200);

    let (cert, key) = self_signed_paths(data_dir.path());
    let pem = std::fs::read(&cert).unwrap();
    let x509 = openssl::x509::X509::from_pem(&pem).unwrap();
    let sans: Vec<String> = x509
        .subject_alt_names()
        .unwrap()
        .iter()
        .filter_map(|n| n.dnsname().map(str::to_owned))
        .collect();
    assert!(sans.contains(&"localhost".to_owned()), "{sans:?}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key is readable by its owner only");

    // Plain HTTP on the TLS port is not served.
    let plain = app.url("/healthz").replace("https://", "http://");
    let refused = app.client.get(plain).send().await;
    assert!(refused.is_err() || refused.unwrap().status() != 200);
}

#[tokio::test]
async fn the_generated_certificate_is_reused_across_restarts() {
    let data_dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let db = TestDatabase::sqlite();
        let config = test_config(&db, data_dir.path(), &[("IDGATE_TLS", "true")]);
        let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
        drop(spawn_with(config, store, db, tempfile::tempdir().unwrap()));
    }
    let (cert, _) = self_signed_paths(data_dir.path());
    let first = std::fs::read(&cert).unwrap();
    let db = TestDatabase::sqlite();
    let config = test_config(&db, data_dir.path(), &[("IDGATE_TLS", "true")]);
    let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
    drop(spawn_with(config, store, db, tempfile::tempdir().unwrap()));
    assert_eq!(first, std::fs::read(&cert).unwrap());
}

#[test]
fn the_server_uses_a_given_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    generate_self_signed("https://sso.acme.test", &cert, &key).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = start_server(
        dir.path(),
        &[
            ("IDGATE_LISTEN", &listen),
            ("IDGATE_TLS_CERT", cert.to_str().unwrap()),
            ("IDGATE_TLS_KEY", key.to_str().unwrap()),
        ],
        &["serve"],
    );
    wait_healthy(&mut child, &format!("https://{listen}/healthz"));
    let (status, err) = terminate(child);
    assert!(status.success(), "{err}");
    // The given certificate was used; nothing was generated.
    assert!(
        !self_signed_paths(&dir.path().join("idgate-data"))
            .0
            .exists()
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a) = (dir.path().join("a.pem"), dir.path().join("a.key"));
    let (cert_b, key_b) = (dir.path().join("b.pem"), dir.path().join("b.key"));
    generate_self_signed("https://a.test", &cert_a, &key_a).unwrap();
    generate_self_signed("https://b.test", &cert_b, &key_b).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let out = crate::helpers::idgate(
        dir.path(),
        &[
            ("IDGATE_LISTEN", &listen),
            ("IDGATE_TLS_CERT", cert_a.to_str().unwrap()),
            ("IDGATE_TLS_KEY", key_b.to_str().unwrap()),
        ],
        &["serve"],
        None,
    );
    crate::helpers::assert_one_line_error(&out, "does not match certificate");
    let missing = crate::helpers::idgate(
        dir.path(),
        &[
            ("IDGATE_LISTEN", &listen),
            ("IDGATE_TLS_CERT", "/nonexistent/cert.pem"),
            ("IDGATE_TLS_KEY", key_a.to_str().unwrap()),
        ],
        &["serve"],
        None,
    );
    crate::helpers::assert_one_line_error(
        &missing,
        "cannot load TLS certificate /nonexistent/cert.pem",
    );
}

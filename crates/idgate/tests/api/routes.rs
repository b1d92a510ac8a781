//! The pages and protocol routes mounted by the binary.

use idgate_store::testing::TestDatabase;
use idgate_store::{StorageError, nodes, sso};

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_start_page_is_html() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("idgate is running"), "{html}");
    assert!(
        html.contains(&app.address),
        "the page shows the base URL: {html}"
    );
}

#[tokio::test]
async fn the_sp_certificate_downloads_as_pem() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let sso_id = app
            .store
            .run(|c| {
                let node = nodes::create(c, &nodes::NodeName::parse("acme").unwrap())
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                sso::create(
                    c,
                    &sso::NewSsoMethod {
                        node_id: node.id,
                        name: "JumpCloud",
                        sp_entity_id: None,
                        sp_key_pem: "test key",
                        sp_cert_pem: "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n",
                        idp_initiated: false,
                    },
                )
            })
            .await
            .unwrap();
        let cert = app.get(&format!("/api/rest/sso/saml/{sso_id}/cert")).await;
        assert_eq!(cert.status(), 200);
        assert_eq!(
            cert.headers()["content-disposition"],
            format!("attachment; filename=\"idgate-sp-{sso_id}.pem\"").as_str()
        );
        assert!(
            cert.text()
                .await
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );

        for missing in ["123456789012", "not-a-number", "-1"] {
            let res = app.get(&format!("/api/rest/sso/saml/{missing}/cert")).await;
            assert_eq!(res.status(), 404, "{missing}");
            assert!(res.text().await.unwrap().contains("No such SSO method"));
        }
    }
}

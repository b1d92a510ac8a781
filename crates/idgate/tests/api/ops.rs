//! Operations endpoints on every backend.

use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, Store};

use crate::helpers::{spawn_app, spawn_with, test_config};

#[tokio::test]
async fn health_readiness_and_metrics_answer_on_every_backend() {
    for db in TestDatabase::all() {
        let backend = db.backend().to_string();
        let app = spawn_app(db).await;

        let health = app.get("/healthz").await;
        assert_eq!(health.status(), 200);
        assert_eq!(
            health.json::<serde_json::Value>().await.unwrap()["status"],
            "ok"
        );

        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200, "{backend}");
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"], backend);

        let metrics = app.get("/metrics").await;
        assert_eq!(metrics.status(), 200);
        let text = metrics.text().await.unwrap();
        assert!(
            text.contains(
                "idgate_http_requests_total{endpoint=\"/healthz\",method=\"GET\",status=\"200\"} 1"
            ),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_database_with_pending_migrations_is_not_ready() {
    for db in TestDatabase::all() {
        let data_dir = tempfile::tempdir().unwrap();
        let config = test_config(&db, data_dir.path(), &[]);
        let store = Store::open(&db.url, &PoolOptions::default(), false).unwrap();
        let app = spawn_with(config, store, db, data_dir);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 503);
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "unavailable");
        assert!(
            body["reason"]
                .as_str()
                .unwrap()
                .contains("migrations are pending"),
            "{body}"
        );
        // Liveness does not depend on the database.
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
}

#[tokio::test]
async fn unmatched_paths_share_one_metrics_label() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    for i in 0..3 {
        assert_eq!(app.get(&format!("/probe-{i}")).await.status(), 404);
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("probe-"), "{text}");
    assert!(
        text.contains(
            "idgate_http_requests_total{endpoint=\"UNMATCHED\",method=\"GET\",status=\"404\"} 3"
        ),
        "{text}"
    );
}

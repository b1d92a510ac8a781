//! Storage behaviour on every available backend (SQLite always, PostgreSQL when reachable).

use std::collections::BTreeSet;
use std::path::Path;

use idgate_store::events::{NewEvent, Outcome};
use idgate_store::testing::TestDatabase;
use idgate_store::{
    Backend, DatabaseUrl, PoolOptions, StorageError, Store, admins, events, migration_names, nodes,
    sso,
};

fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &PoolOptions::default(), true).expect("open test database")
}

fn folder_names(dir: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(dir);
    std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("read {}: {e}", root.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_migration_folders_hold_the_same_migrations() {
    let sqlite = folder_names("sqlite");
    let postgres = folder_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
    for name in &sqlite {
        for dir in ["sqlite", "postgres"] {
            let migration = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../migrations")
                .join(dir)
                .join(name);
            assert!(
                migration.join("up.sql").is_file(),
                "{dir}/{name}/up.sql missing"
            );
            assert!(
                migration.join("down.sql").is_file(),
                "{dir}/{name}/down.sql missing"
            );
        }
    }
    assert_eq!(
        migration_names(Backend::Sqlite),
        migration_names(Backend::Postgres)
    );
}

#[tokio::test]
async fn migrations_run_once_and_leave_the_database_ready() {
    for db in TestDatabase::all() {
        let store = open(&db);
        store
            .ready()
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", db.backend()));
        // A second start finds nothing to do.
        let again = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
        again.ready().await.unwrap();
    }
}

#[tokio::test]
async fn an_unmigrated_database_is_not_ready() {
    for db in TestDatabase::all() {
        let store = Store::open(&db.url, &PoolOptions::default(), false).unwrap();
        let err = store.ready().await.unwrap_err();
        assert!(
            matches!(err, StorageError::Migration(_)),
            "{:?}: {err}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn nodes_are_created_listed_and_unique_by_name_in_any_case() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let backend = db.backend();
        let acme = nodes::NodeName::parse(" Acme ").unwrap();
        let created = store
            .run(move |c| nodes::create(c, &acme).map_err(|e| StorageError::Corrupt(e.to_string())))
            .await
            .unwrap();
        assert_eq!(created.name, "Acme");
        assert_eq!(created.id.to_string().len(), 16);

        let shouting = nodes::NodeName::parse("ACME").unwrap();
        let refused = store
            .run(move |c| Ok(nodes::create(c, &shouting)))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(refused, nodes::CreateNodeError::NameTaken(ref n) if n == "ACME"),
            "{backend:?}: {refused}"
        );
        assert_eq!(refused.to_string(), "a node named 'ACME' already exists");

        let other = nodes::NodeName::parse("Globex").unwrap();
        store
            .run(move |c| {
                nodes::create(c, &other).map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .await
            .unwrap();
        let listed = store.run(nodes::list).await.unwrap();
        let names: Vec<_> = listed.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Acme", "Globex"], "{backend:?}");

        let id = created.id;
        let found = store.run(move |c| nodes::get(c, id)).await.unwrap();
        assert_eq!(found, Some(created));
    }
}

#[test]
fn node_names_are_validated() {
    assert!(nodes::NodeName::parse("   ").unwrap_err().contains("empty"));
    assert!(
        nodes::NodeName::parse(&"x".repeat(201))
            .unwrap_err()
            .contains("200")
    );
    assert!(
        nodes::NodeName::parse("a\nb")
            .unwrap_err()
            .contains("control")
    );
}

#[tokio::test]
async fn admins_are_unique_and_found_regardless_of_case() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let name = admins::AdminName::parse("Root").unwrap();
        let first = name.clone();
        store
            .run(move |c| {
                admins::create(c, &first, "$argon2id$fake")
                    .map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .await
            .unwrap();
        let dup = admins::AdminName::parse("root").unwrap();
        let err = store
            .run(move |c| Ok(admins::create(c, &dup, "x")))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(err, admins::CreateAdminError::NameTaken(_)),
            "{:?}: {err}",
            db.backend()
        );
        let found = store
            .run(|c| admins::find_by_username(c, "ROOT"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.username, "Root");
        assert_eq!(store.run(admins::count).await.unwrap(), 1);
    }
    assert!(admins::AdminName::parse("a b").is_err());
}

#[tokio::test]
async fn events_are_recorded_and_read_newest_first() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let node = store
            .run(|c| {
                nodes::create(c, &nodes::NodeName::parse("n").unwrap())
                    .map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .await
            .unwrap();
        let node_id = node.id;
        store
            .run(move |c| {
                for kind in ["user_create_provision", "user_deprovision"] {
                    events::record(
                        c,
                        &NewEvent {
                            node_id: Some(node_id),
                            kind,
                            actor: "scim",
                            target: Some("jane@acme.test"),
                            outcome: Outcome::Success,
                            detail: "",
                        },
                    )?;
                }
                events::record(
                    c,
                    &NewEvent {
                        node_id: None,
                        kind: "admin_login",
                        actor: "root",
                        target: None,
                        outcome: Outcome::Failure,
                        detail: "wrong password",
                    },
                )
            })
            .await
            .unwrap();
        let of_node = store
            .run(move |c| events::latest(c, Some(node_id), 10))
            .await
            .unwrap();
        let kinds: Vec<_> = of_node.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["user_deprovision", "user_create_provision"],
            "{:?}",
            db.backend()
        );
        let all = store.run(|c| events::latest(c, None, 10)).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].outcome, Outcome::Failure);
    }
}

#[tokio::test]
async fn foreign_keys_are_enforced_on_every_backend() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let err = store
            .run(|c| {
                sso::create(
                    c,
                    &sso::NewSsoMethod {
                        node_id: "1234567890123456".parse().unwrap(),
                        name: "orphan",
                        sp_entity_id: None,
                        sp_key_pem: "k",
                        sp_cert_pem: "c",
                        idp_initiated: false,
                    },
                )
            })
            .await
            .unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("foreign key"),
            "{:?}: {err}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn sso_methods_get_twelve_digit_ids_within_their_node() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let (node, sso_id) = store
            .run(|c| {
                let node = nodes::create(c, &nodes::NodeName::parse("acme").unwrap())
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                let id = sso::create(
                    c,
                    &sso::NewSsoMethod {
                        node_id: node.id,
                        name: "JumpCloud",
                        sp_entity_id: None,
                        sp_key_pem: "key",
                        sp_cert_pem: "cert",
                        idp_initiated: false,
                    },
                )?;
                Ok((node, id))
            })
            .await
            .unwrap();
        assert_eq!(sso_id.to_string().len(), 12);
        let summary = store
            .run(move |c| sso::get_summary(c, sso_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (summary.node_id, summary.sp_cert_pem.as_str()),
            (node.id, "cert")
        );
        let listed = store
            .run(move |c| sso::list_for_node(c, node.id))
            .await
            .unwrap();
        assert_eq!(listed, vec![summary]);
    }
}

#[tokio::test]
async fn sqlite_connections_use_wal_and_wait_for_locks() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Pragma {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let db = TestDatabase::sqlite();
    let store = open(&db);
    let mode = store
        .run(|c| match c {
            idgate_store::DbConnection::Sqlite(inner) => {
                let rows: Vec<Pragma> = diesel::sql_query("PRAGMA journal_mode").load(inner)?;
                Ok(rows.into_iter().next().map(|r| r.journal_mode))
            }
            idgate_store::DbConnection::Postgresql(_) => unreachable!("SQLite database"),
        })
        .await
        .unwrap();
    assert_eq!(mode.as_deref(), Some("wal"));
}

#[test]
fn an_unreachable_postgres_reports_the_real_error() {
    let url = DatabaseUrl::parse("postgres://postgres@127.0.0.1:1/nothing").unwrap();
    let err = Store::open(&url, &PoolOptions::default(), true).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StorageError::Connect { .. }), "{message}");
    assert!(
        message
            .starts_with("cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/nothing"),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[test]
fn an_unopenable_sqlite_path_reports_the_real_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a directory").unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}/idgate.db", file.display())).unwrap();
    let err = Store::open(&url, &PoolOptions::default(), true).unwrap_err();
    assert!(err.to_string().contains("cannot create directory"), "{err}");
}

#[tokio::test]
async fn expired_saml_state_and_sessions_are_purged() {
    use idgate_store::{now_millis, saml_state, sessions};
    for db in TestDatabase::all() {
        let store = open(&db);
        let purged = store
            .run(|c| {
                let node = nodes::create(c, &nodes::NodeName::parse("n").unwrap())
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                let sso_id = sso::create(
                    c,
                    &sso::NewSsoMethod {
                        node_id: node.id,
                        name: "m",
                        sp_entity_id: None,
                        sp_key_pem: "k",
                        sp_cert_pem: "c",
                        idp_initiated: false,
                    },
                )?;
                let past = now_millis() - 1000;
                let future = now_millis() + 60_000;
                saml_state::remember_request(c, sso_id, "_old", None, None, past)?;
                saml_state::remember_request(c, sso_id, "_new", Some("/x"), Some("h"), future)?;
                assert!(saml_state::first_use_of_assertion(c, sso_id, "a1", past)?);
                assert!(
                    !saml_state::first_use_of_assertion(c, sso_id, "a1", past)?,
                    "a replay is seen"
                );
                let user = idgate_store::users::insert(
                    c,
                    node.id,
                    &idgate_store::users::UserFields {
                        user_name: "u@n.test".into(),
                        attributes: "{}".into(),
                        active: true,
                        ..Default::default()
                    },
                    idgate_store::users::Provenance::Jit,
                )?;
                sessions::create(
                    c,
                    &sessions::NewSession {
                        token_hash: "h-old",
                        user_id: &user.id,
                        node_id: node.id,
                        sso_id: Some(sso_id),
                        name_id: None,
                        session_index: None,
                        authn_instant: None,
                        needs_confirmation: false,
                        expires_at: past,
                    },
                )?;
                sessions::create(
                    c,
                    &sessions::NewSession {
                        token_hash: "h-new",
                        user_id: &user.id,
                        node_id: node.id,
                        sso_id: Some(sso_id),
                        name_id: None,
                        session_index: None,
                        authn_instant: None,
                        needs_confirmation: false,
                        expires_at: future,
                    },
                )?;
                assert_eq!(
                    saml_state::consume_request(c, sso_id, "_old")?,
                    None,
                    "an expired request answers nothing"
                );
                let purged = saml_state::purge_expired(c)? + sessions::purge_expired(c)?;
                assert_eq!(
                    saml_state::consume_request(c, sso_id, "_new")?,
                    Some(saml_state::PendingRequest {
                        relay_state: Some("/x".to_owned()),
                        browser_hash: Some("h".to_owned())
                    })
                );
                assert_eq!(
                    saml_state::consume_request(c, sso_id, "_new")?,
                    None,
                    "consumed once"
                );
                assert!(sessions::get(c, "h-new")?.is_some());
                Ok(purged)
            })
            .await
            .unwrap();
        assert_eq!(
            purged,
            2,
            "{:?}: the expired assertion id and session (the expired request was deleted when consumed)",
            db.backend()
        );
    }
}

#[tokio::test]
async fn a_method_keeps_its_creation_choice_and_ends_only_its_own_sessions() {
    use idgate_store::{now_millis, sessions};
    for db in TestDatabase::all() {
        let store = open(&db);
        store
            .run(|c| {
                let node = nodes::create(c, &nodes::NodeName::parse("n").unwrap())
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                let mut methods = Vec::new();
                for (name, idp_initiated) in [("sp-only", false), ("tile", true)] {
                    let id = sso::create(
                        c,
                        &sso::NewSsoMethod {
                            node_id: node.id,
                            name,
                            sp_entity_id: None,
                            sp_key_pem: "k",
                            sp_cert_pem: "c",
                            idp_initiated,
                        },
                    )?;
                    assert_eq!(sso::get(c, id)?.unwrap().idp_initiated, idp_initiated);
                    methods.push(id);
                }
                let user = idgate_store::users::insert(
                    c,
                    node.id,
                    &idgate_store::users::UserFields {
                        user_name: "u@n.test".into(),
                        attributes: "{}".into(),
                        active: true,
                        ..Default::default()
                    },
                    idgate_store::users::Provenance::Jit,
                )?;
                for (hash, sso_id) in [("a1", methods[0]), ("a2", methods[0]), ("b1", methods[1])] {
                    sessions::create(
                        c,
                        &sessions::NewSession {
                            token_hash: hash,
                            user_id: &user.id,
                            node_id: node.id,
                            sso_id: Some(sso_id),
                            name_id: None,
                            session_index: None,
                            authn_instant: None,
                            needs_confirmation: false,
                            expires_at: now_millis() + 60_000,
                        },
                    )?;
                }
                assert_eq!(sessions::delete_for_sso(c, methods[0])?, 2);
                assert!(sessions::get(c, "a1")?.is_none());
                assert!(
                    sessions::get(c, "b1")?.is_some(),
                    "the other method's stays"
                );
                assert_eq!(sessions::delete_for_sso(c, methods[0])?, 0);
                Ok(())
            })
            .await
            .unwrap();
    }
}

//! The outbox on every available backend: each user change appends its event in the change's
//! transaction, numbered by a sequence that only grows per node, with no number twice under
//! concurrent writers.

use idgate_store::testing::TestDatabase;
use idgate_store::users::{self, Provenance, UserFields, UserStatus};
use idgate_store::{NodeId, PoolOptions, StorageError, Store, nodes, outbox};

fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &PoolOptions::default(), true).expect("open test database")
}

async fn node(store: &Store, name: &str) -> NodeId {
    let name = nodes::NodeName::parse(name).unwrap();
    store
        .run(move |c| nodes::create(c, &name).map_err(|e| StorageError::Corrupt(e.to_string())))
        .await
        .unwrap()
        .id
}

fn fields(user_name: &str, active: bool) -> UserFields {
    UserFields {
        user_name: user_name.into(),
        email: Some(user_name.into()),
        attributes: "{}".into(),
        active,
        ..Default::default()
    }
}

/// (seq, kind, subject) of a node's events.
async fn events(store: &Store, node: NodeId) -> Vec<(i64, String, String)> {
    store
        .run(move |c| outbox::after(c, node, 0, 1000))
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.kind, e.subject_id))
        .collect()
}

#[tokio::test]
async fn every_user_change_appends_its_event_in_sequence() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let (acme, globex) = (node(&store, "acme").await, node(&store, "globex").await);
        let user = store
            .run(move |c| {
                let user =
                    users::insert(c, acme, &fields("jane@acme.test", true), Provenance::Scim)?;
                users::update(c, acme, &user.id, None, &fields("jane@acme.test", true))?;
                // A SCIM client deletes the user (Keeper's semantics: locked, hidden from SCIM).
                users::set_status(c, acme, &user.id, UserStatus::Locked, false)?;
                // Provisioned again.
                users::update(c, acme, &user.id, None, &fields("jane@acme.test", true))?;
                users::set_admin_status(c, acme, &user.id, UserStatus::Locked)?;
                users::set_admin_status(c, acme, &user.id, UserStatus::Active)?;
                // Deprovisioned (active: false).
                users::update(c, acme, &user.id, None, &fields("jane@acme.test", false))?;
                Ok(user)
            })
            .await
            .unwrap();
        let id = user.id.as_str().to_owned();
        let kinds: Vec<(i64, String, String)> = [
            "user.created",
            "user.updated",
            "user.deleted",
            "user.restored",
            "user.locked",
            "user.unlocked",
            "user.locked",
        ]
        .iter()
        .enumerate()
        .map(|(i, k)| (i64::try_from(i).unwrap() + 1, (*k).to_owned(), id.clone()))
        .collect();
        assert_eq!(events(&store, acme).await, kinds);
        let last = store
            .run(move |c| outbox::after(c, acme, 6, 10))
            .await
            .unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].payload["status"], "locked");
        assert_eq!(last[0].payload["user_name"], "jane@acme.test");
        assert_eq!(last[0].payload["node_id"], acme.to_string());
        assert_eq!(last[0].payload["deleted"], false);
        // Another node's sequence is its own.
        store
            .run(move |c| {
                users::insert(c, globex, &fields("joe@globex.test", true), Provenance::Jit)
            })
            .await
            .unwrap();
        assert_eq!(events(&store, globex).await[0].0, 1);
    }
}

#[tokio::test]
async fn a_change_rolled_back_leaves_no_event() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let acme = node(&store, "acme").await;
        let failed: Result<(), StorageError> = store
            .run(move |c| {
                idgate_store::transaction(c, |c| {
                    users::insert(c, acme, &fields("jane@acme.test", true), Provenance::Scim)?;
                    Err(StorageError::Corrupt(
                        "the change fails after the write".to_owned(),
                    ))
                })
            })
            .await;
        assert!(failed.is_err());
        assert!(events(&store, acme).await.is_empty());
        // A refused write (a taken userName) appends nothing either.
        store
            .run(move |c| users::insert(c, acme, &fields("jane@acme.test", true), Provenance::Scim))
            .await
            .unwrap();
        let taken = store
            .run(move |c| users::insert(c, acme, &fields("JANE@acme.test", true), Provenance::Scim))
            .await;
        assert!(
            matches!(taken, Err(StorageError::Conflict { .. })),
            "{taken:?}"
        );
        let seen = events(&store, acme).await;
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].0, 1, "the rolled-back change used no number");
    }
}

#[tokio::test]
async fn concurrent_writers_never_share_a_number() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let acme = node(&store, "acme").await;
        let writers: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .run(move |c| {
                            users::insert(
                                c,
                                acme,
                                &fields(&format!("u{i}@acme.test"), true),
                                Provenance::Scim,
                            )
                        })
                        .await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let seqs: Vec<i64> = events(&store, acme)
            .await
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(seqs, (1..=16).collect::<Vec<i64>>());
    }
}

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

#[tokio::test]
async fn teams_appear_to_applications_once_approved_with_their_memberships() {
    use idgate_store::teams::{self, TeamStatus};
    for db in TestDatabase::all() {
        let store = open(&db);
        let acme = node(&store, "acme").await;
        let (user, team) = store
            .run(move |c| {
                let user =
                    users::insert(c, acme, &fields("jane@acme.test", true), Provenance::Scim)?;
                let member = std::slice::from_ref(&user.id);
                // Pending: invisible, its memberships too.
                let team =
                    teams::insert(c, acme, "Engineering", None, TeamStatus::Pending, "scim")?;
                teams::add_members(c, acme, &team.id, member)?;
                teams::remove_members(c, &team.id, member)?;
                assert!(teams::approve_pending(c, acme, &team.id, "Engineering")?);
                teams::add_members(c, acme, &team.id, member)?;
                // Adding again adds no one.
                teams::add_members(c, acme, &team.id, member)?;
                // Approved with a member already in it: the approval says so.
                let other = teams::insert(c, acme, "Ops", None, TeamStatus::Pending, "scim")?;
                teams::add_members(c, acme, &other.id, member)?;
                assert!(teams::approve_pending(c, acme, &other.id, "Ops")?);
                // A SCIM rename awaits approval: applications see nothing until it is approved.
                teams::update(c, acme, &team.id, None, "Eng", None)?;
                assert!(teams::approve_rename(c, acme, &team.id, "Eng")?);
                teams::clear_members(c, &team.id)?;
                teams::delete(c, acme, &team.id)?;
                Ok((user, team))
            })
            .await
            .unwrap();
        let seen = events(&store, acme).await;
        let kinds: Vec<&str> = seen.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "user.created",
                "team.approved",
                "membership.added",
                "team.approved",
                "membership.added",
                "team.renamed",
                "membership.removed",
                "team.deleted"
            ]
        );
        assert_eq!(
            seen[2].2,
            user.id.as_str(),
            "a membership event is about the user"
        );
        assert_eq!(seen[1].2, team.id.as_str());
        let all = store
            .run(move |c| outbox::after(c, acme, 0, 100))
            .await
            .unwrap();
        assert_eq!(all[1].payload["name"], "Engineering");
        assert_eq!(all[2].payload["team"]["name"], "Engineering");
        assert_eq!(all[2].payload["user_id"], user.id.as_str());
        assert_eq!(all[4].payload["team"]["name"], "Ops");
        assert_eq!(all[5].payload["name"], "Eng", "the approved rename");
        assert_eq!(all[7].payload["name"], "Eng");
    }
}

//! Identities compare the same on every backend: ASCII letters regardless of case, every other
//! character only as itself; and the migration gives existing rows the keys idgate computes.

use diesel::connection::SimpleConnection;
use idgate_store::predicate::{Op, Predicate, Value};
use idgate_store::teams::{self, TeamStatus};
use idgate_store::testing::TestDatabase;
use idgate_store::users::{self, Provenance, UserColumn, UserFields, UserListing};
use idgate_store::{
    DbConnection, NodeId, PoolOptions, StorageError, Store, admins, links, nodes, sso,
};

fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &PoolOptions::default(), true).expect("open test database")
}

fn fields(user_name: &str, email: &str) -> UserFields {
    UserFields {
        user_name: user_name.to_owned(),
        email: Some(email.to_owned()),
        attributes: "{}".to_owned(),
        active: true,
        ..UserFields::default()
    }
}

fn node(c: &mut DbConnection) -> Result<NodeId, StorageError> {
    nodes::create(c, &nodes::NodeName::parse("acme").unwrap())
        .map(|n| n.id)
        .map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn user_name_filter(op: Op, value: &str) -> UserListing {
    UserListing {
        filter: Predicate::Cmp(UserColumn::UserName, op, Value::Text(value.to_owned())),
        scim_visible_only: false,
        sort: None,
    }
}

#[tokio::test]
async fn user_names_and_emails_fold_ascii_letters_only_on_every_backend() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let store = open(&db);
        store
            .run(move |c| {
                let node = node(c)?;
                users::insert(
                    c,
                    node,
                    &fields("Jane@ACME.test", "Jane.Doe@Acme.Test"),
                    Provenance::Scim,
                )?;
                // Two accounts: Ä and ä are different characters, in SQLite and PostgreSQL alike.
                let upper = users::insert(
                    c,
                    node,
                    &fields("Ärger@x.test", "Ärger@x.test"),
                    Provenance::Scim,
                )?;
                let lower = users::insert(
                    c,
                    node,
                    &fields("ärger@x.test", "ärger@x.test"),
                    Provenance::Scim,
                )?;
                assert_ne!(upper.id, lower.id);

                let taken = users::insert(
                    c,
                    node,
                    &fields("JANE@acme.TEST", "x@acme.test"),
                    Provenance::Scim,
                )
                .unwrap_err();
                assert!(
                    taken.is_conflict_on(users::USER_NAME_INDEX),
                    "{backend:?}: {taken}"
                );

                let found = users::find_by_user_name(c, node, "jane@acme.test")?.unwrap();
                assert_eq!(found.user_name, "Jane@ACME.test");
                let found = users::find_by_user_name(c, node, "ÄRGER@X.TEST")?.unwrap();
                assert_eq!(found.id, upper.id, "{backend:?}");
                assert_eq!(
                    users::find_by_user_name(c, node, "äRGER@X.TEST")?
                        .unwrap()
                        .id,
                    lower.id
                );
                assert!(users::find_by_user_name(c, node, "AERGER@x.test")?.is_none());
                // By email when no userName matches.
                let by_mail = users::find_by_login(c, node, "jane.doe@ACME.test")?.unwrap();
                assert_eq!(by_mail.user_name, "Jane@ACME.test");

                // Filters compare on the same keys.
                assert_eq!(
                    users::count(c, node, &user_name_filter(Op::Eq, "JANE@acme.test"))?,
                    1
                );
                assert_eq!(
                    users::count(c, node, &user_name_filter(Op::Co, "ÄRGER"))?,
                    1,
                    "{backend:?}"
                );
                assert_eq!(
                    users::count(c, node, &user_name_filter(Op::Sw, "ärg"))?,
                    1,
                    "{backend:?}"
                );
                assert_eq!(
                    users::count(c, node, &user_name_filter(Op::Ew, "@X.TEST"))?,
                    2
                );

                // Team names likewise.
                teams::insert(c, node, "Sales", None, TeamStatus::Approved, "scim")?;
                let taken = teams::insert(c, node, "SALES", None, TeamStatus::Approved, "scim")
                    .unwrap_err();
                assert!(
                    taken.is_conflict_on(teams::DISPLAY_NAME_INDEX),
                    "{backend:?}: {taken}"
                );
                teams::insert(c, node, "Öl", None, TeamStatus::Approved, "scim")?;
                teams::insert(c, node, "öl", None, TeamStatus::Approved, "scim")?;
                assert_eq!(
                    teams::find_by_display_name(c, node, "sales")?
                        .unwrap()
                        .display_name,
                    "Sales"
                );
                assert_eq!(
                    teams::find_by_display_name(c, node, "ÖL")?
                        .unwrap()
                        .display_name,
                    "Öl"
                );
                Ok(())
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn admin_names_fold_ascii_letters_only() {
    for db in TestDatabase::all() {
        let store = open(&db);
        store
            .run(|c| {
                let name = admins::AdminName::parse("Ädmin").unwrap();
                admins::create(c, &name, "$argon2id$fake")
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                assert_eq!(
                    admins::find_by_username(c, "ÄDMIN")?.unwrap().username,
                    "Ädmin"
                );
                assert!(admins::find_by_username(c, "ädmin")?.is_none());
                Ok(())
            })
            .await
            .unwrap();
    }
}

#[test]
fn the_migration_gives_existing_rows_their_keys() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let mut c = DbConnection::open(&db.url).unwrap();
        c.run_migrations_before("2026-12-01-000001_identity")
            .unwrap();
        c.batch_execute(
            "INSERT INTO nodes (id, name, created_at) VALUES (1000000000000001, 'acme', 0);
             INSERT INTO users (id, node_id, user_name, email, attributes, provenance, created_at, updated_at)
               VALUES ('u1', 1000000000000001, 'Jane@ACME.test', 'Jane.Doe@Acme.Test', '{}', 'scim', 0, 0),
                      ('u2', 1000000000000001, 'ÄRGER@X.TEST', NULL, '{}', 'scim', 0, 0);
             INSERT INTO teams (id, node_id, display_name, provenance, created_at, updated_at)
               VALUES ('t1', 1000000000000001, 'Sales ÖL', 'scim', 0, 0);
             INSERT INTO admins (id, username, password_hash, created_at) VALUES ('a1', 'Root', 'x', 0);",
        )
        .unwrap();
        assert!(c.run_migrations().unwrap() >= 1);
        let node: NodeId = "1000000000000001".parse().unwrap();
        let jane = users::find_by_user_name(&mut c, node, "jane@acme.test")
            .unwrap()
            .unwrap();
        assert_eq!(jane.user_name, "Jane@ACME.test", "{backend:?}");
        assert_eq!(
            users::find_by_login(&mut c, node, "JANE.DOE@acme.test")
                .unwrap()
                .unwrap()
                .user_name,
            "Jane@ACME.test"
        );
        assert!(
            users::find_by_user_name(&mut c, node, "Ärger@x.test")
                .unwrap()
                .is_some(),
            "{backend:?}"
        );
        assert!(
            users::find_by_user_name(&mut c, node, "ärger@x.test")
                .unwrap()
                .is_none(),
            "{backend:?}"
        );
        assert!(
            teams::find_by_display_name(&mut c, node, "sales Öl")
                .unwrap()
                .is_some(),
            "{backend:?}"
        );
        assert!(admins::find_by_username(&mut c, "ROOT").unwrap().is_some());
    }
}

#[tokio::test]
async fn links_are_unique_per_name_id_and_per_user_in_a_method() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let store = open(&db);
        store
            .run(move |c| {
                let node = node(c)?;
                let sso_id = sso::create(
                    c,
                    &sso::NewSsoMethod {
                        node_id: node,
                        name: "m",
                        sp_entity_id: None,
                        sp_key_pem: "k",
                        sp_cert_pem: "c",
                        idp_initiated: false,
                    },
                )?;
                let jane = users::insert(
                    c,
                    node,
                    &fields("jane@acme.test", "jane@acme.test"),
                    Provenance::Jit,
                )?;
                let bob = users::insert(
                    c,
                    node,
                    &fields("bob@acme.test", "bob@acme.test"),
                    Provenance::Jit,
                )?;
                let new = |name_id, user_id| links::NewLink {
                    sso_id,
                    node_id: node,
                    name_id,
                    name_id_format: None,
                    user_id,
                };
                links::create(c, &new("Jane@Acme.test", &jane.id))?;
                // An address-shaped NameID is found regardless of ASCII case; an opaque one exactly.
                assert_eq!(
                    links::find(c, sso_id, "JANE@acme.test", None)?
                        .unwrap()
                        .user_id,
                    jane.id
                );
                links::create(c, &new("Opaque-B", &bob.id))?;
                assert!(links::find(c, sso_id, "opaque-b", None)?.is_none());
                assert_eq!(
                    links::find(c, sso_id, "Opaque-B", None)?.unwrap().user_id,
                    bob.id
                );

                let carol = users::insert(
                    c,
                    node,
                    &fields("carol@acme.test", "carol@acme.test"),
                    Provenance::Jit,
                )?;
                let same_name_id = crate::transaction_err(c, |c| {
                    links::create(c, &new("jane@acme.test", &carol.id))
                });
                assert!(
                    same_name_id.is_conflict_on(links::NAME_ID_INDEX),
                    "{backend:?}: {same_name_id}"
                );
                let same_user =
                    crate::transaction_err(c, |c| links::create(c, &new("other", &jane.id)));
                assert!(
                    same_user.is_conflict_on(links::USER_INDEX),
                    "{backend:?}: {same_user}"
                );

                let listed = links::list_for_user(c, &jane.id)?;
                assert_eq!(listed.len(), 1);
                assert_eq!(listed[0].method_name, "m");
                assert_eq!(listed[0].link.name_id, "Jane@Acme.test");
                assert_eq!(
                    links::delete(c, sso_id, &jane.id)?.unwrap().name_id,
                    "Jane@Acme.test"
                );
                assert!(links::delete(c, sso_id, &jane.id)?.is_none());
                // Deleting the user takes its links.
                users::delete(c, node, &bob.id)?;
                assert!(links::find(c, sso_id, "Opaque-B", None)?.is_none());
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// Runs `f` in a transaction of its own and returns its error.
fn transaction_err(
    c: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<(), StorageError>,
) -> StorageError {
    idgate_store::transaction(c, f).unwrap_err()
}

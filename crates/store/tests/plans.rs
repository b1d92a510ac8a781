//! Lookups that clients make on every sync (`userName eq`, `externalId eq`, `displayName eq`,
//! `id eq`) are answered from an index, never by scanning a node's users. Checked with SQLite's
//! query planner on the SQL the repositories really send.

use std::sync::{Arc, Mutex};

use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use idgate_store::predicate::{Op, Predicate, Value};
use idgate_store::teams::{self, TeamColumn, TeamListing};
use idgate_store::testing::TestDatabase;
use idgate_store::users::{self, Provenance, UserColumn, UserFields, UserListing};
use idgate_store::{DbConnection, PoolOptions, StorageError, Store, nodes};

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// Runs `f` and returns the SQL statements it sent.
fn captured(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection)) -> Vec<String> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text
                .split(" -- binds")
                .next()
                .unwrap_or_default()
                .to_owned();
            sink.lock().unwrap().push(sql);
        }
    });
    f(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    seen.lock().unwrap().clone()
}

fn plan(conn: &mut DbConnection, sql: &str) -> Vec<String> {
    let DbConnection::Sqlite(inner) = conn else {
        unreachable!("SQLite database")
    };
    let rows: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load(inner)
        .unwrap();
    rows.into_iter().map(|r| r.detail).collect()
}

fn assert_indexed(conn: &mut DbConnection, statements: &[String], table: &str) {
    let relevant: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("SELECT"))
        .collect();
    assert!(!relevant.is_empty(), "no SELECT captured: {statements:?}");
    for sql in relevant {
        for step in plan(conn, sql) {
            if step.contains(&format!(" {table} ")) || step.ends_with(&format!(" {table}")) {
                assert!(step.starts_with("SEARCH"), "scan in plan for {sql}: {step}");
            }
        }
    }
}

#[test]
fn scim_lookups_use_indexes() {
    let db = TestDatabase::sqlite();
    let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(store.run(|c| {
        let node = nodes::create(c, &nodes::NodeName::parse("acme").unwrap())
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        for i in 0..50 {
            let fields = UserFields {
                user_name: format!("u{i}@acme.test"),
                external_id: Some(format!("ext-{i}")),
                display_name: Some(format!("User {i}")),
                attributes: "{}".into(),
                active: true,
                ..UserFields::default()
            };
            users::insert(c, node.id, &fields, Provenance::Scim)?;
        }
        teams::insert(c, node.id, "Team", None, teams::TeamStatus::Pending, "scim")?;
        c.batch_execute("ANALYZE")?;

        let lookups = [
            (UserColumn::UserName, "U7@acme.test"),
            (UserColumn::ExternalId, "ext-7"),
            (UserColumn::DisplayName, "user 7"),
            (UserColumn::Id, "00000000-0000-0000-0000-000000000000"),
        ];
        for (column, value) in lookups {
            let listing = UserListing {
                filter: Predicate::Cmp(column, Op::Eq, Value::Text(value.into())),
                scim_visible_only: true,
                sort: None,
            };
            let sql = captured(c, |c| {
                users::count(c, node.id, &listing).unwrap();
                users::page(c, node.id, &listing, 0, 100).unwrap();
            });
            assert_indexed(c, &sql, "users");
        }
        let listing = TeamListing {
            filter: Predicate::Cmp(TeamColumn::DisplayName, Op::Eq, Value::Text("team".into())),
            status: None,
            sort: None,
        };
        let sql = captured(c, |c| {
            teams::page(c, node.id, &listing, 0, 100).unwrap();
        });
        assert_indexed(c, &sql, "teams");
        Ok(())
    }))
    .unwrap();
}

#[test]
fn sign_in_lookups_use_indexes() {
    use idgate_store::{links, sessions, sso};
    let db = TestDatabase::sqlite();
    let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(store.run(|c| {
        let node = nodes::create(c, &nodes::NodeName::parse("acme").unwrap())
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
        for i in 0..50 {
            let fields = UserFields {
                user_name: format!("u{i}@acme.test"),
                email: Some(format!("U{i}@Acme.test")),
                attributes: "{}".into(),
                active: true,
                ..UserFields::default()
            };
            let user = users::insert(c, node.id, &fields, Provenance::Jit)?;
            links::create(
                c,
                &links::NewLink {
                    sso_id,
                    node_id: node.id,
                    name_id: &format!("p-{i}"),
                    name_id_format: None,
                    user_id: &user.id,
                },
            )?;
        }
        c.batch_execute("ANALYZE")?;
        let user = users::find_by_user_name(c, node.id, "u7@acme.test")?.unwrap();
        // The account by userName, then by email; the link by NameID, then by user.
        let sql = captured(c, |c| {
            users::find_by_login(c, node.id, "nobody@acme.test").unwrap();
        });
        assert_indexed(c, &sql, "users");
        let sql = captured(c, |c| {
            links::find(c, sso_id, "p-7", None).unwrap();
            links::find_for_user(c, sso_id, &user.id).unwrap();
        });
        assert_indexed(c, &sql, "identity_links");
        // A method's sessions, ended together.
        let sql = captured(c, |c| {
            sessions::delete_for_sso(c, sso_id).unwrap();
            sessions::delete_for_name_id(c, sso_id, "p-7").unwrap();
        });
        let deletes: Vec<String> = sql
            .iter()
            .filter(|s| s.starts_with("DELETE"))
            .map(|s| s.replacen("DELETE", "SELECT *", 1))
            .collect();
        assert_eq!(deletes.len(), 2, "{sql:?}");
        assert_indexed(c, &deletes, "sessions");
        Ok(())
    }))
    .unwrap();
}

//! The admin actions the console offers, from the command line too: renaming a node, rotating
//! and deleting an SSO method, locking users, denying teams, reading the events.

use idgate_store::testing::TestDatabase;
use idgate_store::users::{Provenance, UserFields};
use idgate_store::{NodeId, PoolOptions, Store, teams, users};

use crate::cli::json;
use crate::helpers::{assert_one_line_error, idgate, stderr, stdout};

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn node_of(cwd: &std::path::Path, env: &[(&str, &str)], name: &str) -> String {
    json(&idgate(cwd, env, &["node", "create", name, "--json"], None))["node_id"]
        .as_i64()
        .unwrap()
        .to_string()
}

#[test]
fn nodes_are_renamed_and_sso_methods_rotated_and_deleted() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let node = node_of(cwd.path(), &env, "acme");
        node_of(cwd.path(), &env, "other");
        let renamed = idgate(
            cwd.path(),
            &env,
            &["node", "rename", &node, "Acme Corp"],
            None,
        );
        assert!(renamed.status.success(), "{}", stderr(&renamed));
        assert!(stdout(&idgate(cwd.path(), &env, &["node", "list"], None)).contains("Acme Corp"));
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["node", "rename", &node, "OTHER"], None),
            "a node named 'OTHER' already exists",
        );

        let created = json(&idgate(
            cwd.path(),
            &env,
            &["sso", "create", &node, "--name", "JumpCloud", "--json"],
            None,
        ));
        let sso = created["sso_id"].as_i64().unwrap().to_string();
        let before = stdout(&idgate(
            cwd.path(),
            &env,
            &["sso", "export-cert", &sso],
            None,
        ));
        let rotated = idgate(cwd.path(), &env, &["sso", "rotate-cert", &sso], None);
        assert!(
            stdout(&rotated).contains("/metadata"),
            "{}",
            stderr(&rotated)
        );
        let after = stdout(&idgate(
            cwd.path(),
            &env,
            &["sso", "export-cert", &sso],
            None,
        ));
        assert_ne!(before, after, "a new certificate");

        let unconfirmed = idgate(cwd.path(), &env, &["sso", "delete", &sso], None);
        assert_eq!(unconfirmed.status.code(), Some(2));
        assert!(stderr(&unconfirmed).contains("add --yes to confirm"));
        let deleted = idgate(cwd.path(), &env, &["sso", "delete", &sso, "--yes"], None);
        assert!(deleted.status.success(), "{}", stderr(&deleted));
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["sso", "delete", &sso, "--yes"], None),
            &format!("no SSO method with id {sso}"),
        );

        let events = stdout(&idgate(
            cwd.path(),
            &env,
            &["events", "--kind", "sso_method_deleted"],
            None,
        ));
        let lines: Vec<serde_json::Value> = events
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{events}");
        assert_eq!(lines[0]["target"], sso);
        assert_eq!(lines[0]["initiated_by"], "cli");
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["events", "--from", "last week"], None),
            "is not a date such as 2026-11-30",
        );
    }
}

#[test]
fn users_are_listed_locked_and_unlocked_and_teams_denied() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let node = node_of(cwd.path(), &env, "acme");
        let node_id: NodeId = node.parse().unwrap();
        let store = Store::open(&db.url, &PoolOptions::default(), false).unwrap();
        let (jane, team) = block_on(store.run(move |c| {
            let fields = |name: &str| UserFields {
                user_name: name.to_owned(),
                email: Some(name.to_owned()),
                attributes: "{}".to_owned(),
                active: true,
                ..UserFields::default()
            };
            let jane = users::insert(c, node_id, &fields("jane@acme.test"), Provenance::Scim)?;
            users::insert(c, node_id, &fields("john@acme.test"), Provenance::Jit)?;
            let team = teams::insert(c, node_id, "Spam", None, teams::TeamStatus::Pending, "scim")?;
            Ok((jane, team))
        }))
        .unwrap();

        let listed = json(&idgate(
            cwd.path(),
            &env,
            &["user", "list", &node, "--search", "JANE", "--json"],
            None,
        ));
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["status"], "active");

        let locked = idgate(
            cwd.path(),
            &env,
            &["user", "lock", &node, "jane@acme.test"],
            None,
        );
        assert!(locked.status.success(), "{}", stderr(&locked));
        let all = stdout(&idgate(cwd.path(), &env, &["user", "list", &node], None));
        assert!(
            all.lines()
                .any(|l| l.contains("locked") && l.contains("jane@acme.test")),
            "{all}"
        );
        let unlocked = idgate(
            cwd.path(),
            &env,
            &["user", "unlock", &node, jane.id.as_str()],
            None,
        );
        assert!(
            unlocked.status.success(),
            "by id too: {}",
            stderr(&unlocked)
        );
        assert_one_line_error(
            &idgate(
                cwd.path(),
                &env,
                &["user", "lock", &node, "nobody@acme.test"],
                None,
            ),
            "has no user 'nobody@acme.test'",
        );

        let denied = idgate(cwd.path(), &env, &["team", "deny", team.id.as_str()], None);
        assert!(
            stdout(&denied).contains("denied team 'Spam'"),
            "{}",
            stderr(&denied)
        );
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["team", "deny", team.id.as_str()], None),
            "no team awaiting approval with id",
        );
        let kinds: Vec<String> = stdout(&idgate(
            cwd.path(),
            &env,
            &["events", "--node", &node, "--who", "jane@acme.test"],
            None,
        ))
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event_type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
        assert_eq!(kinds, ["user_unlocked", "user_locked"]);
    }
}

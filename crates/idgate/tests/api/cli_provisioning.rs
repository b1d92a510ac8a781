//! `idgate scim …` and `idgate team …`.

use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, PoolOptions, Store};

use crate::cli::json;
use crate::helpers::{assert_one_line_error, idgate, stderr, stdout};

fn node_of(cwd: &std::path::Path, env: &[(&str, &str)]) -> String {
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

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn scim_enable_prints_the_token_once_and_rotation_revokes_the_old_one() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [
            ("IDGATE_DATABASE_URL", db.url_string()),
            ("IDGATE_BASE_URL", "https://sso.acme.test"),
        ];
        let node = node_of(cwd.path(), &env);
        let first = json(&idgate(
            cwd.path(),
            &env,
            &["scim", "enable", &node, "--json"],
            None,
        ));
        assert_eq!(
            first["base_url"],
            format!("https://sso.acme.test/api/rest/scim/v2/{node}")
        );
        let token1 = first["token"].as_str().unwrap().to_owned();
        assert_eq!(token1.len(), 43);
        assert_eq!(first["rotated"], false);

        let shown = json(&idgate(
            cwd.path(),
            &env,
            &["scim", "show", &node, "--json"],
            None,
        ));
        assert_eq!(shown["status"], "pending");
        assert!(shown["last_used"].is_null());
        assert!(
            !shown.to_string().contains(&token1),
            "the token is never shown again"
        );

        let second = json(&idgate(
            cwd.path(),
            &env,
            &["scim", "enable", &node, "--json"],
            None,
        ));
        assert_eq!(second["rotated"], true);
        assert_ne!(second["token"], first["token"]);

        // Only the hash is stored, and only the new token matches it.
        let node_id: NodeId = node.parse().unwrap();
        let store = Store::open(&db.url, &PoolOptions::default(), false).unwrap();
        let method = block_on(store.run(move |c| idgate_store::scim::get(c, node_id)))
            .unwrap()
            .unwrap();
        let token2 = second["token"].as_str().unwrap();
        assert!(idgate_scim::auth::token_matches(token2, &method.token_hash));
        assert!(
            !idgate_scim::auth::token_matches(&token1, &method.token_hash),
            "the old token stops working"
        );
        assert!(!method.token_hash.contains(token2));
    }
}

#[test]
fn scim_options_are_set_and_bad_input_refused() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let node = node_of(cwd.path(), &env);
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["scim", "show", &node], None),
            "has no SCIM method",
        );
        json(&idgate(
            cwd.path(),
            &env,
            &["scim", "enable", &node, "--json"],
            None,
        ));
        let set = idgate(
            cwd.path(),
            &env,
            &[
                "scim",
                "set",
                &node,
                "--hard-delete",
                "on",
                "--username-policy",
                "refuse",
            ],
            None,
        );
        assert!(set.status.success(), "{}", stderr(&set));
        let shown = json(&idgate(
            cwd.path(),
            &env,
            &["scim", "show", &node, "--json"],
            None,
        ));
        assert_eq!(
            (
                shown["hard_delete"].as_bool(),
                shown["username_policy"].as_str()
            ),
            (Some(true), Some("refuse"))
        );
        assert_one_line_error(
            &idgate(
                cwd.path(),
                &env,
                &["scim", "enable", "1234567890123456"],
                None,
            ),
            "no node with id 1234567890123456",
        );
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["scim", "set", &node], None),
            "nothing to change",
        );
        let usage = idgate(cwd.path(), &env, &["scim", "enable", "abc"], None);
        assert_eq!(usage.status.code(), Some(2));
    }
}

#[test]
fn the_approval_queue_lists_and_approves_pending_teams() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let node: NodeId = node_of(cwd.path(), &env).parse().unwrap();
        let store = Store::open(&db.url, &PoolOptions::default(), false).unwrap();
        let team = block_on(store.run(move |c| {
            idgate_store::teams::insert(
                c,
                node,
                "Sales",
                None,
                idgate_store::teams::TeamStatus::Pending,
                "scim",
            )
        }))
        .unwrap();
        let pending = json(&idgate(
            cwd.path(),
            &env,
            &["team", "list", "--pending", "--json"],
            None,
        ));
        assert_eq!(pending[0]["team_id"], team.id.as_str());
        assert_eq!(pending[0]["empty"], true, "empty teams are marked");
        let text = stdout(&idgate(
            cwd.path(),
            &env,
            &["team", "list", "--pending"],
            None,
        ));
        assert!(text.contains("Sales") && text.contains("empty"), "{text}");

        let approved = idgate(
            cwd.path(),
            &env,
            &["team", "approve", team.id.as_str()],
            None,
        );
        assert_eq!(stdout(&approved).trim(), "approved team 'Sales'");
        let pending = json(&idgate(
            cwd.path(),
            &env,
            &["team", "list", "--pending", "--json"],
            None,
        ));
        assert_eq!(pending, serde_json::json!([]));
        assert_one_line_error(
            &idgate(cwd.path(), &env, &["team", "approve", "no-such-team"], None),
            "no team awaiting approval with id no-such-team",
        );
    }
}

#[test]
fn a_rename_of_an_approved_team_waits_in_the_queue() {
    use idgate_store::teams::{self, TeamStatus};
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let node: NodeId = node_of(cwd.path(), &env).parse().unwrap();
        let store = Store::open(&db.url, &PoolOptions::default(), false).unwrap();
        // An approved team that a SCIM client renames.
        let rename = |name: &'static str, team: idgate_store::TeamId| {
            block_on(store.run(move |c| teams::update(c, node, &team, None, name, None))).unwrap()
        };
        let team = block_on(
            store.run(move |c| teams::insert(c, node, "Sales", None, TeamStatus::Approved, "scim")),
        )
        .unwrap();
        rename("Sales EU", team.id.clone());

        let pending = json(&idgate(
            cwd.path(),
            &env,
            &["team", "list", "--pending", "--json"],
            None,
        ));
        assert_eq!(pending[0]["team_id"], team.id.as_str());
        assert_eq!(
            (&pending[0]["name"], &pending[0]["renamed_from"]),
            (&serde_json::json!("Sales EU"), &serde_json::json!("Sales"))
        );
        let text = stdout(&idgate(
            cwd.path(),
            &env,
            &["team", "list", "--pending"],
            None,
        ));
        assert!(text.contains("Sales → Sales EU (rename)"), "{text}");

        let approved = idgate(
            cwd.path(),
            &env,
            &["team", "approve", team.id.as_str()],
            None,
        );
        assert_eq!(
            stdout(&approved).trim(),
            "approved the rename of team 'Sales' to 'Sales EU'"
        );
        rename("Sales DE", team.id.clone());
        let denied = idgate(cwd.path(), &env, &["team", "deny", team.id.as_str()], None);
        assert_eq!(
            stdout(&denied).trim(),
            "denied the rename of team 'Sales EU' to 'Sales DE' (it keeps its name 'Sales EU')"
        );
        let id = team.id.clone();
        let kept = block_on(store.run(move |c| teams::get(c, node, &id)))
            .unwrap()
            .unwrap();
        assert_eq!(
            (kept.display_name.as_str(), kept.approved_name.as_deref()),
            ("Sales EU", Some("Sales EU"))
        );
        let pending = json(&idgate(
            cwd.path(),
            &env,
            &["team", "list", "--pending", "--json"],
            None,
        ));
        assert_eq!(pending, serde_json::json!([]));
    }
}

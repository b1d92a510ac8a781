//! `idgate app …`: applications (OIDC clients) through the real binary, on every backend.

use std::process::Output;

use idgate_store::apps::{self, App, ClientId};
use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, Store, events};
use serde_json::Value;

use crate::cli::json;
use crate::helpers::{assert_one_line_error, idgate, stderr, stdout};

/// The binary run in one working directory against one database.
struct Cli<'a> {
    cwd: tempfile::TempDir,
    db: &'a TestDatabase,
}

impl<'a> Cli<'a> {
    fn new(db: &'a TestDatabase) -> Self {
        Cli {
            cwd: tempfile::tempdir().unwrap(),
            db,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let env = [("IDGATE_DATABASE_URL", self.db.url_string())];
        idgate(self.cwd.path(), &env, args, None)
    }

    fn json(&self, args: &[&str]) -> Value {
        json(&self.run(args))
    }

    fn node(&self, name: &str) -> String {
        self.json(&["node", "create", name, "--json"])["node_id"]
            .as_i64()
            .unwrap()
            .to_string()
    }

    /// Asserts a refusal: exit 1 and exactly the line `error: {exact}`.
    fn refused(&self, args: &[&str], exact: &str) {
        let out = self.run(args);
        assert_one_line_error(&out, exact);
        assert_eq!(
            stderr(&out).trim_end(),
            format!("error: {exact}"),
            "{args:?}"
        );
    }

    fn store(&self) -> Store {
        Store::open(&self.db.url, &PoolOptions::default(), false).unwrap()
    }

    fn app(&self, client_id: &str) -> Option<App> {
        let id: ClientId = client_id.parse().unwrap();
        block_on(self.store().run(move |c| apps::get(c, &id))).unwrap()
    }

    /// The audit events of kinds `app_*`, oldest first, as (kind, actor, target, detail).
    fn app_events(&self) -> Vec<(String, String, String, String)> {
        let mut all = block_on(self.store().run(|c| events::latest(c, None, 100))).unwrap();
        all.reverse();
        all.into_iter()
            .filter(|e| e.kind.starts_with("app_"))
            .map(|e| (e.kind, e.actor, e.target.unwrap_or_default(), e.detail))
            .collect()
    }
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

#[test]
fn a_confidential_app_gets_a_secret_shown_once_and_stored_as_a_hash() {
    for db in TestDatabase::all() {
        let cli = Cli::new(&db);
        let acme = cli.node("acme");
        let created = cli.json(&[
            "app",
            "create",
            "--name",
            "Wiki",
            "--redirect-uri",
            "https://wiki.acme.test/oauth2/callback",
            "http://127.0.0.1:8080/cb",
            "--post-logout-redirect-uri",
            "https://wiki.acme.test/",
            "--node",
            &acme,
            "--json",
        ]);
        let client_id = text(&created["client_id"]).to_owned();
        let secret = text(&created["client_secret"]).to_owned();
        assert_eq!(client_id.len(), 32, "{:?}: {created}", db.backend());
        assert_eq!(secret.len(), 43);
        assert_eq!(created["name"], "Wiki");
        assert_eq!(created["type"], "confidential");
        assert_eq!(created["public"], false);
        assert_eq!(
            created["redirect_uris"],
            serde_json::json!([
                "https://wiki.acme.test/oauth2/callback",
                "http://127.0.0.1:8080/cb"
            ])
        );
        assert_eq!(
            created["post_logout_redirect_uris"],
            serde_json::json!(["https://wiki.acme.test/"])
        );
        assert_eq!(created["all_nodes"], false);
        assert_eq!(created["nodes"][0].to_string(), acme);

        // Only the hash is stored, and the secret is never printed again.
        let app = cli.app(&client_id).unwrap();
        assert!(app.verify_secret(&secret));
        assert!(!app.verify_secret("not the secret"));
        let shown = cli.json(&["app", "show", &client_id, "--json"]);
        let listed = cli.json(&["app", "list", "--json"]);
        assert_eq!(listed[0]["client_id"], client_id.as_str());
        for output in [&shown, &listed] {
            assert!(!output.to_string().contains(&secret), "{output}");
        }
        assert!(shown.get("client_secret").is_none());
        assert_eq!(shown["redirect_uris"], created["redirect_uris"]);
        let text_show = stdout(&cli.run(&["app", "show", &client_id]));
        assert!(text_show.contains("application 'Wiki' (confidential)"));
        assert!(text_show.contains(&format!("{acme} (acme)")), "{text_show}");
        assert!(!text_show.contains(&secret));

        // The text form prints the secret once too, with the warning.
        let out = cli.run(&[
            "app",
            "create",
            "--name",
            "Reports",
            "--redirect-uri",
            "https://reports.acme.test/cb",
            "--all-nodes",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let printed = stdout(&out);
        assert!(
            printed.starts_with("created application 'Reports' (confidential)\nclient_id:     ")
        );
        assert!(printed.contains("\nclient_secret: "), "{printed}");
        assert!(printed.contains("shown only now"));
        let list = stdout(&cli.run(&["app", "list"]));
        assert!(
            list.contains("Reports") && list.contains(&client_id),
            "{list}"
        );

        let audit = cli.app_events();
        assert_eq!(audit.len(), 2);
        let (kind, actor, target, detail) = &audit[0];
        assert_eq!((kind.as_str(), actor.as_str()), ("app_created", "cli"));
        assert_eq!(target, &client_id);
        assert_eq!(
            detail,
            &format!(
                "'Wiki'; confidential; nodes: {acme}; redirect URIs: https://wiki.acme.test/oauth2/callback, http://127.0.0.1:8080/cb; post-logout redirect URIs: https://wiki.acme.test/"
            )
        );
        assert!(!detail.contains(&secret));
    }
}

#[test]
fn a_public_app_has_no_secret_and_a_rotation_retires_the_old_secret() {
    for db in TestDatabase::all() {
        let cli = Cli::new(&db);
        let public = cli.json(&[
            "app",
            "create",
            "--name",
            "Dashboard",
            "--public",
            "--redirect-uri",
            "https://dash.acme.test/cb",
            "--all-nodes",
            "--json",
        ]);
        assert_eq!(public["client_secret"], Value::Null);
        assert_eq!(
            (public["public"].as_bool(), public["type"].as_str()),
            (Some(true), Some("public"))
        );
        assert_eq!(public["all_nodes"], true);
        let spa = text(&public["client_id"]).to_owned();
        let later = cli.node("later");
        assert!(
            cli.app(&spa).unwrap().grants(later.parse().unwrap()),
            "all nodes: those created later too"
        );
        cli.refused(
            &["app", "rotate-secret", &spa],
            "the application 'Dashboard' is public: it has no secret to rotate",
        );

        let created = cli.json(&[
            "app",
            "create",
            "--name",
            "Wiki",
            "--redirect-uri",
            "https://wiki.acme.test/cb",
            "--node",
            &later,
            "--json",
        ]);
        let wiki = text(&created["client_id"]).to_owned();
        let old = text(&created["client_secret"]).to_owned();
        let rotated = cli.json(&["app", "rotate-secret", &wiki, "--json"]);
        assert_eq!(rotated["client_id"], wiki.as_str());
        let new = text(&rotated["client_secret"]).to_owned();
        assert_ne!(new, old);
        let app = cli.app(&wiki).unwrap();
        assert!(app.verify_secret(&new), "{:?}", db.backend());
        assert!(!app.verify_secret(&old), "the old secret stops working");

        let out = cli.run(&["app", "rotate-secret", &wiki]);
        let printed = stdout(&out);
        assert!(printed.contains("shown only now") && printed.contains("no longer works"));
        let newest = printed
            .trim_end()
            .lines()
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap();
        assert!(cli.app(&wiki).unwrap().verify_secret(newest));

        let audit = cli.app_events();
        let rotations: Vec<_> = audit
            .iter()
            .filter(|e| e.0 == "app_secret_rotated")
            .collect();
        assert_eq!(rotations.len(), 2);
        assert_eq!(
            rotations[0].3,
            "'Wiki': new secret; the previous one no longer works"
        );
        for (_, _, _, detail) in &audit {
            assert!(!detail.contains(&new) && !detail.contains(&old) && !detail.contains(newest));
        }
    }
}

#[test]
fn set_replaces_what_it_is_given_and_delete_needs_confirmation() {
    for db in TestDatabase::all() {
        let cli = Cli::new(&db);
        let (acme, globex) = (cli.node("acme"), cli.node("globex"));
        let created = cli.json(&[
            "app",
            "create",
            "--name",
            "Wiki",
            "--redirect-uri",
            "https://wiki.acme.test/a",
            "--redirect-uri",
            "https://wiki.acme.test/b",
            "--post-logout-redirect-uri",
            "https://wiki.acme.test/",
            "--node",
            &acme,
            "--json",
        ]);
        let id = text(&created["client_id"]).to_owned();
        let out = cli.run(&[
            "app",
            "set",
            &id,
            "--name",
            "Team Wiki",
            "--redirect-uri",
            "https://wiki.acme.test/c",
            "--node",
            &globex,
            &acme,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).trim_end(),
            format!("updated application 'Team Wiki' ({id})")
        );
        let shown = cli.json(&["app", "show", &id, "--json"]);
        assert_eq!(shown["name"], "Team Wiki");
        assert_eq!(
            shown["redirect_uris"],
            serde_json::json!(["https://wiki.acme.test/c"])
        );
        assert_eq!(
            shown["post_logout_redirect_uris"],
            serde_json::json!(["https://wiki.acme.test/"]),
            "what is not given is kept"
        );
        let mut granted: Vec<String> = shown["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        granted.sort();
        let mut both = vec![acme.clone(), globex.clone()];
        both.sort();
        assert_eq!(granted, both, "{:?}", db.backend());

        // The flag alone removes the post-logout URIs; --all-nodes replaces the node list.
        let out = cli.run(&[
            "app",
            "set",
            &id,
            "--post-logout-redirect-uri",
            "--all-nodes",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let shown = cli.json(&["app", "show", &id, "--json"]);
        assert_eq!(shown["post_logout_redirect_uris"], serde_json::json!([]));
        assert_eq!(
            (
                shown["all_nodes"].as_bool(),
                shown["nodes"].as_array().map(Vec::len)
            ),
            (Some(true), Some(0))
        );

        let updates: Vec<String> = cli
            .app_events()
            .into_iter()
            .filter(|e| e.0 == "app_updated")
            .map(|e| e.3)
            .collect();
        assert_eq!(
            updates[0],
            format!(
                "'Team Wiki': name: Wiki → Team Wiki; redirect URIs: https://wiki.acme.test/a, https://wiki.acme.test/b → https://wiki.acme.test/c; nodes: {acme} → {}",
                both.join(", ")
            )
        );
        assert_eq!(
            updates[1],
            format!(
                "'Team Wiki': post-logout redirect URIs: https://wiki.acme.test/ → none; nodes: {} → all",
                both.join(", ")
            )
        );

        assert_deleted_only_with_yes(&cli, &id);
    }
}

/// Deleting asks for --yes (a usage error, one line), then the application is gone.
fn assert_deleted_only_with_yes(cli: &Cli, id: &str) {
    let unconfirmed = cli.run(&["app", "delete", id]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert_eq!(
        stderr(&unconfirmed).trim_end(),
        format!("error: deleting application {id} stops sign-in to it: add --yes to confirm")
    );
    assert!(cli.app(id).is_some());
    let out = cli.run(&["app", "delete", id, "--yes"]);
    assert_eq!(
        stdout(&out).trim_end(),
        format!("deleted application 'Team Wiki' ({id})")
    );
    assert!(cli.app(id).is_none());
    let gone = format!("no application with client id {id}");
    cli.refused(&["app", "show", id], &gone);
    cli.refused(&["app", "delete", id, "--yes"], &gone);
    let last = cli.app_events().pop().unwrap();
    assert_eq!(
        (
            last.0.as_str(),
            last.1.as_str(),
            last.2.as_str(),
            last.3.as_str()
        ),
        ("app_deleted", "cli", id, "'Team Wiki'")
    );
    assert_eq!(
        stdout(&cli.run(&["app", "list"])).trim_end(),
        "no applications yet: register one with `idgate app create --name NAME --redirect-uri URI --all-nodes`"
    );
    assert_eq!(cli.json(&["app", "list", "--json"]), serde_json::json!([]));
}

/// `app create` with `extra` after `--name Wiki`.
fn create(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["app", "create", "--name", "Wiki"];
    args.extend_from_slice(extra);
    args.into_iter().map(str::to_owned).collect()
}

const OK_URI: [&str; 2] = ["--redirect-uri", "https://wiki.acme.test/cb"];

/// Registrations that are refused, with the exact reason, given a node that exists.
fn creation_mistakes(node: &str) -> Vec<(Vec<String>, &'static str)> {
    let many: Vec<String> = (0..=20)
        .map(|i| format!("https://wiki.acme.test/cb{i}"))
        .collect();
    let mut too_many = vec!["--all-nodes", "--redirect-uri"];
    too_many.extend(many.iter().map(String::as_str));
    let [flag, uri] = OK_URI;
    let uri_of = |raw: &str| create(&["--redirect-uri", raw, "--all-nodes"]);
    vec![
        (
            uri_of("http://wiki.acme.test/cb"),
            "the redirect URI 'http://wiki.acme.test/cb' uses http, which is allowed for 127.0.0.1, [::1] and localhost only: use https",
        ),
        (
            uri_of("https://wiki.acme.test/cb#x"),
            "the redirect URI 'https://wiki.acme.test/cb#x' has a fragment (#…), which redirect URIs cannot have",
        ),
        (
            uri_of("https://*.acme.test/cb"),
            "the redirect URI 'https://*.acme.test/cb' contains '*': redirect URIs are matched exactly, without wildcards",
        ),
        (
            uri_of("/cb"),
            "the redirect URI '/cb' is not an absolute URL such as https://app.example.com/callback",
        ),
        (
            uri_of("com.acme.wiki:/cb"),
            "the redirect URI 'com.acme.wiki:/cb' must use https (http is allowed for 127.0.0.1, [::1] and localhost only)",
        ),
        (
            uri_of("https://wiki.acme.test/a b"),
            "the redirect URI 'https://wiki.acme.test/a b' contains a space, which URIs do not allow: percent-encode it",
        ),
        (
            create(&[
                flag,
                uri,
                "--post-logout-redirect-uri",
                "http://wiki.acme.test/",
                "--all-nodes",
            ]),
            "the post-logout redirect URI 'http://wiki.acme.test/' uses http, which is allowed for 127.0.0.1, [::1] and localhost only: use https",
        ),
        (
            create(&too_many),
            "an application has at most 20 redirect URIs; 21 were given",
        ),
        (
            create(&["--all-nodes"]),
            "an application needs at least one redirect URI: give --redirect-uri URI",
        ),
        (
            create(&OK_URI),
            "grant the application at least one node (--node NODE_ID) or all nodes (--all-nodes)",
        ),
        (
            create(&[flag, uri, "--node", node, "--all-nodes"]),
            "give --node or --all-nodes, not both",
        ),
        (
            create(&[flag, uri, "--node", "1234567890123456"]),
            "no node with id 1234567890123456",
        ),
        (
            create(&[flag, uri, "--node", "acme"]),
            "'acme' is not a node id (digits only)",
        ),
        (
            ["app", "create", "--name", " ", flag, uri, "--all-nodes"]
                .map(str::to_owned)
                .to_vec(),
            "an application name cannot be empty",
        ),
    ]
}

#[test]
fn every_mistaken_registration_is_refused_with_one_line_that_says_why() {
    for db in TestDatabase::all() {
        let cli = Cli::new(&db);
        let acme = cli.node("acme");
        for (args, expected) in creation_mistakes(&acme) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli.refused(&args, expected);
        }
        assert!(cli.app_events().is_empty(), "nothing was registered");
        assert_eq!(cli.json(&["app", "list", "--json"]), serde_json::json!([]));
        // A command without its required arguments is a usage error (exit 2), as everywhere.
        assert_eq!(cli.run(&["app", "create"]).status.code(), Some(2));
    }
}

#[test]
fn every_mistaken_change_is_refused_with_one_line_that_says_why() {
    for db in TestDatabase::all() {
        let cli = Cli::new(&db);
        let [flag, uri] = OK_URI;
        let created = cli.json(&[
            "app",
            "create",
            "--name",
            "Wiki",
            flag,
            uri,
            "--all-nodes",
            "--json",
        ]);
        let id = text(&created["client_id"]).to_owned();
        cli.refused(
            &["app", "create", "--name", "WIKI", flag, uri, "--all-nodes"],
            "an application named 'WIKI' already exists",
        );
        cli.refused(
            &["app", "set", &id],
            "nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --node, --all-nodes or --initiate-login-uri",
        );
        cli.refused(
            &["app", "set", &id, "--redirect-uri", "https://wiki.acme.test/#"],
            "the redirect URI 'https://wiki.acme.test/#' has a fragment (#…), which redirect URIs cannot have",
        );
        cli.refused(
            &["app", "set", &id, "--node", "1234567890123456"],
            "no node with id 1234567890123456",
        );
        cli.refused(
            &["app", "set", &id, "--name", ""],
            "an application name cannot be empty",
        );
        let unknown = "0123456789abcdef0123456789abcdef";
        let gone = format!("no application with client id {unknown}");
        for args in [
            vec!["app", "show", unknown],
            vec!["app", "set", unknown, "--name", "X"],
            vec!["app", "rotate-secret", unknown],
            vec!["app", "delete", unknown, "--yes"],
        ] {
            cli.refused(&args, &gone);
        }
        cli.refused(
            &["app", "show", "not an id"],
            "'not an id' is not a client id",
        );
        let shown = cli.json(&["app", "show", &id, "--json"]);
        assert_eq!(shown["name"], "Wiki");
        assert_eq!(
            shown["redirect_uris"],
            serde_json::json!(["https://wiki.acme.test/cb"])
        );
        assert_eq!(cli.app_events().len(), 1, "refused changes leave no event");
        assert_eq!(cli.run(&["app", "show"]).status.code(), Some(2));
    }
}

//! The real binary: its commands, their output, and one-line errors for bad input.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idgate_store::testing::TestDatabase;

use crate::helpers::{assert_one_line_error, idgate, stderr, stdout};

pub fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "status {:?}, stderr: {}",
        output.status,
        stderr(output)
    );
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

#[test]
fn node_create_and_list_work_on_every_backend() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let created = json(&idgate(
            cwd.path(),
            &env,
            &["node", "create", "acme", "--json"],
            None,
        ));
        let node_id = created["node_id"].as_i64().expect("numeric node_id");
        assert_eq!(node_id.to_string().len(), 16);
        assert_eq!(created["name"], "acme");

        let listed = json(&idgate(cwd.path(), &env, &["node", "list", "--json"], None));
        assert_eq!(listed[0]["node_id"], node_id, "{:?}", db.backend());
        assert_eq!(listed[0]["name"], "acme");

        let text = idgate(cwd.path(), &env, &["node", "list"], None);
        assert!(
            stdout(&text).contains(&node_id.to_string()),
            "{}",
            stdout(&text)
        );

        let again = idgate(cwd.path(), &env, &["node", "create", "ACME"], None);
        assert_one_line_error(&again, "a node named 'ACME' already exists");

        let empty = idgate(cwd.path(), &env, &["node", "create", "  "], None);
        assert_one_line_error(&empty, "a node name cannot be empty");
    }
}

#[test]
fn commands_use_the_default_sqlite_database_in_the_working_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let created = json(&idgate(
        cwd.path(),
        &[],
        &["node", "create", "acme", "--json"],
        None,
    ));
    assert!(cwd.path().join("idgate-data/idgate.db").is_file());
    let listed = json(&idgate(cwd.path(), &[], &["node", "list", "--json"], None));
    assert_eq!(listed[0]["node_id"], created["node_id"]);
}

#[test]
fn the_config_file_is_honoured_by_commands() {
    let cwd = tempfile::tempdir().unwrap();
    let db = cwd.path().join("elsewhere/custom.db");
    let file = cwd.path().join("idgate.toml");
    std::fs::write(
        &file,
        format!("[database]\nurl = \"sqlite://{}\"\n", db.display()),
    )
    .unwrap();
    let out = idgate(
        cwd.path(),
        &[],
        &["--config", file.to_str().unwrap(), "node", "create", "x"],
        None,
    );
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert!(db.is_file());
    let via_env = idgate(
        cwd.path(),
        &[("IDGATE_CONFIG", file.to_str().unwrap())],
        &["node", "list", "--json"],
        None,
    );
    assert_eq!(json(&via_env)[0]["name"], "x");
}

#[test]
fn admin_create_reads_the_password_from_stdin() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let args = ["admin", "create", "root", "--password-stdin"];
        let out = idgate(cwd.path(), &env, &args, Some("a long enough password\n"));
        assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
        assert_eq!(stdout(&out).trim(), "created admin 'root'");

        let again = idgate(cwd.path(), &env, &args, Some("another long password\n"));
        assert_one_line_error(&again, "an admin named 'root' already exists");

        let short = idgate(
            cwd.path(),
            &env,
            &["admin", "create", "ops", "--password-stdin"],
            Some("short\n"),
        );
        assert_one_line_error(&short, "at least 12 characters");

        let none = idgate(
            cwd.path(),
            &env,
            &["admin", "create", "ops", "--password-stdin"],
            Some(""),
        );
        assert_one_line_error(&none, "no password on standard input");
    }
    let cwd = tempfile::tempdir().unwrap();
    let without_flag = idgate(cwd.path(), &[], &["admin", "create", "root"], None);
    assert_eq!(without_flag.status.code(), Some(2), "usage errors exit 2");
}

/// Environment, arguments, and the text the error line must contain.
type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, String);

#[test]
fn bad_configuration_gives_one_readable_line_and_exit_1() {
    let cwd = tempfile::tempdir().unwrap();
    let file = cwd.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nlisten_adress = \"x\"\n").unwrap();
    let blocker = cwd.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let unwritable = blocker.join("data");
    let cases: Vec<Case> = vec![
        (
            vec![],
            vec!["--config", file.to_str().unwrap(), "node", "list"],
            "listen_adress".into(),
        ),
        (
            vec![("IDGATE_DATABASE_URL", "mysql://root@localhost/x")],
            vec!["node", "list"],
            "unsupported scheme 'mysql'".into(),
        ),
        (
            vec![("IDGATE_DATABASE_URL", "idgate.db")],
            vec!["node", "list"],
            "expected sqlite://PATH".into(),
        ),
        (
            vec![(
                "IDGATE_DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/idgate",
            )],
            vec!["node", "list"],
            "cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/idgate".into(),
        ),
        (
            vec![("IDGATE_LISTEN", "localhost:80:80")],
            vec!["serve"],
            "invalid listen address 'localhost:80:80'".into(),
        ),
        (
            vec![("IDGATE_DATA_DIR", unwritable.to_str().unwrap())],
            vec!["serve"],
            format!("cannot create data directory {}", unwritable.display()),
        ),
        (
            vec![],
            vec!["--config", "/nonexistent/idgate.toml", "serve"],
            "cannot read config file /nonexistent/idgate.toml".into(),
        ),
    ];
    for (env, args, expected) in cases {
        let out = idgate(cwd.path(), &env, &args, None);
        assert_one_line_error(&out, &expected);
    }
}

#[test]
fn an_unreachable_postgres_fails_fast_with_the_real_reason() {
    let cwd = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = idgate(
        cwd.path(),
        &[(
            "IDGATE_DATABASE_URL",
            "postgres://postgres:secret@127.0.0.1:1/idgate",
        )],
        &["serve"],
        None,
    );
    assert_one_line_error(&out, "Connection refused");
    assert!(
        !stderr(&out).contains("secret"),
        "the password is masked: {}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no retry loop before failing"
    );
}

#[test]
fn migrate_applies_migrations_once() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let env = [("IDGATE_DATABASE_URL", db.url_string())];
        let first = idgate(cwd.path(), &env, &["migrate"], None);
        assert!(first.status.success(), "{}", stderr(&first));
        let all = idgate_store::migration_names(db.backend()).len();
        assert!(
            stdout(&first).starts_with(&format!("{all} migration(s) applied on")),
            "{}",
            stdout(&first)
        );
        let second = idgate(cwd.path(), &env, &["migrate"], None);
        assert!(
            stdout(&second).starts_with("0 migration(s) applied"),
            "{}",
            stdout(&second)
        );
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_server(cwd: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    for (name, _) in std::env::vars() {
        if name.starts_with("IDGATE_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls `url` until it answers 200, or panics with the server's output.
pub fn wait_healthy(child: &mut Child, url: &str) {
    let client = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = client.get(url).send()
            && res.status() == 200
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.stderr.take().map(std::io::read_to_string);
            panic!("server exited with {status}: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server did not become healthy at {url}");
}

/// Sends SIGTERM and returns the exit status and standard error once the process ends.
pub fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
            return (status, err);
        }
        assert!(Instant::now() < deadline, "server ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_runs_on_every_backend_and_stops_gracefully_on_sigterm() {
    for db in TestDatabase::all() {
        let cwd = tempfile::tempdir().unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut env = vec![("IDGATE_LISTEN", listen.as_str())];
        let default_db = db.backend() == idgate_store::Backend::Sqlite;
        if !default_db {
            env.push(("IDGATE_DATABASE_URL", db.url_string()));
        }
        // No subcommand means serve.
        let mut child = start_server(cwd.path(), &env, &[]);
        wait_healthy(&mut child, &format!("http://{listen}/readyz"));
        if default_db {
            assert!(cwd.path().join("idgate-data/idgate.db").is_file());
        }
        let (status, err) = terminate(child);
        assert!(status.success(), "exit {status}: {err}");
        assert!(err.contains("idgate stopped"), "{err}");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let cwd = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = start_server(
        cwd.path(),
        &[("IDGATE_LISTEN", &listen), ("IDGATE_LOG_FORMAT", "json")],
        &["serve"],
    );
    wait_healthy(&mut child, &format!("http://{listen}/healthz"));
    let (status, err) = terminate(child);
    assert!(status.success());
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value.get("level").is_some(), "{line}");
    }
}

#[test]
fn a_port_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let cwd = tempfile::tempdir().unwrap();
    let out = idgate(cwd.path(), &[("IDGATE_LISTEN", &addr)], &["serve"], None);
    assert_one_line_error(&out, &format!("cannot listen on {addr}"));
}

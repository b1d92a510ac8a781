//! Starting the real application on a free port with a fresh database, and running the real
//! binary, on SQLite always and on PostgreSQL whenever one is reachable.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use idgate::config::Config;
use idgate::startup::Application;
use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, Store};

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    #[allow(dead_code, reason = "keeps the database alive for the app")]
    pub db: TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the app")
    }
}

/// Configuration for a test app: loopback, port 0, the given database, its own data directory.
pub fn test_config(db: &TestDatabase, data_dir: &Path, extra: &[(&str, &str)]) -> Config {
    let mut env = vec![
        ("IDGATE_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("IDGATE_DATABASE_URL".to_owned(), db.url_string().to_owned()),
        ("IDGATE_DATA_DIR".to_owned(), data_dir.display().to_string()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Config::load_from(None, env).expect("valid test configuration")
}

/// Starts the application on `db` (migrated) and returns once it accepts connections.
pub async fn spawn_app(db: TestDatabase) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(&db, data_dir.path(), &[]);
    let store = Store::open(&db.url, &PoolOptions::default(), true).expect("open test database");
    spawn_with(config, store, db, data_dir)
}

/// Starts the application with an already opened store.
pub fn spawn_with(
    config: Config,
    store: Store,
    db: TestDatabase,
    data_dir: tempfile::TempDir,
) -> TestApp {
    let https = config.tls != idgate::config::Tls::Off;
    let app = Application::build_with_store(config, store.clone()).expect("app builds");
    let scheme = if https { "https" } else { "http" };
    let address = format!("{scheme}://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    TestApp {
        address,
        store,
        client,
        db,
        _data_dir: data_dir,
    }
}

/// Runs the real `idgate` binary in `cwd` with only the given `IDGATE_*` variables set.
pub fn idgate(cwd: &Path, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.args(args).current_dir(cwd).stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    for (name, _) in std::env::vars() {
        if name.starts_with("IDGATE_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the idgate binary starts");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a failed command: exit status 1 and exactly one line on stderr, starting `error: `.
pub fn assert_one_line_error(output: &Output, expected: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains(expected),
        "expected {expected:?} in: {err}"
    );
}

/// The text between the first `start` and the next `end` (for reading values out of pages).
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    &text[from..from + text[from..].find(end).unwrap()]
}

/// The team names of an `X-Idgate-Groups` header: comma-separated, each percent-encoded. No
/// '+' is ever sent (it is encoded as %2B), so form decoding is percent decoding here.
pub fn decode_groups(header: &str) -> Vec<String> {
    if header.is_empty() {
        return Vec::new();
    }
    header
        .split(',')
        .map(|part| {
            url::form_urlencoded::parse(format!("n={part}").as_bytes())
                .next()
                .map(|(_, name)| name.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

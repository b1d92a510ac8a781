//! What every browser test needs: the application on a free port with a fresh SQLite database
//! and a first-admin setup link ([`App`]), and a headless Chromium to drive ([`Browser`]).
//!
//! The browser tests run on SQLite only: the handler tests in `tests/api` cover PostgreSQL, and
//! one browser run is slow enough.

mod browser;
mod chromedriver;

use idgate::config::Config;
use idgate::startup::Application;
use idgate_store::testing::TestDatabase;
use idgate_store::{PoolOptions, Store};

pub use browser::Browser;

/// Starts a fresh application and a browser pointed at it.
pub async fn start() -> (App, Browser) {
    let app = App::spawn().await;
    let browser = Browser::launch(&app.base).await;
    (app, browser)
}

/// idgate serving on `127.0.0.1` (a port of its own) from a throw-away SQLite database.
pub struct App {
    /// Scheme, host and port, without a trailing slash: `http://127.0.0.1:PORT`.
    pub base: String,
    /// The one-time link that creates the first administrator.
    pub setup_url: String,
    #[allow(dead_code, reason = "for tests that look into the database")]
    pub store: Store,
    /// Plain HTTP without cookies or redirects, e.g. to download what a page links to.
    #[allow(dead_code, reason = "for tests that download what a page links to")]
    pub http: reqwest::Client,
    _db: TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl App {
    /// Starts the application; it serves on the current tokio runtime until the test ends.
    pub async fn spawn() -> Self {
        let db = TestDatabase::sqlite();
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let env = [
            ("IDGATE_LISTEN", "127.0.0.1:0"),
            ("IDGATE_DATABASE_URL", db.url_string()),
            ("IDGATE_DATA_DIR", &data_dir.path().display().to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = Config::load_from(None, env).expect("valid test configuration");
        let store =
            Store::open(&db.url, &PoolOptions::default(), true).expect("open test database");
        let app = Application::build_with_store(config, store.clone()).expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let token = idgate::console::issue_setup_token(&store)
            .await
            .expect("issue a setup token")
            .expect("a fresh database has no administrator");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self {
            setup_url: format!("{base}/console/setup?token={token}"),
            base,
            store,
            http,
            _db: db,
            _data_dir: data_dir,
        }
    }

    /// The absolute URL of `path` (which starts with `/`).
    #[allow(dead_code, reason = "for tests that download what a page links to")]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The first administrator's name and password in every browser test.
pub const ADMIN: &str = "root";
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates the first administrator through the setup link; the browser ends up signed in on
/// the console's start page.
pub async fn first_admin(app: &App, browser: &Browser) {
    browser.goto(&app.setup_url).await;
    browser.fill("#username", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#confirm", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_path("/console").await;
}

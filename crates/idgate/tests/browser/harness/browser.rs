//! Headless Chromium, driven through ChromeDriver with fantoccini, with the few steps the
//! console tests take. Every step waits (up to [`WAIT`]) for its element; a step that cannot be
//! done fails the test with the page's address and text, and a screenshot of it in
//! `target/screenshots/failure.png`.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::chromedriver::{Chromedriver, chromium_binary};

/// How long a step waits for an element or a page.
const WAIT: Duration = Duration::from_secs(10);

/// A browser session on a fresh profile; the browser and ChromeDriver stop on drop.
#[derive(Debug)]
pub struct Browser {
    // Fields drop in this order: the session, then ChromeDriver (and the browser with it), then
    // the profile directory the browser wrote to.
    client: Client,
    base: String,
    driver: Chromedriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on a fresh profile; relative paths given to [`Browser::goto`] are
    /// resolved against `base` (`http://host:port`).
    pub async fn launch(base: &str) -> Self {
        let binary = chromium_binary();
        let profile = tempfile::tempdir().expect("temporary browser profile");
        let driver = Chromedriver::start(profile.path()).await;
        let options = json!({
            "binary": binary,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                format!("--user-data-dir={}", profile.path().join("chromium").display()),
                "--window-size=1280,900",
            ],
        });
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "timeouts": { "pageLoad": 30_000, "script": 10_000 },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "ChromeDriver could not start {}: {e}\n{}",
                    binary.display(),
                    driver.log_tail()
                )
            });
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            _profile: profile,
        }
    }

    /// The fantoccini client, for what the helpers below do not cover.
    #[allow(dead_code, reason = "an escape hatch for tests")]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `target`: an absolute URL, or a path on the application.
    pub async fn goto(&self, target: &str) {
        let url = if target.starts_with('/') {
            format!("{}{target}", self.base)
        } else {
            target.to_owned()
        };
        let opened = self.client.goto(&url).await;
        self.ok(opened, &format!("open {url}")).await;
    }

    /// Waits for the element matching `css` to be on the page.
    pub async fn wait_for(&self, css: &str) -> Element {
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await;
        self.ok(found, &format!("find `{css}`")).await
    }

    /// Replaces the value of the input matching `css`.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.wait_for(css).await;
        let cleared = input.clear().await;
        self.ok(cleared, &format!("clear `{css}`")).await;
        let typed = input.send_keys(value).await;
        self.ok(typed, &format!("type into `{css}`")).await;
    }

    /// Clicks the element matching `css`. When that submits a form, follow with
    /// [`Browser::wait_for_path`] or [`Browser::wait_for`] before reading the next page.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        let clicked = element.click().await;
        self.ok(clicked, &format!("click `{css}`")).await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        let text = element.text().await;
        self.ok(text, &format!("read the text of `{css}`")).await
    }

    /// The visible text of the whole page.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// An attribute of the element matching `css` (e.g. a link's `href`, to download it).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(css).await;
        let value = element.attr(name).await;
        self.ok(value, &format!("read `{name}` of `{css}`")).await
    }

    /// The path of the page shown (without the query).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await;
        self.ok(url, "read the current URL").await.path().to_owned()
    }

    /// Waits until the page shown is at `path`, e.g. after a form redirected.
    pub async fn wait_for_path(&self, path: &str) {
        let start = Instant::now();
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "expected to reach {path} within {WAIT:?}; {}",
                self.describe().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element matching `css` reads `expected` (a script changed it, say).
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let start = Instant::now();
        loop {
            if self.text(css).await == expected {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "expected `{css}` to read {expected:?} within {WAIT:?}; {}",
                self.describe().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves the visible page as `target/screenshots/<name>.png`, and as
    /// `docs/images/<name>.png` too when `IDGATE_UPDATE_SCREENSHOTS=1`.
    pub async fn screenshot(&self, name: &str) {
        let taken = self.client.screenshot().await;
        let png = self.ok(taken, &format!("take screenshot {name}")).await;
        let root = workspace_root();
        save(&root.join("target/screenshots"), name, &png);
        if std::env::var("IDGATE_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            save(&root.join("docs/images"), name, &png);
        }
    }

    /// Saves a picture of the element matching `css` only (a section of a page), as
    /// [`Browser::screenshot`] does.
    pub async fn screenshot_of(&self, css: &str, name: &str) {
        let element = self.wait_for(css).await;
        let taken = element.screenshot().await;
        let png = self
            .ok(taken, &format!("take screenshot {name} of `{css}`"))
            .await;
        let root = workspace_root();
        save(&root.join("target/screenshots"), name, &png);
        if std::env::var("IDGATE_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            save(&root.join("docs/images"), name, &png);
        }
    }

    /// Chooses the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.wait_for(css).await;
        let chosen = element.select_by_value(value).await;
        self.ok(chosen, &format!("choose `{value}` in `{css}`"))
            .await;
    }

    /// Gives the file input matching `css` the file at `path`, as a person choosing it would.
    pub async fn choose_file(&self, css: &str, path: &Path) {
        let element = self.wait_for(css).await;
        let chosen = element.send_keys(&path.display().to_string()).await;
        self.ok(chosen, &format!("choose {} in `{css}`", path.display()))
            .await;
    }

    /// The value of a step that succeeded; otherwise fails the test, saying where.
    async fn ok<T, E: Display>(&self, result: Result<T, E>, step: &str) -> T {
        match result {
            Ok(value) => value,
            Err(err) => panic!("cannot {step}: {err}\n{}", self.describe().await),
        }
    }

    /// Where the browser is and what it shows (also saved as `target/screenshots/failure.png`);
    /// ChromeDriver's log when the session is gone.
    async fn describe(&self) -> String {
        let Ok(url) = self.client.current_url().await else {
            return format!("ChromeDriver log:\n{}", self.driver.log_tail());
        };
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let mut shot = String::new();
        if let Ok(png) = self.client.screenshot().await {
            let dir = workspace_root().join("target/screenshots");
            save(&dir, "failure", &png);
            shot = format!(" (screenshot: {})", dir.join("failure.png").display());
        }
        format!("the page {url}{shot} shows:\n{text}")
    }
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn save(dir: &Path, name: &str, png: &[u8]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let file = dir.join(format!("{name}.png"));
    std::fs::write(&file, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
}

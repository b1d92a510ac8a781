//! A ChromeDriver process of our own, on a free loopback port, stopped (with its browser) on
//! drop, also when a test panics.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const READY_WITHIN: Duration = Duration::from_secs(15);

/// The browser binary: `IDGATE_CHROMIUM`, or Debian's Chromium.
pub fn chromium_binary() -> PathBuf {
    let path = std::env::var_os("IDGATE_CHROMIUM").map_or_else(|| CHROMIUM.into(), PathBuf::from);
    require(&path);
    path
}

/// Fails the test, naming the packages to install, when `path` is not there.
fn require(path: &Path) {
    assert!(
        path.is_file(),
        "the browser tests need Chromium and ChromeDriver, and {} is missing: install the Debian \
         packages `chromium chromium-driver` (scripts/setup installs them)",
        path.display()
    );
}

#[derive(Debug)]
pub struct Chromedriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Chromedriver {
    /// Starts ChromeDriver (logging to `log_dir`) and waits until it accepts sessions.
    pub async fn start(log_dir: &Path) -> Self {
        let binary = Path::new(CHROMEDRIVER);
        require(binary);
        let port = free_port();
        let log = log_dir.join("chromedriver.log");
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut driver = Self { child, port, log };
        driver.wait_until_ready().await;
        driver
    }

    /// The WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The end of ChromeDriver's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    async fn wait_until_ready(&mut self) {
        let status = format!("{}/status", self.url());
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!(
                    "ChromeDriver exited ({exit}) on start:\n{}",
                    self.log_tail()
                );
            }
            let answer = client
                .get(&status)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(response) = answer
                && let Ok(body) = response.json::<serde_json::Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            assert!(
                start.elapsed() < READY_WITHIN,
                "ChromeDriver did not answer on port {} within {READY_WITHIN:?}:\n{}",
                self.port,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks ChromeDriver to end its sessions (which quits their browsers) and to exit. Plain
    /// blocking I/O, since this runs in `drop`, possibly while a panicking test unwinds.
    fn shut_down(&self) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        self.shut_down();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now (the OS picks it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

//! End-to-end tests of the admin console in a real browser: headless Chromium, driven through
//! ChromeDriver, against idgate running in-process on a fresh SQLite database (see harness.rs).
//!
//! Needs the Debian packages `chromium chromium-driver` (scripts/setup installs them); without
//! them the tests fail and say so. Screenshots land in `target/screenshots/`, and also in
//! `docs/images/` when `IDGATE_UPDATE_SCREENSHOTS=1`; a failed step leaves
//! `target/screenshots/failure.png`.

mod console_auth;
mod harness;
mod jumpcloud_setup;
mod oidc_demo;
mod user_sign_in;

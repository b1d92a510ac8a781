//! The console's first-admin setup, sign-in with lock-out and CSRF, and its start page.

use idgate_store::testing::TestDatabase;
use reqwest::StatusCode;

use crate::helpers::{TestApp, between, spawn_app};

fn cookie_of(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

pub async fn setup_admin(app: &TestApp) -> String {
    let token = idgate::console::issue_setup_token(&app.store)
        .await
        .unwrap()
        .expect("no admin yet");
    let res = app
        .client
        .post(app.url("/console/setup"))
        .form(&[
            ("token", token.as_str()),
            ("username", "root"),
            ("password", "a long enough password"),
            ("confirm", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_of(&res, "idgate_admin").expect("signed in");
    let set = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    cookie
}

#[tokio::test]
async fn the_first_admin_is_created_once_by_the_setup_link() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        assert_eq!(
            app.get("/console/setup?token=wrong").await.status(),
            StatusCode::NOT_FOUND
        );
        let token = idgate::console::issue_setup_token(&app.store)
            .await
            .unwrap()
            .unwrap();
        let form = app.get(&format!("/console/setup?token={token}")).await;
        assert_eq!(form.status(), 200);
        let short = app
            .client
            .post(app.url("/console/setup"))
            .form(&[
                ("token", token.as_str()),
                ("username", "root"),
                ("password", "short"),
                ("confirm", "short"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(short.status(), StatusCode::BAD_REQUEST);
        assert!(
            short
                .text()
                .await
                .unwrap()
                .contains("at least 12 characters")
        );

        let cookie = setup_admin(&app).await;
        let home = app
            .client
            .get(app.url("/console"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(home.status(), 200);
        assert!(
            home.text()
                .await
                .unwrap()
                .contains("<span class=\"who\">root</span>")
        );
        // The link is spent, and no new one is issued once an admin exists.
        assert_eq!(
            app.get(&format!("/console/setup?token={token}"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            idgate::console::issue_setup_token(&app.store)
                .await
                .unwrap(),
            None
        );
    }
}

/// Fetches the sign-in form and posts it with its CSRF token.
async fn sign_in(app: &TestApp, password: &str) -> reqwest::Response {
    let form = app.get("/console/login").await;
    let csrf_cookie = cookie_of(&form, "idgate_csrf").unwrap();
    let html = form.text().await.unwrap();
    let csrf = between(&html, r#"name="csrf" value=""#, "\"").to_owned();
    app.client
        .post(app.url("/console/login"))
        .header("cookie", csrf_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ROOT"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_needs_the_csrf_token_and_locks_out_after_repeated_failures() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    setup_admin(&app).await;
    assert_eq!(
        app.get("/console").await.headers()["location"],
        "/console/login"
    );

    let no_csrf = app
        .client
        .post(app.url("/console/login"))
        .form(&[
            ("csrf", "x"),
            ("username", "root"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::BAD_REQUEST);

    let ok = sign_in(&app, "a long enough password").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_of(&ok, "idgate_admin").unwrap();
    let home = app
        .client
        .get(app.url("/console"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&home, r#"name="csrf" value=""#, "\"").to_owned();
    let forged = app
        .client
        .post(app.url("/console/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let out = app
        .client
        .post(app.url("/console/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = app
        .client
        .get(app.url("/console"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.headers()["location"],
        "/console/login",
        "the session ended"
    );

    for _ in 0..idgate_store::admins::MAX_FAILED_LOGINS {
        assert_eq!(
            sign_in(&app, "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = sign_in(&app, "a long enough password").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    let events = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 20))
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e.kind == "admin_login" && e.detail == "wrong password")
            .count()
            >= 5
    );
}

#[tokio::test]
async fn parallel_guesses_cannot_get_past_the_lock_out() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        setup_admin(&app).await;
        let guesses = (0..20).map(|i| {
            let app = &app;
            async move { sign_in(app, &format!("wrong password {i}")).await.status() }
        });
        let answers = futures_util::future::join_all(guesses).await;
        let wrong = answers
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let refused = answers
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(
            (wrong, refused),
            (
                usize::try_from(idgate_store::admins::MAX_FAILED_LOGINS).unwrap(),
                20 - 5
            ),
            "{answers:?}"
        );
        assert_eq!(
            sign_in(&app, "a long enough password").await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "the right password waits too"
        );
    }
}

#[tokio::test]
async fn a_name_no_account_can_have_is_not_stored_in_full() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    setup_admin(&app).await;
    let form = app.get("/console/login").await;
    let csrf_cookie = cookie_of(&form, "idgate_csrf").unwrap();
    let html = form.text().await.unwrap();
    let csrf = between(&html, r#"name="csrf" value=""#, "\"").to_owned();
    let long = "x".repeat(10_000);
    let res = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", csrf_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", &long),
            ("password", "p"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let events = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 1))
        .await
        .unwrap();
    assert_eq!(events[0].detail, "not a user name");
    assert_eq!(events[0].target.as_deref().map(str::len), Some(64));
}

#[tokio::test]
async fn two_setups_at_once_make_one_administrator() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let token = idgate::console::issue_setup_token(&app.store)
            .await
            .unwrap()
            .unwrap();
        let attempts = ["first", "second", "third", "fourth"].map(|name| {
            let (app, token) = (&app, token.clone());
            async move {
                app.client
                    .post(app.url("/console/setup"))
                    .form(&[
                        ("token", token.as_str()),
                        ("username", name),
                        ("password", "a long enough password"),
                        ("confirm", "a long enough password"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        });
        let answers = futures_util::future::join_all(attempts).await;
        assert_eq!(
            answers
                .iter()
                .filter(|s| **s == StatusCode::SEE_OTHER)
                .count(),
            1,
            "{answers:?}"
        );
        let admins = app.store.run(idgate_store::admins::count).await.unwrap();
        assert_eq!(admins, 1);
    }
}

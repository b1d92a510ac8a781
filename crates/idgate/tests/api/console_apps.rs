//! Applications (OIDC clients) in the console, on every backend: registering one (the secret
//! shown once), editing, rotating the secret, deleting; mistakes come back as the form.

use idgate_store::apps::{self, App, ClientId, NodeGrant};
use idgate_store::testing::TestDatabase;
use reqwest::StatusCode;

use crate::console_pages::Console;
use crate::helpers::{TestApp, between, spawn_app};

/// The application as stored.
async fn stored(app: &TestApp, client_id: &str) -> Option<App> {
    let id: ClientId = client_id.parse().unwrap();
    app.store.run(move |c| apps::get(c, &id)).await.unwrap()
}

/// The audit events of kinds `app_*` the console's admin caused, oldest first, as
/// (kind, target, detail).
async fn app_events(app: &TestApp) -> Vec<(String, String, String)> {
    let mut all = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 100))
        .await
        .unwrap();
    all.reverse();
    all.into_iter()
        .filter(|e| e.kind.starts_with("app_"))
        .inspect(|e| assert_eq!(e.actor, "console:root"))
        .map(|e| (e.kind, e.target.unwrap_or_default(), e.detail))
        .collect()
}

/// The client id and secret a secret page shows.
fn shown_secret(body: &str) -> (String, String) {
    assert!(
        body.contains("Copy the secret now: it cannot be shown again."),
        "{body}"
    );
    assert!(body.contains("data-copy=\"client-secret\""));
    (
        between(body, "<code id=\"client-id\">", "<").to_owned(),
        between(body, "<code id=\"client-secret\">", "<").to_owned(),
    )
}

/// Registers a confidential application granted `node`; returns its client id and secret.
async fn register(console: &Console<'_>, name: &str, node: &str) -> (String, String) {
    let page = console
        .post(
            "/console/apps",
            &[
                ("name", name),
                ("client_type", "confidential"),
                ("redirect_uris", "https://wiki.acme.test/cb"),
                ("post_logout_redirect_uris", ""),
                ("node", node),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    shown_secret(&page.body)
}

#[tokio::test]
async fn a_confidential_application_is_registered_and_its_secret_shown_once() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let acme = console.node("Acme").await;
        let home = console.get("/console").await;
        assert!(
            home.body
                .contains("<a href=\"/console/apps\">Applications</a>"),
            "the navigation links the applications"
        );
        let empty = console.get("/console/apps").await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(empty.body.contains("No application yet."));
        assert!(
            empty
                .body
                .contains(&format!("name=\"node\" value=\"{acme}\""))
        );

        // The secret page is never cached, and shows the secret with a copy button.
        let created = app
            .client
            .post(app.url("/console/apps"))
            .header("cookie", &console.cookie)
            .form(&[
                ("csrf", console.csrf.as_str()),
                ("name", "Wiki"),
                ("client_type", "confidential"),
                (
                    "redirect_uris",
                    "https://wiki.acme.test/cb\r\n\r\n  http://localhost:3000/cb  \r\n",
                ),
                ("post_logout_redirect_uris", "https://wiki.acme.test/"),
                ("node", &acme),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::OK);
        assert_eq!(created.headers()["cache-control"], "no-store");
        let body = created.text().await.unwrap();
        assert!(
            body.contains("Application registered.") && body.contains("Client secret for Wiki")
        );
        let (client_id, secret) = shown_secret(&body);
        assert_eq!((client_id.len(), secret.len()), (32, 43));

        let wiki = stored(&app, &client_id).await.unwrap();
        assert!(wiki.verify_secret(&secret), "only its hash is kept");
        let uris: Vec<String> = wiki.redirect_uris.iter().map(ToString::to_string).collect();
        assert_eq!(
            uris,
            ["https://wiki.acme.test/cb", "http://localhost:3000/cb"]
        );
        assert_eq!(wiki.nodes, NodeGrant::Nodes(vec![acme.parse().unwrap()]));

        // Never again: not in the list, not on the application's page.
        let list = console.get("/console/apps").await;
        for shown in [
            format!("<a href=\"/console/apps/{client_id}\">Wiki</a>"),
            format!("<code>{client_id}</code>"),
            "<td>confidential</td><td>Acme</td>".to_owned(),
            "<code>https://wiki.acme.test/cb</code><br><code>http://localhost:3000/cb</code>"
                .to_owned(),
        ] {
            assert!(list.body.contains(&shown), "{shown} in {}", list.body);
        }
        let page = console.get(&format!("/console/apps/{client_id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains(&format!("<code id=\"client-id\">{client_id}</code>"))
        );
        assert!(
            page.body
                .contains("<strong id=\"app-type\">confidential</strong>")
        );
        assert!(page.body.contains("id=\"rotate-secret\""));
        for body in [&list.body, &page.body] {
            assert!(!body.contains(&secret));
        }
        let audit = app_events(&app).await;
        assert_eq!(
            audit,
            [(
                "app_created".to_owned(),
                client_id,
                format!(
                    "'Wiki'; confidential; nodes: {acme}; redirect URIs: https://wiki.acme.test/cb, http://localhost:3000/cb; post-logout redirect URIs: https://wiki.acme.test/"
                )
            )]
        );
    }
}

#[tokio::test]
async fn a_public_application_has_no_secret_to_show_or_rotate() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let globex = console.node("Globex").await;
        let public = console
            .post(
                "/console/apps",
                &[
                    ("name", "Dashboard"),
                    ("client_type", "public"),
                    ("redirect_uris", "https://dash.acme.test/cb"),
                    ("all_nodes", "on"),
                    ("node", &globex),
                ],
            )
            .await;
        let location = public.redirect().to_owned();
        let spa = between(&location, "/console/apps/", "?").to_owned();
        assert_eq!(location, format!("/console/apps/{spa}?done=app-created"));
        let page = console.get(&location).await;
        assert!(
            page.body.contains("It is public: it has no secret"),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("<strong id=\"app-type\">public</strong>")
        );
        assert!(!page.body.contains("id=\"rotate-secret\""));
        assert!(page.body.contains("id=\"app-all-nodes\" checked"));
        let dashboard = stored(&app, &spa).await.unwrap();
        assert!(dashboard.is_public() && dashboard.nodes == NodeGrant::All);
        assert!(
            console
                .get("/console/apps")
                .await
                .body
                .contains("<td>public</td><td>all nodes</td>")
        );

        // Even a crafted form cannot rotate what does not exist.
        let refused = console
            .post(&format!("/console/apps/{spa}/rotate"), &[("confirm", "on")])
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body.contains(
                "the application &#39;Dashboard&#39; is public: it has no secret to rotate"
            ),
            "{}",
            refused.body
        );
        let audit = app_events(&app).await;
        assert_eq!(audit.len(), 1);
        assert_eq!(
            audit[0].2,
            "'Dashboard'; public; nodes: all; redirect URIs: https://dash.acme.test/cb; post-logout redirect URIs: none"
        );
    }
}

#[tokio::test]
async fn an_application_is_edited_and_a_mistake_keeps_what_was_typed() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let (acme, globex) = (console.node("Acme").await, console.node("Globex").await);
        let (id, _) = register(&console, "Wiki", &acme).await;
        let path = format!("/console/apps/{id}");
        let saved = console
            .post(
                &path,
                &[
                    ("name", "Team Wiki"),
                    ("redirect_uris", "https://wiki.acme.test/new"),
                    ("post_logout_redirect_uris", "https://wiki.acme.test/bye"),
                    ("node", &globex),
                    ("node", &acme),
                ],
            )
            .await;
        assert_eq!(saved.redirect(), format!("{path}?done=app-saved"));
        let page = console.get(&format!("{path}?done=app-saved")).await;
        assert!(page.body.contains("Application saved."));
        assert!(page.body.contains("value=\"Team Wiki\""));
        assert!(page.body.contains(">https://wiki.acme.test/new</textarea>"));
        assert!(
            page.body
                .contains(&format!("value=\"{acme}\" checked> Acme"))
        );
        assert!(
            page.body
                .contains(&format!("value=\"{globex}\" checked> Globex"))
        );
        let wiki = stored(&app, &id).await.unwrap();
        assert_eq!(wiki.name, "Team Wiki");
        assert!(wiki.grants(acme.parse().unwrap()) && wiki.grants(globex.parse().unwrap()));
        assert!(
            wiki.post_logout_redirect_uri("https://wiki.acme.test/bye")
                .is_some()
        );
        let updated = &app_events(&app).await[1];
        assert_eq!(updated.0, "app_updated");
        assert!(updated.2.starts_with("'Team Wiki': name: Wiki → Team Wiki; redirect URIs: https://wiki.acme.test/cb → https://wiki.acme.test/new; post-logout redirect URIs: none → https://wiki.acme.test/bye; nodes: "), "{}", updated.2);

        let refused = console
            .post(
                &path,
                &[
                    ("name", "Team Wiki"),
                    ("redirect_uris", "http://wiki.acme.test/plain"),
                    ("node", &acme),
                ],
            )
            .await;
        refused.assert_form_again("Not saved: the redirect URI &#39;http://wiki.acme.test/plain&#39; uses http, which is allowed for 127.0.0.1, [::1] and localhost only: use https.");
        assert!(
            refused
                .body
                .contains(">http://wiki.acme.test/plain</textarea>")
        );
        assert!(
            refused
                .body
                .contains(&format!("value=\"{globex}\" > Globex")),
            "the ticks as sent"
        );
        console
            .post(
                &path,
                &[("name", "Wiki"), ("redirect_uris", ""), ("node", &acme)],
            )
            .await
            .assert_form_again("Not saved: an application needs at least one redirect URI.");
        console
            .post(
                &path,
                &[
                    ("name", "Wiki"),
                    ("redirect_uris", "https://wiki.acme.test/cb"),
                ],
            )
            .await
            .assert_form_again("Not saved: grant the application at least one node, or all nodes.");
        assert_eq!(stored(&app, &id).await.unwrap(), wiki, "nothing changed");
        assert_eq!(app_events(&app).await.len(), 2);
    }
}

#[tokio::test]
async fn the_secret_is_rotated_and_the_application_deleted_only_when_confirmed() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let acme = console.node("Acme").await;
        let (id, old) = register(&console, "Wiki", &acme).await;
        let path = format!("/console/apps/{id}");
        console
            .post(&format!("{path}/rotate"), &[])
            .await
            .assert_form_again(
                "Not rotated: tick the box to confirm that the current secret stops working now.",
            );
        assert!(stored(&app, &id).await.unwrap().verify_secret(&old));
        let rotated = console
            .post(&format!("{path}/rotate"), &[("confirm", "on")])
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        assert!(
            rotated
                .body
                .contains("The previous secret no longer works.")
        );
        let (shown_id, new) = shown_secret(&rotated.body);
        assert_eq!(shown_id, id);
        let wiki = stored(&app, &id).await.unwrap();
        assert!(wiki.verify_secret(&new) && !wiki.verify_secret(&old));

        console
            .post(&format!("{path}/delete"), &[])
            .await
            .assert_form_again("Not deleted: tick the box to confirm that the application can no longer sign anyone in.");
        assert!(stored(&app, &id).await.is_some());
        let deleted = console
            .post(&format!("{path}/delete"), &[("confirm", "on")])
            .await;
        assert_eq!(deleted.redirect(), "/console/apps?done=app-deleted");
        let list = console.get("/console/apps?done=app-deleted").await;
        assert!(
            list.body.contains("Application deleted.") && list.body.contains("No application yet.")
        );
        assert!(stored(&app, &id).await.is_none());
        let gone = console.get(&path).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert!(
            gone.body
                .contains(&format!("There is no application with client id {id}."))
        );

        let audit = app_events(&app).await;
        let kinds: Vec<&str> = audit.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(kinds, ["app_created", "app_secret_rotated", "app_deleted"]);
        assert!(audit.iter().all(|e| e.1 == id));
        assert_eq!(
            audit[1].2,
            "'Wiki': new secret; the previous one no longer works"
        );
        assert_eq!(audit[2].2, "'Wiki'");
        for (_, _, detail) in &audit {
            assert!(!detail.contains(&old) && !detail.contains(&new));
        }
    }
}

/// A registration form's fields: name, redirect URIs (one a line) and the node fields.
fn attempt(name: &str, uris: &str, grant: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = vec![
        ("name".to_owned(), name.to_owned()),
        ("client_type".to_owned(), "confidential".to_owned()),
        ("redirect_uris".to_owned(), uris.to_owned()),
    ];
    fields.extend(
        grant
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    fields
}

#[tokio::test]
async fn registration_mistakes_come_back_as_the_form_with_what_was_typed() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let acme = console.node("Acme").await;
        let node = [("node", acme.as_str())];
        let ok = "https://wiki.acme.test/cb";
        let cases = [
            (
                attempt(" ", ok, &node),
                "Not registered: an application name cannot be empty.",
            ),
            (
                attempt("Wiki", ok, &[]),
                "Not registered: grant the application at least one node, or all nodes.",
            ),
            (
                attempt("Wiki", "\n \n", &node),
                "Not registered: an application needs at least one redirect URI.",
            ),
            (
                attempt("Wiki", "https://wiki.acme.test/cb#top", &node),
                "has a fragment (#…), which redirect URIs cannot have.",
            ),
            (
                attempt("Wiki", "https://*.acme.test/cb", &node),
                "contains &#39;*&#39;: redirect URIs are matched exactly, without wildcards.",
            ),
            (
                attempt("Wiki", "http://wiki.acme.test/cb", &node),
                "uses http, which is allowed for 127.0.0.1, [::1] and localhost only: use https.",
            ),
            (
                attempt("Wiki", "wiki.acme.test/cb", &node),
                "is not an absolute URL such as https://app.example.com/callback.",
            ),
            (
                attempt("Wiki", ok, &[("node", "abc")]),
                "Not registered: &#39;abc&#39; is not a node id (digits only).",
            ),
            (
                attempt("Wiki", ok, &[("node", "1234567890123456")]),
                "Not registered: no node with id 1234567890123456.",
            ),
        ];
        for (fields, message) in &cases {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let page = console.post("/console/apps", &fields).await;
            page.assert_form_again(message);
            let uris = fields[2].1;
            if !uris.trim().is_empty() {
                assert!(
                    page.body.contains(&format!(">{uris}</textarea>")),
                    "what was typed is kept"
                );
            }
        }
        assert!(app_events(&app).await.is_empty());
        register(&console, "Wiki", &acme).await;
        console
            .post(
                "/console/apps",
                &[("name", "WIKI"), ("redirect_uris", ok), ("all_nodes", "on")],
            )
            .await
            .assert_form_again(
                "Not registered: an application named &#39;WIKI&#39; already exists.",
            );
        assert_eq!(app_events(&app).await.len(), 1);
    }
}

#[tokio::test]
async fn forged_forms_missing_sessions_and_unknown_ids_change_nothing() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let acme = console.node("Acme").await;
        let (id, secret) = register(&console, "Wiki", &acme).await;
        let path = format!("/console/apps/{id}");
        let before = stored(&app, &id).await.unwrap();
        let change = [
            ("name", "Forged"),
            ("redirect_uris", "https://x.acme.test/cb"),
            ("all_nodes", "on"),
        ];
        for (target, fields) in [
            ("/console/apps".to_owned(), &change[..]),
            (path.clone(), &change[..]),
            (format!("{path}/rotate"), &[("confirm", "on")][..]),
            (format!("{path}/delete"), &[("confirm", "on")][..]),
        ] {
            let mut forged = vec![("csrf", "forged")];
            forged.extend_from_slice(fields);
            let res = app
                .client
                .post(app.url(&target))
                .header("cookie", &console.cookie)
                .form(&forged)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{target}");
            assert!(
                res.text().await.unwrap().contains("The form expired"),
                "{target}"
            );
            let mut anonymous = vec![("csrf", console.csrf.as_str())];
            anonymous.extend_from_slice(fields);
            let res = app
                .client
                .post(app.url(&target))
                .form(&anonymous)
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["location"], "/console/login", "{target}");
        }
        let after = stored(&app, &id).await.unwrap();
        assert_eq!(after, before);
        assert!(after.verify_secret(&secret));
        assert!(!console.get("/console/apps").await.body.contains("Forged"));
        assert_eq!(app_events(&app).await.len(), 1, "only the registration");
        let anonymous = app.get(&path).await;
        assert_eq!(anonymous.headers()["location"], "/console/login");

        for missing in [
            "/console/apps/0123456789abcdef0123456789abcdef",
            "/console/apps/%20x",
        ] {
            assert_eq!(
                console.get(missing).await.status,
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
        let unknown = console
            .post(
                "/console/apps/0123456789abcdef0123456789abcdef/delete",
                &[("confirm", "on")],
            )
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(
            unknown
                .body
                .contains("no application with client id 0123456789abcdef0123456789abcdef")
        );
    }
}

#[tokio::test]
async fn an_sso_methods_default_application_is_chosen_on_its_page() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let acme = console.node("Acme").await;
        let sso = console.sso(&acme, "JumpCloud", "acme.test").await;
        let (id, _) = register(&console, "Wiki", &acme).await;
        let path = format!("/console/sso/{sso}");
        // Without an initiate-login URI the application is not offered, and is refused.
        let page = console.get(&path).await;
        assert!(
            !page.body.contains(&format!("<option value=\"{id}\"")),
            "{}",
            page.body
        );
        console
            .post(&format!("{path}/default-app"), &[("client_id", &id)])
            .await
            .assert_form_again("has no initiate-login URI");
        let saved = console
            .post(
                &format!("/console/apps/{id}"),
                &[
                    ("name", "Wiki"),
                    ("redirect_uris", "https://wiki.acme.test/cb"),
                    ("initiate_login_uri", "https://wiki.acme.test/login"),
                    ("node", &acme),
                ],
            )
            .await;
        saved.redirect();
        assert_eq!(
            stored(&app, &id)
                .await
                .unwrap()
                .initiate_login_uri
                .map(|u| u.as_str().to_owned()),
            Some("https://wiki.acme.test/login".to_owned())
        );
        let page = console.get(&path).await;
        assert!(
            page.body
                .contains(&format!("<option value=\"{id}\" >Wiki</option>")),
            "{}",
            page.body
        );
        let saved = console
            .post(&format!("{path}/default-app"), &[("client_id", &id)])
            .await;
        assert_eq!(saved.redirect(), format!("{path}?done=saved#default-app"));
        let page = console.get(&path).await;
        assert!(
            page.body
                .contains(&format!("<option value=\"{id}\" selected>Wiki</option>")),
            "{}",
            page.body
        );
        let sso_id: idgate_store::SsoId = sso.parse().unwrap();
        let method = app
            .store
            .run(move |c| idgate_store::sso::get(c, sso_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            method.default_app_id.map(|c| c.to_string()),
            Some(id.clone())
        );
        // None again.
        console
            .post(&format!("{path}/default-app"), &[("client_id", "")])
            .await
            .redirect();
        let method = app
            .store
            .run(move |c| idgate_store::sso::get(c, sso_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(method.default_app_id, None);
    }
}

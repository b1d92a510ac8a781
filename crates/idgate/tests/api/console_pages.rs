//! The console's pages and actions, on every backend: nodes, SSO methods, the SCIM token,
//! users, the team approval queue and the events view. Every form's mistakes come back as the
//! form with a message.

use idgate_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console::setup_admin;
use crate::helpers::{TestApp, between, spawn_app};
use crate::scim::{Scim, user};

const JUMPCLOUD_METADATA: &str =
    include_str!("../../../saml/tests/fixtures/jumpcloud/metadata.xml");

/// A signed-in console session.
pub(crate) struct Console<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// A page as the browser would get it: status, body, and where a redirect points.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) location: Option<String>,
}

impl Page {
    pub(crate) fn assert_form_again(&self, message: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.body);
        assert!(self.body.contains("role=\"alert\""), "{}", self.body);
        assert!(self.body.contains(message), "{message:?} in {}", self.body);
        assert!(self.body.contains("<form"), "the form comes back");
    }

    pub(crate) fn redirect(&self) -> &str {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        self.location.as_deref().unwrap()
    }
}

async fn page_of(res: reqwest::Response) -> Page {
    Page {
        status: res.status(),
        location: res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: res.text().await.unwrap(),
    }
}

impl<'a> Console<'a> {
    pub(crate) async fn sign_in(app: &'a TestApp) -> Console<'a> {
        let cookie = setup_admin(app).await;
        let mut console = Console {
            app,
            cookie,
            csrf: String::new(),
        };
        let home = console.get("/console").await;
        between(&home.body, "name=\"csrf\" value=\"", "\"").clone_into(&mut console.csrf);
        console
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        page_of(
            self.app
                .client
                .get(self.app.url(path))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a form with the session's CSRF token added.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        page_of(
            self.app
                .client
                .post(self.app.url(path))
                .header("cookie", &self.cookie)
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Creates a node and returns its id.
    pub(crate) async fn node(&self, name: &str) -> String {
        let created = self.post("/console/nodes", &[("name", name)]).await;
        let location = created.redirect();
        between(location, "/console/nodes/", "?").to_owned()
    }

    /// Creates an SSO method on a node and returns its id.
    pub(crate) async fn sso(&self, node: &str, name: &str, domain: &str) -> String {
        let created = self
            .post(
                &format!("/console/nodes/{node}/sso"),
                &[("name", name), ("domain", domain), ("jit", "on")],
            )
            .await;
        between(created.redirect(), "/console/sso/", "?").to_owned()
    }

    /// Uploads IdP metadata as a file, with an optional pasted text beside it.
    async fn upload(&self, sso: &str, file: &str, pasted: &str) -> Page {
        let form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .part(
                "metadata_file",
                reqwest::multipart::Part::text(file.to_owned()).file_name("metadata.xml"),
            )
            .text("metadata_xml", pasted.to_owned());
        page_of(
            self.app
                .client
                .post(self.app.url(&format!("/console/sso/{sso}/idp")))
                .header("cookie", &self.cookie)
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Generates (or rotates) the node's SCIM token from the console; returns it.
    async fn scim_token(&self, node: &str) -> String {
        let shown = self.post(&format!("/console/nodes/{node}/scim"), &[]).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(shown.body.contains("cannot be shown again"));
        between(&shown.body, "<code id=\"scim-token\">", "<").to_owned()
    }
}

/// Creates a team through SCIM (it awaits approval); returns its id.
async fn team_of(scim: &Scim<'_>, name: &str) -> String {
    let (status, team) = scim
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    team["id"].as_str().unwrap().to_owned()
}

/// The SSO method as stored.
async fn sso_method(app: &TestApp, sso: &str) -> idgate_store::sso::SsoMethod {
    let id = sso.parse().unwrap();
    app.store
        .run(move |c| idgate_store::sso::get(c, id))
        .await
        .unwrap()
        .expect("the SSO method exists")
}

/// The kinds of the events the console's admin caused, newest first.
async fn console_event_kinds(app: &TestApp) -> Vec<String> {
    app.store
        .run(|c| idgate_store::events::latest(c, None, 100))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "console:root")
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn nodes_are_created_and_renamed_and_mistakes_come_back_as_the_form() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let shown = console
            .get(&format!("/console/nodes/{node}?done=node-created"))
            .await;
        assert!(shown.body.contains("Node created."), "{}", shown.body);
        assert!(console.get("/console").await.body.contains(">Acme</a>"));

        console
            .post("/console/nodes", &[("name", "  ")])
            .await
            .assert_form_again("a node name cannot be empty");
        console
            .post("/console/nodes", &[("name", "acme")])
            .await
            .assert_form_again("a node named &#39;acme&#39; already exists");

        let renamed = console
            .post(
                &format!("/console/nodes/{node}/rename"),
                &[("name", "Acme Corp")],
            )
            .await;
        assert_eq!(
            renamed.redirect(),
            format!("/console/nodes/{node}?done=renamed")
        );
        assert!(
            console
                .get(&format!("/console/nodes/{node}"))
                .await
                .body
                .contains("<h1>Acme Corp</h1>")
        );
        console.node("Other").await;
        let taken = console
            .post(
                &format!("/console/nodes/{node}/rename"),
                &[("name", "other")],
            )
            .await;
        taken.assert_form_again("already exists");
        assert!(
            taken.body.contains("value=\"other\""),
            "the typed name is kept"
        );

        // A wrong CSRF token changes nothing.
        let forged = app
            .client
            .post(app.url("/console/nodes"))
            .header("cookie", &console.cookie)
            .form(&[("csrf", "forged"), ("name", "Forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        assert!(forged.text().await.unwrap().contains("The form expired"));
        assert!(!console.get("/console").await.body.contains("Forged"));

        // Without a session: to the sign-in page, nothing done.
        let anonymous = app
            .client
            .post(app.url("/console/nodes"))
            .form(&[("csrf", console.csrf.as_str()), ("name", "Anon")])
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.headers()["location"], "/console/login");
        assert!(!console.get("/console").await.body.contains("Anon"));

        // Unknown or malformed ids, and incomplete forms: pages, never 500 or JSON.
        let missing = console.get("/console/nodes/123456789012345").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("There is no node with id"));
        assert_eq!(
            console.get("/console/nodes/not-a-node").await.status,
            StatusCode::NOT_FOUND
        );
        let unknown = console.get("/console/no-such-page").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(
            unknown
                .body
                .contains("There is no such page in the console.")
        );
        let incomplete = console.post("/console/nodes", &[]).await;
        assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
        assert!(incomplete.body.contains("The form was incomplete"));
    }
}

#[tokio::test]
async fn console_pages_are_never_framed_cached_or_referred() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let headers = app.get("/console/login").await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(headers.headers()[name], value, "{name}");
    }
    let csp = headers.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    let script = app.get("/console/assets/console.js").await;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
}

#[tokio::test]
async fn an_sso_method_is_set_up_from_the_console() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;

        let bad = console
            .post(
                &format!("/console/nodes/{node}/sso"),
                &[("name", "JumpCloud"), ("domain", "not a domain!")],
            )
            .await;
        bad.assert_form_again("is not an email domain");
        assert!(bad.body.contains("value=\"JumpCloud\""), "the name is kept");

        let sso = console.sso(&node, "JumpCloud", "acme.com").await;
        let shown = console.get(&format!("/console/sso/{sso}")).await;
        for url in [
            format!("/api/rest/sso/saml/{sso}<"),
            format!("/api/rest/sso/ext_login/{sso}<"),
            format!("/api/rest/sso/saml/{sso}/metadata"),
            format!("/api/rest/sso/saml/{sso}/cert"),
        ] {
            assert!(shown.body.contains(&url), "{url} on the page");
        }
        assert!(shown.body.contains("Not imported yet"));
        // The same domain cannot route to a second method.
        console
            .post(
                &format!("/console/nodes/{node}/sso"),
                &[("name", "Second"), ("domain", "ACME.com")],
            )
            .await
            .assert_form_again("already routes to another SSO method");

        // IdP metadata: empty, not metadata, then JumpCloud's by file and by paste.
        console
            .upload(&sso, "", "  ")
            .await
            .assert_form_again("Choose the IdP metadata file, or paste its XML");
        let refused = console.upload(&sso, "", "<html>nope</html>").await;
        refused.assert_form_again("Not imported:");
        assert!(
            refused.body.contains("&#60;html&#62;nope"),
            "the paste is kept"
        );
        let dtd = console
            .upload(
                &sso,
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
                "",
            )
            .await;
        dtd.assert_form_again("DTD");
        let huge = "x".repeat(3 * 1024 * 1024);
        console
            .upload(&sso, &huge, "")
            .await
            .assert_form_again("the upload is larger than");
        let form = reqwest::multipart::Form::new()
            .text("csrf", console.csrf.clone())
            .part(
                "metadata_file",
                reqwest::multipart::Part::bytes(vec![0xff, 0xfe, b'<', 0, b'x', 0])
                    .file_name("m.xml"),
            );
        let utf16 = page_of(
            app.client
                .post(app.url(&format!("/console/sso/{sso}/idp")))
                .header("cookie", &console.cookie)
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        utf16.assert_form_again("not UTF-8");
        let imported = console.upload(&sso, JUMPCLOUD_METADATA, "").await;
        assert_eq!(
            imported.redirect(),
            format!("/console/sso/{sso}?done=idp-imported")
        );
        let shown = console.get(&format!("/console/sso/{sso}")).await;
        assert!(
            shown.body.contains("Imported: <code>IdP Entity ID</code>"),
            "{}",
            shown.body
        );
        let pasted = console.upload(&sso, "", JUMPCLOUD_METADATA).await;
        assert_eq!(pasted.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn sso_settings_certificate_rotation_and_deletion() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let sso = console.sso(&node, "JumpCloud", "acme.com").await;
        console
            .upload(&sso, JUMPCLOUD_METADATA, "")
            .await
            .redirect();
        // Settings: a bad skew comes back with what was typed; a good change is saved.
        let settings = format!("/console/sso/{sso}/settings");
        let bad_skew = console
            .post(
                &settings,
                &[
                    ("clock_skew", "soon"),
                    ("require_signed", "either"),
                    ("domains", "acme.com"),
                ],
            )
            .await;
        bad_skew.assert_form_again("is not a number of seconds");
        assert!(bad_skew.body.contains("value=\"soon\""));
        console
            .post(
                &settings,
                &[("clock_skew", "9999"), ("require_signed", "either")],
            )
            .await
            .assert_form_again("0 to 600 seconds");
        let saved = console
            .post(
                &settings,
                &[
                    ("clock_skew", "120"),
                    ("require_signed", "assertion"),
                    ("domains", "acme.com\nacme.org"),
                    ("attr_email", "mail"),
                    ("idp_initiated", "on"),
                    ("require_encryption", "on"),
                ],
            )
            .await;
        assert!(saved.redirect().contains("done=saved"));
        let method = sso_method(&app, &sso).await;
        assert!(!method.jit, "an unticked box turns JIT off");
        assert!(method.idp_initiated);
        assert_eq!(method.clock_skew_secs, 120);
        assert_eq!(method.require_signed.as_str(), "assertion");
        assert!(method.require_encryption);
        assert_eq!(method.domains, ["acme.com", "acme.org"]);
        assert_eq!(method.attr_email.as_deref(), Some("mail"));

        // Rotating the SP certificate changes what the IdP is given.
        let rotated = console
            .post(&format!("/console/sso/{sso}/rotate"), &[])
            .await;
        assert!(rotated.redirect().contains("done=rotated"));
        let cert = app
            .get(&format!("/api/rest/sso/saml/{sso}/cert"))
            .await
            .text()
            .await
            .unwrap();
        assert_ne!(cert, method.sp_cert_pem);

        // Deleting needs the box ticked.
        console
            .post(&format!("/console/sso/{sso}/delete"), &[])
            .await
            .assert_form_again("tick the box to confirm");
        let deleted = console
            .post(&format!("/console/sso/{sso}/delete"), &[("confirm", "on")])
            .await;
        assert_eq!(
            deleted.redirect(),
            format!("/console/nodes/{node}?done=sso-deleted")
        );
        assert_eq!(
            console.get(&format!("/console/sso/{sso}")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("/api/rest/sso/saml/{sso}/metadata"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        let kinds = console_event_kinds(&app).await;
        for kind in [
            "node_create",
            "sso_method_created",
            "sso_idp_imported",
            "sso_method_updated",
            "sso_cert_rotated",
            "sso_method_deleted",
        ] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }
    }
}

#[tokio::test]
async fn the_create_form_offers_idp_initiated_sign_in_unticked() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let form = console.get(&format!("/console/nodes/{node}")).await;
        assert!(
            form.body
                .contains(r#"name="idp_initiated" id="sso-idp-initiated""#)
                && !form.body.contains(r#"id="sso-idp-initiated" checked"#),
            "offered, unticked: {}",
            form.body
        );
        let sso = console.sso(&node, "JumpCloud", "acme.com").await;
        assert!(
            !sso_method(&app, &sso).await.idp_initiated,
            "IdP-initiated sign-in stays off unless ticked"
        );
        let tile = console
            .post(
                &format!("/console/nodes/{node}/sso"),
                &[("name", "Tile"), ("idp_initiated", "on")],
            )
            .await;
        let tile = between(tile.redirect(), "/console/sso/", "?").to_owned();
        assert!(sso_method(&app, &tile).await.idp_initiated, "ticked");
    }
}

#[tokio::test]
async fn the_scim_token_is_shown_once_and_rotation_retires_the_old_one() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        assert!(
            console
                .get(&format!("/console/nodes/{node}"))
                .await
                .body
                .contains("Generate token")
        );

        let shown = console
            .post(&format!("/console/nodes/{node}/scim"), &[])
            .await;
        assert_eq!(
            shown.status,
            StatusCode::OK,
            "no confirmation for the first token"
        );
        assert_eq!(shown.body.matches("cannot be shown again").count(), 1);
        let token = between(&shown.body, "<code id=\"scim-token\">", "<").to_owned();
        assert!(shown.body.contains(&format!("/api/rest/scim/v2/{node}")));
        let page = console.get(&format!("/console/nodes/{node}")).await;
        assert!(page.body.contains(">Pending<"), "{}", page.body);
        assert!(
            !page.body.contains(&token),
            "the token is never shown again"
        );

        let users = |token: String| {
            let url = app.url(&format!("/api/rest/scim/v2/{node}/Users"));
            let client = app.client.clone();
            async move {
                client
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(users(token.clone()).await, StatusCode::OK);
        let page = console.get(&format!("/console/nodes/{node}")).await;
        assert!(page.body.contains(">Active<"), "{}", page.body);
        assert!(!page.body.contains("last request: never"));

        console
            .post(&format!("/console/nodes/{node}/scim"), &[])
            .await
            .assert_form_again("tick the box to confirm that the current token stops working");
        assert_eq!(
            users(token.clone()).await,
            StatusCode::OK,
            "unconfirmed: not rotated"
        );
        let rotated = console
            .post(&format!("/console/nodes/{node}/scim"), &[("confirm", "on")])
            .await;
        assert!(rotated.body.contains("The previous token no longer works"));
        let fresh = between(&rotated.body, "<code id=\"scim-token\">", "<").to_owned();
        assert_eq!(users(token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(users(fresh).await, StatusCode::OK);
    }
}

async fn scim_of<'a>(console: &Console<'a>, node: &str) -> Scim<'a> {
    Scim {
        app: console.app,
        node: node.parse().unwrap(),
        token: console.scim_token(node).await,
    }
}

#[tokio::test]
async fn users_are_listed_searched_locked_and_unlocked() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let scim = scim_of(&console, &node).await;
        let (_, jane) = scim.post("/Users", user("jane@acme.com")).await;
        scim.post("/Users", user("john@acme.com")).await;
        let (_, team) = scim
            .post(
                "/Groups",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
                       "members": [{"value": jane["id"]}]}),
            )
            .await;
        assert!(team["id"].is_string());

        let all = console.get(&format!("/console/nodes/{node}/users")).await;
        assert!(all.body.contains("jane@acme.com") && all.body.contains("john@acme.com"));
        assert!(all.body.contains("2 user(s)"));
        let found = console
            .get(&format!("/console/nodes/{node}/users?q=JANE"))
            .await;
        assert!(found.body.contains("jane@acme.com") && !found.body.contains("john@acme.com"));
        assert!(found.body.contains("Engineering"), "teams are listed");

        let id = jane["id"].as_str().unwrap();
        let detail = console
            .get(&format!("/console/nodes/{node}/users/{id}"))
            .await;
        assert!(
            detail.body.contains("user_create_provision"),
            "recent events"
        );
        assert!(detail.body.contains("&#34;givenName&#34;"), "attributes");
        let locked = console
            .post(
                &format!("/console/nodes/{node}/users/{id}/status"),
                &[("status", "locked")],
            )
            .await;
        assert!(locked.redirect().ends_with("done=locked"));
        let detail = console
            .get(&format!("/console/nodes/{node}/users/{id}"))
            .await;
        assert!(detail.body.contains("id=\"user-status\">locked<"));
        assert!(detail.body.contains("user_locked"));
        let (_, seen) = scim.get(&format!("/Users/{id}")).await;
        assert_eq!(seen["active"], Value::Bool(false), "SCIM sees the lock");
        console
            .post(
                &format!("/console/nodes/{node}/users/{id}/status"),
                &[("status", "active")],
            )
            .await
            .redirect();
        assert!(
            console
                .get(&format!("/console/nodes/{node}/users/{id}"))
                .await
                .body
                .contains("id=\"user-status\">active<")
        );

        let wrong = console
            .post(
                &format!("/console/nodes/{node}/users/{id}/status"),
                &[("status", "gone")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(wrong.body.contains("Choose to lock or to unlock"));
        let other = console.node("Other").await;
        let elsewhere = console
            .get(&format!("/console/nodes/{other}/users/{id}"))
            .await;
        assert_eq!(
            elsewhere.status,
            StatusCode::NOT_FOUND,
            "users stay in their node"
        );
    }
}

#[tokio::test]
async fn a_user_removed_by_scim_stays_locked_until_provisioned_again() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let scim = scim_of(&console, &node).await;
        let (_, jane) = scim.post("/Users", user("jane@acme.com")).await;
        let id = jane["id"].as_str().unwrap();
        // Removed by the IdP: stays locked until the IdP provisions it again.
        assert_eq!(
            scim.delete(&format!("/Users/{id}")).await,
            StatusCode::NO_CONTENT
        );
        let removed = console
            .get(&format!("/console/nodes/{node}/users/{id}"))
            .await;
        assert!(
            removed
                .body
                .contains("stays locked until the identity provider")
        );
        assert!(!removed.body.contains("id=\"unlock-user\""));
        let refused = console
            .post(
                &format!("/console/nodes/{node}/users/{id}/status"),
                &[("status", "active")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused
                .body
                .contains("was removed by the identity provider (SCIM)")
        );
    }
}

#[tokio::test]
async fn pending_teams_are_approved_or_denied_one_or_many_at_once() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let scim = scim_of(&console, &node).await;
        let mut ids = Vec::new();
        for name in ["Engineering", "Sales", "Support", "Spam"] {
            ids.push(team_of(&scim, name).await);
        }
        let queue = format!("/console/nodes/{node}/teams");
        let page = console.get(&queue).await;
        assert!(page.body.contains("Engineering") && page.body.contains("Spam"));

        console
            .post(&queue, &[("decision", "approve")])
            .await
            .assert_form_again("Tick at least one team");
        console
            .post(&queue, &[("team", &ids[0])])
            .await
            .assert_form_again("Choose to approve or to deny");
        let bulk = console
            .post(
                &queue,
                &[
                    ("team", &ids[0]),
                    ("team", &ids[1]),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert!(bulk.redirect().ends_with("done=decided"));
        let one = console
            .post(&queue, &[("one", &format!("approve:{}", ids[2]))])
            .await;
        assert_eq!(one.status, StatusCode::SEE_OTHER);
        let denied = console
            .post(&queue, &[("one", &format!("deny:{}", ids[3]))])
            .await;
        assert_eq!(denied.status, StatusCode::SEE_OTHER);

        let page = console.get(&queue).await;
        assert!(page.body.contains("No team is awaiting approval"));
        assert!(page.body.contains("Approved teams (3)"));
        assert!(!page.body.contains("Spam"));
        let (status, _) = scim.get(&format!("/Groups/{}", ids[3])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a denied team is removed");

        // Deciding a team that is gone says so, without a 500.
        let again = console
            .post(&queue, &[("one", &format!("deny:{}", ids[3]))])
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.body.contains("no longer awaiting approval"));

        let approved = console.get("/console/events?kind=team_approved").await;
        assert!(approved.body.contains("3 event(s)"), "{}", approved.body);
    }
}

#[tokio::test]
async fn events_are_filtered_paged_and_exported_as_json_lines() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let other = console.node("Other").await;
        let scim = scim_of(&console, &node).await;
        for i in 0..60 {
            scim.post("/Users", user(&format!("user{i:02}@acme.com")))
                .await;
        }
        let unauthenticated = app
            .client
            .get(app.url(&format!("/api/rest/scim/v2/{node}/Users")))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

        let created = console
            .get(&format!(
                "/console/events?kind=user_create_provision&node={node}"
            ))
            .await;
        assert!(created.body.contains("60 event(s)"), "{}", created.body);
        assert!(created.body.contains("page 1 of 2"));
        let first = created.body.find("user59@acme.com").unwrap();
        assert!(
            !created.body.contains("user00@acme.com"),
            "newest first, 50 a page"
        );
        assert!(first > 0);
        let older = console
            .get(&format!(
                "/console/events?kind=user_create_provision&node={node}&page=2"
            ))
            .await;
        assert!(older.body.contains("user00@acme.com"));

        let who = console.get("/console/events?who=USER07").await;
        assert!(who.body.contains("1 event(s)"), "{}", who.body);
        let elsewhere = console
            .get(&format!(
                "/console/events?node={other}&kind=user_create_provision"
            ))
            .await;
        assert!(elsewhere.body.contains("0 event(s)"));
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let ranged = console
            .get(&format!(
                "/console/events?kind=user_create_provision&from={today}&to={today}"
            ))
            .await;
        assert!(ranged.body.contains("60 event(s)"));
        let past = console
            .get("/console/events?kind=user_create_provision&from=2020-01-01&to=2020-01-02")
            .await;
        assert!(past.body.contains("0 event(s)"));
        let failures = console.get("/console/events?outcome=failure").await;
        assert!(!failures.body.contains("user_create_provision</code>"));

        let bad = console.get("/console/events?from=yesterday").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("is not a date such as 2026-11-30"));
        assert!(
            bad.body.contains("id=\"event-filters\""),
            "the filter form comes back"
        );
        let reversed = console
            .get("/console/events?from=2026-02-01&to=2026-01-01")
            .await;
        assert!(
            reversed
                .body
                .contains("the &#39;from&#39; date is after the &#39;to&#39; date")
        );
    }
}

#[tokio::test]
async fn the_events_export_is_json_lines_of_the_filtered_events() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let scim = scim_of(&console, &node).await;
        for i in 0..60 {
            scim.post("/Users", user(&format!("user{i:02}@acme.com")))
                .await;
        }
        let export = app
            .client
            .get(app.url(&format!(
                "/console/events/export?kind=user_create_provision&node={node}"
            )))
            .header("cookie", &console.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(export.headers()["content-type"], "application/x-ndjson");
        assert!(
            export.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("attachment")
        );
        let lines: Vec<Value> = export
            .text()
            .await
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 60);
        assert_eq!(lines[0]["event_type"], "user_create_provision");
        assert_eq!(lines[0]["target"], "user59@acme.com");
        let anonymous = app.get("/console/events/export").await;
        assert_eq!(
            anonymous.status(),
            StatusCode::SEE_OTHER,
            "the export needs a session"
        );
    }
}

#[tokio::test]
async fn a_stale_page_cannot_deny_an_approved_team_or_approve_twice() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let scim = scim_of(&console, &node).await;
        let id = &team_of(&scim, "Engineering").await;
        let queue = format!("/console/nodes/{node}/teams");
        let approve = format!("approve:{id}");
        assert_eq!(
            console.post(&queue, &[("one", &approve)]).await.status,
            StatusCode::SEE_OTHER
        );
        for stale in [format!("approve:{id}"), format!("deny:{id}")] {
            let again = console.post(&queue, &[("one", &stale)]).await;
            assert_eq!(again.status, StatusCode::CONFLICT, "{stale}");
            assert!(again.body.contains("no longer awaiting approval"));
        }
        let page = console.get(&queue).await;
        assert!(page.body.contains("Approved teams (1)"), "still approved");
        let approvals = console_event_kinds(&app)
            .await
            .into_iter()
            .filter(|k| k == "team_approved" || k == "team_denied")
            .count();
        assert_eq!(approvals, 1, "one decision, one event");

        // A batch with one stale team does the others and says what it left.
        let mut ids = Vec::new();
        for name in ["A", "B"] {
            ids.push(team_of(&scim, name).await);
        }
        let batch = console
            .post(
                &queue,
                &[
                    ("team", id),
                    ("team", &ids[0]),
                    ("team", &ids[1]),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert_eq!(batch.status, StatusCode::CONFLICT);
        assert!(
            batch
                .body
                .contains("1 team(s) were no longer awaiting approval")
        );
        assert!(batch.body.contains("Approved teams (3)"), "{}", batch.body);
    }
}

#[tokio::test]
async fn pages_far_beyond_the_end_and_a_users_own_events() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let console = Console::sign_in(&app).await;
    let node = console.node("Acme").await;
    let scim = scim_of(&console, &node).await;
    let (_, bob) = scim.post("/Users", user("bob@acme.com")).await;
    scim.post("/Users", user("jimbob@acme.com")).await;
    for path in [
        format!("/console/nodes/{node}/users?page=9223372036854775807"),
        "/console/events?page=9223372036854775807".to_owned(),
    ] {
        let far = console.get(&path).await;
        assert_eq!(far.status, StatusCode::OK, "{path}");
        assert!(far.body.contains("page 1000000 of 1"), "{path}");
    }
    let page = console
        .get(&format!(
            "/console/nodes/{node}/users/{}",
            bob["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        page.body.matches("user_create_provision").count(),
        1,
        "bob's page shows bob's events, not jimbob's"
    );
}

#[tokio::test]
async fn the_audit_log_says_what_changed_who_signed_out_and_what_was_exported() {
    let app = spawn_app(TestDatabase::sqlite()).await;
    let console = Console::sign_in(&app).await;
    let node = console.node("Acme").await;
    let sso = console.sso(&node, "JumpCloud", "acme.com").await;
    console
        .post(
            &format!("/console/sso/{sso}/settings"),
            &[
                ("clock_skew", "180"),
                ("require_signed", "either"),
                ("allow_sha1", "on"),
                ("jit", "on"),
                ("domains", "acme.com"),
            ],
        )
        .await
        .redirect();
    let events = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 5))
        .await
        .unwrap();
    let updated = events
        .iter()
        .find(|e| e.kind == "sso_method_updated")
        .unwrap();
    assert_eq!(updated.detail, "allow_sha1: off → on");

    let export = app
        .client
        .get(app.url("/console/events/export"))
        .header("cookie", &console.cookie)
        .send()
        .await
        .unwrap();
    let matched: usize = export.headers()["x-idgate-events-matched"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(export.text().await.unwrap().lines().count(), matched);
    console.post("/console/logout", &[]).await;
    let kinds = console_event_kinds(&app).await;
    assert!(kinds.contains(&"events_export".to_owned()), "{kinds:?}");
    let last = app
        .store
        .run(|c| idgate_store::events::latest(c, None, 1))
        .await
        .unwrap();
    assert_eq!(
        (last[0].kind.as_str(), last[0].target.as_deref()),
        ("admin_logout", Some("root"))
    );
}

#[tokio::test]
async fn a_users_identity_links_are_listed_and_unlinked() {
    use idgate_saml::testing::{Claims, PERSISTENT, TestIdp};
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let console = Console::sign_in(&app).await;
        let node = console.node("Acme").await;
        let sso = console.sso(&node, "JumpCloud", "").await;
        let idp = TestIdp::new();
        let (sso_id, settings) = (sso.parse().unwrap(), idp.settings());
        app.store
            .run(move |c| {
                idgate_store::sso::set_idp(c, sso_id, &settings)?;
                idgate_store::sso::update_settings(
                    c,
                    sso_id,
                    &idgate_store::sso::SettingsChange {
                        idp_initiated: Some(true),
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap();
        let path = format!("/api/rest/sso/saml/{sso}");
        let acs = app.url(&path);
        let claims = Claims {
            name_id: "jc-7f3a",
            name_id_format: PERSISTENT,
            email: Some("jane@acme.com"),
            ..crate::saml_acs::claims(&acs, &acs)
        };
        let res =
            crate::saml_acs::post(&app, &path, &crate::saml_acs::signed(&idp, &claims), None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let node_id = node.parse().unwrap();
        let id = app
            .store
            .run(move |c| idgate_store::users::find_by_user_name(c, node_id, "jane@acme.com"))
            .await
            .unwrap()
            .unwrap()
            .id;

        let page = console
            .get(&format!("/console/nodes/{node}/users/{id}"))
            .await;
        let links = between(&page.body, "<table id=\"links\">", "</table>");
        assert!(
            links.contains("JumpCloud") && links.contains(&sso),
            "{links}"
        );
        assert!(
            links.contains("<code>jc-7f3a</code>") && links.contains("persistent"),
            "{links}"
        );
        assert!(
            page.body.contains("identity_linked"),
            "the link's event is listed"
        );

        let done = console
            .post(
                &format!("/console/nodes/{node}/users/{id}/unlink"),
                &[("sso", &sso)],
            )
            .await;
        assert!(done.redirect().ends_with("done=unlinked"));
        let page = console.get(done.redirect()).await;
        assert!(page.body.contains("id=\"no-links\""));
        assert!(page.body.contains("Identity link removed"));
        assert_eq!(console_event_kinds(&app).await[0], "identity_unlinked");

        // Again: nothing to unlink, said plainly.
        let again = console
            .post(
                &format!("/console/nodes/{node}/users/{id}/unlink"),
                &[("sso", &sso)],
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert!(
            again
                .body
                .contains("has no identity link of the SSO method"),
            "{}",
            again.body
        );
    }
}

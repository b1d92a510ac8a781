//! An application that knows only OpenID Connect signs a user in through idgate in a real
//! browser: a small demo application (served by this test on `localhost`, another site than
//! idgate's `127.0.0.1`) sends the browser to idgate's authorization endpoint, idgate asks for
//! the work email and sends the user through the node's SAML method to a stand-in IdP page
//! (responses signed by `xmlsec1`), and the application exchanges the code and shows who
//! signed in; then it signs out through idgate's end-session endpoint. The screenshots go into
//! docs/oidc.md.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::http::header::LOCATION;
use actix_web::{App as ActixApp, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idgate::actions::{self, Actor, AppInput, NewSso};
use idgate_saml::testing::{Claims, TestIdp, signed_response};
use idgate_store::apps::NodeGrant;
use idgate_store::{sso, token};
use serde::Deserialize;
use serde_json::Value;

use crate::harness;

/// What the demo application knows: idgate's address and its own registration.
struct Demo {
    base: String,
    idgate: String,
    client_id: String,
    secret: String,
    /// state → (nonce, PKCE verifier) of the sign-ins it started.
    pending: Mutex<HashMap<String, (String, String)>>,
    idp: Arc<TestIdp>,
    acs: String,
}

fn html(body: &str) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Acme Wiki</title>
<style>body{{font:16px system-ui,sans-serif;margin:0;background:#fafafa;color:#222}}
header{{background:#0b5;color:#fff;padding:1rem 2rem;font-weight:700}}
main{{max-width:40rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;border:1px solid #ddd}}
a.button,button{{display:inline-block;background:#0b5;color:#fff;padding:.6rem 1.2rem;border-radius:6px;text-decoration:none;border:0;font:inherit}}
code{{background:#eee;padding:.1rem .3rem;border-radius:4px}}</style></head>
<body><header>Acme Wiki · demo application</header><main>{body}</main></body></html>"#
    ))
}

async fn home() -> HttpResponse {
    html(
        r#"<h1 id="demo-home">Welcome to the Acme Wiki</h1><p>This application signs people in with OpenID Connect; it knows only idgate's discovery document.</p><p><a class="button" id="sign-in" href="/login">Sign in with your company account</a></p>"#,
    )
}

async fn login(demo: web::Data<Demo>) -> HttpResponse {
    let state = token::generate().token;
    let nonce = token::generate().token;
    let verifier = token::generate().token;
    let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
    demo.pending
        .lock()
        .unwrap()
        .insert(state.clone(), (nonce.clone(), verifier));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &demo.client_id)
        .append_pair("redirect_uri", &format!("{}/callback", demo.base))
        .append_pair("scope", "openid email profile groups")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    HttpResponse::Found()
        .insert_header((
            LOCATION,
            format!("{}/oauth2/authorize?{query}", demo.idgate),
        ))
        .finish()
}

#[derive(Deserialize)]
struct Callback {
    code: String,
    state: String,
}

fn claims_of(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn callback(demo: web::Data<Demo>, query: web::Query<Callback>) -> HttpResponse {
    let Some((nonce, verifier)) = demo.pending.lock().unwrap().remove(&query.state) else {
        return HttpResponse::BadRequest().body("unknown state");
    };
    let tokens: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", demo.idgate))
        .basic_auth(&demo.client_id, Some(&demo.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query.code.as_str()),
            ("redirect_uri", &format!("{}/callback", demo.base)),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    // The signature is checked against the JWKS by tests/api/oidc_flow.rs and by authlib.
    let claims = claims_of(id_token);
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["aud"], demo.client_id.as_str());
    let logout = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", &format!("{}/", demo.base))
        .append_pair("state", "signed-out")
        .finish();
    html(&format!(
        r#"<h1>Signed in</h1><p>Hello <strong id="demo-name">{name}</strong> (<span id="demo-email">{email}</span>).</p>
<p>Organisation <code id="demo-org">{org}</code>, SSO method <code>{sso}</code>; teams: <span id="demo-groups">{groups}</span>.</p>
<p>idgate told this application who you are in an ID token it verified.</p>
<p><a class="button" id="sign-out" href="{idgate}/oauth2/logout?{logout}">Sign out</a></p>"#,
        name = claims["name"].as_str().unwrap_or_default(),
        email = claims["email"].as_str().unwrap_or_default(),
        org = claims["org_id"].as_str().unwrap_or_default(),
        sso = claims["sso_id"].as_str().unwrap_or_default(),
        groups = claims["groups"]
            .as_array()
            .map(|g| g
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .filter(|g| !g.is_empty())
            .unwrap_or_else(|| "none".to_owned()),
        idgate = demo.idgate,
    ))
}

#[derive(Deserialize)]
struct SsoForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
}

/// The stand-in for the organisation's IdP: the AuthnRequest arrives by HTTP-POST; the user
/// confirms, and the page posts a signed response to idgate's assertion consumer.
async fn idp_sso(demo: web::Data<Demo>, form: web::Form<SsoForm>) -> HttpResponse {
    let request =
        String::from_utf8(openssl::base64::decode_block(&form.saml_request).unwrap()).unwrap();
    let start = request.find(" ID=\"").unwrap() + 5;
    let request_id = request[start..start + request[start..].find('"').unwrap()].to_owned();
    let assertion_id = format!("_demo{}", &token::generate().hash[..20]);
    let (idp, acs) = (demo.idp.clone(), demo.acs.clone());
    let xml = web::block(move || {
        let mut claims = Claims::new(&acs, &acs, &assertion_id);
        claims.in_response_to = Some(&request_id);
        claims.name_id = "jane@acme.test";
        signed_response(&idp, &claims)
    })
    .await
    .unwrap();
    let encoded = openssl::base64::encode_block(xml.as_bytes());
    html(&format!(
        r#"<h1>Acme identity provider</h1><p>Continue to <strong>Acme Wiki</strong> as <strong>jane@acme.test</strong>?</p>
<form method="post" action="{acs}"><input type="hidden" name="SAMLResponse" value="{encoded}"><button id="idp-continue" type="submit">Continue</button></form>"#,
        acs = demo.acs,
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demo_application_signs_a_user_in_through_idgate_and_out_again() {
    let (app, browser) = harness::start().await;
    let idp = Arc::new(TestIdp::new());
    let admin = Actor::cli();
    let node = actions::create_node(&app.store, &admin, "Acme")
        .await
        .unwrap();
    let sso_id = actions::create_sso(
        &app.store,
        &admin,
        node.id,
        NewSso {
            name: "Acme IdP".to_owned(),
            domain: Some("acme.test".to_owned()),
            jit: Some(true),
            ..NewSso::default()
        },
    )
    .await
    .unwrap();

    // The demo application (and the IdP's page) on `localhost`: another site than idgate's.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut settings = idp.settings();
    settings.sso_post_url = Some(format!("{base}/idp/sso"));
    app.store
        .run(move |c| sso::set_idp(c, sso_id, &settings))
        .await
        .unwrap();
    let registered = actions::create_app(
        &app.store,
        &admin,
        AppInput {
            name: "Acme Wiki".to_owned(),
            public: false,
            redirect_uris: vec![format!("{base}/callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            nodes: NodeGrant::nodes(vec![node.id]),
        },
    )
    .await
    .unwrap();
    let demo = web::Data::new(Demo {
        base: base.clone(),
        idgate: app.base.clone(),
        client_id: registered.app.client_id.to_string(),
        secret: registered.secret.unwrap(),
        pending: Mutex::new(HashMap::new()),
        idp,
        acs: format!("{}/api/rest/sso/saml/{sso_id}", app.base),
    });
    let server = HttpServer::new(move || {
        ActixApp::new()
            .app_data(demo.clone())
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/callback", web::get().to(callback))
            .route("/idp/sso", web::post().to(idp_sso))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);

    browser.goto(&format!("{base}/")).await;
    browser.wait_for("#demo-home").await;
    browser.screenshot("oidc-demo-app").await;
    browser.click("#sign-in").await;
    // idgate cannot tell the organisation yet: it asks for the work email.
    browser.wait_for("input[name=login_hint]").await;
    assert_eq!(browser.path().await, "/oauth2/authorize");
    browser
        .fill("input[name=login_hint]", "jane@acme.test")
        .await;
    browser.screenshot("oidc-email").await;
    browser.click("button[type=submit]").await;
    // The reserved domain leads to the node's SAML method: the IdP asks.
    browser.wait_for("#idp-continue").await;
    browser.click("#idp-continue").await;
    browser.wait_for("#demo-email").await;
    assert_eq!(browser.text("#demo-email").await, "jane@acme.test");
    assert_eq!(browser.text("#demo-org").await, node.id.to_string());
    browser.screenshot("oidc-signed-in").await;

    // Signing out through idgate comes back to the application, signed out of idgate too.
    browser.click("#sign-out").await;
    browser.wait_for("#demo-home").await;
    let session = app
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let rows: Vec<Count> =
                diesel::sql_query("SELECT COUNT(*) AS n FROM sessions").load(c)?;
            Ok(rows[0].n)
        })
        .await
        .unwrap();
    assert_eq!(session, 0, "idgate's session ended");
}

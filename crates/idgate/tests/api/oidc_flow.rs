//! The OpenID Connect provider over HTTP, as an application drives it: discovery, the
//! authorization endpoint, the SP-initiated SAML sign-in (responses signed by `xmlsec1`), the
//! code, the token endpoint, the ID token checked against the JWKS with openssl, userinfo,
//! refresh and logout; and every refusal by its error code. On SQLite and PostgreSQL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idgate::actions::{self, Actor, AppEdit, AppInput};
use idgate_saml::testing::{Claims, TestIdp};
use idgate_store::apps::NodeGrant;
use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, SsoId};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, between, spawn_app};
use crate::saml_acs::{claims, post, signed};
use crate::saml_sessions::{method_on_node, session_cookie};

pub(crate) const REDIRECT: &str = "https://app.example.test/callback";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An application registered for the test.
pub(crate) struct Rp {
    pub client_id: String,
    pub secret: Option<String>,
}

/// A node with an SSO method trusting `idp`, and a confidential application granted it.
pub(crate) struct Setup {
    pub app: TestApp,
    pub idp: TestIdp,
    pub node: NodeId,
    pub sso_id: SsoId,
    pub rp: Rp,
}

pub(crate) async fn register(app: &TestApp, name: &str, grant: NodeGrant, public: bool) -> Rp {
    let registered = actions::create_app(
        &app.store,
        &Actor::cli(),
        AppInput {
            name: name.to_owned(),
            public,
            redirect_uris: vec![REDIRECT.to_owned()],
            post_logout_redirect_uris: vec!["https://app.example.test/bye".to_owned()],
            nodes: grant,
        },
    )
    .await
    .unwrap();
    Rp {
        client_id: registered.app.client_id.to_string(),
        secret: registered.secret,
    }
}

pub(crate) async fn setup(db: TestDatabase) -> Setup {
    let idp = TestIdp::new();
    let app = spawn_app(db).await;
    let (node, sso_id) = method_on_node(&app, &idp, "acme", false).await;
    let rp = register(&app, "Wiki", NodeGrant::nodes(vec![node]), false).await;
    Setup {
        app,
        idp,
        node,
        sso_id,
        rp,
    }
}

/// The query of an authorization request (code flow, PKCE S256, state and nonce) plus `extra`.
pub(crate) fn authorize_path(rp: &Rp, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &rp.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email profile groups")
        .append_pair("state", "st-1")
        .append_pair("nonce", "n-1")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        query.append_pair(k, v);
    }
    format!("/oauth2/authorize?{}", query.finish())
}

/// The query pairs of a redirect's `Location`.
pub(crate) fn location_query(res: &reqwest::Response) -> Vec<(String, String)> {
    let location = res.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap_or_else(|_| panic!("absolute: {location}"));
    url.query_pairs().into_owned().collect()
}

pub(crate) fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The error code a refused authorization request sent back to the redirect URI.
pub(crate) async fn authorize_error(
    s: &Setup,
    path: &str,
    cookie: Option<&str>,
) -> (String, String) {
    let mut req = s.app.client.get(s.app.url(path));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "{:?}", res.text().await);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let pairs = location_query(&res);
    assert_eq!(param(&pairs, "state").as_deref(), Some("st-1"));
    assert_eq!(
        param(&pairs, "iss").as_deref(),
        Some(s.app.address.as_str())
    );
    (
        param(&pairs, "error").expect("an error"),
        param(&pairs, "error_description").unwrap_or_default(),
    )
}

/// The AuthnRequest of an auto-submitting POST binding page: its XML.
pub(crate) fn authn_request_of(html: &str) -> String {
    String::from_utf8(
        openssl::base64::decode_block(between(html, r#"name="SAMLRequest" value=""#, "\""))
            .unwrap(),
    )
    .unwrap()
}

/// The IdP's signed answer to an AuthnRequest, for `name_id`, its times shifted by
/// `shift_secs`, posted to the assertion consumer.
pub(crate) async fn answer_request(
    s: &Setup,
    request: &str,
    name_id: &str,
    shift_secs: i64,
) -> reqwest::Response {
    let request_id = between(request, r#"ID=""#, "\"").to_owned();
    let acs_path = format!("/api/rest/sso/saml/{}", s.sso_id);
    let acs = s.app.url(&acs_path);
    let answer = signed(
        &s.idp,
        &Claims {
            in_response_to: Some(&request_id),
            name_id,
            email: Some(name_id),
            shift_secs,
            ..claims(&acs, &acs)
        },
    );
    post(&s.app, &acs_path, &answer, None).await
}

/// Follows an authorization request through the SAML sign-in of `name_id`: the session cookie
/// and the response of `/oauth2/resume/…` (the redirect to the application).
pub(crate) async fn sign_in_through_idp(
    s: &Setup,
    path: &str,
    name_id: &str,
) -> (String, reqwest::Response) {
    let res = s.app.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "the POST binding page");
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("RelayState"),
        "the authorization never rides in the RelayState: {html}"
    );
    let res = answer_request(s, &authn_request_of(&html), name_id, 0).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    let resume = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(resume.starts_with("/oauth2/resume/"), "{resume}");
    let cookie = session_cookie(&res);
    let res = get_with_cookie(&s.app, &resume, &cookie).await;
    (cookie, res)
}

/// `GET path` with a session cookie.
pub(crate) async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// The code of a successful authorization's redirect (state and iss checked).
pub(crate) fn code_of(s: &Setup, res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::FOUND);
    let pairs = location_query(res);
    assert_eq!(param(&pairs, "state").as_deref(), Some("st-1"));
    assert_eq!(
        param(&pairs, "iss").as_deref(),
        Some(s.app.address.as_str())
    );
    assert!(param(&pairs, "error").is_none(), "{pairs:?}");
    param(&pairs, "code").expect("a code")
}

/// `POST /oauth2/token` with `form`, authenticated by HTTP Basic when `basic` is given.
pub(crate) async fn token_request(
    s: &Setup,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = s.app.client.post(s.app.url("/oauth2/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    assert_eq!(res.headers()["cache-control"], "no-store");
    (status, res.json().await.unwrap())
}

pub(crate) async fn exchange(s: &Setup, code: &str) -> (StatusCode, Value) {
    exchange_as(s, (&s.rp.client_id, s.rp.secret.as_deref().unwrap()), code).await
}

/// A code exchanged (with the flow's redirect URI and verifier) by the client of `creds`.
pub(crate) async fn exchange_as(s: &Setup, creds: (&str, &str), code: &str) -> (StatusCode, Value) {
    token_request(
        s,
        Some(creds),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

/// The claims of an ID token whose RS256 or ES256 signature verifies (openssl) with the key of
/// its `kid` in the JWKS.
pub(crate) async fn verified_id_token(app: &TestApp, token: &str) -> Value {
    use openssl::bn::BigNum;
    let jwks: Value = app.get("/oauth2/jwks").await.json().await.unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).unwrap();
    let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} in {jwks}"));
    let number = |name: &str| BigNum::from_slice(&decode(jwk[name].as_str().unwrap())).unwrap();
    let signature = decode(parts[2]);
    let input = format!("{}.{}", parts[0], parts[1]);
    let (key, der) = match header["alg"].as_str().unwrap() {
        "RS256" => {
            let rsa = openssl::rsa::Rsa::from_public_components(number("n"), number("e")).unwrap();
            (openssl::pkey::PKey::from_rsa(rsa).unwrap(), signature)
        }
        "ES256" => {
            let group =
                openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
            let ec = openssl::ec::EcKey::from_public_key_affine_coordinates(
                &group,
                &number("x"),
                &number("y"),
            )
            .unwrap();
            let sig = openssl::ecdsa::EcdsaSig::from_private_components(
                BigNum::from_slice(&signature[..32]).unwrap(),
                BigNum::from_slice(&signature[32..]).unwrap(),
            )
            .unwrap();
            (
                openssl::pkey::PKey::from_ec_key(ec).unwrap(),
                sig.to_der().unwrap(),
            )
        }
        other => panic!("unexpected alg {other}"),
    };
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    assert!(
        verifier.verify_oneshot(&der, input.as_bytes()).unwrap(),
        "the ID token's signature verifies"
    );
    serde_json::from_slice(&decode(parts[1])).unwrap()
}

/// A `refresh_token` grant presented by the client of `creds`.
pub(crate) async fn refresh_with(
    s: &Setup,
    creds: (&str, &str),
    token: &str,
) -> (StatusCode, Value) {
    token_request(
        s,
        Some(creds),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// Asserts a refusal: its status, its error code, and `words` in its description.
pub(crate) fn assert_refusal(
    got: (StatusCode, &Value),
    status: StatusCode,
    code: &str,
    words: &str,
) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (status, Some(code)),
        "{}",
        got.1
    );
    let description = got.1["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(words), "{words:?} in {}", got.1);
}

pub(crate) async fn userinfo(app: &TestApp, access_token: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn discovery_publishes_the_endpoints_and_the_jwks_its_keys() {
    for db in TestDatabase::all() {
        let app = spawn_app(db).await;
        let res = app.get("/.well-known/openid-configuration").await;
        assert_eq!(res.status(), StatusCode::OK);
        let meta: Value = res.json().await.unwrap();
        assert_eq!(meta["issuer"], app.address);
        for (name, path) in [
            ("authorization_endpoint", "/oauth2/authorize"),
            ("token_endpoint", "/oauth2/token"),
            ("userinfo_endpoint", "/oauth2/userinfo"),
            ("jwks_uri", "/oauth2/jwks"),
            ("end_session_endpoint", "/oauth2/logout"),
        ] {
            assert_eq!(meta[name], format!("{}{path}", app.address), "{name}");
        }
        assert_eq!(
            meta["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(
            meta["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        let jwks: Value = app.get("/oauth2/jwks").await.json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "one key, made on first need: {jwks}");
        assert_eq!(keys[0]["kty"], "RSA");
        assert_eq!(keys[0]["alg"], "RS256");
        assert_eq!(keys[0]["use"], "sig");
        assert!(keys[0].get("d").is_none(), "no private part: {jwks}");
    }
}

#[tokio::test]
async fn an_application_signs_a_user_in_through_the_nodes_saml_idp() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let (cookie, code) = signed_in(&s).await;
        let (status, tokens) = exchange(&s, &code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 900);
        assert_eq!(tokens["scope"], "openid profile email groups");
        let claims = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["iss"], s.app.address);
        assert_eq!(claims["aud"], s.rp.client_id);
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["email"], "jane@acme.test");
        // No method of the node reserves acme.test: the node does not speak for the address.
        assert_eq!(claims["email_verified"], false);
        assert_eq!(claims["org_id"], s.node.to_string());
        assert_eq!(claims["sso_id"], s.sso_id.to_string());
        assert_eq!(claims["groups"], serde_json::json!([]));
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!(exp - iat, 900);
        assert!(claims["auth_time"].as_i64().unwrap() <= iat);
        let sub = claims["sub"].as_str().unwrap().to_owned();
        // The stable user id: the account's id, the one forward-auth gives.
        let (_, me) = crate::saml_sessions::with_cookies(&s.app, "/auth/session", &[&cookie]).await;
        let me: Value = serde_json::from_str(&me).unwrap();
        assert_eq!(me["user_id"], sub);

        let (status, info) = userinfo(&s.app, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["sub"], sub);
        assert_eq!(info["email"], "jane@acme.test");
        assert_eq!(info["org_id"], s.node.to_string());

        // The refresh token is replaced at its use; the replaced one is refused afterwards
        // and its grant revoked.
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let creds = (s.rp.client_id.as_str(), s.rp.secret.as_deref().unwrap());
        let (status, renewed) = refresh_with(&s, creds, refresh).await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
        assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
        let renewed_claims = verified_id_token(&s.app, renewed["id_token"].as_str().unwrap()).await;
        assert_eq!(renewed_claims["sub"], sub);
        assert_eq!(renewed_claims["auth_time"], claims["auth_time"]);
        let (status, err) = refresh_with(&s, creds, refresh).await;
        assert_refusal(
            (status, &err),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "already used",
        );
        let (status, _) = userinfo(&s.app, renewed["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the grant is revoked");

        // With the session, a new authorization is answered at once: no second trip to the IdP.
        let res = get_with_cookie(&s.app, &authorize_path(&s.rp, &[]), &cookie).await;
        let again = code_of(&s, &res);
        let (status, tokens) = exchange(&s, &again).await;
        assert_eq!(status, StatusCode::OK);
        let claims = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["sub"], sub);
        let events = s
            .app
            .store
            .run(|c| idgate_store::events::latest(c, None, 50))
            .await
            .unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "oidc_login").count(), 2);
    }
}

#[tokio::test]
async fn a_code_is_used_once_and_its_second_use_revokes_what_it_issued() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let (_, code) = signed_in(&s).await;
        let (status, tokens) = exchange(&s, &code).await;
        assert_eq!(status, StatusCode::OK);
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&s.app, access).await.0, StatusCode::OK);
        let (status, err) = exchange(&s, &code).await;
        assert_refusal(
            (status, &err),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "already used",
        );
        let (status, err) = userinfo(&s.app, access).await;
        assert_refusal(
            (status, &err),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "",
        );
        let events = s
            .app
            .store
            .run(|c| idgate_store::events::latest(c, None, 20))
            .await
            .unwrap();
        let revoked = events
            .iter()
            .find(|e| e.kind == "oidc_grant_revoked")
            .expect("the revocation is audited");
        assert_eq!(revoked.target.as_deref(), Some(s.rp.client_id.as_str()));
        assert_eq!(revoked.node_id, Some(s.node));
        let creds = (s.rp.client_id.as_str(), s.rp.secret.as_deref().unwrap());
        let (status, err) =
            refresh_with(&s, creds, tokens["refresh_token"].as_str().unwrap()).await;
        assert_refusal((status, &err), StatusCode::BAD_REQUEST, "invalid_grant", "");
    }
}

/// Jane signed in through the node's SAML method for `s.rp`: her session cookie and a code.
async fn signed_in(s: &Setup) -> (String, String) {
    let node = s.node.to_string();
    let path = authorize_path(&s.rp, &[("organization", &node)]);
    let (cookie, res) = sign_in_through_idp(s, &path, "jane@acme.test").await;
    (cookie, code_of(s, &res))
}

/// A fresh code for jane through the SAML sign-in.
async fn fresh_code(s: &Setup) -> String {
    signed_in(s).await.1
}

/// What a token request sends (its name, Basic credentials, the form beside the code) and the
/// status, error code and words of the description it must get.
type TokenCase<'a> = (
    &'a str,
    Option<(&'a str, &'a str)>,
    Vec<(&'a str, &'a str)>,
    StatusCode,
    &'a str,
    &'a str,
);

#[tokio::test]
async fn the_token_endpoint_refuses_each_mistake_by_its_code() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let id = s.rp.client_id.clone();
        let secret = s.rp.secret.clone().unwrap();
        let cases: Vec<TokenCase<'_>> = vec![
            (
                "wrong secret",
                Some((&id, "not-the-secret")),
                vec![("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)],
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "wrong client secret",
            ),
            (
                "no authentication",
                None,
                vec![("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)],
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "did not authenticate",
            ),
            (
                "secret in the body, right",
                None,
                vec![
                    ("client_id", &id),
                    ("client_secret", &secret),
                    ("redirect_uri", "https://app.example.test/other"),
                    ("code_verifier", VERIFIER),
                ],
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "redirect_uri",
            ),
            (
                "PKCE mismatch",
                Some((&id, &secret)),
                vec![
                    ("redirect_uri", REDIRECT),
                    (
                        "code_verifier",
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    ),
                ],
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code_verifier does not match",
            ),
            (
                "no verifier",
                Some((&id, &secret)),
                vec![("redirect_uri", REDIRECT)],
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code_verifier is missing",
            ),
        ];
        for (what, basic, extra, status, code, reason) in cases {
            let fresh = fresh_code(&s).await;
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", fresh.as_str()),
            ];
            form.extend(extra);
            let (got, body) = token_request(&s, basic, &form).await;
            assert_eq!(
                (got, body["error"].as_str()),
                (status, Some(code)),
                "{what}: {body}"
            );
            assert!(
                body["error_description"].as_str().unwrap().contains(reason),
                "{what}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_token_endpoint_refuses_expired_codes_other_clients_and_other_grants() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let id = s.rp.client_id.clone();
        let secret = s.rp.secret.clone().unwrap();
        // Basic authentication failing says so in WWW-Authenticate.
        let res = s
            .app
            .client
            .post(s.app.url("/oauth2/token"))
            .basic_auth(&id, Some("nope"))
            .form(&[("grant_type", "authorization_code"), ("code", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );

        // An expired code (older than 60 seconds).
        let fresh = fresh_code(&s).await;
        s.app
            .store
            .run(|c| {
                use diesel::RunQueryDsl;
                diesel::sql_query("UPDATE oidc_codes SET expires_at = 1").execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
        let (status, body) = exchange(&s, &fresh).await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "expired",
        );

        // A code of another client.
        let other = register(&s.app, "Other", NodeGrant::All, false).await;
        let fresh = fresh_code(&s).await;
        let (status, body) = exchange_as(
            &s,
            (&other.client_id, other.secret.as_deref().unwrap()),
            &fresh,
        )
        .await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "another client",
        );

        // Other grant types, and none.
        let (status, body) =
            token_request(&s, Some((&id, &secret)), &[("grant_type", "password")]).await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "",
        );
        let (status, body) = token_request(&s, Some((&id, &secret)), &[("code", "x")]).await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "",
        );
        // Both Basic and client_secret.
        let (status, body) = token_request(
            &s,
            Some((&id, &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("client_secret", &secret),
            ],
        )
        .await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "",
        );
    }
}

#[tokio::test]
async fn the_authorization_endpoint_refuses_each_mistake_by_its_code() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        // An unknown client or redirect URI: a page, never a redirect.
        for path in [
            "/oauth2/authorize?response_type=code&client_id=nosuchclient&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcallback&scope=openid".to_owned(),
            format!("/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid", s.rp.client_id),
            format!("/oauth2/authorize?response_type=code&client_id={}&scope=openid", s.rp.client_id),
            format!("/oauth2/authorize?response_type=code&client_id={0}&client_id={0}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcallback&scope=openid", s.rp.client_id),
        ] {
            let res = s.app.get(&path).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
            assert!(res.headers().get("location").is_none(), "{path}");
            assert!(res.text().await.unwrap().contains("This sign-in link is not valid"));
        }
        let replace = |path: String, from: &str, to: &str| path.replace(from, to);
        let base = authorize_path(&s.rp, &[]);
        let other_node = actions::create_node(&s.app.store, &Actor::cli(), "globex")
            .await
            .unwrap();
        let other = other_node.id.to_string();
        let cases = [
            (
                replace(base.clone(), "response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
            (
                replace(base.clone(), "scope=openid+", "scope="),
                "invalid_scope",
            ),
            (
                replace(
                    base.clone(),
                    "code_challenge_method=S256",
                    "code_challenge_method=plain",
                ),
                "invalid_request",
            ),
            (
                replace(base.clone(), "&code_challenge_method=S256", ""),
                "invalid_request",
            ),
            (replace(base.clone(), CHALLENGE, "short"), "invalid_request"),
            (format!("{base}&state=again"), "invalid_request"),
            (format!("{base}&request=eyJ"), "request_not_supported"),
            (format!("{base}&prompt=none"), "login_required"),
            (format!("{base}&prompt=none+login"), "invalid_request"),
            (format!("{base}&organization=12"), "invalid_request"),
            (format!("{base}&organization={other}"), "invalid_request"),
            (format!("{base}&connection=999999999999"), "invalid_request"),
        ];
        for (path, code) in &cases {
            if path.contains("state=again") {
                let res = s.app.get(path).await;
                let pairs = location_query(&res);
                assert_eq!(param(&pairs, "error").as_deref(), Some(*code), "{path}");
                continue;
            }
            let (got, why) = authorize_error(&s, path, None).await;
            assert_eq!(&got, code, "{path}: {why}");
        }
        // A node the application is not granted (its only method exists).
        let idp2 = TestIdp::new();
        let (node2, _) = method_on_node(&s.app, &idp2, "initech", false).await;
        let (got, why) = authorize_error(&s, &format!("{base}&organization={node2}"), None).await;
        assert_eq!(got, "access_denied", "{why}");
        assert!(
            why.contains("may not sign in people of organisation"),
            "{why}"
        );
        // A public client without PKCE.
        let public = register(&s.app, "Spa", NodeGrant::All, true).await;
        let path = authorize_path(&public, &[]).replace(
            &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            "",
        );
        let (got, why) = authorize_error(&s, &path, None).await;
        assert_eq!(got, "invalid_request");
        assert!(why.contains("public client must use PKCE"), "{why}");
    }
}

#[tokio::test]
async fn with_no_way_to_pick_the_node_the_email_page_asks_and_the_domain_routes() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        actions::add_domains(
            &s.app.store,
            &Actor::cli(),
            s.sso_id,
            idgate_store::sso::SettingsChange::default(),
            vec!["acme.test".to_owned()],
        )
        .await
        .unwrap();
        let res = s.app.get(&authorize_path(&s.rp, &[])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"action="/oauth2/authorize""#), "{html}");
        assert!(html.contains(r#"name="login_hint""#), "{html}");
        assert!(
            html.contains(&format!(r#"name="client_id" value="{}""#, s.rp.client_id)),
            "{html}"
        );
        // An unknown domain: asked again, with why.
        let res = s
            .app
            .get(&authorize_path(
                &s.rp,
                &[("login_hint", "joe@unknown.test")],
            ))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Single sign-on is not set up for unknown.test")
        );
        // The email routes to the method its domain is reserved for.
        let path = authorize_path(&s.rp, &[("login_hint", "jane@ACME.test")]);
        let (_, res) = sign_in_through_idp(&s, &path, "jane@acme.test").await;
        let code = code_of(&s, &res);
        let (status, tokens) = exchange(&s, &code).await;
        assert_eq!(status, StatusCode::OK);
        let claims = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(
            claims["email_verified"], true,
            "the node reserves acme.test"
        );
        // connection= names the method directly.
        let sso = s.sso_id.to_string();
        let path = authorize_path(&s.rp, &[("connection", &sso)]);
        let (_, res) = sign_in_through_idp(&s, &path, "jane@acme.test").await;
        code_of(&s, &res);
    }
}

#[tokio::test]
async fn prompt_login_asks_the_idp_for_a_fresh_sign_in_despite_the_session() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let node = s.node.to_string();
        let path = authorize_path(&s.rp, &[("organization", &node)]);
        let (cookie, res) = sign_in_through_idp(&s, &path, "jane@acme.test").await;
        code_of(&s, &res);
        let res = get_with_cookie(
            &s.app,
            &authorize_path(&s.rp, &[("organization", &node), ("prompt", "login")]),
            &cookie,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "to the IdP again");
        let request = authn_request_of(&res.text().await.unwrap());
        assert!(request.contains(r#"ForceAuthn="true""#), "{request}");
        // max_age=0 too.
        let res =
            get_with_cookie(&s.app, &authorize_path(&s.rp, &[("max_age", "0")]), &cookie).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "the email page: a new sign-in is needed"
        );
    }
}

#[tokio::test]
async fn a_locked_user_gets_no_tokens_and_their_tokens_stop_working() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let code = fresh_code(&s).await;
        let (_, tokens) = exchange(&s, &code).await;
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let sub = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await["sub"]
            .as_str()
            .unwrap()
            .to_owned();
        // A code issued, then the user is locked before it is exchanged.
        let pending = fresh_code(&s).await;
        let user: idgate_store::UserId = sub.parse().unwrap();
        actions::set_user_status(
            &s.app.store,
            &Actor::cli(),
            s.node,
            user.clone(),
            idgate_store::users::UserStatus::Locked,
        )
        .await
        .unwrap();
        let (status, err) = userinfo(&s.app, &access).await;
        assert_refusal(
            (status, &err),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "",
        );
        let (status, err) = exchange(&s, &pending).await;
        assert_refusal((status, &err), StatusCode::BAD_REQUEST, "invalid_grant", "");
        let (status, err) = token_request(
            &s,
            Some((&s.rp.client_id, s.rp.secret.as_deref().unwrap())),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_refusal((status, &err), StatusCode::BAD_REQUEST, "invalid_grant", "");
        // Unlocked again: the old tokens stay revoked.
        actions::set_user_status(
            &s.app.store,
            &Actor::cli(),
            s.node,
            user.clone(),
            idgate_store::users::UserStatus::Active,
        )
        .await
        .unwrap();
        assert_eq!(userinfo(&s.app, &access).await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_public_client_signs_in_with_pkce_and_no_secret() {
    for db in TestDatabase::all() {
        let mut s = setup(db).await;
        s.rp = register(&s.app, "Spa", NodeGrant::All, true).await;
        let code = fresh_code(&s).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", s.rp.client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let (status, tokens) = token_request(&s, None, &form).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        // A secret presented by a public client is refused.
        let code = fresh_code(&s).await;
        let (status, body) = exchange_as(&s, (&s.rp.client_id, "made-up"), &code).await;
        assert_refusal(
            (status, &body),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "",
        );
    }
}

#[tokio::test]
async fn rotating_the_key_keeps_the_previous_one_published() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let code = fresh_code(&s).await;
        let (_, before) = exchange(&s, &code).await;
        s.app
            .store
            .run(|c| idgate_oidc::keys::rotate(c, idgate_store::oidc::KeyAlg::Es256))
            .await
            .unwrap();
        let jwks: Value = s.app.get("/oauth2/jwks").await.json().await.unwrap();
        let kinds: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kty"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["EC", "RSA"],
            "the new key first, the old one still published"
        );
        // The token signed before still verifies; new ones are ES256.
        verified_id_token(&s.app, before["id_token"].as_str().unwrap()).await;
        let code = fresh_code(&s).await;
        let (_, after) = exchange(&s, &code).await;
        let token = after["id_token"].as_str().unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "ES256");
        verified_id_token(&s.app, token).await;
    }
}

/// IdP-initiated sign-in on for the method, and `s.rp` its default application (which needs
/// an initiate-login URI first).
async fn make_default_app(s: &Setup) {
    actions::update_sso(
        &s.app.store,
        &Actor::cli(),
        s.sso_id,
        idgate_store::sso::SettingsChange {
            idp_initiated: Some(true),
            ..idgate_store::sso::SettingsChange::default()
        },
        None,
    )
    .await
    .unwrap();
    let client_id: idgate_store::apps::ClientId = s.rp.client_id.parse().unwrap();
    // Without an initiate-login URI the application cannot be the default.
    let err = actions::set_default_app(
        &s.app.store,
        &Actor::cli(),
        s.sso_id,
        Some(client_id.clone()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no initiate-login URI"), "{err}");
    actions::update_app(
        &s.app.store,
        &Actor::cli(),
        &client_id,
        AppEdit {
            initiate_login_uri: Some(Some("https://app.example.test/login".to_owned())),
            ..AppEdit::default()
        },
    )
    .await
    .unwrap();
    actions::set_default_app(&s.app.store, &Actor::cli(), s.sso_id, Some(client_id))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_jumpcloud_tile_lands_in_the_default_application() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        make_default_app(&s).await;

        let res =
            crate::saml_sessions::tile_sign_in(&s.app, &s.idp, s.sso_id, "jane@acme.test").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"],
            format!("/oauth2/initiate/{}", s.rp.client_id)
        );
        let cookie = session_cookie(&res);
        // Only the method's default application is opened from the tile.
        let other = register(&s.app, "Other", NodeGrant::All, false).await;
        let res = get_with_cookie(
            &s.app,
            &format!("/oauth2/initiate/{}", other.client_id),
            &cookie,
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = get_with_cookie(
            &s.app,
            &format!("/oauth2/initiate/{}", s.rp.client_id),
            &cookie,
        )
        .await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://app.example.test/login?"),
            "{location}"
        );
        let pairs = location_query(&res);
        assert_eq!(
            param(&pairs, "iss").as_deref(),
            Some(s.app.address.as_str())
        );
        let hint = param(&pairs, "login_hint").unwrap();
        assert_eq!(hint, "jane@acme.test");
        // The application starts a code flow with the hint. The session was made from an
        // unsolicited response, which may be someone else's (login CSRF): the user confirms
        // it first, once, on idgate's own page.
        let path = authorize_path(&s.rp, &[("login_hint", &hint)]);
        let res = get_with_cookie(&s.app, &path, &cookie).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        let page = res.text().await.unwrap();
        assert!(page.contains("Continue to Wiki?"), "{page}");
        assert!(page.contains("Continue as jane@acme.test"), "{page}");
        let (code, _) = authorize_error(&s, &format!("{path}&prompt=none"), Some(&cookie)).await;
        assert_eq!(code, "interaction_required");
        let body = format!(
            "{}&confirm=yes",
            path.trim_start_matches("/oauth2/authorize?")
        );
        let confirm = |origin: String| {
            s.app
                .client
                .post(s.app.url("/oauth2/authorize"))
                .header("cookie", &cookie)
                .header("origin", origin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
        };
        // Another site's post does not confirm.
        let res = confirm("https://evil.example".to_owned()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the question again");
        let res = confirm(s.app.address.clone()).await.unwrap();
        let code = code_of(&s, &res);
        let (status, tokens) = exchange(&s, &code).await;
        assert_eq!(status, StatusCode::OK);
        let claims = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["email"], "jane@acme.test");
        // Confirmed once: the next authorization is answered at once.
        code_of(&s, &get_with_cookie(&s.app, &path, &cookie).await);
    }
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_to_the_application() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let (cookie, code) = signed_in(&s).await;
        let (_, tokens) = exchange(&s, &code).await;
        let id_token = tokens["id_token"].as_str().unwrap();

        // Without a hint: idgate asks first.
        let res = get_with_cookie(&s.app, "/oauth2/logout", &cookie).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("Sign out?"));
        // An unregistered return address: a page.
        let res = get_with_cookie(&s.app, &format!(
                "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"
            ), &cookie).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.text().await.unwrap().contains("not registered"));
        // A forged hint: a page.
        let forged = format!("{id_token}x");
        let res = s
            .app
            .get(&format!("/oauth2/logout?id_token_hint={forged}"))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);

        let res = get_with_cookie(&s.app, &format!(
                "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fapp.example.test%2Fbye&state=bye-1"
            ), &cookie).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"],
            "https://app.example.test/bye?state=bye-1"
        );
        let (status, _) =
            crate::saml_sessions::with_cookies(&s.app, "/auth/session", &[&cookie]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the session has ended");
    }
}

#[tokio::test]
async fn rp_initiated_logout_goes_through_the_idps_single_logout_and_back() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        crate::saml_acs::set_idp_endpoints(&s.app, &s.idp, s.sso_id, false, true, false).await;
        let (cookie, code) = signed_in(&s).await;
        let (_, tokens) = exchange(&s, &code).await;
        let id_token = tokens["id_token"].as_str().unwrap();
        let res = get_with_cookie(&s.app, &format!(
                "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fapp.example.test%2Fbye&state=bye-2"
            ), &cookie).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let location = res.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://idp.example.test/slo?SAMLRequest="),
            "{location}"
        );
        let relay = param(&location_query(&res), "RelayState").expect("a RelayState");
        assert!(relay.starts_with("/oauth2/logged-out/"), "{relay}");
        assert!(relay.len() <= 80, "SAML bindings 3.4.3: at most 80 bytes");
        // The IdP answers; the browser comes back to the application.
        let answer = format!(
            r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_answer" Version="2.0" IssueInstant="{}" InResponseTo="_asked"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            idgate_saml::testing::IDP_ENTITY,
        );
        let mut deflated = Vec::new();
        std::io::Write::write_all(
            &mut flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default()),
            answer.as_bytes(),
        )
        .unwrap();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLResponse", &openssl::base64::encode_block(&deflated))
            .append_pair("RelayState", &relay)
            .finish();
        let back = s
            .app
            .get(&format!("/api/rest/sso/saml/slo/{}?{query}", s.sso_id))
            .await;
        assert_eq!(back.status(), StatusCode::SEE_OTHER);
        assert_eq!(back.headers()["location"].to_str().unwrap(), relay);
        let done = s.app.get(&relay).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            done.headers()["location"],
            "https://app.example.test/bye?state=bye-2"
        );
        // Used once.
        let again = s.app.get(&relay).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert!(again.text().await.unwrap().contains("You are signed out"));
    }
}

#[tokio::test]
async fn groups_are_the_users_approved_teams_only() {
    use idgate_store::teams::{self, TeamStatus};
    for db in TestDatabase::all() {
        let s = setup(db).await;
        // Jane exists (JIT at a first sign-in), then joins an approved and a pending team.
        fresh_code(&s).await;
        let node = s.node;
        s.app
            .store
            .run(move |c| {
                let user =
                    idgate_store::users::find_by_user_name(c, node, "jane@acme.test")?.unwrap();
                let member = std::slice::from_ref(&user.id);
                let approved =
                    teams::insert(c, node, "Engineering", None, TeamStatus::Approved, "scim")?;
                teams::add_members(c, node, &approved.id, member)?;
                let pending = teams::insert(c, node, "Not yet", None, TeamStatus::Pending, "scim")?;
                teams::add_members(c, node, &pending.id, member)?;
                Ok(())
            })
            .await
            .unwrap();
        let code = fresh_code(&s).await;
        let (_, tokens) = exchange(&s, &code).await;
        let claims = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["groups"], serde_json::json!(["Engineering"]));
        let (_, info) = userinfo(&s.app, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(info["groups"], serde_json::json!(["Engineering"]));
        // Without the groups scope, no groups claim.
        let path = authorize_path(&s.rp, &[("organization", &node.to_string())])
            .replace("scope=openid+email+profile+groups", "scope=openid+email");
        let (_, res) = sign_in_through_idp(&s, &path, "jane@acme.test").await;
        let code = code_of(&s, &res);
        let (_, tokens) = exchange(&s, &code).await;
        let claims = verified_id_token(&s.app, tokens["id_token"].as_str().unwrap()).await;
        assert!(
            claims.get("groups").is_none() && claims.get("name").is_none(),
            "{claims}"
        );
        assert_eq!(claims["email"], "jane@acme.test");
        assert_eq!(tokens["scope"], "openid email");
    }
}

#[tokio::test]
async fn a_fresh_sign_in_asked_for_is_refused_when_the_idp_answers_from_an_old_one() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let node = s.node.to_string();
        for extra in [("prompt", "login"), ("max_age", "60")] {
            let path = authorize_path(&s.rp, &[("organization", &node), extra]);
            let res = s.app.get(&path).await;
            let request = authn_request_of(&res.text().await.unwrap());
            assert!(
                request.contains(r#"ForceAuthn="true""#),
                "{extra:?}: {request}"
            );
            // The IdP's AuthnInstant (and the whole answer) two minutes old.
            let res = answer_request(&s, &request, "jane@acme.test", -120).await;
            let cookie = session_cookie(&res);
            let resume = res.headers()["location"].to_str().unwrap().to_owned();
            let (code, why) = authorize_error(&s, &resume, Some(&cookie)).await;
            assert_eq!(code, "login_required", "{extra:?}: {why}");
            assert!(why.contains("did not authenticate the user again"), "{why}");
        }
    }
}

#[tokio::test]
async fn another_client_cannot_use_up_a_code_or_refresh_token() {
    for db in TestDatabase::all() {
        let s = setup(db).await;
        let other = register(&s.app, "Other", NodeGrant::All, false).await;
        let other_creds = (other.client_id.as_str(), other.secret.as_deref().unwrap());
        let code = fresh_code(&s).await;
        let (status, body) = exchange_as(&s, other_creds, &code).await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "",
        );
        // The real client's code still works, once.
        let (status, tokens) = exchange(&s, &code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = refresh_with(&s, other_creds, refresh).await;
        assert_refusal(
            (status, &body),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "another client",
        );
        // A narrower scope at refresh: the new refresh token keeps the grant's.
        let creds = (s.rp.client_id.as_str(), s.rp.secret.as_deref().unwrap());
        let (status, narrow) = token_request(
            &s,
            Some(creds),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("scope", "openid"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{narrow}");
        assert_eq!(narrow["scope"], "openid");
        let (_, info) = userinfo(&s.app, narrow["access_token"].as_str().unwrap()).await;
        assert!(info.get("email").is_none(), "{info}");
        let (status, wide) =
            refresh_with(&s, creds, narrow["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{wide}");
        assert_eq!(wide["scope"], "openid profile email groups");
    }
}

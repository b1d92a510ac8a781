//! The token endpoint (`POST /oauth2/token`): `authorization_code` and `refresh_token`, with
//! `client_secret_basic`, `client_secret_post` or (a public client) `none` and PKCE.
//!
//! A code is used once, within a minute, by the client it was issued to, with the redirect
//! URI and the PKCE verifier of its request; a second use revokes every token it issued.
//! A refresh token is replaced at every use; a replaced one presented again revokes the
//! grant. A locked or deprovisioned user gets nothing.

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idgate_store::apps::{self, App, ClientId};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::oidc::{self, Grant, Redemption, TokenInfo, TokenKind};
use idgate_store::{DbConnection, PublicBaseUrl, StorageError, Store, events, now_millis, token};
use serde_json::{Value, json};

use crate::claims::{Subject, has_scope};
use crate::params::Params;

/// An RFC 6749 section 5.2 error.
#[derive(Debug)]
pub struct TokenError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Answer `WWW-Authenticate: Basic` (the client authenticated with HTTP Basic).
    basic: bool,
}

impl TokenError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            basic: false,
        }
    }

    fn client(description: impl Into<String>, basic: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: description.into(),
            basic,
        }
    }

    fn response(&self) -> HttpResponse {
        tracing::info!(error = self.code, description = %self.description, "token request refused");
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"));
        if self.basic {
            response.insert_header((WWW_AUTHENTICATE, "Basic realm=\"idgate\""));
        }
        response.json(json!({"error": self.code, "error_description": self.description}))
    }
}

fn unavailable(err: &StorageError) -> HttpResponse {
    tracing::error!(error = %err, "OIDC storage failure at the token endpoint");
    HttpResponse::ServiceUnavailable()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({"error": "temporarily_unavailable", "error_description": "try again shortly"}))
}

/// The client's credentials: HTTP Basic (RFC 6749 section 2.3.1: each half form-encoded) or
/// the body.
struct Credentials {
    client_id: String,
    secret: Option<String>,
    basic: bool,
}

fn credentials(req: &HttpRequest, params: &Params) -> Result<Credentials, TokenError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let basic = header.and_then(|h| {
        let (scheme, value) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then_some(value.trim())
    });
    if let Some(encoded) = basic {
        let decoded = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .ok_or_else(|| {
                TokenError::client(
                    "the Authorization header is not valid Basic credentials",
                    true,
                )
            })?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| {
            TokenError::client(
                "the Authorization header is not valid Basic credentials",
                true,
            )
        })?;
        let unescape = |s: &str| -> String {
            url::form_urlencoded::parse(format!("v={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        if params.get("client_secret").is_some() {
            return Err(TokenError::new(
                "invalid_request",
                "use one way of authenticating the client, not both Basic and client_secret",
            ));
        }
        let client_id = unescape(id);
        if params
            .get("client_id")
            .is_some_and(|body| body != client_id)
        {
            return Err(TokenError::new(
                "invalid_request",
                "the client_id in the body is not the one of the Authorization header",
            ));
        }
        return Ok(Credentials {
            client_id,
            secret: Some(unescape(secret)),
            basic: true,
        });
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(TokenError::client("the client did not authenticate", false));
    };
    Ok(Credentials {
        client_id: client_id.to_owned(),
        secret: params.get("client_secret").map(str::to_owned),
        basic: false,
    })
}

/// The application the credentials prove.
fn authenticate(
    c: &mut DbConnection,
    creds: &Credentials,
) -> Result<Result<App, TokenError>, StorageError> {
    let unknown = || TokenError::client("unknown client or wrong client secret", creds.basic);
    let Ok(client_id) = creds.client_id.parse::<ClientId>() else {
        return Ok(Err(unknown()));
    };
    let Some(app) = apps::get(c, &client_id)? else {
        return Ok(Err(unknown()));
    };
    let proven = match (&creds.secret, app.is_public()) {
        (None, true) => true,
        (Some(secret), false) => app.verify_secret(secret),
        // A public client presenting a secret, or a confidential one presenting none.
        _ => false,
    };
    Ok(if proven { Ok(app) } else { Err(unknown()) })
}

/// Whether `verifier` is a PKCE verifier (RFC 7636 section 4.1) whose S256 is `challenge`.
fn pkce_holds(challenge: &str, verifier: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    shaped && {
        let computed = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
        computed.len() == challenge.len()
            && openssl::memcmp::eq(computed.as_bytes(), challenge.as_bytes())
    }
}

fn audit(
    c: &mut DbConnection,
    info: &TokenInfo,
    kind: &str,
    detail: &str,
) -> Result<(), StorageError> {
    events::record(
        c,
        &NewEvent {
            node_id: Some(info.node_id),
            kind,
            actor: "oidc",
            target: Some(info.client_id.as_str()),
            outcome: Outcome::Failure,
            detail,
        },
    )
}

/// Records that a grant was revoked because a code or refresh token was used twice
/// (`oidc_grant_revoked`, the client as target).
fn revoked(
    c: &mut DbConnection,
    node_id: idgate_store::NodeId,
    client_id: &ClientId,
    why: &str,
) -> Result<(), StorageError> {
    events::record(
        c,
        &NewEvent {
            node_id: Some(node_id),
            kind: "oidc_grant_revoked",
            actor: "oidc",
            target: Some(client_id.as_str()),
            outcome: Outcome::Failure,
            detail: &format!("{why}: every token of its grant is revoked"),
        },
    )
}

pub async fn endpoint(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    base: web::Data<PublicBaseUrl>,
) -> HttpResponse {
    let params = Params::parse(&body);
    if let Some(name) = &params.repeated {
        return TokenError::new(
            "invalid_request",
            format!("the parameter {name} was given more than once"),
        )
        .response();
    }
    let creds = match credentials(&req, &params) {
        Ok(creds) => creds,
        Err(err) => return err.response(),
    };
    let issuer = crate::issuer(&base).to_owned();
    let outcome = store
        .run(move |c| {
            let app = match authenticate(c, &creds)? {
                Ok(app) => app,
                Err(err) => return Ok(Err(err)),
            };
            match params.get("grant_type") {
                Some("authorization_code") => exchange_code(c, &app, &params, &issuer),
                Some("refresh_token") => refresh(c, &app, &params, &issuer),
                Some(_) => Ok(Err(TokenError::new(
                    "unsupported_grant_type",
                    "the grant types are authorization_code and refresh_token",
                ))),
                None => Ok(Err(TokenError::new(
                    "invalid_request",
                    "grant_type is missing",
                ))),
            }
        })
        .await;
    match outcome {
        Ok(Ok(tokens)) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .json(tokens),
        Ok(Err(err)) => err.response(),
        Err(err) => unavailable(&err),
    }
}

fn exchange_code(
    c: &mut DbConnection,
    app: &App,
    params: &Params,
    issuer: &str,
) -> Result<Result<Value, TokenError>, StorageError> {
    let Some(code) = params.get("code") else {
        return Ok(Err(TokenError::new("invalid_request", "code is missing")));
    };
    idgate_store::transaction(c, |c| {
        let grant = match oidc::redeem_code(c, &token::hash(code), &app.client_id)? {
            Redemption::Fresh(grant) => grant,
            Redemption::Reused {
                grant_id,
                client_id,
                node_id,
            } => {
                tracing::warn!(client_id = %app.client_id, grant_id, "an authorization code was used twice: its tokens are revoked");
                revoked(
                    c,
                    node_id,
                    &client_id,
                    "an authorization code was used twice",
                )?;
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the code was already used; the tokens issued with it are revoked",
                )));
            }
            Redemption::Expired => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the code has expired",
                )));
            }
            Redemption::OtherClient => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the code was issued to another client",
                )));
            }
            Redemption::Unknown => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the code is not valid",
                )));
            }
        };
        let info = info_of(&grant);
        if params.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
            return Ok(Err(TokenError::new(
                "invalid_grant",
                "redirect_uri is not the one of the authorization request",
            )));
        }
        match (&grant.code_challenge, params.get("code_verifier")) {
            (Some(challenge), Some(verifier)) if pkce_holds(challenge, verifier) => {}
            (Some(_), Some(_)) => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the code_verifier does not match the code_challenge",
                )));
            }
            (Some(_), None) => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "code_verifier is missing",
                )));
            }
            (None, Some(_)) => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "a code_verifier was sent but the authorization request had no code_challenge",
                )));
            }
            (None, None) => {}
        }
        let refresh = Refresh {
            until: grant.ends_at,
            scope: grant.scope.clone(),
        };
        issue(c, app, &info, grant.nonce.as_deref(), &refresh, issuer)
    })
}

fn info_of(grant: &Grant) -> TokenInfo {
    TokenInfo {
        grant_id: grant.grant_id.clone(),
        client_id: grant.client_id.clone(),
        user_id: grant.user_id.clone(),
        node_id: grant.node_id,
        sso_id: grant.sso_id,
        scope: grant.scope.clone(),
        auth_time: grant.auth_time,
        expires_at: 0,
        user_active: true,
    }
}

fn refresh(
    c: &mut DbConnection,
    app: &App,
    params: &Params,
    issuer: &str,
) -> Result<Result<Value, TokenError>, StorageError> {
    let Some(presented) = params.get("refresh_token") else {
        return Ok(Err(TokenError::new(
            "invalid_request",
            "refresh_token is missing",
        )));
    };
    idgate_store::transaction(c, |c| {
        let mut info = match oidc::use_refresh_token(c, &token::hash(presented), &app.client_id)? {
            Redemption::Fresh(info) => info,
            Redemption::Reused {
                grant_id,
                client_id,
                node_id,
            } => {
                tracing::warn!(client_id = %app.client_id, grant_id, "a replaced refresh token was presented again: its grant is revoked");
                revoked(
                    c,
                    node_id,
                    &client_id,
                    "a replaced refresh token was presented again",
                )?;
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the refresh token was already used; its grant is revoked",
                )));
            }
            Redemption::Expired => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the refresh token has expired",
                )));
            }
            Redemption::OtherClient => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the refresh token was issued to another client",
                )));
            }
            Redemption::Unknown => {
                return Ok(Err(TokenError::new(
                    "invalid_grant",
                    "the refresh token is not valid",
                )));
            }
        };
        // A narrower scope is for the tokens issued now: the new refresh token keeps the
        // grant's (RFC 6749 section 6).
        let refresh = Refresh {
            until: info.expires_at,
            scope: info.scope.clone(),
        };
        if let Some(asked) = params.get("scope") {
            let asked: Vec<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
            if let Some(extra) = asked.iter().find(|s| !has_scope(&info.scope, s)) {
                return Ok(Err(TokenError::new(
                    "invalid_scope",
                    format!("the scope {extra} was not granted"),
                )));
            }
            info.scope = asked.join(" ");
        }
        issue(c, app, &info, None, &refresh, issuer)
    })
}

/// The refresh token to issue: until when, with which scope.
struct Refresh {
    until: i64,
    scope: String,
}

/// The access token, refresh token and ID token of a grant, when its user may still sign in.
fn issue(
    c: &mut DbConnection,
    app: &App,
    grant: &TokenInfo,
    nonce: Option<&str>,
    next: &Refresh,
    issuer: &str,
) -> Result<Result<Value, TokenError>, StorageError> {
    let subject = Subject::load(c, grant.node_id, &grant.user_id)?;
    let Some(subject) = subject.filter(Subject::active) else {
        audit(
            c,
            grant,
            "oidc_token_refused",
            "the user is locked or deprovisioned",
        )?;
        return Ok(Err(TokenError::new(
            "invalid_grant",
            "the user's account is locked",
        )));
    };
    if !app.grants(grant.node_id) {
        return Ok(Err(TokenError::new(
            "invalid_grant",
            "the application may no longer sign in people of this organisation",
        )));
    }
    let now = now_millis();
    let access = token::generate();
    let access_until = now + crate::ACCESS_TOKEN_SECONDS * 1000;
    oidc::issue_token(c, &access.hash, TokenKind::Access, grant, access_until)?;
    let refresh = token::generate();
    let refresh_grant = TokenInfo {
        scope: next.scope.clone(),
        ..grant.clone()
    };
    oidc::issue_token(
        c,
        &refresh.hash,
        TokenKind::Refresh,
        &refresh_grant,
        next.until,
    )?;
    let mut claims = subject.claims(&grant.scope, grant.sso_id);
    let (now_s, auth_s) = (now / 1000, grant.auth_time / 1000);
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(app.client_id.as_str()));
    claims.insert("iat".into(), json!(now_s));
    claims.insert("exp".into(), json!(now_s + crate::ACCESS_TOKEN_SECONDS));
    claims.insert("auth_time".into(), json!(auth_s));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let signer = crate::keys::signer(c)?;
    let id_token = signer
        .sign(&Value::Object(claims))
        .map_err(|e| StorageError::Corrupt(format!("signing an ID token: {e}")))?;
    Ok(Ok(json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": crate::ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh.token,
        "id_token": id_token,
        "scope": grant.scope,
    })))
}

#[cfg(test)]
mod tests {
    use super::pkce_holds;

    #[test]
    fn pkce_s256_of_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_holds(challenge, verifier));
        assert!(!pkce_holds(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"
        ));
        assert!(!pkce_holds(challenge, "short"));
    }
}

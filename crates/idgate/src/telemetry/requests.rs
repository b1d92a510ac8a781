//! The span of each HTTP request, as tracing-actix-web's default one but with the request
//! target redacted: what would put a credential or a person's details into the log (an ID token
//! at logout, an email as `login_hint`, the secret id of a sign-in on its way back) is replaced
//! by `…`. Everything else of the target (a SCIM filter, say) stays, for diagnosis.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Query parameters whose values are never logged.
const SECRET_PARAMETERS: [&str; 11] = [
    "id_token_hint",
    "login_hint",
    "code",
    "state",
    "nonce",
    "code_challenge",
    "client_secret",
    "SAMLRequest",
    "SAMLResponse",
    "RelayState",
    "Signature",
];

/// Paths whose last segment is a secret handed to a browser.
const SECRET_PATHS: [&str; 2] = ["/oauth2/resume/", "/oauth2/logged-out/"];

/// The request target with secret values replaced by `…`.
pub(crate) fn redacted_target(path: &str, query: Option<&str>) -> String {
    let mut shown = match SECRET_PATHS.iter().find(|p| path.starts_with(*p)) {
        Some(prefix) => format!("{prefix}…"),
        None => path.to_owned(),
    };
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                if SECRET_PARAMETERS.contains(&name) {
                    format!("{name}=…")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        shown.push('?');
        shown.push_str(&parts.join("&"));
    }
    shown
}

/// The root span builder idgate's `TracingLogger` uses.
#[derive(Debug)]
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let target = redacted_target(request.path(), request.uri().query());
        let route = request.match_pattern().unwrap_or_default();
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let connection = request.connection_info().clone();
        let user_agent = request
            .headers()
            .get("User-Agent")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.scheme = %connection.scheme(),
            http.host = %connection.host(),
            http.client_ip = %connection.realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            http.target = %target,
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{} {route}", request.method()),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_target;

    #[test]
    fn secrets_and_personal_details_leave_the_target() {
        assert_eq!(
            redacted_target(
                "/oauth2/logout",
                Some("id_token_hint=eyJ.a.b&post_logout_redirect_uri=https%3A%2F%2Fx&state=s")
            ),
            "/oauth2/logout?id_token_hint=…&post_logout_redirect_uri=https%3A%2F%2Fx&state=…"
        );
        assert_eq!(
            redacted_target(
                "/oauth2/authorize",
                Some("client_id=c&login_hint=jane%40acme.com")
            ),
            "/oauth2/authorize?client_id=c&login_hint=…"
        );
        assert_eq!(
            redacted_target("/oauth2/resume/abcdef", None),
            "/oauth2/resume/…"
        );
        assert_eq!(
            redacted_target(
                "/api/rest/scim/v2/1/Users",
                Some("filter=userName%20eq%20%22j%22")
            ),
            "/api/rest/scim/v2/1/Users?filter=userName%20eq%20%22j%22"
        );
    }
}

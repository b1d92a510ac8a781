//! Redirect URIs and post-logout redirect URIs, as an application registers them.
//!
//! They are compared with what a client presents by simple string comparison (RFC 6749 §3.1.2,
//! OIDC Core §3.1.2.1), so what is stored is exactly what the admin typed, after one check of
//! every rule: an absolute `https` URL with a host (`http` only for the loopback hosts
//! `127.0.0.1`, `[::1]` and `localhost`), no fragment, no user name or password, no wildcard,
//! only the characters URIs allow, at most [`MAX_URI_LENGTH`] characters and [`MAX_URIS`] of
//! each kind per application. The `url` crate (the WHATWG parser browsers follow) judges the
//! URL; the rules around it refuse whatever that parser would quietly rewrite, so that the
//! string compared is the address the browser is sent to.

/// The longest redirect URI accepted, in characters (all ASCII).
pub const MAX_URI_LENGTH: usize = 2000;
/// The most redirect URIs (and, apart, post-logout redirect URIs) one application has.
pub const MAX_URIS: usize = 20;

/// Where the authorization endpoint may send a browser back with a code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

/// Where RP-initiated logout may send a browser after signing it out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PostLogoutRedirectUri(String);

/// The two kinds differ only in their names (in refusals) and in whether one is required.
struct Kind {
    one: &'static str,
    many: &'static str,
    required: bool,
}

const REDIRECT: Kind = Kind {
    one: "redirect URI",
    many: "redirect URIs",
    required: true,
};

const POST_LOGOUT: Kind = Kind {
    one: "post-logout redirect URI",
    many: "post-logout redirect URIs",
    required: false,
};

macro_rules! uri_type {
    ($name:ident, $kind:expr) => {
        impl $name {
            /// Checks one URI against the rules (surrounding spaces are ignored); the refusal
            /// says which rule it breaks.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let uri = raw.trim();
                check(uri, &$kind).map(|()| Self(uri.to_owned()))
            }

            /// Checks a whole list: every URI, how many there are; repeated ones are kept once,
            /// in their first place.
            pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Self>, String> {
                let mut uris: Vec<Self> = Vec::new();
                for one in raw {
                    let uri = Self::parse(one.as_ref())?;
                    if !uris.contains(&uri) {
                        uris.push(uri);
                    }
                }
                count(uris.len(), &$kind)?;
                Ok(uris)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether a presented URI is this one: the same string, character for character.
            pub fn matches(&self, presented: &str) -> bool {
                self.0 == presented
            }

            pub(crate) fn from_db(raw: String) -> Self {
                Self(raw)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uri_type!(RedirectUri, REDIRECT);
uri_type!(PostLogoutRedirectUri, POST_LOGOUT);

fn count(n: usize, kind: &Kind) -> Result<(), String> {
    if n == 0 && kind.required {
        return Err(format!("an application needs at least one {}", kind.one));
    }
    if n > MAX_URIS {
        return Err(format!(
            "an application has at most {MAX_URIS} {}; {n} were given",
            kind.many
        ));
    }
    Ok(())
}

/// Characters RFC 3986 allows in a URI: unreserved, reserved, and `%` of percent-encoding.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_control() => "a control character".to_owned(),
        c => format!("'{c}'"),
    }
}

/// The URI as a refusal quotes it: on one line, and not endless.
pub(crate) fn shown(uri: &str) -> String {
    let mut text: String = uri
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if uri.chars().count() > 100 {
        text.push('…');
    }
    text
}

fn percent_encoding_is_whole(uri: &str) -> bool {
    let bytes = uri.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

const LOOPBACK: &str = "127.0.0.1, [::1] and localhost";

fn check(uri: &str, kind: &Kind) -> Result<(), String> {
    let what = kind.one;
    if uri.is_empty() {
        return Err(format!("a {what} cannot be empty"));
    }
    if uri.len() > MAX_URI_LENGTH {
        return Err(format!(
            "a {what} is at most {MAX_URI_LENGTH} characters; '{}' has {}",
            shown(uri),
            uri.chars().count()
        ));
    }
    if let Some(c) = uri.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "the {what} '{}' contains {}, which URIs do not allow: percent-encode it",
            shown(uri),
            describe(c)
        ));
    }
    if !percent_encoding_is_whole(uri) {
        return Err(format!(
            "the {what} '{uri}' has a '%' that is not followed by two hexadecimal digits"
        ));
    }
    if uri.contains('*') {
        return Err(format!(
            "the {what} '{uri}' contains '*': {} are matched exactly, without wildcards",
            kind.many
        ));
    }
    if uri.contains('#') {
        return Err(format!(
            "the {what} '{uri}' has a fragment (#…), which {} cannot have",
            kind.many
        ));
    }
    let not_absolute = || {
        format!(
            "the {what} '{uri}' is not an absolute URL such as https://app.example.com/callback"
        )
    };
    let parsed = url::Url::parse(uri).map_err(|_| not_absolute())?;
    let scheme = parsed.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "the {what} '{uri}' must use https (http is allowed for {LOOPBACK} only)"
        ));
    }
    // The parser reads `https:host` and `https:/host` as `https://host/`: only the full form
    // is the string a browser will be sent to.
    let rest = &uri[scheme.len()..];
    let Some(rest) = rest.strip_prefix("://") else {
        return Err(not_absolute());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "the {what} '{uri}' carries a user name or password, which {} cannot have",
            kind.many
        ));
    }
    let host = host_of(authority).ok_or_else(|| {
        format!(
            "the host of the {what} '{uri}' is not a DNS name or an IP address with an optional port"
        )
    })?;
    if host.is_empty() || parsed.host().is_none() {
        return Err(format!("the {what} '{uri}' has no host"));
    }
    if scheme == "http" && !is_loopback(host) {
        return Err(format!(
            "the {what} '{uri}' uses http, which is allowed for {LOOPBACK} only: use https"
        ));
    }
    Ok(())
}

/// The host of an authority (`host`, `host:port`, `[v6]`, `[v6]:port`), or `None` when it is
/// not made of a DNS name's or an IP address's characters, or the port is not digits.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        let inner = &authority[1..end - 1];
        if !inner
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return None;
        }
        (&authority[..end], &authority[end..])
    } else {
        let end = authority.find(':').unwrap_or(authority.len());
        let host = &authority[..end];
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return None;
        }
        (host, &authority[end..])
    };
    match port.strip_prefix(':') {
        None if port.is_empty() => Some(host),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(host)
        }
        _ => None,
    }
}

fn is_loopback(host: &str) -> bool {
    host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost")
}

#[cfg(test)]
mod tests;

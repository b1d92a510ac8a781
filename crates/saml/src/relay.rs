//! RelayState: where the browser goes after sign-in. Only a local path is ever followed (no
//! open redirect), whether it came with the IdP's response, with an SP-initiated start or with
//! the `/login` prompt: one check for all three.

/// `relay` when it is a local path (`/…`, not `//…`, no backslash, no control character).
pub fn local_path(relay: &str) -> Option<&str> {
    (relay.starts_with('/')
        && !relay.starts_with("//")
        && !relay.contains('\\')
        && !relay.chars().any(char::is_control))
    .then_some(relay)
}

/// Where to send the browser after sign-in: the RelayState when it is a local path, else `/`.
pub fn target(relay: Option<&str>) -> String {
    relay.and_then(local_path).unwrap_or("/").to_owned()
}

#[cfg(test)]
mod tests {
    use super::{local_path, target};

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(target(Some("/app/dashboard?x=1")), "/app/dashboard?x=1");
        for unsafe_relay in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/a\nb",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(local_path(unsafe_relay), None, "{unsafe_relay:?}");
            assert_eq!(target(Some(unsafe_relay)), "/");
        }
        assert_eq!(target(None), "/");
    }
}

use super::*;

fn refusal(raw: &str) -> String {
    RedirectUri::parse(raw).expect_err(raw)
}

#[test]
fn https_urls_and_http_on_loopback_are_kept_as_typed() {
    for uri in [
        "https://app.example.com/callback",
        "https://app.example.com",
        "https://App.Example.com:8443/cb?tenant=acme&x=%20",
        "https://192.0.2.10/cb",
        "https://[2001:db8::1]:8443/cb",
        "http://127.0.0.1:8080/callback",
        "http://[::1]/cb",
        "http://localhost:3000/auth/callback",
        "HTTP://LOCALHOST/cb",
    ] {
        assert_eq!(RedirectUri::parse(uri).expect(uri).as_str(), uri);
    }
    assert_eq!(
        RedirectUri::parse("  https://app.example.com/cb \n")
            .unwrap()
            .as_str(),
        "https://app.example.com/cb"
    );
}

#[test]
fn matching_is_exact() {
    let uri = RedirectUri::parse("https://app.example.com/cb").unwrap();
    assert!(uri.matches("https://app.example.com/cb"));
    for other in [
        "https://app.example.com/cb/",
        "https://app.example.com/CB",
        "https://APP.example.com/cb",
        "https://app.example.com/cb?x=1",
        "https://app.example.com:443/cb",
        "https://app.example.com/c%62",
        " https://app.example.com/cb",
    ] {
        assert!(!uri.matches(other), "{other}");
    }
}

#[test]
fn each_refusal_names_its_rule() {
    let cases = [
        ("", "a redirect URI cannot be empty"),
        (
            "https://app.example.com/a b",
            "the redirect URI 'https://app.example.com/a b' contains a space, which URIs do not allow: percent-encode it",
        ),
        (
            "https://app.example.com/\u{e9}",
            "contains 'é', which URIs do not allow",
        ),
        (
            "https://app.example.com/a\\b",
            "contains '\\', which URIs do not allow",
        ),
        (
            "https://app.example.com/%zz",
            "has a '%' that is not followed by two hexadecimal digits",
        ),
        (
            "https://*.example.com/cb",
            "the redirect URI 'https://*.example.com/cb' contains '*': redirect URIs are matched exactly, without wildcards",
        ),
        (
            "https://app.example.com/cb#done",
            "the redirect URI 'https://app.example.com/cb#done' has a fragment (#…), which redirect URIs cannot have",
        ),
        (
            "https://app.example.com/cb#",
            "has a fragment (#…), which redirect URIs cannot have",
        ),
        (
            "/callback",
            "the redirect URI '/callback' is not an absolute URL such as https://app.example.com/callback",
        ),
        ("https:app.example.com/cb", "is not an absolute URL"),
        ("https:/app.example.com/cb", "is not an absolute URL"),
        ("https://app.example.com:99999/", "is not an absolute URL"),
        (
            "com.example.app:/callback",
            "the redirect URI 'com.example.app:/callback' must use https (http is allowed for 127.0.0.1, [::1] and localhost only)",
        ),
        ("ftp://app.example.com/cb", "must use https"),
        (
            "http://app.example.com/cb",
            "the redirect URI 'http://app.example.com/cb' uses http, which is allowed for 127.0.0.1, [::1] and localhost only: use https",
        ),
        ("http://127.0.0.2/cb", "uses http, which is allowed for"),
        ("http://localhost.example.com/cb", "uses http"),
        ("http://[::2]/cb", "uses http"),
        (
            "https://user:pw@app.example.com/cb",
            "the redirect URI 'https://user:pw@app.example.com/cb' carries a user name or password, which redirect URIs cannot have",
        ),
        (
            "https://@app.example.com/cb",
            "carries a user name or password",
        ),
        (
            "https://app_example.com/cb",
            "the host of the redirect URI 'https://app_example.com/cb' is not a DNS name or an IP address with an optional port",
        ),
        (
            "https://app.example.com:/cb",
            "is not a DNS name or an IP address",
        ),
        ("https:///cb", "the redirect URI 'https:///cb' has no host"),
    ];
    for (raw, expected) in cases {
        let why = refusal(raw);
        assert!(why.contains(expected), "{raw}: {why}");
    }
}

#[test]
fn refusals_stay_on_one_line_and_bounded() {
    let why = refusal("https://app.example.com/\ncb");
    assert!(why.contains("a control character"), "{why}");
    assert!(!why.contains('\n'), "{why}");
    let long = format!("https://app.example.com/{}", "a".repeat(MAX_URI_LENGTH));
    let why = refusal(&long);
    assert!(
        why.starts_with("a redirect URI is at most 2000 characters;"),
        "{why}"
    );
    assert!(why.ends_with(&format!("…' has {}", long.len())), "{why}");
    let longest = format!(
        "https://app.example.com/{}",
        "a".repeat(MAX_URI_LENGTH - 24)
    );
    assert_eq!(longest.len(), MAX_URI_LENGTH);
    RedirectUri::parse(&longest).unwrap();
}

#[test]
fn lists_are_bounded_and_repeats_kept_once() {
    let none: [&str; 0] = [];
    assert_eq!(
        RedirectUri::parse_list(&none).unwrap_err(),
        "an application needs at least one redirect URI"
    );
    assert!(PostLogoutRedirectUri::parse_list(&none).unwrap().is_empty());
    let twice = RedirectUri::parse_list(&[
        "https://a.example.com/cb",
        "https://b.example.com/cb",
        " https://a.example.com/cb",
    ])
    .unwrap();
    assert_eq!(
        twice.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
        ["https://a.example.com/cb", "https://b.example.com/cb"]
    );
    let many: Vec<String> = (0..=MAX_URIS)
        .map(|i| format!("https://app.example.com/cb{i}"))
        .collect();
    assert_eq!(
        PostLogoutRedirectUri::parse_list(&many).unwrap_err(),
        "an application has at most 20 post-logout redirect URIs; 21 were given"
    );
    RedirectUri::parse_list(&many[..MAX_URIS]).unwrap();
}

#[test]
fn post_logout_refusals_name_their_kind() {
    assert_eq!(
        PostLogoutRedirectUri::parse("http://app.example.com/").unwrap_err(),
        "the post-logout redirect URI 'http://app.example.com/' uses http, which is allowed for 127.0.0.1, [::1] and localhost only: use https"
    );
    assert!(
        PostLogoutRedirectUri::parse("https://app.example.com/#x")
            .unwrap_err()
            .contains("which post-logout redirect URIs cannot have")
    );
}

//! Reading session cookies (duplicates seen, not collapsed), the `?node=` parameter and the
//! encoding of team names for `X-Idgate-Groups`.

use actix_web::test::TestRequest;

use super::*;

fn request(base: &str, cookie_headers: &[&str]) -> HttpRequest {
    let mut req = TestRequest::default().app_data(web::Data::new(PublicBaseUrl(base.to_owned())));
    for header in cookie_headers {
        req = req.append_header((COOKIE, *header));
    }
    req.to_http_request()
}

#[test]
fn the_cookie_name_follows_the_scheme() {
    assert_eq!(cookie_name(true), "__Host-idgate_session");
    assert_eq!(cookie_name(false), "idgate_session");
    let stale = stale_cookie(true).expect("under HTTPS the plain name is cleared");
    assert_eq!(stale.name(), "idgate_session");
    assert_eq!(
        stale.max_age(),
        Some(actix_web::cookie::time::Duration::ZERO)
    );
    assert!(stale_cookie(false).is_none());
    let gone = removal(HOST_SESSION_COOKIE, true);
    assert_eq!(
        (gone.secure(), gone.path(), gone.domain()),
        (Some(true), Some("/"), None),
        "a __Host- cookie is only cleared by one with its attributes"
    );
}

#[test]
fn one_session_cookie_of_the_schemes_name_is_the_token() {
    let https = "https://sso.acme.test";
    let http = "http://127.0.0.1:8080";
    let one = request(https, &["theme=dark; __Host-idgate_session=tok; lang=en"]);
    assert_eq!(session_token(&one).as_deref(), Some("tok"));
    let plain = request(http, &["idgate_session=tok"]);
    assert_eq!(session_token(&plain).as_deref(), Some("tok"));
    // Under HTTPS a plain-named cookie (which any sibling subdomain can set) is not read, and
    // over HTTP no browser holds a __Host- cookie.
    assert_eq!(
        session_token(&request(https, &["idgate_session=tok"])),
        None
    );
    assert_eq!(
        session_token(&request(http, &["__Host-idgate_session=tok"])),
        None
    );
    assert_eq!(session_token(&request(https, &["other=1"])), None);
    assert_eq!(session_token(&request(https, &[])), None);
    // Other cookies whose names merely contain the name are not session cookies.
    let lookalike = request(
        https,
        &["x__Host-idgate_session=a; __Host-idgate_sessions=b; __Host-idgate_session=tok"],
    );
    assert_eq!(session_token(&lookalike).as_deref(), Some("tok"));
}

#[test]
fn two_session_cookies_are_no_session() {
    let https = "https://sso.acme.test";
    for headers in [
        // The same name twice in one header (a planted cookie for a wider Domain or Path).
        vec!["__Host-idgate_session=mine; __Host-idgate_session=planted"],
        // Across two Cookie headers.
        vec![
            "__Host-idgate_session=mine",
            "__Host-idgate_session=planted",
        ],
        // Even the same value twice.
        vec!["__Host-idgate_session=mine;__Host-idgate_session=mine"],
    ] {
        let req = request(https, &headers);
        assert_eq!(session_cookies(&req).len(), 2, "{headers:?}");
        assert_eq!(session_token(&req), None, "{headers:?}");
    }
    let http = request("http://127.0.0.1", &["idgate_session=a; idgate_session=b"]);
    assert_eq!(session_token(&http), None);
    // Under HTTPS a plain-named cookie beside the session's is no second session cookie: any
    // sibling subdomain could plant one, for every request, and sign the user out for good.
    for headers in [
        vec!["idgate_session=planted; __Host-idgate_session=mine"],
        vec!["__Host-idgate_session=mine", "idgate_session=planted"],
    ] {
        let req = request(https, &headers);
        assert_eq!(session_token(&req).as_deref(), Some("mine"), "{headers:?}");
    }
}

#[test]
fn the_node_parameter_is_one_node_id() {
    assert_eq!(node_param(""), Ok(None));
    assert_eq!(node_param("other=1"), Ok(None));
    assert_eq!(
        node_param("node=1234567890123456"),
        Ok(Some("1234567890123456".parse().unwrap()))
    );
    assert_eq!(
        node_param("node=acme"),
        Err("'acme' is not a node id (digits only)".to_owned())
    );
    assert_eq!(
        node_param("node="),
        Err("'' is not a node id (digits only)".to_owned())
    );
    assert_eq!(
        node_param("node=1234567890123456&node=1234567890123457"),
        Err("give the node parameter once".to_owned())
    );
}

#[test]
fn no_team_name_splits_in_the_groups_header() {
    let names: Vec<String> = [
        "Engineering",
        "Sales, EMEA",
        "ops\r\nX-Idgate-User: root",
        "100% remote",
        "Zürich",
        "a-b.c_d~e",
    ]
    .map(str::to_owned)
    .into();
    let header = groups_header(&names);
    assert_eq!(
        header,
        "Engineering,Sales%2C%20EMEA,ops%0D%0AX-Idgate-User%3A%20root,100%25%20remote,Z%C3%BCrich,a-b.c_d~e"
    );
    let back: Vec<String> = header
        .split(',')
        .map(|part| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect();
    assert_eq!(
        back, names,
        "splitting on commas, then decoding, gives the names"
    );
    assert!(header.bytes().all(|b| b.is_ascii_graphic()), "{header}");
    assert_eq!(groups_header(&[]), "");
}

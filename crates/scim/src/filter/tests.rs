use serde_json::{Map, Value, json};

use super::*;

fn jane() -> Map<String, Value> {
    json!({
        "id": "u-1",
        "userName": "Jane.Doe@Acme.test",
        "externalId": "EXT-1",
        "active": true,
        "title": "",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [
            {"value": "jane@acme.test", "type": "work", "primary": true},
            {"value": "jd@home.test", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "employeeNumber": "42"},
        "meta": {"created": "2026-01-02T03:04:05.000Z"}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn check(expr: &str) -> bool {
    matches(&jane(), &parse(expr).unwrap())
}

#[test]
fn every_operator_compares_as_rfc_7644_says() {
    assert!(
        check(r#"userName eq "jane.doe@acme.test""#),
        "userName is case-insensitive"
    );
    assert!(
        !check(r#"externalId eq "ext-1""#),
        "externalId is case-exact"
    );
    assert!(check(r#"externalId eq "EXT-1""#));
    assert!(check(r#"userName ne "bob@acme.test""#));
    assert!(check(r#"userName co "doe@""#));
    assert!(check(r#"userName sw "JANE""#));
    assert!(check(r#"userName ew ".TEST""#));
    assert!(check(r#"name.familyName gt "Alpha""#));
    assert!(check(r#"name.familyName ge "Doe""#));
    assert!(check(r#"name.familyName lt "Zed""#));
    assert!(check(r#"name.familyName le "doe""#));
    assert!(check("name.givenName pr"));
    assert!(!check("title pr"), "an empty string is not present");
    assert!(!check("nickName pr"));
    assert!(check("active eq true"));
    assert!(
        check(r#"active eq "True""#),
        "a string boolean compares with a boolean"
    );
    assert!(check(r#"meta.created gt "2025-12-31T00:00:00Z""#));
}

#[test]
fn logical_operators_and_grouping() {
    assert!(check(r#"userName sw "jane" and name.givenName eq "Jane""#));
    assert!(!check(r#"userName sw "bob" and name.givenName eq "Jane""#));
    assert!(check(r#"userName sw "bob" or name.givenName eq "Jane""#));
    assert!(check(r#"not (userName sw "bob")"#));
    assert!(check(
        r#"(userName sw "bob" or userName sw "jane") and active eq true"#
    ));
}

#[test]
fn value_paths_and_multi_valued_attributes() {
    assert!(check(r#"emails[type eq "work" and value co "@acme"]"#));
    assert!(!check(r#"emails[type eq "home" and value co "@acme"]"#));
    assert!(check(r#"emails co "home.test""#), "any element matches");
    assert!(check(r#"emails.value eq "JD@HOME.TEST""#));
    assert!(check(r"emails[primary eq true]"));
}

#[test]
fn extension_attributes_are_reached_by_urn() {
    assert!(check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "eng""#
    ));
    assert!(check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "jane""#
    ));
}

#[test]
fn a_malformed_filter_is_invalid_filter() {
    for bad in ["userName eq", "userName zz \"x\"", "(userName eq \"x\"", ""] {
        let err = parse(bad).unwrap_err();
        assert_eq!(err.status.as_u16(), 400, "{bad}");
        assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{bad}");
    }
}

#[test]
fn indexed_attributes_are_pushed_down_exactly() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Col {
        UserName,
    }
    fn column(path: &AttrPath) -> Option<Col> {
        (path.name.eq_ignore_ascii_case("userName") && path.sub_attr.is_none())
            .then_some(Col::UserName)
    }
    let never = |_: Col| false;
    let lookup = push_down(
        Some(&parse(r#"userName eq "a@b.c""#).unwrap()),
        column,
        never,
    );
    assert!(lookup.exact);
    assert_eq!(
        lookup.sql,
        Predicate::Cmp(Col::UserName, Op::Eq, SqlValue::Text("a@b.c".into()))
    );

    let mixed = push_down(
        Some(&parse(r#"userName sw "a" and title pr"#).unwrap()),
        column,
        never,
    );
    assert!(!mixed.exact, "title has no column: evaluated in memory");
    assert_eq!(
        mixed.sql,
        Predicate::And(vec![Predicate::Cmp(
            Col::UserName,
            Op::Sw,
            SqlValue::Text("a".into())
        )])
    );

    let either = push_down(
        Some(&parse(r#"userName sw "a" or title pr"#).unwrap()),
        column,
        never,
    );
    assert!(!either.exact);
    assert_eq!(
        either.sql,
        Predicate::True,
        "an or with an unindexed side scans"
    );
}

#[test]
fn times_round_trip() {
    let millis = parse_time("2026-01-02T03:04:05.678Z").unwrap();
    assert_eq!(format_time(millis), "2026-01-02T03:04:05.678Z");
}

#[test]
fn a_value_path_then_a_sub_attribute_reads_as_the_rfc_form() {
    for (entra, rfc, expected) in [
        (
            r#"emails[type eq "work"].value eq "JANE@acme.test""#,
            r#"emails[type eq "work" and value eq "JANE@acme.test"]"#,
            true,
        ),
        (
            r#"emails[type eq "work"].value eq "jd@home.test""#,
            r#"emails[type eq "work" and value eq "jd@home.test"]"#,
            false,
        ),
        (
            r#"emails[type eq "home"].value ew "@home.test""#,
            r#"emails[type eq "home" and value ew "@home.test"]"#,
            true,
        ),
        (
            r#"emails[type eq "other"].value pr"#,
            r#"emails[type eq "other" and value pr]"#,
            false,
        ),
    ] {
        assert_eq!(check(entra), expected, "{entra}");
        assert_eq!(check(rfc), expected, "{rfc}");
        assert_eq!(parse(entra).unwrap(), parse(rfc).unwrap(), "{entra}");
    }
    assert!(parse(r#"emails[type eq "work"]. eq "x""#).is_err());
}

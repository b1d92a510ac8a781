use chrono::Utc;
use idgate_store::sso::NodeRouting;
use idgate_store::{EmailDomain, NodeId, SsoId};

use super::*;

fn verified(name_id: &str, format: Option<&str>, attributes: &[(&str, &str)]) -> Verified {
    Verified {
        name_id: name_id.to_owned(),
        name_id_format: format.map(str::to_owned),
        attributes: attributes
            .iter()
            .map(|(n, v)| ((*n).to_owned(), vec![(*v).to_owned()]))
            .collect(),
        assertion_id: "_a".to_owned(),
        not_on_or_after: Utc::now(),
        in_response_to: None,
        session_index: None,
        session_not_on_or_after: None,
        authn_instant: None,
        signed: "assertion",
    }
}

fn method(domains: &[&str]) -> SsoMethod {
    SsoMethod {
        sso_id: "123456789012".parse::<SsoId>().unwrap(),
        node_id: "1234567890123456".parse::<NodeId>().unwrap(),
        name: "m".to_owned(),
        sp_entity_id: None,
        sp_key_pem: String::new(),
        sp_cert_pem: String::new(),
        idp_entity_id: None,
        idp_metadata_xml: None,
        idp_sso_post_url: None,
        idp_sso_redirect_url: None,
        idp_slo_url: None,
        idp_certs: Vec::new(),
        jit: true,
        idp_initiated: false,
        clock_skew_secs: 180,
        sign_requests: false,
        allow_sha1: false,
        require_signed: idgate_store::sso::RequireSigned::Either,
        require_encryption: false,
        default_app_id: None,
        attr_email: None,
        attr_first_name: None,
        attr_last_name: None,
        domains: domains
            .iter()
            .map(|d| EmailDomain::parse(d).unwrap())
            .collect(),
        created_at: 0,
        updated_at: 0,
    }
}

#[test]
fn a_configured_attribute_name_is_the_only_one_read() {
    let v = verified(
        "jane@acme.test",
        None,
        &[
            ("email", "jane@acme.test"),
            ("mail", "other@acme.test"),
            ("First", "Jane"),
        ],
    );
    let defaults = Asserted::of(&method(&[]), &v);
    assert_eq!(defaults.email.as_deref(), Some("jane@acme.test"));
    assert_eq!(defaults.given_name.as_deref(), Some("Jane"));
    let mut configured = method(&[]);
    configured.attr_email = Some("mail".to_owned());
    configured.attr_first_name = Some("givenName".to_owned());
    let read = Asserted::of(&configured, &v);
    assert_eq!(read.email.as_deref(), Some("other@acme.test"));
    // "givenName" is absent: no fallback to "First".
    assert_eq!(read.given_name, None);
    configured.attr_email = Some("userPrincipalName".to_owned());
    assert_eq!(Asserted::of(&configured, &v).email, None);
}

#[test]
fn addresses_are_the_email_and_an_address_shaped_name_id() {
    let m = method(&[]);
    let v = verified("Jane@Acme.test", None, &[("email", "jane@acme.test")]);
    assert_eq!(Asserted::of(&m, &v).addresses(), ["jane@acme.test"]);
    let v = verified("jdoe@corp.test", None, &[("email", "jane@acme.test")]);
    assert_eq!(
        Asserted::of(&m, &v).addresses(),
        ["jane@acme.test", "jdoe@corp.test"]
    );
    let v = verified(
        "00u1abcd",
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
        &[],
    );
    assert!(Asserted::of(&m, &v).addresses().is_empty());
    let v = verified("jane@acme.test", Some(TRANSIENT), &[]);
    assert!(Asserted::of(&m, &v).addresses().is_empty());
}

#[test]
fn authority_is_a_reserved_domain_or_the_only_method() {
    let alone = NodeRouting {
        methods: 1,
        reserved_domains: 0,
    };
    let shared = NodeRouting {
        methods: 2,
        reserved_domains: 1,
    };
    let reserving = method(&["acme.test"]);
    let open = method(&[]);
    assert!(authoritative(alone, &open, Some("jane@acme.test")));
    assert!(authoritative(alone, &open, None));
    assert!(authoritative(shared, &reserving, Some("Jane@ACME.test")));
    assert!(!authoritative(shared, &reserving, Some("jane@other.test")));
    assert!(!authoritative(shared, &reserving, None));
    assert!(!authoritative(shared, &open, Some("jane@acme.test")));
    let two_open = NodeRouting {
        methods: 2,
        reserved_domains: 0,
    };
    assert!(!authoritative(two_open, &open, Some("jane@acme.test")));
}

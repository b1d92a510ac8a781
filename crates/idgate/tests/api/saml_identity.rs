//! Which account a sign-in lands in: identity links, authoritative methods, reserved domains,
//! transient NameIDs and concurrent first sign-ins, over HTTP on every backend. Each refusal is
//! checked by its code.

use idgate_saml::testing::{Claims, PERSISTENT, TRANSIENT, TestIdp};
use idgate_store::testing::TestDatabase;
use idgate_store::{EmailDomain, NodeId, SsoId, StorageError, links, sso, users};
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};
use crate::saml_acs::{
    add_method, add_method_in, add_user, claims, last_failure, node_of, post, signed,
    user_signed_in,
};

async fn reserve(app: &TestApp, sso_id: SsoId, domains: &[&str]) {
    let domains: Vec<EmailDomain> = domains
        .iter()
        .map(|d| EmailDomain::parse(d).unwrap())
        .collect();
    app.store
        .run(move |c| {
            sso::set_domains(c, sso_id, &domains).map_err(|e| StorageError::Corrupt(e.to_string()))
        })
        .await
        .unwrap();
}

/// Posts a response for `sso_id` naming `name_id` (of `format`) with `email`; returns the status.
async fn sign_in(
    app: &TestApp,
    idp: &TestIdp,
    sso_id: SsoId,
    name_id: &str,
    format: &str,
    email: Option<&str>,
) -> StatusCode {
    let path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&path);
    let c = Claims {
        name_id,
        name_id_format: format,
        email,
        ..claims(&acs, &acs)
    };
    post(app, &path, &signed(idp, &c), None).await.status()
}

/// Posts like [`sign_in`], expects a refused sign-in (403) and returns the refusal's code.
async fn refused(
    app: &TestApp,
    idp: &TestIdp,
    sso_id: SsoId,
    name_id: &str,
    format: &str,
    email: Option<&str>,
) -> String {
    let status = sign_in(app, idp, sso_id, name_id, format, email).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{name_id} {email:?}");
    last_failure(app).await
}

/// The user the session of a successful sign-in belongs to.
async fn signed_in_as(
    app: &TestApp,
    idp: &TestIdp,
    sso_id: SsoId,
    name_id: &str,
    email: Option<&str>,
) -> String {
    let path = format!("/api/rest/sso/saml/{sso_id}");
    let acs = app.url(&path);
    let c = Claims {
        name_id,
        name_id_format: PERSISTENT,
        email,
        ..claims(&acs, &acs)
    };
    let res = post(app, &path, &signed(idp, &c), None).await;
    user_signed_in(app, res).await
}

async fn user_count(app: &TestApp, node: NodeId) -> i64 {
    app.store
        .run(move |c| users::count(c, node, &users::UserListing::search("")))
        .await
        .unwrap()
}

async fn links_of(app: &TestApp, node: NodeId, user_name: &str) -> Vec<links::ListedLink> {
    let user_name = user_name.to_owned();
    app.store
        .run(move |c| {
            let user = users::find_by_user_name(c, node, &user_name)?.unwrap();
            links::list_for_user(c, &user.id)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn later_sign_ins_find_the_account_by_its_link() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let node = node_of(&app, sso_id).await;

        // The first sign-in creates the account (JIT) and links the NameID to it.
        let first = signed_in_as(&app, &idp, sso_id, "p-1", Some("jane@acme.test")).await;
        assert_eq!(first, "jane@acme.test");
        let linked = links_of(&app, node, "jane@acme.test").await;
        assert_eq!(linked.len(), 1);
        assert_eq!(linked[0].link.name_id, "p-1");
        assert_eq!(linked[0].link.sso_id, sso_id);

        // The IdP changes the user's address: the link still names the same account.
        let later = signed_in_as(&app, &idp, sso_id, "p-1", Some("jane.doe@acme.test")).await;
        assert_eq!(later, "jane@acme.test");
        // Or sends no email at all.
        let later = signed_in_as(&app, &idp, sso_id, "p-1", None).await;
        assert_eq!(later, "jane@acme.test");
        assert_eq!(user_count(&app, node).await, 1);
        let linked = links_of(&app, node, "jane@acme.test").await;
        assert!(linked[0].link.last_used_at >= linked[0].link.created_at);

        let events = app
            .store
            .run(move |c| idgate_store::events::latest(c, Some(node), 50))
            .await
            .unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind == "identity_linked")
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn a_linked_account_does_not_move() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let node = node_of(&app, sso_id).await;
        add_user(&app, sso_id, "bob@acme.test", "bob@acme.test").await;
        signed_in_as(&app, &idp, sso_id, "p-1", Some("jane@acme.test")).await;

        // The NameID is Jane's link, the email names Bob.
        assert_eq!(
            refused(&app, &idp, sso_id, "p-1", PERSISTENT, Some("bob@acme.test")).await,
            "identity_conflict"
        );

        // Jane's email under another NameID of the same method: the IdP reissued the user, or
        // gave Jane's address to someone else; neither moves the account.
        assert_eq!(
            refused(
                &app,
                &idp,
                sso_id,
                "p-2",
                PERSISTENT,
                Some("jane@acme.test"),
            )
            .await,
            "identity_conflict"
        );
        assert_eq!(user_count(&app, node).await, 2);

        // An admin unlinks Jane: the next sign-in links the new NameID.
        let cwd = tempfile::tempdir().unwrap();
        let out = crate::helpers::idgate(
            cwd.path(),
            &[("IDGATE_DATABASE_URL", app.db.url_string())],
            &[
                "user",
                "unlink",
                &node.to_string(),
                "jane@acme.test",
                "--sso",
                &sso_id.to_string(),
            ],
            None,
        );
        assert!(out.status.success(), "{}", crate::helpers::stderr(&out));
        assert_eq!(
            signed_in_as(&app, &idp, sso_id, "p-2", Some("jane@acme.test")).await,
            "jane@acme.test"
        );
        assert_eq!(
            links_of(&app, node, "jane@acme.test").await[0].link.name_id,
            "p-2"
        );
    }
}

#[tokio::test]
async fn only_an_authoritative_method_takes_an_existing_account() {
    for db in TestDatabase::all() {
        let (idp_a, idp_b) = (TestIdp::new(), TestIdp::new());
        let app = spawn_app(db).await;
        let a = add_method(&app, &idp_a, true, true).await;
        let node = node_of(&app, a).await;
        reserve(&app, a, &["acme.test"]).await;
        let b = add_method_in(&app, &idp_b, node, true, true).await;
        add_user(&app, a, "jane@acme.test", "jane@acme.test").await;
        add_user(&app, a, "bob@other.test", "bob@other.test").await;

        // B may not speak for an address of the domain A reserves, existing or not.
        for email in ["jane@acme.test", "new@acme.test"] {
            assert_eq!(
                refused(&app, &idp_b, b, email, PERSISTENT, Some(email)).await,
                "not_authoritative"
            );
        }
        // Nor take an existing account of an unreserved domain: the node has two methods.
        assert_eq!(
            refused(&app, &idp_b, b, "b-bob", PERSISTENT, Some("bob@other.test")).await,
            "not_authoritative"
        );
        // It may create an account no one has.
        assert_eq!(
            signed_in_as(&app, &idp_b, b, "b-carol", Some("carol@other.test")).await,
            "carol@other.test"
        );

        // A is authoritative for acme.test: it takes Jane's account and links it.
        assert_eq!(
            signed_in_as(&app, &idp_a, a, "a-jane", Some("jane@acme.test")).await,
            "jane@acme.test"
        );
        assert_eq!(links_of(&app, node, "jane@acme.test").await.len(), 1);
        // And speaks for no other domain.
        assert_eq!(
            refused(&app, &idp_a, a, "a-bob", PERSISTENT, Some("bob@other.test")).await,
            "domain"
        );
        assert!(links_of(&app, node, "bob@other.test").await.is_empty());
    }
}

#[tokio::test]
async fn two_methods_without_reserved_domains_take_no_existing_account() {
    for db in TestDatabase::all() {
        let (idp_a, idp_b) = (TestIdp::new(), TestIdp::new());
        let app = spawn_app(db).await;
        let a = add_method(&app, &idp_a, true, true).await;
        let node = node_of(&app, a).await;
        add_user(&app, a, "jane@acme.test", "jane@acme.test").await;
        // With one method and no reserved domains, that method speaks for every address.
        assert_eq!(
            signed_in_as(&app, &idp_a, a, "a-jane", Some("jane@acme.test")).await,
            "jane@acme.test"
        );
        add_user(&app, a, "bob@acme.test", "bob@acme.test").await;
        let b = add_method_in(&app, &idp_b, node, true, true).await;
        for (idp, sso_id) in [(&idp_a, a), (&idp_b, b)] {
            assert_eq!(
                refused(
                    &app,
                    idp,
                    sso_id,
                    "x-bob",
                    PERSISTENT,
                    Some("bob@acme.test"),
                )
                .await,
                "not_authoritative"
            );
        }
        // Jane's link still signs her in through A.
        assert_eq!(
            signed_in_as(&app, &idp_a, a, "a-jane", Some("jane@acme.test")).await,
            "jane@acme.test"
        );
    }
}

#[tokio::test]
async fn where_domains_are_reserved_a_name_id_without_an_address_is_no_account_key() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let node = node_of(&app, sso_id).await;
        reserve(&app, sso_id, &["acme.test"]).await;
        add_user(&app, sso_id, "legacy", "legacy@acme.test").await;

        // No JIT account from an opaque NameID alone.
        assert_eq!(
            refused(&app, &idp, sso_id, "p-77", PERSISTENT, None).await,
            "domain"
        );
        // No existing account taken by a userName that is no address.
        assert_eq!(
            refused(&app, &idp, sso_id, "legacy", PERSISTENT, None).await,
            "not_authoritative"
        );
        assert_eq!(user_count(&app, node).await, 1);
        // With its address, the same person signs in and is linked.
        assert_eq!(
            signed_in_as(&app, &idp, sso_id, "legacy", Some("legacy@acme.test")).await,
            "legacy"
        );
    }
}

#[tokio::test]
async fn transient_name_ids_are_never_account_keys() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let node = node_of(&app, sso_id).await;

        assert_eq!(
            refused(&app, &idp, sso_id, "_t1", TRANSIENT, None).await,
            "no_identity"
        );
        assert_eq!(user_count(&app, node).await, 0);

        // With an email, the email is the key; the transient NameID is never linked.
        for transient in ["_t2", "_t3"] {
            let status = sign_in(
                &app,
                &idp,
                sso_id,
                transient,
                TRANSIENT,
                Some("jane@acme.test"),
            )
            .await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{transient}");
        }
        assert_eq!(user_count(&app, node).await, 1);
        assert!(links_of(&app, node, "jane@acme.test").await.is_empty());
    }
}

#[tokio::test]
async fn a_configured_email_attribute_is_the_only_one_read() {
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, false, true).await;
        add_user(&app, sso_id, "jane@acme.test", "jane@acme.test").await;
        app.store
            .run(move |c| {
                sso::update_settings(
                    c,
                    sso_id,
                    &sso::SettingsChange {
                        attr_email: Some(Some("mail".to_owned())),
                        ..sso::SettingsChange::default()
                    },
                )
            })
            .await
            .unwrap();
        // The response carries `email` only; `mail` is configured, so no address is read and
        // the opaque NameID names no one (JIT is off).
        assert_eq!(
            refused(
                &app,
                &idp,
                sso_id,
                "p-1",
                PERSISTENT,
                Some("jane@acme.test"),
            )
            .await,
            "no_account"
        );
    }
}

#[tokio::test]
async fn concurrent_first_sign_ins_make_one_account_and_one_link() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let idp = TestIdp::new();
        let app = std::sync::Arc::new(spawn_app(db).await);
        let sso_id = add_method(&app, &idp, true, true).await;
        let node = node_of(&app, sso_id).await;
        let path = format!("/api/rest/sso/saml/{sso_id}");
        let acs = app.url(&path);
        // Distinct responses (their own assertion ids) for one new user, signed beforehand.
        let responses: Vec<String> = (0..16)
            .map(|_| {
                signed(
                    &idp,
                    &Claims {
                        name_id: "p-race",
                        name_id_format: PERSISTENT,
                        email: Some("race@acme.test"),
                        ..claims(&acs, &acs)
                    },
                )
            })
            .collect();
        let tasks: Vec<_> = responses
            .into_iter()
            .map(|xml| {
                let (app, path) = (app.clone(), path.clone());
                tokio::spawn(async move { post(&app, &path, &xml, None).await.status() })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        let refusals: Vec<String> = app
            .store
            .run(move |c| idgate_store::events::latest(c, Some(node), 100))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "sso_login_failed")
            .map(|e| e.detail)
            .collect();
        assert!(
            statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
            "{backend:?}: {statuses:?} {refusals:?}"
        );
        assert_eq!(user_count(&app, node).await, 1, "{backend:?}");
        assert_eq!(links_of(&app, node, "race@acme.test").await.len(), 1);
    }
}

#[tokio::test]
async fn an_identity_with_a_control_character_or_an_unreadable_domain_signs_no_one_in() {
    for db in TestDatabase::all() {
        let (idp_a, idp_b) = (TestIdp::new(), TestIdp::new());
        let app = spawn_app(db).await;
        let a = add_method(&app, &idp_a, true, true).await;
        let node = node_of(&app, a).await;
        reserve(&app, a, &["acme.test"]).await;
        let b = add_method_in(&app, &idp_b, node, true, true).await;
        add_user(&app, a, "alice@acme.test", "alice@acme.test").await;
        // A proxy or a log would drop the DEL (or a C1 control) and see alice@acme.test.
        for email in ["alice@acme.test&#x7F;", "ali&#x85;ce@acme.test"] {
            assert_eq!(
                refused(&app, &idp_b, b, "b-1", PERSISTENT, Some(email)).await,
                "control_character",
                "{email}"
            );
        }
        assert_eq!(
            refused(&app, &idp_b, b, "alice@acme.test&#x9F;", PERSISTENT, None).await,
            "control_character"
        );
        // A domain that cannot be read might be a reserved one in disguise.
        assert_eq!(
            refused(
                &app,
                &idp_b,
                b,
                "b-2",
                PERSISTENT,
                Some("alice@acme.test&#x200B;")
            )
            .await,
            "not_authoritative"
        );
        assert_eq!(
            user_count(&app, node).await,
            1,
            "no look-alike account was made"
        );
    }
}

#[tokio::test]
async fn a_domain_reserved_later_for_another_method_takes_its_accounts_away() {
    for db in TestDatabase::all() {
        let (idp_a, idp_b) = (TestIdp::new(), TestIdp::new());
        let app = spawn_app(db).await;
        let a = add_method(&app, &idp_a, true, true).await;
        let node = node_of(&app, a).await;
        // A, alone in the node, links Jane.
        signed_in_as(&app, &idp_a, a, "a-jane", Some("jane@acme.test")).await;
        // Then B arrives and reserves Jane's domain: A no longer speaks for her, link or not.
        let b = add_method_in(&app, &idp_b, node, true, true).await;
        reserve(&app, b, &["acme.test"]).await;
        for email in [None, Some("jane@acme.test")] {
            assert_eq!(
                refused(&app, &idp_a, a, "a-jane", PERSISTENT, email).await,
                "not_authoritative",
                "{email:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_new_idp_for_a_method_takes_the_old_ones_links_away() {
    use idgate::actions::{self, Actor};
    for db in TestDatabase::all() {
        let idp = TestIdp::new();
        let app = spawn_app(db).await;
        let sso_id = add_method(&app, &idp, true, true).await;
        let node = node_of(&app, sso_id).await;
        signed_in_as(&app, &idp, sso_id, "p-1", Some("jane@acme.test")).await;

        // The same IdP again (a new certificate, say): its NameIDs still name the same people.
        let same = idp.metadata(idgate_saml::testing::IDP_ENTITY, "");
        actions::import_idp(&app.store, &Actor::cli(), sso_id, &same, None)
            .await
            .unwrap();
        assert_eq!(links_of(&app, node, "jane@acme.test").await.len(), 1);

        // Another IdP: its NameIDs are its own, and the old links go.
        let other = TestIdp::new().metadata("https://other-idp.example.test/saml", "");
        let summary = actions::import_idp(&app.store, &Actor::cli(), sso_id, &other, None)
            .await
            .unwrap();
        assert!(
            summary.contains("1 identity link(s) of the previous IdP removed"),
            "{summary}"
        );
        assert!(links_of(&app, node, "jane@acme.test").await.is_empty());
        let events = app
            .store
            .run(move |c| idgate_store::events::latest(c, Some(node), 5))
            .await
            .unwrap();
        let imported = events
            .iter()
            .find(|e| e.kind == "sso_idp_imported")
            .unwrap();
        assert!(
            imported
                .detail
                .contains("identity link(s) of the previous IdP removed"),
            "{}",
            imported.detail
        );
    }
}

//! Applications (OIDC clients) on every available backend: secrets, node grants,
//! redirect URIs, names unique regardless of case.

use diesel::RunQueryDsl;
use idgate_store::apps::{
    self, App, AppChange, AppError, AppName, ClientId, ClientType, NewApp, NewClient, NodeGrant,
    PostLogoutRedirectUri, RedirectUri,
};
use idgate_store::testing::TestDatabase;
use idgate_store::{NodeId, PoolOptions, StorageError, Store, nodes, token};

fn open(db: &TestDatabase) -> Store {
    Store::open(&db.url, &PoolOptions::default(), true).expect("open test database")
}

async fn node(store: &Store, name: &str) -> NodeId {
    let name = nodes::NodeName::parse(name).unwrap();
    store
        .run(move |c| nodes::create(c, &name).map_err(|e| StorageError::Corrupt(e.to_string())))
        .await
        .unwrap()
        .id
}

fn new_app(name: &str, client: NewClient, grant: NodeGrant) -> NewApp {
    NewApp {
        name: AppName::parse(name).unwrap(),
        client,
        redirect_uris: RedirectUri::parse_list(&["https://app.example.com/callback"]).unwrap(),
        post_logout_redirect_uris: Vec::new(),
        nodes: grant,
    }
}

async fn create(store: &Store, new: NewApp) -> Result<App, AppError> {
    store.run(move |c| Ok(apps::create(c, &new))).await.unwrap()
}

async fn get(store: &Store, id: &ClientId) -> Option<App> {
    let id = id.clone();
    store.run(move |c| apps::get(c, &id)).await.unwrap()
}

async fn update(store: &Store, id: &ClientId, change: AppChange) -> Result<(), AppError> {
    let id = id.clone();
    store
        .run(move |c| Ok(apps::update(c, &id, &change)))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_confidential_client_is_verified_by_its_secret_and_a_public_one_has_none() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let store = open(&db);
        let acme = node(&store, "acme").await;
        let secret = token::generate();
        let wiki = create(
            &store,
            new_app(
                "Wiki",
                NewClient::Confidential {
                    secret_hash: secret.hash.clone(),
                },
                NodeGrant::nodes(vec![acme]),
            ),
        )
        .await
        .unwrap();
        assert_eq!(wiki.client_id.as_str().len(), 32, "{backend:?}");
        assert!(
            wiki.client_id
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        assert_eq!(wiki.client_type, ClientType::Confidential);
        assert!(!wiki.is_public());
        assert!(wiki.secret_created_at.is_some());
        let found = get(&store, &wiki.client_id).await.unwrap();
        assert_eq!(found, wiki);
        assert!(found.verify_secret(&secret.token), "{backend:?}");
        assert!(!found.verify_secret(&token::generate().token));
        assert!(!found.verify_secret(""));
        assert!(
            !found.verify_secret(&secret.hash),
            "the hash is not the secret"
        );
        assert!(
            !format!("{found:?}").contains(&secret.token),
            "only the hash is kept"
        );

        let spa = create(
            &store,
            new_app("Dashboard", NewClient::Public, NodeGrant::All),
        )
        .await
        .unwrap();
        assert!(spa.is_public());
        assert_eq!(spa.secret_created_at, None);
        assert_ne!(spa.client_id, wiki.client_id);
        for presented in ["", &secret.token, "anything"] {
            assert!(
                !spa.verify_secret(presented),
                "a public client has no secret"
            );
        }

        // A public client has no secret to replace; a confidential one's old secret stops.
        let spa_id = spa.client_id.clone();
        let refused = store
            .run(move |c| apps::set_secret_hash(c, &spa_id, &token::generate().hash))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, StorageError::NotFound { .. }),
            "{refused}"
        );
        let fresh = token::generate();
        let (id, hash) = (wiki.client_id.clone(), fresh.hash.clone());
        store
            .run(move |c| apps::set_secret_hash(c, &id, &hash))
            .await
            .unwrap();
        let rotated = get(&store, &wiki.client_id).await.unwrap();
        assert!(rotated.verify_secret(&fresh.token));
        assert!(!rotated.verify_secret(&secret.token), "{backend:?}");
        assert!(!get(&store, &spa.client_id).await.unwrap().verify_secret(""));
    }
}

#[tokio::test]
async fn the_database_refuses_a_confidential_client_without_a_secret() {
    for db in TestDatabase::all() {
        let store = open(&db);
        let refused = store
            .run(|c| {
                Ok(diesel::sql_query(
                    "INSERT INTO oidc_apps (client_id, name, name_key, client_type, redirect_uris, created_at, updated_at) \
                     VALUES ('x', 'X', 'x', 'confidential', '[]', 0, 0)",
                )
                .execute(c))
            })
            .await
            .unwrap();
        assert!(refused.is_err(), "{:?}", db.backend());
        let refused = store
            .run(|c| {
                Ok(diesel::sql_query(
                    "INSERT INTO oidc_apps (client_id, name, name_key, client_type, secret_hash, redirect_uris, created_at, updated_at) \
                     VALUES ('y', 'Y', 'y', 'public', 'abc', '[]', 0, 0)",
                )
                .execute(c))
            })
            .await
            .unwrap();
        assert!(refused.is_err(), "a public client never has a secret");
        assert!(store.run(apps::list).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_application_signs_in_users_of_the_nodes_it_is_granted_only() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let store = open(&db);
        let (acme, globex) = (node(&store, "acme").await, node(&store, "globex").await);
        let app = create(
            &store,
            new_app(
                "Wiki",
                NewClient::Public,
                NodeGrant::nodes(vec![globex, acme, acme]),
            ),
        )
        .await
        .unwrap();
        let found = get(&store, &app.client_id).await.unwrap();
        let mut both = vec![acme, globex];
        both.sort_unstable();
        assert_eq!(found.nodes, NodeGrant::Nodes(both), "{backend:?}");

        update(
            &store,
            &app.client_id,
            AppChange {
                nodes: Some(NodeGrant::nodes(vec![acme])),
                ..AppChange::default()
            },
        )
        .await
        .unwrap();
        let found = get(&store, &app.client_id).await.unwrap();
        assert!(found.grants(acme));
        assert!(!found.grants(globex), "{backend:?}: the list was replaced");

        // All nodes: those created later too.
        update(
            &store,
            &app.client_id,
            AppChange {
                nodes: Some(NodeGrant::All),
                ..AppChange::default()
            },
        )
        .await
        .unwrap();
        let later = node(&store, "initech").await;
        let found = get(&store, &app.client_id).await.unwrap();
        assert_eq!(found.nodes, NodeGrant::All);
        assert!(found.grants(later) && found.grants(globex));

        // Back to some nodes: the all-nodes grant ends.
        update(
            &store,
            &app.client_id,
            AppChange {
                nodes: Some(NodeGrant::nodes(vec![later])),
                ..AppChange::default()
            },
        )
        .await
        .unwrap();
        let found = get(&store, &app.client_id).await.unwrap();
        assert!(found.grants(later) && !found.grants(acme));

        // An unknown node is refused and nothing changes.
        let missing: NodeId = "1234567890123456".parse().unwrap();
        let refused = update(
            &store,
            &app.client_id,
            AppChange {
                name: Some(AppName::parse("Renamed").unwrap()),
                nodes: Some(NodeGrant::nodes(vec![acme, missing])),
                ..AppChange::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(refused.to_string(), "no node with id 1234567890123456");
        assert_eq!(get(&store, &app.client_id).await.unwrap(), found);
        let refused = create(
            &store,
            new_app("Other", NewClient::Public, NodeGrant::nodes(vec![missing])),
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AppError::UnknownNode(n) if n == missing));
        assert_eq!(store.run(apps::list).await.unwrap().len(), 1, "{backend:?}");

        // Deleting the application deletes its grants.
        let id = app.client_id.clone();
        store.run(move |c| apps::delete(c, &id)).await.unwrap();
        assert_eq!(get(&store, &app.client_id).await, None);
        let id = app.client_id.clone();
        let again = store.run(move |c| apps::delete(c, &id)).await.unwrap_err();
        assert!(matches!(again, StorageError::NotFound { .. }));
        let rows: i64 = store
            .run(|c| {
                use diesel::QueryDsl;
                idgate_store::schema::oidc_app_nodes::table
                    .count()
                    .get_result(c)
                    .map_err(StorageError::from)
            })
            .await
            .unwrap();
        assert_eq!(rows, 0, "{backend:?}");
    }
}

#[tokio::test]
async fn names_are_unique_regardless_of_case() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let store = open(&db);
        create(&store, new_app("Wiki", NewClient::Public, NodeGrant::All))
            .await
            .unwrap();
        let refused = create(&store, new_app("WIKI", NewClient::Public, NodeGrant::All))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AppError::NameTaken(ref n) if n == "WIKI"),
            "{backend:?}: {refused}"
        );
        assert_eq!(
            refused.to_string(),
            "an application named 'WIKI' already exists"
        );
        let other = create(
            &store,
            new_app("Dashboard", NewClient::Public, NodeGrant::All),
        )
        .await
        .unwrap();
        let refused = update(
            &store,
            &other.client_id,
            AppChange {
                name: Some(AppName::parse("wiki").unwrap()),
                redirect_uris: Some(
                    RedirectUri::parse_list(&["https://other.example.com/cb"]).unwrap(),
                ),
                ..AppChange::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AppError::NameTaken(_)), "{backend:?}");
        assert_eq!(
            get(&store, &other.client_id).await.unwrap(),
            other,
            "nothing of the refused change is kept"
        );
        // Its own name in another case is no conflict.
        update(
            &store,
            &other.client_id,
            AppChange {
                name: Some(AppName::parse("DASHBOARD").unwrap()),
                ..AppChange::default()
            },
        )
        .await
        .unwrap();
        let names: Vec<String> = store
            .run(apps::list)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["DASHBOARD", "Wiki"], "{backend:?}");
        let unknown: ClientId = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let refused = update(&store, &unknown, AppChange::default())
            .await
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "no application with client id 0123456789abcdef0123456789abcdef"
        );
    }
}

#[tokio::test]
async fn redirect_uris_are_stored_as_given_and_matched_exactly() {
    for db in TestDatabase::all() {
        let backend = db.backend();
        let store = open(&db);
        let mut new = new_app("Wiki", NewClient::Public, NodeGrant::All);
        new.redirect_uris = RedirectUri::parse_list(&[
            "https://wiki.example.com/oauth2/callback?tenant=a%20b",
            "http://127.0.0.1:8080/cb",
        ])
        .unwrap();
        new.post_logout_redirect_uris =
            PostLogoutRedirectUri::parse_list(&["https://wiki.example.com/"]).unwrap();
        let app = create(&store, new).await.unwrap();
        let found = get(&store, &app.client_id).await.unwrap();
        assert_eq!(
            found.redirect_uri("https://wiki.example.com/oauth2/callback?tenant=a%20b"),
            Some(&found.redirect_uris[0]),
            "{backend:?}"
        );
        assert!(found.redirect_uri("http://127.0.0.1:8080/cb").is_some());
        for other in [
            "https://wiki.example.com/oauth2/callback",
            "https://wiki.example.com/oauth2/callback?tenant=a+b",
            "http://127.0.0.1:8081/cb",
            "https://wiki.example.com/",
        ] {
            assert_eq!(found.redirect_uri(other), None, "{other}");
        }
        assert!(
            found
                .post_logout_redirect_uri("https://wiki.example.com/")
                .is_some()
        );
        assert_eq!(
            found.post_logout_redirect_uri("https://wiki.example.com/oauth2/callback?tenant=a%20b"),
            None,
            "a redirect URI is not a post-logout redirect URI"
        );

        // Lists given replace the stored ones.
        update(
            &store,
            &app.client_id,
            AppChange {
                redirect_uris: Some(
                    RedirectUri::parse_list(&["https://wiki.example.com/new"]).unwrap(),
                ),
                post_logout_redirect_uris: Some(Vec::new()),
                ..AppChange::default()
            },
        )
        .await
        .unwrap();
        let found = get(&store, &app.client_id).await.unwrap();
        assert_eq!(
            found
                .redirect_uris
                .iter()
                .map(RedirectUri::as_str)
                .collect::<Vec<_>>(),
            ["https://wiki.example.com/new"]
        );
        assert!(found.post_logout_redirect_uris.is_empty(), "{backend:?}");
        assert_eq!(found.nodes, NodeGrant::All, "what was not given is kept");
        assert!(found.updated_at >= app.updated_at);
    }
}

#[test]
fn names_and_client_ids_are_parsed() {
    assert_eq!(AppName::parse("  Wiki ").unwrap().as_str(), "Wiki");
    assert_eq!(
        AppName::parse(" ").unwrap_err(),
        "an application name cannot be empty"
    );
    assert_eq!(
        AppName::parse(&"x".repeat(201)).unwrap_err(),
        "an application name is at most 200 characters"
    );
    assert_eq!(
        AppName::parse("a\u{7}b").unwrap_err(),
        "an application name cannot contain control characters"
    );
    assert_eq!(
        "has space".parse::<ClientId>().unwrap_err(),
        "'has space' is not a client id"
    );
    assert_eq!(
        "a\nb".parse::<ClientId>().unwrap_err(),
        "'a\u{fffd}b' is not a client id"
    );
    assert!("".parse::<ClientId>().is_err());
    assert!("x".repeat(65).parse::<ClientId>().is_err());
    assert_ne!(ClientId::generate(), ClientId::generate());
}

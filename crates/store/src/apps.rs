//! Applications: the OIDC clients idgate signs people in to.
//!
//! An application has a `client_id`, a name, exact redirect URIs (and post-logout redirect
//! URIs), the nodes whose users it may sign in (some, or all), and is either *confidential*
//! (it proves itself with a secret, kept here only as a SHA-256 hash, compared in constant
//! time: [`crate::token`]) or *public* (no secret; PKCE instead).
//!
//! The authorization and token endpoints read an application with [`get`] and ask it
//! [`App::grants`], [`App::redirect_uri`], [`App::post_logout_redirect_uri`],
//! [`App::is_public`] and [`App::verify_secret`].

mod model;
mod uris;

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::schema::{oidc_app_nodes, oidc_apps};
use crate::{DbConnection, IdentityKey, NodeId, StorageError, nodes, now_millis, token};

pub use model::{AppName, ClientId, ClientType, NodeGrant};
pub use uris::{MAX_URI_LENGTH, MAX_URIS, PostLogoutRedirectUri, RedirectUri};

/// The unique index on application names (compared as [`IdentityKey`]s).
pub const NAME_INDEX: &str = "oidc_apps_name_key";

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub client_id: ClientId,
    pub name: String,
    pub client_type: ClientType,
    /// Hex SHA-256 of a confidential client's secret; never the secret.
    secret_hash: Option<String>,
    /// When the current secret was made (a confidential client only).
    pub secret_created_at: Option<i64>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<PostLogoutRedirectUri>,
    pub nodes: NodeGrant,
    /// Where the application starts its own sign-in (OIDC Core section 4): IdP-initiated
    /// sign-ins of a method whose default application this is are sent there.
    pub initiate_login_uri: Option<RedirectUri>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl App {
    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }

    /// Whether the application may sign in users of `node`.
    pub fn grants(&self, node: NodeId) -> bool {
        self.nodes.includes(node)
    }

    /// The registered redirect URI a client presented, if it is one (exact comparison).
    pub fn redirect_uri(&self, presented: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|uri| uri.matches(presented))
    }

    /// The registered post-logout redirect URI a client presented, if it is one (exact).
    pub fn post_logout_redirect_uri(&self, presented: &str) -> Option<&PostLogoutRedirectUri> {
        self.post_logout_redirect_uris
            .iter()
            .find(|uri| uri.matches(presented))
    }

    /// Whether `presented` is a confidential client's current secret, compared in constant
    /// time. Always `false` for a public client: it has no secret.
    pub fn verify_secret(&self, presented: &str) -> bool {
        match (self.client_type, &self.secret_hash) {
            (ClientType::Confidential, Some(hash)) => token::matches(presented, hash),
            _ => false,
        }
    }
}

/// How a new application proves itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewClient {
    /// With the secret whose hash this is ([`token::generate`]).
    Confidential {
        secret_hash: String,
    },
    Public,
}

/// What is needed to create an application.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub name: AppName,
    pub client: NewClient,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<PostLogoutRedirectUri>,
    pub nodes: NodeGrant,
}

/// What to change in an application; `None` leaves a part as it is, a list replaces the
/// stored one.
#[derive(Debug, Clone, Default)]
pub struct AppChange {
    pub name: Option<AppName>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub post_logout_redirect_uris: Option<Vec<PostLogoutRedirectUri>>,
    pub nodes: Option<NodeGrant>,
    /// `Some(None)` removes the initiate-login URI.
    pub initiate_login_uri: Option<Option<RedirectUri>>,
}

/// Why an application could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("an application named '{0}' already exists")]
    NameTaken(String),
    #[error("no node with id {0}")]
    UnknownNode(NodeId),
    #[error("no application with client id {0}")]
    NotFound(ClientId),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        AppError::Storage(err.into())
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oidc_apps)]
struct Row {
    client_id: String,
    name: String,
    client_type: String,
    secret_hash: Option<String>,
    secret_created_at: Option<i64>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    all_nodes: bool,
    created_at: i64,
    updated_at: i64,
    initiate_login_uri: Option<String>,
}

impl Row {
    fn into_app(self, granted: Vec<NodeId>) -> Result<App, StorageError> {
        let corrupt =
            |what: &str| StorageError::Corrupt(format!("{what} of application {}", self.client_id));
        let client_type = match (self.client_type.as_str(), &self.secret_hash) {
            ("confidential", Some(_)) => ClientType::Confidential,
            ("public", None) => ClientType::Public,
            _ => return Err(corrupt("client type and secret")),
        };
        let list = |json: &str| {
            serde_json::from_str::<Vec<String>>(json).map_err(|_| corrupt("redirect URIs"))
        };
        let redirect_uris = list(&self.redirect_uris)?
            .into_iter()
            .map(RedirectUri::from_db)
            .collect();
        let post_logout_redirect_uris = list(&self.post_logout_redirect_uris)?
            .into_iter()
            .map(PostLogoutRedirectUri::from_db)
            .collect();
        Ok(App {
            client_id: ClientId::from_db(self.client_id),
            name: self.name,
            client_type,
            secret_hash: self.secret_hash,
            secret_created_at: self.secret_created_at,
            redirect_uris,
            post_logout_redirect_uris,
            nodes: if self.all_nodes {
                NodeGrant::All
            } else {
                NodeGrant::nodes(granted)
            },
            initiate_login_uri: self.initiate_login_uri.map(RedirectUri::from_db),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn json_list<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
    serde_json::to_string(&items).expect("strings serialise")
}

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for PostLogoutRedirectUri {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Makes `grant` the application's nodes (every named node must exist).
fn write_grant(
    conn: &mut DbConnection,
    client_id: &ClientId,
    grant: &NodeGrant,
) -> Result<(), AppError> {
    diesel::delete(oidc_app_nodes::table.filter(oidc_app_nodes::client_id.eq(client_id.as_str())))
        .execute(conn)?;
    diesel::update(oidc_apps::table.find(client_id.as_str()))
        .set(oidc_apps::all_nodes.eq(*grant == NodeGrant::All))
        .execute(conn)?;
    if let NodeGrant::Nodes(ids) = grant {
        for node in ids {
            if nodes::get(conn, *node)?.is_none() {
                return Err(AppError::UnknownNode(*node));
            }
            diesel::insert_into(oidc_app_nodes::table)
                .values((
                    oidc_app_nodes::client_id.eq(client_id.as_str()),
                    oidc_app_nodes::node_id.eq(node.get()),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Creates an application with a fresh client id. Names are unique regardless of case.
pub fn create(conn: &mut DbConnection, new: &NewApp) -> Result<App, AppError> {
    let (client_type, secret_hash) = match &new.client {
        NewClient::Confidential { secret_hash } => (ClientType::Confidential, Some(secret_hash)),
        NewClient::Public => (ClientType::Public, None),
    };
    // A random id can collide with an existing one; try again rather than fail.
    for _ in 0..3 {
        let client_id = ClientId::generate();
        let now = now_millis();
        let created = conn.transaction(|conn| {
            diesel::insert_into(oidc_apps::table)
                .values((
                    oidc_apps::client_id.eq(client_id.as_str()),
                    oidc_apps::name.eq(new.name.as_str()),
                    oidc_apps::name_key.eq(IdentityKey::of(new.name.as_str()).as_str()),
                    oidc_apps::client_type.eq(client_type.as_str()),
                    oidc_apps::secret_hash.eq(secret_hash),
                    oidc_apps::secret_created_at.eq(secret_hash.map(|_| now)),
                    oidc_apps::redirect_uris.eq(json_list(&new.redirect_uris)),
                    oidc_apps::post_logout_redirect_uris
                        .eq(json_list(&new.post_logout_redirect_uris)),
                    oidc_apps::created_at.eq(now),
                    oidc_apps::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(StorageError::from)?;
            write_grant(conn, &client_id, &new.nodes)
        });
        match created {
            Ok(()) => {
                return get(conn, &client_id)?.ok_or_else(|| AppError::NotFound(client_id.clone()));
            }
            Err(AppError::Storage(e)) if e.is_conflict_on(NAME_INDEX) => {
                return Err(AppError::NameTaken(new.name.as_str().to_owned()));
            }
            Err(AppError::Storage(StorageError::Conflict { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::Corrupt("could not allocate a free client id".to_owned()).into())
}

/// The nodes granted to each application (or to one), by client id.
fn grants(
    conn: &mut DbConnection,
    only: Option<&ClientId>,
) -> Result<BTreeMap<String, Vec<NodeId>>, StorageError> {
    let mut query = oidc_app_nodes::table
        .select((oidc_app_nodes::client_id, oidc_app_nodes::node_id))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(oidc_app_nodes::client_id.eq(id.as_str()));
    }
    let mut by_app: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for (client_id, node) in query.load::<(String, i64)>(conn)? {
        by_app
            .entry(client_id)
            .or_default()
            .push(NodeId::from_db(node));
    }
    Ok(by_app)
}

/// An application by client id.
pub fn get(conn: &mut DbConnection, client_id: &ClientId) -> Result<Option<App>, StorageError> {
    let Some(row) = oidc_apps::table
        .find(client_id.as_str())
        .select(Row::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let granted = grants(conn, Some(client_id))?
        .remove(client_id.as_str())
        .unwrap_or_default();
    row.into_app(granted).map(Some)
}

/// Every application, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<App>, StorageError> {
    let rows = oidc_apps::table
        .select(Row::as_select())
        .order((oidc_apps::name_key.asc(), oidc_apps::client_id.asc()))
        .load(conn)?;
    let mut granted = grants(conn, None)?;
    rows.into_iter()
        .map(|row| {
            let nodes = granted.remove(&row.client_id).unwrap_or_default();
            row.into_app(nodes)
        })
        .collect()
}

/// Changes an application's name, URIs or nodes.
pub fn update(
    conn: &mut DbConnection,
    client_id: &ClientId,
    change: &AppChange,
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        let target = oidc_apps::table.find(client_id.as_str());
        let found = diesel::update(target)
            .set(oidc_apps::updated_at.eq(now_millis()))
            .execute(conn)?;
        if found == 0 {
            return Err(AppError::NotFound(client_id.clone()));
        }
        if let Some(name) = &change.name {
            diesel::update(target)
                .set((
                    oidc_apps::name.eq(name.as_str()),
                    oidc_apps::name_key.eq(IdentityKey::of(name.as_str()).as_str()),
                ))
                .execute(conn)
                .map_err(|e| match StorageError::from(e) {
                    e if e.is_conflict_on(NAME_INDEX) => {
                        AppError::NameTaken(name.as_str().to_owned())
                    }
                    other => other.into(),
                })?;
        }
        if let Some(uris) = &change.redirect_uris {
            diesel::update(target)
                .set(oidc_apps::redirect_uris.eq(json_list(uris)))
                .execute(conn)?;
        }
        if let Some(uris) = &change.post_logout_redirect_uris {
            diesel::update(target)
                .set(oidc_apps::post_logout_redirect_uris.eq(json_list(uris)))
                .execute(conn)?;
        }
        if let Some(grant) = &change.nodes {
            write_grant(conn, client_id, grant)?;
        }
        if let Some(uri) = &change.initiate_login_uri {
            diesel::update(target)
                .set(oidc_apps::initiate_login_uri.eq(uri.as_ref().map(RedirectUri::as_str)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Replaces a confidential client's secret (the old one stops working at once). A public
/// client has none to replace: not found.
pub fn set_secret_hash(
    conn: &mut DbConnection,
    client_id: &ClientId,
    secret_hash: &str,
) -> Result<(), StorageError> {
    let now = now_millis();
    let changed = diesel::update(
        oidc_apps::table
            .find(client_id.as_str())
            .filter(oidc_apps::client_type.eq(ClientType::Confidential.as_str())),
    )
    .set((
        oidc_apps::secret_hash.eq(secret_hash),
        oidc_apps::secret_created_at.eq(now),
        oidc_apps::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound {
            what: "confidential application",
        });
    }
    Ok(())
}

/// Deletes an application with its node grants, codes and tokens; SSO methods that sent
/// IdP-initiated sign-ins to it no longer do.
pub fn delete(conn: &mut DbConnection, client_id: &ClientId) -> Result<(), StorageError> {
    diesel::update(
        crate::schema::sso_methods::table
            .filter(crate::schema::sso_methods::default_app_id.eq(client_id.as_str())),
    )
    .set(crate::schema::sso_methods::default_app_id.eq(None::<String>))
    .execute(conn)?;
    let removed = diesel::delete(oidc_apps::table.find(client_id.as_str())).execute(conn)?;
    if removed == 0 {
        return Err(StorageError::NotFound {
            what: "application",
        });
    }
    Ok(())
}

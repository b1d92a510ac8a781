//! Applications (OIDC clients): register one, change it, rotate its secret, delete
//! it. A confidential client's secret is made here, handed back once and stored only as its
//! hash; no event or log ever holds it.

use idgate_store::apps::{
    self, App, AppChange, AppError, AppName, ClientId, NewApp, NewClient, NodeGrant,
    PostLogoutRedirectUri, RedirectUri,
};
use idgate_store::{StorageError, Store, token};

use super::{ActionError, Actor, record, transaction};

/// An application to register, as the admin gave it.
#[derive(Debug, Clone)]
pub struct AppInput {
    pub name: String,
    /// A public client (no secret; PKCE) rather than a confidential one.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub nodes: NodeGrant,
}

/// What to change in an application; `None` keeps a part, a list replaces the stored one.
#[derive(Debug, Clone, Default)]
pub struct AppEdit {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub nodes: Option<NodeGrant>,
    /// Where the application starts its own sign-in; `Some(None)` removes it.
    pub initiate_login_uri: Option<Option<String>>,
}

impl AppEdit {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.redirect_uris.is_none()
            && self.post_logout_redirect_uris.is_none()
            && self.nodes.is_none()
            && self.initiate_login_uri.is_none()
    }
}

/// A registered application and, for a confidential client, its secret (to show once).
#[derive(Debug)]
pub struct Registered {
    pub app: App,
    pub secret: Option<String>,
}

pub fn no_app(client_id: &ClientId) -> ActionError {
    ActionError::NotFound(format!("no application with client id {client_id}"))
}

fn grant_of(grant: NodeGrant) -> Result<NodeGrant, ActionError> {
    match grant {
        NodeGrant::Nodes(ids) if ids.is_empty() => Err(ActionError::Invalid(
            "grant the application at least one node, or all nodes".to_owned(),
        )),
        grant => Ok(grant),
    }
}

/// A refusal of the store as the admin reads it; a storage failure fails the action.
fn refused<T>(err: AppError) -> Result<Result<T, ActionError>, StorageError> {
    match err {
        AppError::Storage(e) => Err(e),
        AppError::NotFound(id) => Ok(Err(no_app(&id))),
        other => Ok(Err(ActionError::Invalid(other.to_string()))),
    }
}

/// `all` or the node ids, for audit details and the CLI.
pub fn nodes_text(grant: &NodeGrant) -> String {
    match grant {
        NodeGrant::All => "all".to_owned(),
        NodeGrant::Nodes(ids) if ids.is_empty() => "none".to_owned(),
        NodeGrant::Nodes(ids) => ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn uris_text<T: AsRef<str>>(uris: &[T]) -> String {
    if uris.is_empty() {
        "none".to_owned()
    } else {
        uris.iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Registers an application; a confidential client's secret comes back once.
pub async fn create_app(
    store: &Store,
    actor: &Actor,
    input: AppInput,
) -> Result<Registered, ActionError> {
    let invalid = ActionError::Invalid;
    let name = AppName::parse(&input.name).map_err(invalid)?;
    let redirect_uris = RedirectUri::parse_list(&input.redirect_uris).map_err(invalid)?;
    let post_logout_redirect_uris =
        PostLogoutRedirectUri::parse_list(&input.post_logout_redirect_uris).map_err(invalid)?;
    let nodes = grant_of(input.nodes)?;
    let secret = (!input.public).then(token::generate);
    let new = NewApp {
        name,
        client: match &secret {
            Some(secret) => NewClient::Confidential {
                secret_hash: secret.hash.clone(),
            },
            None => NewClient::Public,
        },
        redirect_uris,
        post_logout_redirect_uris,
        nodes,
    };
    let actor = actor.clone();
    let app = store
        .run(move |c| {
            transaction(c, |c| {
                let app = match apps::create(c, &new) {
                    Ok(app) => app,
                    Err(e) => return refused(e),
                };
                let detail = format!(
                    "'{}'; {}; nodes: {}; redirect URIs: {}; post-logout redirect URIs: {}",
                    app.name,
                    app.client_type.as_str(),
                    nodes_text(&app.nodes),
                    uris_text(&app.redirect_uris),
                    uris_text(&app.post_logout_redirect_uris),
                );
                record(
                    c,
                    &actor,
                    None,
                    "app_created",
                    app.client_id.as_str(),
                    &detail,
                )?;
                Ok(Ok(app))
            })
        })
        .await??;
    Ok(Registered {
        app,
        secret: secret.map(|s| s.token),
    })
}

/// Changes an application's name, redirect URIs, post-logout redirect URIs or nodes.
pub async fn update_app(
    store: &Store,
    actor: &Actor,
    client_id: &ClientId,
    edit: AppEdit,
) -> Result<App, ActionError> {
    let invalid = ActionError::Invalid;
    let change = AppChange {
        name: edit
            .name
            .as_deref()
            .map(AppName::parse)
            .transpose()
            .map_err(invalid)?,
        redirect_uris: edit
            .redirect_uris
            .as_deref()
            .map(RedirectUri::parse_list)
            .transpose()
            .map_err(invalid)?,
        post_logout_redirect_uris: edit
            .post_logout_redirect_uris
            .as_deref()
            .map(PostLogoutRedirectUri::parse_list)
            .transpose()
            .map_err(invalid)?,
        nodes: edit.nodes.map(grant_of).transpose()?,
        initiate_login_uri: match edit.initiate_login_uri {
            Some(Some(raw)) => {
                Some(Some(RedirectUri::parse(&raw).map_err(|e| {
                    ActionError::Invalid(format!("initiate-login URI: {e}"))
                })?))
            }
            Some(None) => Some(None),
            None => None,
        },
    };
    let (actor, client_id) = (actor.clone(), client_id.clone());
    store
        .run(move |c| {
            transaction(c, |c| {
                let Some(before) = apps::get(c, &client_id)? else {
                    return Ok(Err(no_app(&client_id)));
                };
                if let Err(e) = apps::update(c, &client_id, &change) {
                    return refused(e);
                }
                let Some(after) = apps::get(c, &client_id)? else {
                    return Ok(Err(no_app(&client_id)));
                };
                record(
                    c,
                    &actor,
                    None,
                    "app_updated",
                    client_id.as_str(),
                    &changes(&before, &after),
                )?;
                Ok(Ok(after))
            })
        })
        .await?
}

/// The initiate-login URI, or `none`.
pub fn initiate_text(app: &App) -> String {
    app.initiate_login_uri
        .as_ref()
        .map_or_else(|| "none".to_owned(), |u| u.as_str().to_owned())
}

/// What an update changed, for its audit event.
fn changes(before: &App, after: &App) -> String {
    let pairs = [
        ("name", before.name.clone(), after.name.clone()),
        (
            "redirect URIs",
            uris_text(&before.redirect_uris),
            uris_text(&after.redirect_uris),
        ),
        (
            "post-logout redirect URIs",
            uris_text(&before.post_logout_redirect_uris),
            uris_text(&after.post_logout_redirect_uris),
        ),
        ("nodes", nodes_text(&before.nodes), nodes_text(&after.nodes)),
        (
            "initiate-login URI",
            initiate_text(before),
            initiate_text(after),
        ),
    ];
    let changed: Vec<String> = pairs
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(what, a, b)| format!("{what}: {a} → {b}"))
        .collect();
    if changed.is_empty() {
        "no change".to_owned()
    } else {
        format!("'{}': {}", after.name, changed.join("; "))
    }
}

/// Gives a confidential client a new secret (returned, to show once); the old one stops
/// working at once.
pub async fn rotate_app_secret(
    store: &Store,
    actor: &Actor,
    client_id: &ClientId,
) -> Result<(App, String), ActionError> {
    let secret = token::generate();
    let hash = secret.hash.clone();
    let (actor, client_id) = (actor.clone(), client_id.clone());
    let app = store
        .run(move |c| {
            transaction(c, |c| {
                let Some(app) = apps::get(c, &client_id)? else {
                    return Ok(Err(no_app(&client_id)));
                };
                if app.is_public() {
                    return Ok(Err(ActionError::Invalid(format!(
                        "the application '{}' is public: it has no secret to rotate",
                        app.name
                    ))));
                }
                apps::set_secret_hash(c, &client_id, &hash)?;
                record(
                    c,
                    &actor,
                    None,
                    "app_secret_rotated",
                    client_id.as_str(),
                    &format!(
                        "'{}': new secret; the previous one no longer works",
                        app.name
                    ),
                )?;
                Ok(Ok(app))
            })
        })
        .await??;
    Ok((app, secret.token))
}

/// Deletes an application: it can sign no one in from now on. Returns what it was.
pub async fn delete_app(
    store: &Store,
    actor: &Actor,
    client_id: &ClientId,
) -> Result<App, ActionError> {
    let (actor, client_id) = (actor.clone(), client_id.clone());
    store
        .run(move |c| {
            transaction(c, |c| {
                let Some(app) = apps::get(c, &client_id)? else {
                    return Ok(Err(no_app(&client_id)));
                };
                apps::delete(c, &client_id)?;
                record(
                    c,
                    &actor,
                    None,
                    "app_deleted",
                    client_id.as_str(),
                    &format!("'{}'", app.name),
                )?;
                Ok(Ok(app))
            })
        })
        .await?
}

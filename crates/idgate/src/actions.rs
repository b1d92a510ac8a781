//! Admin actions, shared by the CLI and the console: each validates its input, makes its change
//! and records its audit event in one transaction, and answers a mistake with a sentence the
//! admin can act on. One room per area, as `cli/` and `console/` have: nodes, SSO methods,
//! provisioning (SCIM token, team approval), the directory (users, identity links, events).

pub mod apps;
mod directory;
mod nodes;
mod provisioning;
mod sso;

pub use apps::{
    AppEdit, AppInput, Registered, create_app, delete_app, no_app, nodes_text, rotate_app_secret,
    update_app,
};
pub use directory::{date_range, event_line, set_user_status, unlink_identity};
pub use nodes::{create_node, rename_node};
pub use provisioning::{Decided, Decision, decide_team, generate_scim_token};
pub use sso::{
    NewSso, add_domains, create_sso, delete_sso, import_idp, parse_domains, rotate_sp_cert,
    set_default_app, update_sso,
};

use idgate_store::events::{NewEvent, Outcome};
use idgate_store::{DbConnection, NodeId, SsoId, StorageError, events};

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The input is wrong; the sentence says how.
    #[error("{0}")]
    Invalid(String),
    /// What the action names does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for ActionError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound { what } => ActionError::NotFound(format!("no such {what}")),
            other => ActionError::Storage(other),
        }
    }
}

/// Who acts: `cli`, or `console:<admin>`.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn cli() -> Self {
        Actor("cli".to_owned())
    }

    pub fn console(admin: &str) -> Self {
        Actor(format!("console:{admin}"))
    }
}

fn record(
    c: &mut DbConnection,
    actor: &Actor,
    node_id: Option<NodeId>,
    kind: &str,
    target: &str,
    detail: &str,
) -> Result<(), StorageError> {
    events::record(
        c,
        &NewEvent {
            node_id,
            kind,
            actor: &actor.0,
            target: Some(target),
            outcome: Outcome::Success,
            detail,
        },
    )
}

/// Runs `f` in one transaction. An [`ActionError`] it answers rolls the transaction back and
/// is handed on; a storage error fails the action.
fn transaction<T>(
    c: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<Result<T, ActionError>, StorageError>,
) -> Result<Result<T, ActionError>, StorageError> {
    let mut refused = None;
    let done = idgate_store::transaction(c, |c| {
        f(c)?.map_err(|why| {
            refused = Some(why);
            StorageError::Corrupt("the action was refused".to_owned())
        })
    });
    match refused {
        Some(why) => Ok(Err(why)),
        None => done.map(Ok),
    }
}

fn no_node(node_id: NodeId) -> ActionError {
    ActionError::NotFound(format!("no node with id {node_id}"))
}

fn no_sso(sso_id: SsoId) -> ActionError {
    ActionError::NotFound(format!("no SSO method with id {sso_id}"))
}

//! Nodes: create and rename.

use idgate_store::nodes::{self, CreateNodeError, Node, NodeName};
use idgate_store::{NodeId, Store};

use super::{ActionError, Actor, no_node, record, transaction};

pub async fn create_node(
    store: &Store,
    actor: &Actor,
    raw_name: &str,
) -> Result<Node, ActionError> {
    let name = NodeName::parse(raw_name).map_err(ActionError::Invalid)?;
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                let node = match nodes::create(c, &name) {
                    Ok(node) => node,
                    Err(CreateNodeError::Storage(e)) => return Err(e),
                    Err(taken) => return Ok(Err(ActionError::Invalid(taken.to_string()))),
                };
                record(c, &actor, Some(node.id), "node_create", &node.name, "")?;
                Ok(Ok(node))
            })
        })
        .await?
}

pub async fn rename_node(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
    raw_name: &str,
) -> Result<(), ActionError> {
    let name = NodeName::parse(raw_name).map_err(ActionError::Invalid)?;
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                let Some(before) = nodes::get(c, node_id)? else {
                    return Ok(Err(no_node(node_id)));
                };
                match nodes::rename(c, node_id, &name) {
                    Ok(()) => {}
                    Err(CreateNodeError::Storage(e)) => return Err(e),
                    Err(taken) => return Ok(Err(ActionError::Invalid(taken.to_string()))),
                }
                record(
                    c,
                    &actor,
                    Some(node_id),
                    "node_rename",
                    name.as_str(),
                    &format!("was '{}'", before.name),
                )
                .map(Ok)
            })
        })
        .await?
}

//! Nodes: the tenants. Nothing below a node crosses to another.

use diesel::prelude::*;
use serde::Serialize;

use crate::schema::nodes;
use crate::{DbConnection, NodeId, StorageError, now_millis};

/// A node as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub id: NodeId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = nodes)]
struct NodeRow {
    id: i64,
    name: String,
    created_at: i64,
}

impl From<NodeRow> for Node {
    fn from(row: NodeRow) -> Self {
        Node {
            id: NodeId::from_db(row.id),
            name: row.name,
            created_at: row.created_at,
        }
    }
}

/// A node name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName(String);

impl NodeName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("a node name cannot be empty".to_owned());
        }
        if name.chars().count() > 200 {
            return Err("a node name is at most 200 characters".to_owned());
        }
        if name.chars().any(char::is_control) {
            return Err("a node name cannot contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a node could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateNodeError {
    #[error("a node named '{0}' already exists")]
    NameTaken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Creates a node; names are unique regardless of case.
pub fn create(conn: &mut DbConnection, name: &NodeName) -> Result<Node, CreateNodeError> {
    // A random id can collide with an existing one; try again rather than fail.
    for _ in 0..3 {
        let row = NodeRow {
            id: NodeId::generate().get(),
            name: name.as_str().to_owned(),
            created_at: now_millis(),
        };
        let inserted = diesel::insert_into(nodes::table)
            .values((
                nodes::id.eq(row.id),
                nodes::name.eq(&row.name),
                nodes::created_at.eq(row.created_at),
            ))
            .execute(conn)
            .map_err(StorageError::from);
        match inserted {
            Ok(_) => return Ok(row.into()),
            Err(e) if e.is_conflict_on("nodes_name_lower") => {
                return Err(CreateNodeError::NameTaken(name.as_str().to_owned()));
            }
            Err(StorageError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StorageError::Corrupt("could not allocate a free node id".to_owned()).into())
}

/// Every node, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Node>, StorageError> {
    let rows = nodes::table
        .select(NodeRow::as_select())
        .order((nodes::name.asc(), nodes::id.asc()))
        .load(conn)?;
    Ok(rows.into_iter().map(Node::from).collect())
}

pub fn get(conn: &mut DbConnection, id: NodeId) -> Result<Option<Node>, StorageError> {
    let row = nodes::table
        .find(id.get())
        .select(NodeRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Node::from))
}

/// Renames a node; names stay unique regardless of case.
pub fn rename(conn: &mut DbConnection, id: NodeId, name: &NodeName) -> Result<(), CreateNodeError> {
    let changed = diesel::update(nodes::table.find(id.get()))
        .set(nodes::name.eq(name.as_str()))
        .execute(conn)
        .map_err(StorageError::from)
        .map_err(|e| {
            if e.is_conflict_on("nodes_name_lower") {
                CreateNodeError::NameTaken(name.as_str().to_owned())
            } else {
                e.into()
            }
        })?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "node" }.into());
    }
    Ok(())
}

//! What an application is made of besides its URIs: its client id, name, client type and the
//! nodes it is granted.

use std::fmt;
use std::str::FromStr;

use crate::NodeId;

/// An application's OAuth 2.0 `client_id`: 32 lowercase hexadecimal characters (128 random
/// bits) when idgate makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_db(raw: String) -> Self {
        Self(raw)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClientId {
    type Err = String;

    /// Any client id a client may present: 1 to 64 visible ASCII characters. One that is not
    /// idgate's simply finds no application.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            Err(format!("'{}' is not a client id", super::uris::shown(s)))
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

/// An application's name as the console and the CLI show it: trimmed, 1 to 200 characters, no
/// control characters; unique regardless of the case of ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("an application name cannot be empty".to_owned());
        }
        if name.chars().count() > 200 {
            return Err("an application name is at most 200 characters".to_owned());
        }
        if name.chars().any(char::is_control) {
            return Err("an application name cannot contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// A server-side application: it authenticates with its secret at the token endpoint.
    Confidential,
    /// A browser or native application: no secret; PKCE protects its codes.
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
}

/// The nodes whose users an application may sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeGrant {
    /// Every node, those created later too.
    All,
    /// These nodes only (kept in id order).
    Nodes(Vec<NodeId>),
}

impl NodeGrant {
    /// The given nodes, each once, in id order.
    pub fn nodes(mut ids: Vec<NodeId>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        NodeGrant::Nodes(ids)
    }

    pub fn includes(&self, node: NodeId) -> bool {
        match self {
            NodeGrant::All => true,
            NodeGrant::Nodes(ids) => ids.binary_search(&node).is_ok(),
        }
    }
}

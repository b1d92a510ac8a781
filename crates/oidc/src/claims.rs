//! What the provider says about a user: in the ID token and at the userinfo endpoint, the
//! same claims, chosen by scope. `sub` is the stable user id; `org_id` the node and `sso_id`
//! the SSO method (strings: 16 and 12 digits do not fit a JavaScript number exactly).

use idgate_store::users::{self, User};
use idgate_store::{DbConnection, EmailDomain, NodeId, SsoId, StorageError, UserId, sso, teams};
use serde_json::{Map, Value, json};

/// The scopes idgate knows; others asked for are left out of what is granted.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

pub const SUPPORTED_CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "groups",
    "org_id",
    "sso_id",
];

/// The scopes of `asked` idgate grants (in its own order), or `None` without `openid`.
pub fn granted_scope(asked: &str) -> Option<String> {
    let asked: Vec<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return None;
    }
    Some(
        SCOPES
            .iter()
            .filter(|s| asked.contains(s))
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

pub fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// A user, the names of their approved teams, and whether their address is one their node
/// speaks for.
pub struct Subject {
    pub user: User,
    pub teams: Vec<String>,
    pub email_verified: bool,
}

impl Subject {
    pub fn load(
        conn: &mut DbConnection,
        node: NodeId,
        user_id: &UserId,
    ) -> Result<Option<Self>, StorageError> {
        let Some(user) = users::get(conn, node, user_id)? else {
            return Ok(None);
        };
        let teams = teams::approved_teams_of_user(conn, user_id)?;
        // Verified only when the address's domain is reserved by an SSO method of the user's
        // own node: another node's IdP or SCIM client can write any address, and an
        // application granted several nodes must not take it for the real owner's.
        let email_verified = match user.email.as_deref().and_then(EmailDomain::of_address) {
            Some(domain) => {
                sso::domain_owner(conn, &domain)?.is_some_and(|(_, owner)| owner == user.node_id)
            }
            None => false,
        };
        Ok(Some(Subject {
            user,
            teams,
            email_verified,
        }))
    }

    /// The claims `scope` allows, with `sub`, `org_id` and `sso_id`.
    pub fn claims(&self, scope: &str, sso: Option<SsoId>) -> Map<String, Value> {
        let user = &self.user;
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(user.id.as_str()));
        claims.insert("org_id".into(), json!(user.node_id.to_string()));
        if let Some(sso) = sso {
            claims.insert("sso_id".into(), json!(sso.to_string()));
        }
        if has_scope(scope, "email")
            && let Some(email) = &user.email
        {
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(self.email_verified));
        }
        if has_scope(scope, "profile") {
            claims.insert("preferred_username".into(), json!(user.user_name));
            let name = user.display_name.clone().or_else(|| {
                let parts: Vec<&str> = [user.given_name.as_deref(), user.family_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            });
            if let Some(name) = name {
                claims.insert("name".into(), json!(name));
            }
            if let Some(given) = &user.given_name {
                claims.insert("given_name".into(), json!(given));
            }
            if let Some(family) = &user.family_name {
                claims.insert("family_name".into(), json!(family));
            }
        }
        if has_scope(scope, "groups") {
            claims.insert("groups".into(), json!(self.teams));
        }
        claims
    }

    /// Whether the account may be signed in (not locked, not deprovisioned).
    pub fn active(&self) -> bool {
        self.user.status == users::UserStatus::Active && self.user.scim_visible
    }
}

#[cfg(test)]
mod tests {
    use super::granted_scope;

    #[test]
    fn scopes_need_openid_and_unknown_ones_are_left_out() {
        assert_eq!(
            granted_scope("email openid x"),
            Some("openid email".to_owned())
        );
        assert_eq!(granted_scope("email profile"), None);
        assert_eq!(granted_scope("openidx"), None);
    }
}

//! Identity links: the NameID through which an SSO method signed a user in, bound to that user.
//!
//! The first sign-in of a user through a method makes the link; every later sign-in through
//! that method finds the user by it. A method has one link per NameID and one per user, so an
//! IdP that reissues a user under a new NameID, or gives one NameID to another person, cannot
//! silently move an account. Links go with their method or their user.

use diesel::prelude::*;

use crate::schema::{identity_links, sso_methods};
use crate::{DbConnection, IdentityKey, NodeId, SsoId, StorageError, UserId, now_millis};

/// The unique index that refuses a second link of one NameID in a method.
pub const NAME_ID_INDEX: &str = "identity_links_pkey";
/// The unique index that refuses a second link of one user in a method.
pub const USER_INDEX: &str = "identity_links_sso_user";

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityLink {
    pub sso_id: SsoId,
    /// The NameID as the IdP sent it when the link was made.
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub user_id: UserId,
    pub node_id: NodeId,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// A link with the name of its method, for the user's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLink {
    pub link: IdentityLink,
    pub method_name: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = identity_links)]
struct Row {
    sso_id: i64,
    name_id: String,
    name_id_format: Option<String>,
    user_id: String,
    node_id: i64,
    created_at: i64,
    last_used_at: i64,
}

impl From<Row> for IdentityLink {
    fn from(row: Row) -> Self {
        IdentityLink {
            sso_id: SsoId::from_db(row.sso_id),
            name_id: row.name_id,
            name_id_format: row.name_id_format,
            user_id: UserId::from_db(row.user_id),
            node_id: NodeId::from_db(row.node_id),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The key a NameID is found by. A NameID that is an email address (the emailAddress format, or
/// text shaped as an address, as JumpCloud's unspecified NameID is) compares as addresses do,
/// regardless of ASCII case; any other NameID is opaque and compares exactly.
pub fn name_id_key(name_id: &str, format: Option<&str>) -> String {
    if format == Some(EMAIL_FORMAT) || crate::EmailDomain::of_address(name_id).is_some() {
        IdentityKey::of(name_id).into_string()
    } else {
        name_id.to_owned()
    }
}

/// The link of a NameID in a method.
pub fn find(
    conn: &mut DbConnection,
    sso_id: SsoId,
    name_id: &str,
    format: Option<&str>,
) -> Result<Option<IdentityLink>, StorageError> {
    Ok(identity_links::table
        .filter(identity_links::sso_id.eq(sso_id.get()))
        .filter(identity_links::name_id_key.eq(name_id_key(name_id, format)))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(IdentityLink::from))
}

/// The link a user has in a method, whatever its NameID.
pub fn find_for_user(
    conn: &mut DbConnection,
    sso_id: SsoId,
    user_id: &UserId,
) -> Result<Option<IdentityLink>, StorageError> {
    Ok(identity_links::table
        .filter(identity_links::sso_id.eq(sso_id.get()))
        .filter(identity_links::user_id.eq(user_id.as_str()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(IdentityLink::from))
}

/// What a new link binds.
#[derive(Debug, Clone, Copy)]
pub struct NewLink<'a> {
    pub sso_id: SsoId,
    pub node_id: NodeId,
    pub name_id: &'a str,
    pub name_id_format: Option<&'a str>,
    pub user_id: &'a UserId,
}

/// Links a NameID to a user. A NameID or a user the method already links is `Conflict` on
/// [`NAME_ID_INDEX`] or [`USER_INDEX`].
pub fn create(conn: &mut DbConnection, new: &NewLink<'_>) -> Result<(), StorageError> {
    let now = now_millis();
    diesel::insert_into(identity_links::table)
        .values((
            identity_links::sso_id.eq(new.sso_id.get()),
            identity_links::name_id_key.eq(name_id_key(new.name_id, new.name_id_format)),
            identity_links::name_id.eq(new.name_id),
            identity_links::name_id_format.eq(new.name_id_format),
            identity_links::user_id.eq(new.user_id.as_str()),
            identity_links::node_id.eq(new.node_id.get()),
            identity_links::created_at.eq(now),
            identity_links::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a sign-in through a link.
pub fn touch(conn: &mut DbConnection, link: &IdentityLink) -> Result<(), StorageError> {
    diesel::update(identity_links::table)
        .filter(identity_links::sso_id.eq(link.sso_id.get()))
        .filter(identity_links::user_id.eq(link.user_id.as_str()))
        .set(identity_links::last_used_at.eq(now_millis()))
        .execute(conn)?;
    Ok(())
}

/// A user's links, with their methods' names, oldest first.
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Vec<ListedLink>, StorageError> {
    let rows: Vec<(Row, String)> = identity_links::table
        .inner_join(sso_methods::table)
        .filter(identity_links::user_id.eq(user_id.as_str()))
        .order((
            identity_links::created_at.asc(),
            identity_links::sso_id.asc(),
        ))
        .select((Row::as_select(), sso_methods::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, method_name)| ListedLink {
            link: row.into(),
            method_name,
        })
        .collect())
}

/// Removes a user's link in a method; returns the removed link, `None` when there was none.
pub fn delete(
    conn: &mut DbConnection,
    sso_id: SsoId,
    user_id: &UserId,
) -> Result<Option<IdentityLink>, StorageError> {
    let Some(link) = find_for_user(conn, sso_id, user_id)? else {
        return Ok(None);
    };
    diesel::delete(
        identity_links::table
            .filter(identity_links::sso_id.eq(sso_id.get()))
            .filter(identity_links::user_id.eq(user_id.as_str())),
    )
    .execute(conn)?;
    Ok(Some(link))
}

/// Removes every link of a method (its IdP was replaced by another); returns how many.
pub fn delete_for_sso(conn: &mut DbConnection, sso_id: SsoId) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(identity_links::table.filter(identity_links::sso_id.eq(sso_id.get())))
            .execute(conn)?,
    )
}

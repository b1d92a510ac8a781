//! Users: indexed columns for lookups and filters, plus the full document the client sent
//! (JSON text) from which the SCIM representation is rebuilt.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::predicate::{
    Direction, Op, Predicate, Value, boxed_predicate, int_cmp, nullable_text_cmp, text_cmp,
};
use crate::schema::users;
use crate::{DbConnection, IdentityKey, NodeId, StorageError, UserId, now_millis};

/// Whether a user may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Locked,
}

/// Who created the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    Scim,
    Jit,
    Admin,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
        }
    }
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Scim => "scim",
            Provenance::Jit => "jit",
            Provenance::Admin => "admin",
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub node_id: NodeId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The document as the client last wrote it (JSON object text).
    pub attributes: String,
    pub status: UserStatus,
    pub provenance: Provenance,
    /// False once a SCIM client deleted the user: the account stays, locked, for the admin.
    pub scim_visible: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The values written by a create or a full update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    pub user_name: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub attributes: String,
    pub active: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Row {
    id: String,
    node_id: i64,
    user_name: String,
    external_id: Option<String>,
    email: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
    attributes: String,
    status: String,
    provenance: String,
    scim_visible: bool,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for User {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(User {
            id: UserId::from_db(row.id),
            node_id: NodeId::from_db(row.node_id),
            user_name: row.user_name,
            external_id: row.external_id,
            email: row.email,
            given_name: row.given_name,
            family_name: row.family_name,
            display_name: row.display_name,
            attributes: row.attributes,
            status: match row.status.as_str() {
                "active" => UserStatus::Active,
                "locked" => UserStatus::Locked,
                other => return Err(StorageError::Corrupt(format!("user status '{other}'"))),
            },
            provenance: match row.provenance.as_str() {
                "scim" => Provenance::Scim,
                "jit" => Provenance::Jit,
                "admin" => Provenance::Admin,
                other => return Err(StorageError::Corrupt(format!("provenance '{other}'"))),
            },
            scim_visible: row.scim_visible,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn status_of(active: bool) -> &'static str {
    if active {
        UserStatus::Active.as_str()
    } else {
        UserStatus::Locked.as_str()
    }
}

fn email_key(fields: &UserFields) -> Option<String> {
    fields
        .email
        .as_deref()
        .map(|e| IdentityKey::of(e).into_string())
}

/// The unique index that refuses a second user with the same userName in a node.
pub const USER_NAME_INDEX: &str = "users_node_user_name";

/// Creates a user. A taken userName is `Conflict` on [`USER_NAME_INDEX`].
pub fn insert(
    conn: &mut DbConnection,
    node_id: NodeId,
    fields: &UserFields,
    provenance: Provenance,
) -> Result<User, StorageError> {
    crate::transaction(conn, |conn| {
        let id = UserId::generate();
        let now = now_millis();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(id.as_str()),
                users::node_id.eq(node_id.get()),
                users::user_name.eq(&fields.user_name),
                users::user_name_key.eq(IdentityKey::of(&fields.user_name).as_str()),
                users::external_id.eq(&fields.external_id),
                users::email.eq(&fields.email),
                users::email_key.eq(email_key(fields)),
                users::given_name.eq(&fields.given_name),
                users::family_name.eq(&fields.family_name),
                users::display_name.eq(&fields.display_name),
                users::attributes.eq(&fields.attributes),
                users::status.eq(status_of(fields.active)),
                users::provenance.eq(provenance.as_str()),
                users::scim_visible.eq(true),
                users::version.eq(1_i64),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        let user = get(conn, node_id, &id)?.ok_or(StorageError::NotFound { what: "user" })?;
        crate::outbox::user_changed(conn, None, &user)?;
        Ok(user)
    })
}

/// A user of this node by id (SCIM-visible or not).
pub fn get(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
) -> Result<Option<User>, StorageError> {
    users::table
        .filter(users::id.eq(id.as_str()))
        .filter(users::node_id.eq(node_id.get()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// A user of this node by userName, regardless of ASCII case (SCIM-visible or not).
pub fn find_by_user_name(
    conn: &mut DbConnection,
    node_id: NodeId,
    user_name: &str,
) -> Result<Option<User>, StorageError> {
    users::table
        .filter(users::node_id.eq(node_id.get()))
        .filter(users::user_name_key.eq(IdentityKey::of(user_name).into_string()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// A user of this node whose userName or else email is `login`, regardless of ASCII case (the
/// oldest, when several users share the email).
pub fn find_by_login(
    conn: &mut DbConnection,
    node_id: NodeId,
    login: &str,
) -> Result<Option<User>, StorageError> {
    if let Some(user) = find_by_user_name(conn, node_id, login)? {
        return Ok(Some(user));
    }
    users::table
        .filter(users::node_id.eq(node_id.get()))
        .filter(users::email_key.eq(IdentityKey::of(login).into_string()))
        .order(users::created_at.asc())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// Replaces a user's fields and makes it SCIM-visible again, bumping its version. With
/// `expected_version`, the write happens only if the stored version still is that one
/// (`VersionMismatch` otherwise).
pub fn update(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
    expected_version: Option<i64>,
    fields: &UserFields,
) -> Result<User, StorageError> {
    crate::transaction(conn, |conn| {
        let before = get(conn, node_id, id)?;
        let after = write_fields(conn, node_id, id, expected_version, fields)?;
        crate::outbox::user_changed(conn, before.as_ref(), &after)?;
        Ok(after)
    })
}

fn write_fields(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
    expected_version: Option<i64>,
    fields: &UserFields,
) -> Result<User, StorageError> {
    let mut target = diesel::update(users::table)
        .filter(users::id.eq(id.as_str()))
        .filter(users::node_id.eq(node_id.get()))
        .into_boxed();
    if let Some(version) = expected_version {
        target = target.filter(users::version.eq(version));
    }
    let changed = target
        .set((
            users::user_name.eq(&fields.user_name),
            users::user_name_key.eq(IdentityKey::of(&fields.user_name).into_string()),
            users::external_id.eq(&fields.external_id),
            users::email.eq(&fields.email),
            users::email_key.eq(email_key(fields)),
            users::given_name.eq(&fields.given_name),
            users::family_name.eq(&fields.family_name),
            users::display_name.eq(&fields.display_name),
            users::attributes.eq(&fields.attributes),
            users::status.eq(status_of(fields.active)),
            users::scim_visible.eq(true),
            users::version.eq(users::version + 1_i64),
            users::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if changed == 1 && !fields.active {
        crate::oidc::revoke_user_tokens(conn, id)?;
    }
    match (changed, get(conn, node_id, id)?) {
        (1, Some(user)) => Ok(user),
        (_, Some(_)) => Err(StorageError::VersionMismatch),
        (_, None) => Err(StorageError::NotFound { what: "user" }),
    }
}

/// Sets the status (and SCIM visibility) without touching the document.
pub fn set_status(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
    status: UserStatus,
    scim_visible: bool,
) -> Result<(), StorageError> {
    crate::transaction(conn, |conn| {
        let before = get(conn, node_id, id)?;
        write_status(conn, node_id, id, status, scim_visible)?;
        if let Some(after) = get(conn, node_id, id)? {
            crate::outbox::user_changed(conn, before.as_ref(), &after)?;
        }
        Ok(())
    })
}

fn write_status(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
    status: UserStatus,
    scim_visible: bool,
) -> Result<(), StorageError> {
    let changed = diesel::update(users::table)
        .filter(users::id.eq(id.as_str()))
        .filter(users::node_id.eq(node_id.get()))
        .set((
            users::status.eq(status.as_str()),
            users::scim_visible.eq(scim_visible),
            users::version.eq(users::version + 1_i64),
            users::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "user" });
    }
    if status == UserStatus::Locked || !scim_visible {
        crate::oidc::revoke_user_tokens(conn, id)?;
    }
    Ok(())
}

/// Sets the status an administrator chooses, in one statement (with its outbox event), leaving SCIM visibility alone:
/// unlocking applies only to a user a SCIM client can see (one the client deleted stays locked
/// until it provisions the user again). Returns whether the user was changed.
pub fn set_admin_status(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
    status: UserStatus,
) -> Result<bool, StorageError> {
    crate::transaction(conn, |conn| {
        let before = get(conn, node_id, id)?;
        let changed = write_admin_status(conn, node_id, id, status)?;
        if changed && let Some(after) = get(conn, node_id, id)? {
            crate::outbox::user_changed(conn, before.as_ref(), &after)?;
        }
        Ok(changed)
    })
}

fn write_admin_status(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &UserId,
    status: UserStatus,
) -> Result<bool, StorageError> {
    let target = users::table
        .filter(users::id.eq(id.as_str()))
        .filter(users::node_id.eq(node_id.get()));
    let values = (
        users::status.eq(status.as_str()),
        users::version.eq(users::version + 1_i64),
        users::updated_at.eq(now_millis()),
    );
    let rows = match status {
        UserStatus::Locked => diesel::update(target).set(values).execute(conn)?,
        UserStatus::Active => diesel::update(target.filter(users::scim_visible.eq(true)))
            .set(values)
            .execute(conn)?,
    };
    if rows == 1 && status == UserStatus::Locked {
        crate::oidc::revoke_user_tokens(conn, id)?;
    }
    Ok(rows == 1)
}

/// Removes a user for good (memberships and sessions go with it).
pub fn delete(conn: &mut DbConnection, node_id: NodeId, id: &UserId) -> Result<(), StorageError> {
    let changed = diesel::delete(users::table)
        .filter(users::id.eq(id.as_str()))
        .filter(users::node_id.eq(node_id.get()))
        .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "user" });
    }
    Ok(())
}

/// Columns a user predicate or sort can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserColumn {
    Id,
    UserName,
    ExternalId,
    Email,
    DisplayName,
    GivenName,
    FamilyName,
    /// `Value::Bool`: whether the status is active.
    Active,
    /// `Value::Int`, epoch milliseconds.
    Created,
    /// `Value::Int`, epoch milliseconds.
    LastModified,
}

type UserExpr = boxed_predicate!(users::table);

fn constant(value: bool) -> UserExpr {
    Box::new(sql::<Bool>(if value { "1=1" } else { "1=0" }))
}

fn to_sql(pred: &Predicate<UserColumn>) -> UserExpr {
    use UserColumn as C;
    match pred {
        Predicate::True => constant(true),
        Predicate::False => constant(false),
        Predicate::And(items) => items
            .iter()
            .map(to_sql)
            .reduce(|a, b| Box::new(a.and(b)))
            .unwrap_or_else(|| constant(true)),
        Predicate::Or(items) => items
            .iter()
            .map(to_sql)
            .reduce(|a, b| Box::new(a.or(b)))
            .unwrap_or_else(|| constant(false)),
        Predicate::Not(inner) => Box::new(diesel::dsl::not(to_sql(inner))),
        Predicate::Present(column) => match column {
            C::Id | C::UserName | C::Active | C::Created | C::LastModified => constant(true),
            C::ExternalId => Box::new(
                users::external_id
                    .is_not_null()
                    .and(users::external_id.assume_not_null().ne("")),
            ),
            C::Email => Box::new(
                users::email
                    .is_not_null()
                    .and(users::email.assume_not_null().ne("")),
            ),
            C::DisplayName => Box::new(
                users::display_name
                    .is_not_null()
                    .and(users::display_name.assume_not_null().ne("")),
            ),
            C::GivenName => Box::new(
                users::given_name
                    .is_not_null()
                    .and(users::given_name.assume_not_null().ne("")),
            ),
            C::FamilyName => Box::new(
                users::family_name
                    .is_not_null()
                    .and(users::family_name.assume_not_null().ne("")),
            ),
        },
        Predicate::Cmp(column, op, value) => match (column, value) {
            (C::Id, Value::Text(v)) => text_cmp!(UserExpr, users::id, false, *op, v.clone()),
            // Identities compare on their keys (ASCII case folded in Rust, the same on both
            // backends), never through SQL's lower().
            (C::UserName, Value::Text(v)) => text_cmp!(
                UserExpr,
                users::user_name_key,
                false,
                *op,
                IdentityKey::of(v).into_string()
            ),
            (C::ExternalId, Value::Text(v)) => {
                nullable_text_cmp!(UserExpr, users::external_id, false, *op, v.clone())
            }
            (C::Email, Value::Text(v)) => nullable_text_cmp!(
                UserExpr,
                users::email_key,
                false,
                *op,
                IdentityKey::of(v).into_string()
            ),
            (C::DisplayName, Value::Text(v)) => {
                nullable_text_cmp!(UserExpr, users::display_name, true, *op, v.clone())
            }
            (C::GivenName, Value::Text(v)) => {
                nullable_text_cmp!(UserExpr, users::given_name, true, *op, v.clone())
            }
            (C::FamilyName, Value::Text(v)) => {
                nullable_text_cmp!(UserExpr, users::family_name, true, *op, v.clone())
            }
            (C::Active, Value::Bool(b)) => match op {
                Op::Eq => Box::new(users::status.eq(status_of(*b))),
                Op::Ne => Box::new(users::status.ne(status_of(*b))),
                _ => constant(false),
            },
            (C::Created, Value::Int(n)) => int_cmp!(UserExpr, users::created_at, *op, *n),
            (C::LastModified, Value::Int(n)) => int_cmp!(UserExpr, users::updated_at, *op, *n),
            // A value of the wrong type never matches (as comparing "abc" with true in SCIM).
            _ => constant(false),
        },
    }
}

/// Which users a listing covers.
#[derive(Debug, Clone, PartialEq)]
pub struct UserListing {
    pub filter: Predicate<UserColumn>,
    /// Only users a SCIM client can see (not deleted by one).
    pub scim_visible_only: bool,
    pub sort: Option<(UserColumn, Direction)>,
}

impl UserListing {
    /// An admin's search: every user (those a SCIM client deleted too) whose user name, email,
    /// names or external id contain `text`, ignoring case; all of them when `text` is blank.
    /// By user name.
    pub fn search(text: &str) -> Self {
        let text = text.trim();
        let filter = if text.is_empty() {
            Predicate::True
        } else {
            Predicate::Or(
                [
                    UserColumn::UserName,
                    UserColumn::Email,
                    UserColumn::DisplayName,
                    UserColumn::GivenName,
                    UserColumn::FamilyName,
                    UserColumn::ExternalId,
                ]
                .into_iter()
                .map(|column| Predicate::Cmp(column, Op::Co, Value::Text(text.to_owned())))
                .collect(),
            )
        };
        UserListing {
            filter,
            scim_visible_only: false,
            sort: Some((UserColumn::UserName, Direction::Ascending)),
        }
    }
}

/// How many users match.
pub fn count(
    conn: &mut DbConnection,
    node_id: NodeId,
    listing: &UserListing,
) -> Result<i64, StorageError> {
    let mut query = users::table
        .filter(users::node_id.eq(node_id.get()))
        .filter(to_sql(&listing.filter))
        .count()
        .into_boxed();
    if listing.scim_visible_only {
        query = query.filter(users::scim_visible.eq(true));
    }
    Ok(query.get_result(conn)?)
}

/// One page of matching users, in a stable order (the sort column, then id).
///
/// The page's ids are found first on the index alone and the rows fetched afterwards, so a
/// page deep in a large listing costs little more than the first.
pub fn page(
    conn: &mut DbConnection,
    node_id: NodeId,
    listing: &UserListing,
    offset: i64,
    limit: i64,
) -> Result<Vec<User>, StorageError> {
    let mut ids_query = users::table
        .filter(users::node_id.eq(node_id.get()))
        .filter(to_sql(&listing.filter))
        .select(users::id)
        .into_boxed();
    if listing.scim_visible_only {
        ids_query = ids_query.filter(users::scim_visible.eq(true));
    }
    ids_query = match listing.sort {
        None => ids_query.order(users::id.asc()),
        Some((column, direction)) => {
            let desc = direction == Direction::Descending;
            macro_rules! by {
                ($col:expr) => {
                    if desc {
                        ids_query.order(($col.desc(), users::id.asc()))
                    } else {
                        ids_query.order(($col.asc(), users::id.asc()))
                    }
                };
            }
            match column {
                UserColumn::Id => by!(users::id),
                UserColumn::UserName => by!(users::user_name_key),
                UserColumn::ExternalId => by!(users::external_id),
                UserColumn::Email => by!(users::email_key),
                UserColumn::DisplayName => by!(users::display_name),
                UserColumn::GivenName => by!(users::given_name),
                UserColumn::FamilyName => by!(users::family_name),
                UserColumn::Active => by!(users::status),
                UserColumn::Created => by!(users::created_at),
                UserColumn::LastModified => by!(users::updated_at),
            }
        }
    };
    let ids: Vec<String> = ids_query.offset(offset).limit(limit).load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = users::table
        .filter(users::id.eq_any(&ids))
        .select(Row::as_select())
        .load(conn)?;
    let mut by_id: std::collections::HashMap<String, Row> =
        rows.into_iter().map(|r| (r.id.clone(), r)).collect();
    ids.iter()
        .filter_map(|id| by_id.remove(id))
        .map(User::try_from)
        .collect()
}

/// The displayNames of these users of a node, for those a SCIM client can see and that have
/// one; other ids are left out.
pub fn visible_display_names(
    conn: &mut DbConnection,
    node_id: NodeId,
    ids: &[UserId],
) -> Result<Vec<(UserId, String)>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ids.iter().map(UserId::as_str).collect();
    let rows: Vec<(String, Option<String>)> = users::table
        .filter(users::node_id.eq(node_id.get()))
        .filter(users::id.eq_any(ids))
        .filter(users::scim_visible.eq(true))
        .select((users::id, users::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, display)| {
            let name = display.filter(|d| !d.is_empty())?;
            Some((UserId::from_db(id), name))
        })
        .collect())
}

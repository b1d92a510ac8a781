//! Administrator accounts of the console. Only password hashes are stored.

use diesel::prelude::*;
use serde::Serialize;

use crate::schema::{admin_sessions, admins};
use crate::{AdminId, DbConnection, IdentityKey, StorageError, now_millis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admin {
    pub id: AdminId,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = admins)]
struct AdminRow {
    id: String,
    username: String,
    password_hash: String,
    failed_logins: i32,
    locked_until: Option<i64>,
    created_at: i64,
    last_login_at: Option<i64>,
}

impl From<AdminRow> for Admin {
    fn from(row: AdminRow) -> Self {
        Admin {
            id: AdminId::from_db(row.id),
            username: row.username,
            password_hash: row.password_hash,
            failed_logins: row.failed_logins,
            locked_until: row.locked_until,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        }
    }
}

/// An admin user name: 1 to 64 characters of letters, digits and `._@-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminName(String);

impl AdminName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 64 {
            return Err("an admin user name has 1 to 64 characters".to_owned());
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
        {
            return Err(format!(
                "'{name}' is not a valid admin user name (letters, digits and . _ @ - only)"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    #[error("an admin named '{0}' already exists")]
    NameTaken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Stores a new admin with an already computed password hash.
pub fn create(
    conn: &mut DbConnection,
    username: &AdminName,
    password_hash: &str,
) -> Result<Admin, CreateAdminError> {
    let row = AdminRow {
        id: AdminId::generate().as_str().to_owned(),
        username: username.as_str().to_owned(),
        password_hash: password_hash.to_owned(),
        failed_logins: 0,
        locked_until: None,
        created_at: now_millis(),
        last_login_at: None,
    };
    diesel::insert_into(admins::table)
        .values((
            admins::id.eq(&row.id),
            admins::username.eq(&row.username),
            admins::username_key.eq(IdentityKey::of(&row.username).into_string()),
            admins::password_hash.eq(&row.password_hash),
            admins::failed_logins.eq(row.failed_logins),
            admins::created_at.eq(row.created_at),
        ))
        .execute(conn)
        .map_err(|e| match StorageError::from(e) {
            e if e.is_conflict_on("admins_username_key") => {
                CreateAdminError::NameTaken(username.as_str().to_owned())
            }
            e => CreateAdminError::Storage(e),
        })?;
    Ok(row.into())
}

/// Finds an admin by user name, regardless of ASCII case.
pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<Admin>, StorageError> {
    let row = admins::table
        .filter(admins::username_key.eq(IdentityKey::of(username).into_string()))
        .select(AdminRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Admin::from))
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StorageError> {
    Ok(admins::table.count().get_result(conn)?)
}

/// After this many failed sign-ins in a row, an admin account waits [`LOCKOUT_MS`].
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked-out admin waits.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// What [`reserve_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The password may be checked; the attempt already counts as a failure until
    /// [`record_success`] says otherwise.
    Granted,
    /// Locked out until this time (epoch milliseconds).
    LockedUntil(i64),
}

/// Counts a sign-in attempt before its password is checked, in one statement, so that parallel
/// attempts cannot get past the limit: the attempt that reaches [`MAX_FAILED_LOGINS`] locks
/// the account for [`LOCKOUT_MS`]; a locked account is refused without counting.
pub fn reserve_attempt(conn: &mut DbConnection, id: &AdminId) -> Result<Attempt, StorageError> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{BigInt, Integer, Nullable};
    let now = now_millis();
    let reaches_limit = admins::failed_logins.ge(MAX_FAILED_LOGINS - 1);
    let counted = diesel::update(
        admins::table.find(id.as_str()).filter(
            admins::locked_until
                .is_null()
                .or(admins::locked_until.le(now)),
        ),
    )
    .set((
        admins::failed_logins
            .eq(case_when(reaches_limit, 0.into_sql::<Integer>())
                .otherwise(admins::failed_logins + 1)),
        admins::locked_until.eq(case_when(
            reaches_limit,
            Some(now + LOCKOUT_MS).into_sql::<Nullable<BigInt>>(),
        )
        .otherwise(None::<i64>.into_sql::<Nullable<BigInt>>())),
    ))
    .execute(conn)?;
    if counted == 1 {
        return Ok(Attempt::Granted);
    }
    let until: Option<i64> = admins::table
        .find(id.as_str())
        .select(admins::locked_until)
        .first(conn)?;
    Ok(Attempt::LockedUntil(until.unwrap_or(now)))
}

/// Records a successful sign-in.
pub fn record_success(conn: &mut DbConnection, id: &AdminId) -> Result<(), StorageError> {
    diesel::update(admins::table.find(id.as_str()))
        .set((
            admins::failed_logins.eq(0),
            admins::locked_until.eq(None::<i64>),
            admins::last_login_at.eq(Some(now_millis())),
        ))
        .execute(conn)?;
    Ok(())
}

/// A console session: the admin and the CSRF token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub admin: Admin,
    pub csrf_token: String,
    pub expires_at: i64,
}

pub fn create_session(
    conn: &mut DbConnection,
    token_hash: &str,
    admin: &AdminId,
    csrf_token: &str,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(admin_sessions::table)
        .values((
            admin_sessions::id_hash.eq(token_hash),
            admin_sessions::admin_id.eq(admin.as_str()),
            admin_sessions::csrf_token.eq(csrf_token),
            admin_sessions::created_at.eq(now_millis()),
            admin_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The unexpired console session whose token hashes to `token_hash`.
pub fn session(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<AdminSession>, StorageError> {
    let found: Option<(String, i64, String)> = admin_sessions::table
        .filter(admin_sessions::id_hash.eq(token_hash))
        .filter(admin_sessions::expires_at.gt(now_millis()))
        .select((
            admin_sessions::csrf_token,
            admin_sessions::expires_at,
            admin_sessions::admin_id,
        ))
        .first(conn)
        .optional()?;
    let Some((csrf_token, expires_at, admin_id)) = found else {
        return Ok(None);
    };
    let admin = admins::table
        .find(&admin_id)
        .select(AdminRow::as_select())
        .first(conn)
        .optional()?;
    Ok(admin.map(|row| AdminSession {
        admin: row.into(),
        csrf_token,
        expires_at,
    }))
}

pub fn end_session(conn: &mut DbConnection, token_hash: &str) -> Result<(), StorageError> {
    diesel::delete(admin_sessions::table.filter(admin_sessions::id_hash.eq(token_hash)))
        .execute(conn)?;
    Ok(())
}

/// Forgets expired console sessions; returns how many went.
pub fn purge_expired_sessions(conn: &mut DbConnection) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(admin_sessions::table.filter(admin_sessions::expires_at.le(now_millis())))
            .execute(conn)?,
    )
}

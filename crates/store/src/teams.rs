//! Teams (SCIM Groups) and their memberships. Membership changes touch only the rows they name:
//! adding one member to a team of 100,000 costs what it costs for a team of 100.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use crate::predicate::{
    Direction, Op, Predicate, Value, boxed_predicate, int_cmp, nullable_text_cmp, text_cmp,
};
use crate::schema::{memberships, teams, users};
use crate::{DbConnection, IdentityKey, NodeId, StorageError, TeamId, UserId, now_millis};

/// Teams created by SCIM wait for an admin's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamStatus {
    Pending,
    Approved,
}

impl TeamStatus {
    fn as_str(self) -> &'static str {
        match self {
            TeamStatus::Pending => "pending",
            TeamStatus::Approved => "approved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub node_id: NodeId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub status: TeamStatus,
    pub provenance: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The name applications know the team by, once an admin approved it (see
    /// [`Team::rename_awaiting`]); `None` while the team awaits its first approval.
    pub approved_name: Option<String>,
}

impl Team {
    /// The approved name, when the team is approved and a SCIM client renamed it since: the
    /// rename awaits approval, and applications still see the approved name.
    pub fn rename_awaiting(&self) -> Option<&str> {
        self.approved_name.as_deref().filter(|approved| {
            self.status == TeamStatus::Approved && *approved != self.display_name
        })
    }

    /// Whether the team is in the approval queue: new, or renamed since its approval.
    pub fn awaits_decision(&self) -> bool {
        self.status == TeamStatus::Pending || self.rename_awaiting().is_some()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = teams)]
struct Row {
    id: String,
    node_id: i64,
    display_name: String,
    external_id: Option<String>,
    status: String,
    provenance: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    approved_name: Option<String>,
}

impl TryFrom<Row> for Team {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(Team {
            id: TeamId::from_db(row.id),
            node_id: NodeId::from_db(row.node_id),
            display_name: row.display_name,
            external_id: row.external_id,
            status: match row.status.as_str() {
                "pending" => TeamStatus::Pending,
                "approved" => TeamStatus::Approved,
                other => return Err(StorageError::Corrupt(format!("team status '{other}'"))),
            },
            provenance: row.provenance,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            approved_name: row.approved_name,
        })
    }
}

/// The unique index that refuses a second team with the same name in a node.
pub const DISPLAY_NAME_INDEX: &str = "teams_node_display_name";

pub fn insert(
    conn: &mut DbConnection,
    node_id: NodeId,
    display_name: &str,
    external_id: Option<&str>,
    status: TeamStatus,
    provenance: &str,
) -> Result<Team, StorageError> {
    crate::transaction(conn, |conn| {
        let id = TeamId::generate();
        let now = now_millis();
        diesel::insert_into(teams::table)
            .values((
                teams::id.eq(id.as_str()),
                teams::node_id.eq(node_id.get()),
                teams::display_name.eq(display_name),
                teams::display_name_key.eq(IdentityKey::of(display_name).into_string()),
                teams::external_id.eq(external_id),
                teams::status.eq(status.as_str()),
                teams::provenance.eq(provenance),
                teams::version.eq(1_i64),
                teams::created_at.eq(now),
                teams::updated_at.eq(now),
                teams::approved_name.eq((status == TeamStatus::Approved).then_some(display_name)),
            ))
            .execute(conn)?;
        let team = get(conn, node_id, &id)?.ok_or(StorageError::NotFound { what: "team" })?;
        crate::outbox::team_changed(conn, "team.approved", &team)?;
        Ok(team)
    })
}

pub fn get(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
) -> Result<Option<Team>, StorageError> {
    teams::table
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Team::try_from)
        .transpose()
}

pub fn find_by_display_name(
    conn: &mut DbConnection,
    node_id: NodeId,
    display_name: &str,
) -> Result<Option<Team>, StorageError> {
    teams::table
        .filter(teams::node_id.eq(node_id.get()))
        .filter(teams::display_name_key.eq(IdentityKey::of(display_name).into_string()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Team::try_from)
        .transpose()
}

/// Renames a team and sets its externalId, bumping its version (only from `expected_version`
/// when given).
pub fn update(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    expected_version: Option<i64>,
    display_name: &str,
    external_id: Option<&str>,
) -> Result<Team, StorageError> {
    let mut target = diesel::update(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .into_boxed();
    if let Some(version) = expected_version {
        target = target.filter(teams::version.eq(version));
    }
    let changed = target
        .set((
            teams::display_name.eq(display_name),
            teams::display_name_key.eq(IdentityKey::of(display_name).into_string()),
            teams::external_id.eq(external_id),
            teams::version.eq(teams::version + 1_i64),
            teams::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    match (changed, get(conn, node_id, id)?) {
        (1, Some(team)) => Ok(team),
        (_, Some(_)) => Err(StorageError::VersionMismatch),
        (_, None) => Err(StorageError::NotFound { what: "team" }),
    }
}

/// Bumps a team's version after a membership change (one row, whatever the team's size).
/// With `expected_version`, fails with `VersionMismatch` when it moved on.
pub fn touch(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    expected_version: Option<i64>,
) -> Result<(), StorageError> {
    let mut target = diesel::update(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .into_boxed();
    if let Some(version) = expected_version {
        target = target.filter(teams::version.eq(version));
    }
    let changed = target
        .set((
            teams::version.eq(teams::version + 1_i64),
            teams::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if changed == 1 {
        Ok(())
    } else if get(conn, node_id, id)?.is_some() {
        Err(StorageError::VersionMismatch)
    } else {
        Err(StorageError::NotFound { what: "team" })
    }
}

pub fn set_status(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    status: TeamStatus,
) -> Result<(), StorageError> {
    crate::transaction(conn, |conn| {
        let before = get(conn, node_id, id)?;
        write_set_status(conn, node_id, id, status)?;
        match (before, get(conn, node_id, id)?) {
            (Some(b), Some(after)) if b.status != TeamStatus::Approved => {
                approved_now(conn, &after)
            }
            // Back in the approval queue: applications no longer see it.
            (Some(b), Some(_)) if status == TeamStatus::Pending => {
                crate::outbox::team_changed(conn, "team.deleted", &b)
            }
            _ => Ok(()),
        }
    })
}

fn write_set_status(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    status: TeamStatus,
) -> Result<(), StorageError> {
    let target = diesel::update(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()));
    let changed = match status {
        TeamStatus::Approved => target
            .set((
                teams::status.eq(status.as_str()),
                teams::approved_name.eq(teams::display_name.nullable()),
                teams::updated_at.eq(now_millis()),
            ))
            .execute(conn)?,
        TeamStatus::Pending => target
            .set((
                teams::status.eq(status.as_str()),
                teams::approved_name.eq(None::<String>),
                teams::updated_at.eq(now_millis()),
            ))
            .execute(conn)?,
    };
    if changed == 0 {
        return Err(StorageError::NotFound { what: "team" });
    }
    Ok(())
}

/// What applications learn when a team is approved: the team, then its members (added while
/// it waited, invisible until now).
fn approved_now(conn: &mut DbConnection, team: &Team) -> Result<(), StorageError> {
    crate::outbox::team_changed(conn, "team.approved", team)?;
    let members: Vec<UserId> = visible_members(conn, &team.id)?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    crate::outbox::memberships_changed(conn, "membership.added", team, &members)
}

/// Approves a team that awaits approval under `name`, in one statement (with its outbox
/// event); `false` when it does not (any more): decided already, or renamed since the admin saw
/// it.
pub fn approve_pending(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    name: &str,
) -> Result<bool, StorageError> {
    crate::transaction(conn, |conn| {
        let approved = write_approve_pending(conn, node_id, id, name)?;
        if approved && let Some(team) = get(conn, node_id, id)? {
            approved_now(conn, &team)?;
        }
        Ok(approved)
    })
}

fn write_approve_pending(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    name: &str,
) -> Result<bool, StorageError> {
    let changed = diesel::update(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .filter(teams::status.eq(TeamStatus::Pending.as_str()))
        .filter(teams::display_name.eq(name))
        .set((
            teams::status.eq(TeamStatus::Approved.as_str()),
            teams::approved_name.eq(teams::display_name.nullable()),
            teams::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Removes a team that awaits approval under `name` (its members stay), in one statement;
/// `false` when it does not (any more): an approved team is never removed this way.
pub fn delete_pending(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    name: &str,
) -> Result<bool, StorageError> {
    let removed = diesel::delete(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .filter(teams::status.eq(TeamStatus::Pending.as_str()))
        .filter(teams::display_name.eq(name))
        .execute(conn)?;
    Ok(removed == 1)
}

/// Approves the rename of an approved team to `name` (its name now), in one statement (with
/// its outbox event): from now on applications see that name. `false` when no such rename
/// awaits (any more).
pub fn approve_rename(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    name: &str,
) -> Result<bool, StorageError> {
    crate::transaction(conn, |conn| {
        let renamed = write_approve_rename(conn, node_id, id, name)?;
        if renamed && let Some(team) = get(conn, node_id, id)? {
            crate::outbox::team_changed(conn, "team.renamed", &team)?;
        }
        Ok(renamed)
    })
}

fn write_approve_rename(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    name: &str,
) -> Result<bool, StorageError> {
    let changed = diesel::update(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .filter(teams::status.eq(TeamStatus::Approved.as_str()))
        .filter(teams::display_name.eq(name))
        .filter(teams::approved_name.ne(name))
        .set((
            teams::approved_name.eq(teams::display_name.nullable()),
            teams::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Denies the rename of an approved team to `name` (one conditional update): the team takes its
/// approved name back (a new version, so the SCIM client sees the change). `false` when no such
/// rename awaits (any more); `Conflict` on [`DISPLAY_NAME_INDEX`] when another team took the
/// approved name meanwhile.
pub fn deny_rename(
    conn: &mut DbConnection,
    node_id: NodeId,
    id: &TeamId,
    name: &str,
) -> Result<bool, StorageError> {
    // The approved name goes back with its key, computed here (never by SQL).
    let Some(approved) = get(conn, node_id, id)?.and_then(|t| t.approved_name) else {
        return Ok(false);
    };
    let changed = diesel::update(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .filter(teams::status.eq(TeamStatus::Approved.as_str()))
        .filter(teams::display_name.eq(name))
        .filter(teams::approved_name.eq(&approved))
        .filter(teams::approved_name.ne(name))
        .set((
            teams::display_name.eq(&approved),
            teams::display_name_key.eq(IdentityKey::of(&approved).into_string()),
            teams::version.eq(teams::version + 1_i64),
            teams::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The approved names of the node's other teams (what applications know them by).
pub fn approved_names(
    conn: &mut DbConnection,
    node_id: NodeId,
    except: &TeamId,
) -> Result<Vec<String>, StorageError> {
    let names: Vec<Option<String>> = teams::table
        .filter(teams::node_id.eq(node_id.get()))
        .filter(teams::id.ne(except.as_str()))
        .filter(teams::approved_name.is_not_null())
        .select(teams::approved_name)
        .load(conn)?;
    Ok(names.into_iter().flatten().collect())
}

/// Deletes a team; its members stay (an approved team's `team.deleted` is appended).
pub fn delete(conn: &mut DbConnection, node_id: NodeId, id: &TeamId) -> Result<(), StorageError> {
    crate::transaction(conn, |conn| {
        let before = get(conn, node_id, id)?;
        write_delete(conn, node_id, id)?;
        match before {
            Some(team) => crate::outbox::team_changed(conn, "team.deleted", &team),
            None => Ok(()),
        }
    })
}

fn write_delete(conn: &mut DbConnection, node_id: NodeId, id: &TeamId) -> Result<(), StorageError> {
    let changed = diesel::delete(teams::table)
        .filter(teams::id.eq(id.as_str()))
        .filter(teams::node_id.eq(node_id.get()))
        .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "team" });
    }
    Ok(())
}

/// Adds users of the team's node as members; users already in the team, ids that are no user
/// of that node, and users a SCIM client deleted, are skipped. Returns how many were added.
pub fn add_members(
    conn: &mut DbConnection,
    node_id: NodeId,
    team: &TeamId,
    members: &[UserId],
) -> Result<usize, StorageError> {
    // In one order whatever the client's: two transactions adding overlapping members each
    // wait for the other's uncommitted row, and in opposite orders they would deadlock
    // (PostgreSQL).
    let mut members: Vec<&UserId> = members.iter().collect();
    members.sort();
    members.dedup();
    crate::transaction(conn, |conn| {
        let now = now_millis();
        let mut added = Vec::new();
        for user in members {
            // Written once for both backends: INSERT … SELECT guards the node, ON CONFLICT makes a
            // repeated add a no-op without reading the member list.
            let inserted = diesel::sql_query(
                "INSERT INTO memberships (team_id, user_id, created_at) \
             SELECT $1, id, $2 FROM users WHERE id = $3 AND node_id = $4 AND scim_visible = $5 \
             ON CONFLICT (team_id, user_id) DO NOTHING",
            )
            .bind::<Text, _>(team.as_str())
            .bind::<BigInt, _>(now)
            .bind::<Text, _>(user.as_str())
            .bind::<BigInt, _>(node_id.get())
            .bind::<Bool, _>(true)
            .execute(conn)?;
            if inserted == 1 {
                added.push(user.clone());
            }
        }
        if !added.is_empty()
            && let Some(team) = get(conn, node_id, team)?
        {
            crate::outbox::memberships_changed(conn, "membership.added", &team, &added)?;
        }
        Ok(added.len())
    })
}

/// Removes these members (absent ones are ignored). Returns how many were removed.
pub fn remove_members(
    conn: &mut DbConnection,
    team: &TeamId,
    members: &[UserId],
) -> Result<usize, StorageError> {
    let ids: Vec<&str> = members.iter().map(UserId::as_str).collect();
    crate::transaction(conn, |conn| {
        let present: Vec<String> = memberships::table
            .filter(memberships::team_id.eq(team.as_str()))
            .filter(memberships::user_id.eq_any(&ids))
            .select(memberships::user_id)
            .load(conn)?;
        let removed = diesel::delete(memberships::table)
            .filter(memberships::team_id.eq(team.as_str()))
            .filter(memberships::user_id.eq_any(&ids))
            .execute(conn)?;
        removed_members(conn, team, present)?;
        Ok(removed)
    })
}

/// `membership.removed` for each user removed from an approved team.
fn removed_members(
    conn: &mut DbConnection,
    team: &TeamId,
    removed: Vec<String>,
) -> Result<(), StorageError> {
    if removed.is_empty() {
        return Ok(());
    }
    if let Some(team) = get_any(conn, team)? {
        let users: Vec<UserId> = removed.into_iter().map(UserId::from_db).collect();
        crate::outbox::memberships_changed(conn, "membership.removed", &team, &users)?;
    }
    Ok(())
}

/// Removes every member (deleted users' memberships too: a replaced member list says who the
/// members are).
pub fn clear_members(conn: &mut DbConnection, team: &TeamId) -> Result<usize, StorageError> {
    crate::transaction(conn, |conn| {
        let present: Vec<String> = memberships::table
            .filter(memberships::team_id.eq(team.as_str()))
            .select(memberships::user_id)
            .load(conn)?;
        let removed = diesel::delete(memberships::table)
            .filter(memberships::team_id.eq(team.as_str()))
            .execute(conn)?;
        removed_members(conn, team, present)?;
        Ok(removed)
    })
}

/// A member as a group lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub display: String,
}

/// The team's members, ordered by user id.
pub fn members(conn: &mut DbConnection, team: &TeamId) -> Result<Vec<Member>, StorageError> {
    let rows: Vec<(String, String, Option<String>)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::team_id.eq(team.as_str()))
        .order(users::id.asc())
        .select((users::id, users::user_name, users::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, user_name, display)| Member {
            user_id: UserId::from_db(id),
            display: display.filter(|d| !d.is_empty()).unwrap_or(user_name),
        })
        .collect())
}

/// The members a SCIM client can see (not those it deleted), ordered by user id.
pub fn visible_members(
    conn: &mut DbConnection,
    team: &TeamId,
) -> Result<Vec<Member>, StorageError> {
    let rows: Vec<(String, String, Option<String>)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::team_id.eq(team.as_str()))
        .filter(users::scim_visible.eq(true))
        .order(users::id.asc())
        .select((users::id, users::user_name, users::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, user_name, display)| Member {
            user_id: UserId::from_db(id),
            display: display.filter(|d| !d.is_empty()).unwrap_or(user_name),
        })
        .collect())
}

pub fn member_count(conn: &mut DbConnection, team: &TeamId) -> Result<i64, StorageError> {
    Ok(memberships::table
        .filter(memberships::team_id.eq(team.as_str()))
        .count()
        .get_result(conn)?)
}

/// Whether `user` is a member of `team`.
pub fn is_member(
    conn: &mut DbConnection,
    team: &TeamId,
    user: &UserId,
) -> Result<bool, StorageError> {
    Ok(memberships::table
        .filter(memberships::team_id.eq(team.as_str()))
        .filter(memberships::user_id.eq(user.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The teams a user belongs to: (id, name), by name.
pub fn teams_of_user(
    conn: &mut DbConnection,
    user: &UserId,
) -> Result<Vec<(TeamId, String)>, StorageError> {
    let rows: Vec<(String, String)> = memberships::table
        .inner_join(teams::table)
        .filter(memberships::user_id.eq(user.as_str()))
        .order(teams::display_name.asc())
        .select((teams::id, teams::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (TeamId::from_db(id), name))
        .collect())
}

/// The approved teams a user is a member of, under their approved names, by name: what
/// applications are told (teams still awaiting approval are not, and a rename awaiting
/// approval is not yet).
pub fn approved_teams_of_user(
    conn: &mut DbConnection,
    user: &UserId,
) -> Result<Vec<String>, StorageError> {
    let rows: Vec<(Option<String>, String)> = memberships::table
        .inner_join(teams::table)
        .filter(memberships::user_id.eq(user.as_str()))
        .filter(teams::status.eq(TeamStatus::Approved.as_str()))
        .select((teams::approved_name, teams::display_name))
        .load(conn)?;
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|(approved, current)| approved.unwrap_or(current))
        .collect();
    names.sort();
    Ok(names)
}

/// Columns a team predicate or sort can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamColumn {
    Id,
    DisplayName,
    ExternalId,
    /// `Value::Text`: a member's user id (`members.value`).
    Member,
    Created,
    LastModified,
}

type TeamExpr = boxed_predicate!(teams::table);

fn constant(value: bool) -> TeamExpr {
    Box::new(sql::<Bool>(if value { "1=1" } else { "1=0" }))
}

fn to_sql(pred: &Predicate<TeamColumn>) -> TeamExpr {
    use TeamColumn as C;
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
            C::Id | C::DisplayName | C::Created | C::LastModified => constant(true),
            C::ExternalId => Box::new(
                teams::external_id
                    .is_not_null()
                    .and(teams::external_id.assume_not_null().ne("")),
            ),
            // Members a SCIM client deleted are no members for it (RFC 7644 §3.6).
            C::Member => Box::new(diesel::dsl::exists(
                memberships::table
                    .inner_join(users::table)
                    .filter(memberships::team_id.eq(teams::id))
                    .filter(users::scim_visible.eq(true)),
            )),
        },
        Predicate::Cmp(column, op, value) => match (column, value) {
            (C::Id, Value::Text(v)) => text_cmp!(TeamExpr, teams::id, false, *op, v.clone()),
            (C::DisplayName, Value::Text(v)) => {
                text_cmp!(
                    TeamExpr,
                    teams::display_name_key,
                    false,
                    *op,
                    IdentityKey::of(v).into_string()
                )
            }
            (C::ExternalId, Value::Text(v)) => {
                nullable_text_cmp!(TeamExpr, teams::external_id, false, *op, v.clone())
            }
            (C::Member, Value::Text(v)) if *op == Op::Eq => Box::new(
                diesel::dsl::exists(
                    memberships::table
                        .filter(memberships::team_id.eq(teams::id))
                        .filter(memberships::user_id.eq(v.clone())),
                )
                .and(diesel::dsl::exists(
                    users::table
                        .filter(users::id.eq(v.clone()))
                        .filter(users::scim_visible.eq(true)),
                )),
            ),
            (C::Created, Value::Int(n)) => int_cmp!(TeamExpr, teams::created_at, *op, *n),
            (C::LastModified, Value::Int(n)) => int_cmp!(TeamExpr, teams::updated_at, *op, *n),
            _ => constant(false),
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamListing {
    pub filter: Predicate<TeamColumn>,
    pub status: Option<TeamStatus>,
    pub sort: Option<(TeamColumn, Direction)>,
}

pub fn count(
    conn: &mut DbConnection,
    node_id: NodeId,
    listing: &TeamListing,
) -> Result<i64, StorageError> {
    let mut query = teams::table
        .filter(teams::node_id.eq(node_id.get()))
        .filter(to_sql(&listing.filter))
        .count()
        .into_boxed();
    if let Some(status) = listing.status {
        query = query.filter(teams::status.eq(status.as_str()));
    }
    Ok(query.get_result(conn)?)
}

/// One page of matching teams in a stable order (the sort column, then id).
pub fn page(
    conn: &mut DbConnection,
    node_id: NodeId,
    listing: &TeamListing,
    offset: i64,
    limit: i64,
) -> Result<Vec<Team>, StorageError> {
    let mut query = teams::table
        .filter(teams::node_id.eq(node_id.get()))
        .filter(to_sql(&listing.filter))
        .select(Row::as_select())
        .into_boxed();
    if let Some(status) = listing.status {
        query = query.filter(teams::status.eq(status.as_str()));
    }
    let (column, direction) = listing
        .sort
        .unwrap_or((TeamColumn::Id, Direction::Ascending));
    let desc = direction == Direction::Descending;
    macro_rules! by {
        ($col:expr) => {
            if desc {
                query.order(($col.desc(), teams::id.asc()))
            } else {
                query.order(($col.asc(), teams::id.asc()))
            }
        };
    }
    query = match column {
        TeamColumn::Id | TeamColumn::Member => by!(teams::id),
        TeamColumn::DisplayName => by!(teams::display_name_key),
        TeamColumn::ExternalId => by!(teams::external_id),
        TeamColumn::Created => by!(teams::created_at),
        TeamColumn::LastModified => by!(teams::updated_at),
    };
    query
        .offset(offset)
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(Team::try_from)
        .collect()
}

/// The teams of several users at once: (user id, team id, team name), by user then name.
pub fn teams_of_users(
    conn: &mut DbConnection,
    user_ids: &[UserId],
) -> Result<Vec<(UserId, TeamId, String)>, StorageError> {
    let ids: Vec<&str> = user_ids.iter().map(UserId::as_str).collect();
    let rows: Vec<(String, String, String)> = memberships::table
        .inner_join(teams::table)
        .filter(memberships::user_id.eq_any(ids))
        .order((memberships::user_id.asc(), teams::display_name.asc()))
        .select((memberships::user_id, teams::id, teams::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(u, t, n)| (UserId::from_db(u), TeamId::from_db(t), n))
        .collect())
}

/// A team by id in any node (for the admin, who sees every node).
pub fn get_any(conn: &mut DbConnection, id: &TeamId) -> Result<Option<Team>, StorageError> {
    teams::table
        .filter(teams::id.eq(id.as_str()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Team::try_from)
        .transpose()
}

/// Teams awaiting a decision, optionally of one node, oldest first: new teams, and approved
/// teams that a SCIM client renamed since (see [`Team::rename_awaiting`]).
pub fn pending(
    conn: &mut DbConnection,
    node_id: Option<NodeId>,
) -> Result<Vec<Team>, StorageError> {
    let mut query = teams::table
        .filter(
            teams::status
                .eq(TeamStatus::Pending.as_str())
                .or(teams::status
                    .eq(TeamStatus::Approved.as_str())
                    .and(teams::approved_name.ne(teams::display_name.nullable()))),
        )
        .order((teams::created_at.asc(), teams::id.asc()))
        .select(Row::as_select())
        .into_boxed();
    if let Some(node) = node_id {
        query = query.filter(teams::node_id.eq(node.get()));
    }
    query.load(conn)?.into_iter().map(Team::try_from).collect()
}

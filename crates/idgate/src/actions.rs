//! Admin actions, shared by the CLI and the console: each validates its input, makes its change
//! and records its audit event in one transaction, and answers a mistake with a sentence the
//! admin can act on.

use idgate_saml::{idp, keys};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::nodes::{self, CreateNodeError, Node, NodeName};
use idgate_store::scim::TokenChange;
use idgate_store::sso::{self, DomainError, SettingsChange};
use idgate_store::users::{self, UserStatus};
use idgate_store::{
    DbConnection, EmailDomain, NodeId, SsoId, StorageError, Store, TeamId, UserId, events,
};
use idgate_store::{links, sessions, teams};

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

/// What a new SSO method starts with.
#[derive(Debug, Clone, Default)]
pub struct NewSso {
    pub name: String,
    pub entity_id: Option<String>,
    /// Email domain to route to the method (optional).
    pub domain: Option<String>,
    /// JIT provisioning (the store's default when `None`).
    pub jit: Option<bool>,
    /// Accept IdP-initiated sign-in (a JumpCloud User Console tile). Off unless the admin
    /// turns it on: an unsolicited response can sign a browser in as the sender's account
    /// (login CSRF).
    pub idp_initiated: bool,
}

/// Splits a list of domains typed by an admin (commas, spaces or new lines) and checks each.
pub fn parse_domains(raw: &str) -> Result<Vec<EmailDomain>, ActionError> {
    let mut out: Vec<EmailDomain> = Vec::new();
    for domain in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
    {
        let d = EmailDomain::parse(domain).map_err(ActionError::Invalid)?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// A taken domain is the admin's to fix; a storage failure is not.
fn domain_error(err: DomainError) -> Result<ActionError, StorageError> {
    match err {
        DomainError::Taken(_) => Ok(ActionError::Invalid(err.to_string())),
        DomainError::Storage(e) => Err(e),
    }
}

pub async fn create_sso(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
    new: NewSso,
) -> Result<SsoId, ActionError> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ActionError::Invalid(
            "an SSO method name has 1 to 200 characters".to_owned(),
        ));
    }
    let entity_id = new
        .entity_id
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    if entity_id.as_ref().is_some_and(|id| id.len() > 1024) {
        return Err(ActionError::Invalid(
            "an entity id has at most 1024 characters".to_owned(),
        ));
    }
    let domains = parse_domains(new.domain.as_deref().unwrap_or_default())?;
    let pair = tokio::task::spawn_blocking({
        let name = name.clone();
        move || keys::generate(&name)
    })
    .await
    .map_err(|e| ActionError::Storage(StorageError::Corrupt(e.to_string())))?
    .map_err(|e| {
        ActionError::Storage(StorageError::Corrupt(format!(
            "cannot generate the SP key: {e}"
        )))
    })?;
    let actor = actor.clone();
    store
        .run(move |c| {
            if nodes::get(c, node_id)?.is_none() {
                return Ok(Err(no_node(node_id)));
            }
            transaction(c, |c| {
                let id = sso::create(
                    c,
                    &sso::NewSsoMethod {
                        node_id,
                        name: &name,
                        sp_entity_id: entity_id.as_deref(),
                        sp_key_pem: &pair.key_pem,
                        sp_cert_pem: &pair.cert_pem,
                        idp_initiated: new.idp_initiated,
                    },
                )?;
                if let Some(jit) = new.jit {
                    sso::update_settings(
                        c,
                        id,
                        &SettingsChange {
                            jit: Some(jit),
                            ..SettingsChange::default()
                        },
                    )?;
                }
                if let Err(e) = sso::set_domains(c, id, &domains) {
                    return domain_error(e).map(Err);
                }
                record(
                    c,
                    &actor,
                    Some(node_id),
                    "sso_method_created",
                    &id.to_string(),
                    &format!(
                        "{name}; IdP-initiated sign-in {}",
                        if new.idp_initiated { "on" } else { "off" }
                    ),
                )?;
                Ok(Ok(id))
            })
        })
        .await?
}

/// Reads an IdP metadata document (the identity provider `entity_id` of it, which must be named
/// when it describes several) and makes it the method's IdP. The sessions the method opened end:
/// they were signed by the IdP being replaced. Returns a summary: one line, and a `warning: `
/// line per IdP certificate that expires soon (or has), which is also recorded as
/// `sso_certificate_expiring` with the import.
pub async fn import_idp(
    store: &Store,
    actor: &Actor,
    sso_id: SsoId,
    xml: &str,
    entity_id: Option<&str>,
) -> Result<String, ActionError> {
    let now = chrono::Utc::now();
    let entity_id = entity_id.map(str::trim).filter(|id| !id.is_empty());
    let settings =
        idp::import_entity(xml, entity_id, now).map_err(|e| ActionError::Invalid(e.to_string()))?;
    let mut summary = format!(
        "imported IdP '{}' ({} signing certificate(s), SSO via {})",
        settings.entity_id,
        settings.certs.len(),
        if settings.sso_redirect_url.is_some() {
            "HTTP-Redirect"
        } else {
            "HTTP-POST"
        }
    );
    let warnings = crate::certificates::warnings(&settings.certs, now);
    let actor = actor.clone();
    store
        .run(move |c| {
            let Some(method) = sso::get(c, sso_id)? else {
                return Ok(Err(no_sso(sso_id)));
            };
            let ended = idgate_store::transaction(c, |c| {
                sso::set_idp(c, sso_id, &settings)?;
                let ended = sessions::delete_for_sso(c, sso_id)?;
                record(
                    c,
                    &actor,
                    Some(method.node_id),
                    "sso_idp_imported",
                    &sso_id.to_string(),
                    &format!("{}; {}", settings.entity_id, sessions_ended(ended)),
                )?;
                crate::certificates::record(
                    c,
                    &actor.0,
                    method.node_id,
                    sso_id,
                    &settings.certs,
                    now,
                    false,
                )?;
                Ok(ended)
            })?;
            if ended > 0 {
                summary.push_str("; ");
                summary.push_str(&sessions_ended(ended));
            }
            for warning in warnings {
                summary.push_str("\nwarning: ");
                summary.push_str(&warning);
            }
            Ok(Ok(summary))
        })
        .await?
}

/// Changes an SSO method's settings; `domains`, when given, becomes its exact list of
/// reserved domains.
pub async fn update_sso(
    store: &Store,
    actor: &Actor,
    sso_id: SsoId,
    change: SettingsChange,
    domains: Option<Vec<EmailDomain>>,
) -> Result<(), ActionError> {
    if let Some(skew) = change.clock_skew_secs
        && !(0..=600).contains(&skew)
    {
        return Err(ActionError::Invalid(
            "the clock skew is 0 to 600 seconds".to_owned(),
        ));
    }
    for name in [
        &change.attr_email,
        &change.attr_first_name,
        &change.attr_last_name,
    ]
    .into_iter()
    .flatten()
    .flatten()
    {
        if name.len() > 256 || name.chars().any(char::is_control) {
            return Err(ActionError::Invalid(format!(
                "'{name}' is not an attribute name"
            )));
        }
    }
    let actor = actor.clone();
    store
        .run(move |c| {
            let Some(method) = sso::get(c, sso_id)? else {
                return Ok(Err(no_sso(sso_id)));
            };
            transaction(c, |c| {
                sso::update_settings(c, sso_id, &change)?;
                if let Some(domains) = &domains
                    && let Err(e) = sso::set_domains(c, sso_id, domains)
                {
                    return domain_error(e).map(Err);
                }
                let after =
                    sso::get(c, sso_id)?.ok_or(StorageError::NotFound { what: "SSO method" })?;
                record(
                    c,
                    &actor,
                    Some(method.node_id),
                    "sso_method_updated",
                    &sso_id.to_string(),
                    &settings_diff(&method, &after),
                )
                .map(Ok)
            })
        })
        .await?
}

/// What changed between two versions of an SSO method's settings, for the audit log
/// (`allow_sha1: off → on; domains: acme.com → acme.com, acme.org`).
fn settings_diff(before: &sso::SsoMethod, after: &sso::SsoMethod) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "default".to_owned());
    let pairs = [
        ("jit", on(before.jit).to_owned(), on(after.jit).to_owned()),
        (
            "idp_initiated",
            on(before.idp_initiated).to_owned(),
            on(after.idp_initiated).to_owned(),
        ),
        (
            "clock_skew_secs",
            before.clock_skew_secs.to_string(),
            after.clock_skew_secs.to_string(),
        ),
        (
            "sign_requests",
            on(before.sign_requests).to_owned(),
            on(after.sign_requests).to_owned(),
        ),
        (
            "allow_sha1",
            on(before.allow_sha1).to_owned(),
            on(after.allow_sha1).to_owned(),
        ),
        (
            "require_signed",
            before.require_signed.as_str().to_owned(),
            after.require_signed.as_str().to_owned(),
        ),
        (
            "require_encryption",
            on(before.require_encryption).to_owned(),
            on(after.require_encryption).to_owned(),
        ),
        (
            "domains",
            before.domains_joined(", "),
            after.domains_joined(", "),
        ),
        (
            "email_attribute",
            text(&before.attr_email),
            text(&after.attr_email),
        ),
        (
            "first_name_attribute",
            text(&before.attr_first_name),
            text(&after.attr_first_name),
        ),
        (
            "last_name_attribute",
            text(&before.attr_last_name),
            text(&after.attr_last_name),
        ),
    ];
    let changed: Vec<String> = pairs
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, a, b)| format!("{name}: {a} → {b}"))
        .collect();
    if changed.is_empty() {
        "no change".to_owned()
    } else {
        changed.join("; ")
    }
}

/// Adds reserved domains to an SSO method, keeping those it has.
pub async fn add_domains(
    store: &Store,
    actor: &Actor,
    sso_id: SsoId,
    change: SettingsChange,
    added: Vec<String>,
) -> Result<(), ActionError> {
    let current = store
        .run(move |c| sso::get(c, sso_id))
        .await?
        .ok_or_else(|| no_sso(sso_id))?
        .domains;
    let mut all = current;
    for d in added {
        let d = EmailDomain::parse(&d).map_err(ActionError::Invalid)?;
        if !all.contains(&d) {
            all.push(d);
        }
    }
    update_sso(store, actor, sso_id, change, Some(all)).await
}

/// Gives an SSO method a new SP key and certificate.
pub async fn rotate_sp_cert(
    store: &Store,
    actor: &Actor,
    sso_id: SsoId,
) -> Result<(), ActionError> {
    let method = store
        .run(move |c| sso::get(c, sso_id))
        .await?
        .ok_or_else(|| no_sso(sso_id))?;
    let pair = tokio::task::spawn_blocking(move || keys::generate(&method.name))
        .await
        .map_err(|e| ActionError::Storage(StorageError::Corrupt(e.to_string())))?
        .map_err(|e| {
            ActionError::Storage(StorageError::Corrupt(format!(
                "cannot generate the SP key: {e}"
            )))
        })?;
    let actor = actor.clone();
    store
        .run(move |c| {
            idgate_store::transaction(c, |c| {
                sso::set_sp_keys(c, sso_id, &pair.key_pem, &pair.cert_pem)?;
                record(
                    c,
                    &actor,
                    Some(method.node_id),
                    "sso_cert_rotated",
                    &sso_id.to_string(),
                    "new SP key and certificate; give the IdP the new SP metadata",
                )
            })
        })
        .await?;
    Ok(())
}

/// `3 sessions ended`, for audit details and summaries.
fn sessions_ended(n: usize) -> String {
    format!("{n} session{} ended", if n == 1 { "" } else { "s" })
}

/// Deletes an SSO method and ends the sessions it opened; returns its node.
pub async fn delete_sso(
    store: &Store,
    actor: &Actor,
    sso_id: SsoId,
) -> Result<NodeId, ActionError> {
    let actor = actor.clone();
    store
        .run(move |c| {
            let Some(method) = sso::get(c, sso_id)? else {
                return Ok(Err(no_sso(sso_id)));
            };
            idgate_store::transaction(c, |c| {
                let ended = sessions::delete_for_sso(c, sso_id)?;
                sso::delete(c, sso_id)?;
                record(
                    c,
                    &actor,
                    Some(method.node_id),
                    "sso_method_deleted",
                    &sso_id.to_string(),
                    &format!("{}; {}", method.name, sessions_ended(ended)),
                )
            })?;
            Ok(Ok(method.node_id))
        })
        .await?
}

/// Creates the node's SCIM method, or rotates its token; returns the token (to show once).
pub async fn generate_scim_token(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
) -> Result<(String, TokenChange), ActionError> {
    let token = idgate_scim::auth::generate_token();
    let hash = token.hash.clone();
    let actor = actor.clone();
    let change = store
        .run(move |c| {
            if nodes::get(c, node_id)?.is_none() {
                return Ok(None);
            }
            idgate_store::transaction(c, |c| {
                let change = idgate_store::scim::set_token(c, node_id, &hash)?;
                record(
                    c,
                    &actor,
                    Some(node_id),
                    "scim_token_generated",
                    &node_id.to_string(),
                    if change == TokenChange::Rotated {
                        "rotated; the previous token no longer works"
                    } else {
                        ""
                    },
                )?;
                Ok(Some(change))
            })
        })
        .await?
        .ok_or_else(|| no_node(node_id))?;
    Ok((token.token, change))
}

/// What to do with a team awaiting approval: a new team, or an approved team's rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new team becomes usable; a rename becomes the name applications see.
    Approve,
    /// Removes a new team (its members stay); if the IdP pushes it again, it waits again. A
    /// rename is undone: the team keeps its approved name (and takes it back for SCIM too).
    Deny,
}

/// What was decided about a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The team's name as it was decided on (for a rename, the new name).
    pub name: String,
    /// For a rename, the approved name it had.
    pub renamed_from: Option<String>,
}

/// Approves or denies a team awaiting a decision (new, or renamed since its approval); `node`,
/// when given, must be the team's node, and `shown`, when given, the name the admin saw. A
/// team that is not awaiting a decision under that name (decided already, on another page or by
/// another admin, or renamed again since) is left alone and answered as not found.
pub async fn decide_team(
    store: &Store,
    actor: &Actor,
    node: Option<NodeId>,
    team_id: TeamId,
    decision: Decision,
    shown: Option<String>,
) -> Result<Decided, ActionError> {
    let actor = actor.clone();
    let gone = format!("no team awaiting approval with id {team_id}");
    store
        .run(move |c| {
            let Some(team) = teams::get_any(c, &team_id)?
                .filter(|t| node.is_none_or(|n| n == t.node_id))
                .filter(teams::Team::awaits_decision)
                .filter(|t| shown.as_ref().is_none_or(|s| *s == t.display_name))
            else {
                return Ok(Err(ActionError::NotFound(gone)));
            };
            let renamed_from = team.rename_awaiting().map(str::to_owned);
            transaction(c, |c| {
                let (node_id, name) = (team.node_id, team.display_name.as_str());
                let done = match (decision, &renamed_from) {
                    (Decision::Approve, _) => {
                        if let Some(refusal) = name_in_use(c, &team)? {
                            return Ok(Err(refusal));
                        }
                        if renamed_from.is_some() {
                            teams::approve_rename(c, node_id, &team_id, name)?
                        } else {
                            teams::approve_pending(c, node_id, &team_id, name)?
                        }
                    }
                    (Decision::Deny, None) => teams::delete_pending(c, node_id, &team_id, name)?,
                    (Decision::Deny, Some(approved)) => {
                        match teams::deny_rename(c, node_id, &team_id, name) {
                            Err(e) if e.is_conflict_on(teams::DISPLAY_NAME_INDEX) => {
                                return Ok(Err(ActionError::Invalid(format!(
                                    "another team is now named '{approved}', so this team cannot take that name back; approve the rename to '{name}', or rename the other team in the identity provider first"
                                ))));
                            }
                            other => other?,
                        }
                    }
                };
                if !done {
                    return Ok(Err(ActionError::NotFound(gone)));
                }
                let (kind, target, detail) = match (decision, &renamed_from) {
                    (Decision::Approve, None) => ("team_approved", name, String::new()),
                    (Decision::Deny, None) => ("team_denied", name, String::new()),
                    (Decision::Approve, Some(approved)) => (
                        "team_approved",
                        name,
                        format!("rename from '{approved}' approved; applications now see '{name}'"),
                    ),
                    (Decision::Deny, Some(approved)) => (
                        "team_denied",
                        approved.as_str(),
                        format!("rename to '{name}' denied; the team keeps its approved name"),
                    ),
                };
                record(c, &actor, Some(node_id), kind, target, &detail)?;
                Ok(Ok(Decided {
                    name: name.to_owned(),
                    renamed_from: renamed_from.clone(),
                }))
            })
        })
        .await?
}

/// A refusal when applications still know another team of the node by the name this team
/// would be approved under (that team's own rename awaits a decision): approving both would
/// show applications two teams of one name.
fn name_in_use(
    c: &mut DbConnection,
    team: &teams::Team,
) -> Result<Option<ActionError>, StorageError> {
    let clash = teams::approved_names(c, team.node_id, &team.id)?
        .into_iter()
        .find(|other| other.eq_ignore_ascii_case(&team.display_name));
    Ok(clash.map(|other| {
        ActionError::Invalid(format!(
            "applications still know another team as '{other}' until its own rename is decided; decide that rename first"
        ))
    }))
}

/// Locks or unlocks a user (a locked user cannot sign in; SCIM still sees it). A user a SCIM
/// client deleted stays locked: the change is one conditional statement, so it cannot undo a
/// deletion that lands at the same moment.
pub async fn set_user_status(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
    user_id: UserId,
    status: UserStatus,
) -> Result<(), ActionError> {
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                if !users::set_admin_status(c, node_id, &user_id, status)? {
                    return Ok(Err(match users::get(c, node_id, &user_id)? {
                        None => ActionError::NotFound("no such user".to_owned()),
                        Some(user) => ActionError::Invalid(format!(
                            "{} was removed by the identity provider (SCIM) and stays locked; it is unlocked when the identity provider provisions it again",
                            user.user_name
                        )),
                    }));
                }
                if status == UserStatus::Locked {
                    idgate_store::sessions::delete_for_user(c, &user_id)?;
                }
                let name = users::get(c, node_id, &user_id)?
                    .map(|u| u.user_name)
                    .unwrap_or_default();
                record(
                    c,
                    &actor,
                    Some(node_id),
                    match status {
                        UserStatus::Locked => "user_locked",
                        UserStatus::Active => "user_unlocked",
                    },
                    &name,
                    "",
                )
                .map(Ok)
            })
        })
        .await?
}

/// Removes a user's identity link of an SSO method: the next sign-in through that method links
/// again (by the rules for an unlinked account). Returns the NameID that was linked.
pub async fn unlink_identity(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
    user_id: UserId,
    sso_id: SsoId,
) -> Result<String, ActionError> {
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                let Some(user) = users::get(c, node_id, &user_id)? else {
                    return Ok(Err(ActionError::NotFound("no such user".to_owned())));
                };
                let Some(link) = links::delete(c, sso_id, &user_id)? else {
                    return Ok(Err(ActionError::NotFound(format!(
                        "{} has no identity link of the SSO method {sso_id}",
                        user.user_name
                    ))));
                };
                record(
                    c,
                    &actor,
                    Some(node_id),
                    "identity_unlinked",
                    &user.user_name,
                    &format!("SSO method {sso_id}, NameID {}", link.name_id),
                )?;
                Ok(Ok(link.name_id))
            })
        })
        .await?
}

/// The start of a day given as `YYYY-MM-DD` (UTC), in epoch milliseconds.
fn day_start(raw: &str, what: &str) -> Result<Option<i64>, ActionError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ActionError::Invalid(format!(
            "'{raw}' is not a date such as 2026-11-30 (the {what} date)"
        ))
    })?;
    Ok(date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis()))
}

/// The time range of an events search from two dates (`YYYY-MM-DD`, UTC, either may be
/// empty); the `to` day is included.
pub fn date_range(from: &str, to: &str) -> Result<(Option<i64>, Option<i64>), ActionError> {
    let start = day_start(from, "from")?;
    let until = day_start(to, "to")?.map(|t| t + 86_400_000);
    if let (Some(start), Some(until)) = (start, until)
        && start >= until
    {
        return Err(ActionError::Invalid(
            "the 'from' date is after the 'to' date".to_owned(),
        ));
    }
    Ok((start, until))
}

/// An event as one line of JSON, as the console's export and `idgate events` print it.
pub fn event_line(event: &idgate_store::events::Event) -> String {
    serde_json::json!({
        "id": event.id,
        "time": crate::cli::rfc3339(event.at),
        "node_id": event.node_id,
        "event_type": event.kind,
        "initiated_by": event.actor,
        "target": event.target,
        "outcome": event.outcome,
        "detail": event.detail,
    })
    .to_string()
}

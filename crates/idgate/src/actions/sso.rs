//! SSO methods: create, import the IdP's metadata, settings and reserved domains, SP
//! certificate rotation, deletion.

use idgate_saml::{idp, keys};
use idgate_store::sso::{self, DomainError, SettingsChange};
use idgate_store::{EmailDomain, NodeId, SsoId, StorageError, Store, links, nodes, sessions};

use super::{ActionError, Actor, no_node, no_sso, record, transaction};

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
/// they were signed by the IdP being replaced. When the IdP's entity id changes, so does whose
/// NameIDs these are: the method's identity links go too (a NameID names a user only for the
/// IdP that issued it). Returns a summary: one line, and a `warning: `
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
            let another_idp = method.idp_entity_id.as_deref() != Some(settings.entity_id.as_str());
            let (ended, unlinked) = idgate_store::transaction(c, |c| {
                sso::set_idp(c, sso_id, &settings)?;
                let ended = sessions::delete_for_sso(c, sso_id)?;
                let unlinked = if another_idp {
                    links::delete_for_sso(c, sso_id)?
                } else {
                    0
                };
                let mut detail = format!("{}; {}", settings.entity_id, sessions_ended(ended));
                if unlinked > 0 {
                    detail.push_str("; ");
                    detail.push_str(&links_removed(unlinked));
                }
                record(
                    c,
                    &actor,
                    Some(method.node_id),
                    "sso_idp_imported",
                    &sso_id.to_string(),
                    &detail,
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
                Ok((ended, unlinked))
            })?;
            if ended > 0 {
                summary.push_str("; ");
                summary.push_str(&sessions_ended(ended));
            }
            if unlinked > 0 {
                summary.push_str("; ");
                summary.push_str(&links_removed(unlinked));
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
fn links_removed(n: usize) -> String {
    format!("{n} identity link(s) of the previous IdP removed")
}

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

/// Names the application the method's IdP-initiated sign-ins go to (`None`: none). The
/// application must be granted the method's node and have an initiate-login URI.
pub async fn set_default_app(
    store: &Store,
    actor: &Actor,
    sso_id: SsoId,
    client_id: Option<idgate_store::apps::ClientId>,
) -> Result<(), ActionError> {
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                let Some(method) = sso::get(c, sso_id)? else {
                    return Ok(Err(no_sso(sso_id)));
                };
                let detail = match &client_id {
                    Some(client_id) => {
                        let Some(app) = idgate_store::apps::get(c, client_id)? else {
                            return Ok(Err(super::no_app(client_id)));
                        };
                        if !app.grants(method.node_id) {
                            return Ok(Err(ActionError::Invalid(format!(
                                "application '{}' may not sign in people of node {}: grant it the node first",
                                app.name, method.node_id
                            ))));
                        }
                        if app.initiate_login_uri.is_none() {
                            return Ok(Err(ActionError::Invalid(format!(
                                "application '{}' has no initiate-login URI: set one first (idgate app set {} --initiate-login-uri URI)",
                                app.name, app.client_id
                            ))));
                        }
                        format!("default application: '{}' ({})", app.name, app.client_id)
                    }
                    None => "default application: none".to_owned(),
                };
                sso::set_default_app(c, sso_id, client_id.as_ref())?;
                record(
                    c,
                    &actor,
                    Some(method.node_id),
                    "sso_method_updated",
                    &sso_id.to_string(),
                    &detail,
                )
                .map(Ok)
            })
        })
        .await?
}

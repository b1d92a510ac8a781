//! SSO methods: SP key material, imported IdP metadata and per-method settings.

use diesel::prelude::*;

use crate::schema::{sso_domains, sso_methods};
use crate::{DbConnection, EmailDomain, NodeId, SsoId, StorageError, now_millis};

/// What is needed to create an SSO method: its SP key and certificate come from the caller
/// (generated or uploaded).
#[derive(Debug, Clone)]
pub struct NewSsoMethod<'a> {
    pub node_id: NodeId,
    pub name: &'a str,
    pub sp_entity_id: Option<&'a str>,
    pub sp_key_pem: &'a str,
    pub sp_cert_pem: &'a str,
    /// Whether responses that answer no AuthnRequest are accepted (login CSRF risk: the
    /// admin's explicit choice, never a default).
    pub idp_initiated: bool,
}

/// The public part of an SSO method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoMethodSummary {
    pub sso_id: SsoId,
    pub node_id: NodeId,
    pub name: String,
    pub sp_entity_id: Option<String>,
    pub sp_cert_pem: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sso_methods)]
struct SummaryRow {
    sso_id: i64,
    node_id: i64,
    name: String,
    sp_entity_id: Option<String>,
    sp_cert_pem: String,
}

impl From<SummaryRow> for SsoMethodSummary {
    fn from(row: SummaryRow) -> Self {
        SsoMethodSummary {
            sso_id: SsoId::from_db(row.sso_id),
            node_id: NodeId::from_db(row.node_id),
            name: row.name,
            sp_entity_id: row.sp_entity_id,
            sp_cert_pem: row.sp_cert_pem,
        }
    }
}

/// Creates an SSO method with a fresh twelve-digit id.
pub fn create(conn: &mut DbConnection, new: &NewSsoMethod<'_>) -> Result<SsoId, StorageError> {
    for _ in 0..3 {
        let sso_id = SsoId::generate();
        let now = now_millis();
        let inserted = diesel::insert_into(sso_methods::table)
            .values((
                sso_methods::sso_id.eq(sso_id.get()),
                sso_methods::node_id.eq(new.node_id.get()),
                sso_methods::name.eq(new.name),
                sso_methods::sp_entity_id.eq(new.sp_entity_id),
                sso_methods::sp_key_pem.eq(new.sp_key_pem),
                sso_methods::sp_cert_pem.eq(new.sp_cert_pem),
                sso_methods::idp_initiated.eq(new.idp_initiated),
                sso_methods::created_at.eq(now),
                sso_methods::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(StorageError::from);
        match inserted {
            Ok(_) => return Ok(sso_id),
            Err(StorageError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::Corrupt(
        "could not allocate a free SSO id".to_owned(),
    ))
}

pub fn get_summary(
    conn: &mut DbConnection,
    sso_id: SsoId,
) -> Result<Option<SsoMethodSummary>, StorageError> {
    let row = sso_methods::table
        .find(sso_id.get())
        .select(SummaryRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(SsoMethodSummary::from))
}

pub fn list_for_node(
    conn: &mut DbConnection,
    node_id: NodeId,
) -> Result<Vec<SsoMethodSummary>, StorageError> {
    let rows = sso_methods::table
        .filter(sso_methods::node_id.eq(node_id.get()))
        .order((sso_methods::created_at.asc(), sso_methods::sso_id.asc()))
        .select(SummaryRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(SsoMethodSummary::from).collect())
}

/// Which signature an assertion consumer demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequireSigned {
    Response,
    Assertion,
    Either,
}

impl RequireSigned {
    pub fn as_str(self) -> &'static str {
        match self {
            RequireSigned::Response => "response",
            RequireSigned::Assertion => "assertion",
            RequireSigned::Either => "either",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "response" => Some(RequireSigned::Response),
            "assertion" => Some(RequireSigned::Assertion),
            "either" => Some(RequireSigned::Either),
            _ => None,
        }
    }
}

/// Everything about an SSO method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent per-method switches, one per column"
)]
pub struct SsoMethod {
    pub sso_id: SsoId,
    pub node_id: NodeId,
    pub name: String,
    pub sp_entity_id: Option<String>,
    pub sp_key_pem: String,
    pub sp_cert_pem: String,
    pub idp_entity_id: Option<String>,
    pub idp_metadata_xml: Option<String>,
    pub idp_sso_post_url: Option<String>,
    pub idp_sso_redirect_url: Option<String>,
    pub idp_slo_url: Option<String>,
    /// PEM certificates the IdP signs with (several during a rotation).
    pub idp_certs: Vec<String>,
    pub jit: bool,
    pub idp_initiated: bool,
    pub clock_skew_secs: i32,
    pub sign_requests: bool,
    pub allow_sha1: bool,
    pub require_signed: RequireSigned,
    /// Only encrypted assertions are accepted (a plaintext one is refused).
    pub require_encryption: bool,
    /// The application IdP-initiated sign-ins of this method go to (OIDC third-party
    /// initiated login), if any.
    pub default_app_id: Option<crate::apps::ClientId>,
    pub attr_email: Option<String>,
    pub attr_first_name: Option<String>,
    pub attr_last_name: Option<String>,
    /// Reserved email domains: they route to this method, and it speaks for their addresses.
    pub domains: Vec<EmailDomain>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl SsoMethod {
    /// The reserved domains, joined by `separator` (for pages and the CLI).
    pub fn domains_joined(&self, separator: &str) -> String {
        self.domains
            .iter()
            .map(EmailDomain::as_str)
            .collect::<Vec<_>>()
            .join(separator)
    }

    /// Whether `domain` is one of the method's reserved domains.
    pub fn reserves(&self, domain: &EmailDomain) -> bool {
        self.domains.contains(domain)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sso_methods)]
#[allow(clippy::struct_excessive_bools, reason = "mirrors the table's columns")]
struct FullRow {
    sso_id: i64,
    node_id: i64,
    name: String,
    sp_entity_id: Option<String>,
    sp_key_pem: String,
    sp_cert_pem: String,
    idp_entity_id: Option<String>,
    idp_metadata_xml: Option<String>,
    idp_sso_post_url: Option<String>,
    idp_sso_redirect_url: Option<String>,
    idp_slo_url: Option<String>,
    idp_certs_json: String,
    jit: bool,
    idp_initiated: bool,
    clock_skew_secs: i32,
    sign_requests: bool,
    allow_sha1: bool,
    require_signed: String,
    require_encryption: bool,
    default_app_id: Option<String>,
    attr_email: Option<String>,
    attr_first_name: Option<String>,
    attr_last_name: Option<String>,
    created_at: i64,
    updated_at: i64,
}

/// An SSO method by id, with its reserved domains.
pub fn get(conn: &mut DbConnection, sso_id: SsoId) -> Result<Option<SsoMethod>, StorageError> {
    let Some(row) = sso_methods::table
        .find(sso_id.get())
        .select(FullRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let domains = sso_domains::table
        .filter(sso_domains::sso_id.eq(sso_id.get()))
        .order(sso_domains::domain.asc())
        .select(sso_domains::domain)
        .load::<String>(conn)?
        .into_iter()
        .map(|d| EmailDomain::parse(&d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StorageError::Corrupt(format!("reserved domain of {sso_id}: {e}")))?;
    let idp_certs: Vec<String> = serde_json::from_str(&row.idp_certs_json)
        .map_err(|e| StorageError::Corrupt(format!("IdP certificates of {sso_id}: {e}")))?;
    let require_signed = RequireSigned::parse(&row.require_signed)
        .ok_or_else(|| StorageError::Corrupt(format!("require_signed '{}'", row.require_signed)))?;
    Ok(Some(SsoMethod {
        sso_id: SsoId::from_db(row.sso_id),
        node_id: NodeId::from_db(row.node_id),
        name: row.name,
        sp_entity_id: row.sp_entity_id,
        sp_key_pem: row.sp_key_pem,
        sp_cert_pem: row.sp_cert_pem,
        idp_entity_id: row.idp_entity_id,
        idp_metadata_xml: row.idp_metadata_xml,
        idp_sso_post_url: row.idp_sso_post_url,
        idp_sso_redirect_url: row.idp_sso_redirect_url,
        idp_slo_url: row.idp_slo_url,
        idp_certs,
        jit: row.jit,
        idp_initiated: row.idp_initiated,
        clock_skew_secs: row.clock_skew_secs,
        sign_requests: row.sign_requests,
        allow_sha1: row.allow_sha1,
        require_signed,
        require_encryption: row.require_encryption,
        default_app_id: row.default_app_id.map(crate::apps::ClientId::from_db),
        attr_email: row.attr_email,
        attr_first_name: row.attr_first_name,
        attr_last_name: row.attr_last_name,
        domains,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }))
}

/// What an imported IdP metadata document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpSettings {
    pub entity_id: String,
    pub metadata_xml: String,
    pub sso_post_url: Option<String>,
    pub sso_redirect_url: Option<String>,
    pub slo_url: Option<String>,
    pub certs: Vec<String>,
}

/// Replaces the method's IdP settings with an imported metadata document's.
pub fn set_idp(
    conn: &mut DbConnection,
    sso_id: SsoId,
    idp: &IdpSettings,
) -> Result<(), StorageError> {
    let certs = serde_json::to_string(&idp.certs).expect("strings serialise");
    let changed = diesel::update(sso_methods::table.find(sso_id.get()))
        .set((
            sso_methods::idp_entity_id.eq(&idp.entity_id),
            sso_methods::idp_metadata_xml.eq(&idp.metadata_xml),
            sso_methods::idp_sso_post_url.eq(&idp.sso_post_url),
            sso_methods::idp_sso_redirect_url.eq(&idp.sso_redirect_url),
            sso_methods::idp_slo_url.eq(&idp.slo_url),
            sso_methods::idp_certs_json.eq(certs),
            sso_methods::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "SSO method" });
    }
    Ok(())
}

/// Settings to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub jit: Option<bool>,
    pub idp_initiated: Option<bool>,
    pub clock_skew_secs: Option<i32>,
    pub sign_requests: Option<bool>,
    pub allow_sha1: Option<bool>,
    pub require_signed: Option<RequireSigned>,
    pub require_encryption: Option<bool>,
    /// Attribute names to read the email and names from (`Some(None)` returns to the defaults).
    pub attr_email: Option<Option<String>>,
    pub attr_first_name: Option<Option<String>>,
    pub attr_last_name: Option<Option<String>>,
}

pub fn update_settings(
    conn: &mut DbConnection,
    sso_id: SsoId,
    change: &SettingsChange,
) -> Result<(), StorageError> {
    crate::transaction(conn, |conn| {
        let target = sso_methods::table.find(sso_id.get());
        if get(conn, sso_id)?.is_none() {
            return Err(StorageError::NotFound { what: "SSO method" });
        }
        if let Some(v) = change.jit {
            diesel::update(target)
                .set(sso_methods::jit.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = change.idp_initiated {
            diesel::update(target)
                .set(sso_methods::idp_initiated.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = change.clock_skew_secs {
            diesel::update(target)
                .set(sso_methods::clock_skew_secs.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = change.sign_requests {
            diesel::update(target)
                .set(sso_methods::sign_requests.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = change.allow_sha1 {
            diesel::update(target)
                .set(sso_methods::allow_sha1.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = change.require_signed {
            diesel::update(target)
                .set(sso_methods::require_signed.eq(v.as_str()))
                .execute(conn)?;
        }
        if let Some(v) = change.require_encryption {
            diesel::update(target)
                .set(sso_methods::require_encryption.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = &change.attr_email {
            diesel::update(target)
                .set(sso_methods::attr_email.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = &change.attr_first_name {
            diesel::update(target)
                .set(sso_methods::attr_first_name.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = &change.attr_last_name {
            diesel::update(target)
                .set(sso_methods::attr_last_name.eq(v))
                .execute(conn)?;
        }
        diesel::update(target)
            .set(sso_methods::updated_at.eq(now_millis()))
            .execute(conn)?;
        Ok(())
    })
}

/// Why a domain could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("the domain '{0}' already routes to another SSO method")]
    Taken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Reserves an email domain for this method; reserving it again is a no-op.
pub fn add_domain(
    conn: &mut DbConnection,
    sso_id: SsoId,
    domain: &EmailDomain,
) -> Result<(), DomainError> {
    match domain_owner(conn, domain)? {
        Some((id, _)) if id == sso_id => Ok(()),
        Some(_) => Err(DomainError::Taken(domain.to_string())),
        None => {
            diesel::insert_into(sso_domains::table)
                .values((
                    sso_domains::domain.eq(domain.as_str()),
                    sso_domains::sso_id.eq(sso_id.get()),
                ))
                .execute(conn)
                .map_err(|e| match StorageError::from(e) {
                    StorageError::Conflict { .. } => DomainError::Taken(domain.to_string()),
                    other => DomainError::Storage(other),
                })?;
            Ok(())
        }
    }
}

/// The SSO method an email domain is reserved for, with that method's node.
pub fn domain_owner(
    conn: &mut DbConnection,
    domain: &EmailDomain,
) -> Result<Option<(SsoId, NodeId)>, StorageError> {
    Ok(sso_domains::table
        .inner_join(sso_methods::table)
        .filter(sso_domains::domain.eq(domain.as_str()))
        .select((sso_domains::sso_id, sso_methods::node_id))
        .first::<(i64, i64)>(conn)
        .optional()?
        .map(|(sso, node)| (SsoId::from_db(sso), NodeId::from_db(node))))
}

/// How a node's SSO methods divide its users: how many methods, and how many domains they
/// reserve in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRouting {
    pub methods: i64,
    pub reserved_domains: i64,
}

impl NodeRouting {
    /// A single method and no reserved domains: that method speaks for every address.
    pub fn single_method_unreserved(self) -> bool {
        self.methods == 1 && self.reserved_domains == 0
    }
}

pub fn node_routing(conn: &mut DbConnection, node_id: NodeId) -> Result<NodeRouting, StorageError> {
    let methods = sso_methods::table
        .filter(sso_methods::node_id.eq(node_id.get()))
        .count()
        .get_result(conn)?;
    let reserved_domains = sso_domains::table
        .inner_join(sso_methods::table)
        .filter(sso_methods::node_id.eq(node_id.get()))
        .count()
        .get_result(conn)?;
    Ok(NodeRouting {
        methods,
        reserved_domains,
    })
}

/// Replaces the SP key and certificate (a rotation). The IdP must be given the new
/// certificate (or metadata) before it encrypts or checks request signatures with it.
pub fn set_sp_keys(
    conn: &mut DbConnection,
    sso_id: SsoId,
    key_pem: &str,
    cert_pem: &str,
) -> Result<(), StorageError> {
    let changed = diesel::update(sso_methods::table.find(sso_id.get()))
        .set((
            sso_methods::sp_key_pem.eq(key_pem),
            sso_methods::sp_cert_pem.eq(cert_pem),
            sso_methods::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "SSO method" });
    }
    Ok(())
}

/// Makes `domains` exactly the method's reserved domains.
pub fn set_domains(
    conn: &mut DbConnection,
    sso_id: SsoId,
    domains: &[EmailDomain],
) -> Result<(), DomainError> {
    let mut taken = None;
    crate::transaction(conn, |conn| {
        diesel::delete(sso_domains::table.filter(sso_domains::sso_id.eq(sso_id.get())))
            .execute(conn)?;
        for domain in domains {
            match add_domain(conn, sso_id, domain) {
                Ok(()) => {}
                Err(DomainError::Taken(d)) => {
                    taken = Some(d);
                    // Roll the whole change back.
                    return Err(StorageError::Conflict {
                        constraint: "sso_domains".to_owned(),
                    });
                }
                Err(DomainError::Storage(e)) => return Err(e),
            }
        }
        Ok(())
    })
    .map_err(|e| match taken.take() {
        Some(d) => DomainError::Taken(d),
        None => DomainError::Storage(e),
    })
}

/// Names the application IdP-initiated sign-ins of the method go to (`None`: none).
pub fn set_default_app(
    conn: &mut DbConnection,
    sso_id: SsoId,
    client_id: Option<&crate::apps::ClientId>,
) -> Result<(), StorageError> {
    let changed = diesel::update(sso_methods::table.find(sso_id.get()))
        .set((
            sso_methods::default_app_id.eq(client_id.map(crate::apps::ClientId::as_str)),
            sso_methods::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StorageError::NotFound { what: "SSO method" });
    }
    Ok(())
}

/// Deletes an SSO method with its domains, pending requests and seen assertion ids. Sessions
/// it opened would outlive it (their `sso_id` becomes NULL): end them first
/// ([`crate::sessions::delete_for_sso`]).
pub fn delete(conn: &mut DbConnection, sso_id: SsoId) -> Result<(), StorageError> {
    let removed = diesel::delete(sso_methods::table.find(sso_id.get())).execute(conn)?;
    if removed == 0 {
        return Err(StorageError::NotFound { what: "SSO method" });
    }
    Ok(())
}

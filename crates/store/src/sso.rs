//! SSO methods: SP key material, imported IdP metadata and per-method settings.

use diesel::prelude::*;

use crate::schema::sso_methods;
use crate::{DbConnection, NodeId, SsoId, StorageError, now_millis};

/// What is needed to create an SSO method: its SP key and certificate come from the caller
/// (generated or uploaded).
#[derive(Debug, Clone)]
pub struct NewSsoMethod<'a> {
    pub node_id: NodeId,
    pub name: &'a str,
    pub sp_entity_id: Option<&'a str>,
    pub sp_key_pem: &'a str,
    pub sp_cert_pem: &'a str,
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

//! IdP signing certificates near or past their end. They keep verifying sign-ins (JumpCloud's
//! are long-lived, and replacing one is the IdP admin's act), but the admin must hear of it:
//! the SSO method's console page and `idgate sso show` say so, and the audit event
//! `sso_certificate_expiring` is recorded when such metadata is imported and, so that nobody
//! needs to look, at most once a day per method by the periodic task.

use chrono::{DateTime, Utc};
use idgate_saml::idp::{self, ExpiringCertificate};
use idgate_store::events::{self, EventQuery, NewEvent, Outcome};
use idgate_store::{DbConnection, NodeId, SsoId, StorageError, Store, nodes, sso};

/// The audit event's kind; its target is the SSO id.
pub const EVENT: &str = "sso_certificate_expiring";

/// How often the periodic task looks at every method's certificates (each method's event is
/// still recorded at most once a day).
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The actor of the periodic task's events.
const ACTOR: &str = "idgate";

/// The warnings for a method's IdP certificates at `now`, one sentence each.
pub fn warnings(certs: &[String], now: DateTime<Utc>) -> Vec<String> {
    idp::expiring_certificates(certs, now)
        .iter()
        .map(ExpiringCertificate::to_string)
        .collect()
}

/// Records the event for `sso_id` when any of `certs` expires within the warning window (or
/// has); with `daily`, only when none was recorded for it in the last day. Whether it was
/// recorded.
pub fn record(
    c: &mut DbConnection,
    actor: &str,
    node_id: NodeId,
    sso_id: SsoId,
    certs: &[String],
    now: DateTime<Utc>,
    daily: bool,
) -> Result<bool, StorageError> {
    let found = warnings(certs, now);
    if found.is_empty() {
        return Ok(false);
    }
    let target = sso_id.to_string();
    if daily {
        let recent = events::count(
            c,
            &EventQuery {
                node_id: Some(node_id),
                kind: Some(EVENT.to_owned()),
                target: Some(target.clone()),
                from: Some((now - chrono::Duration::days(1)).timestamp_millis()),
                ..EventQuery::default()
            },
        )?;
        if recent > 0 {
            return Ok(false);
        }
    }
    events::record(
        c,
        &NewEvent {
            node_id: Some(node_id),
            kind: EVENT,
            actor,
            target: Some(&target),
            outcome: Outcome::Success,
            detail: &found.join("; "),
        },
    )?;
    Ok(true)
}

/// The periodic check over every SSO method with imported IdP certificates; how many events it
/// recorded.
pub async fn check_all(store: &Store, now: DateTime<Utc>) -> Result<usize, StorageError> {
    store
        .run(move |c| {
            let mut recorded = 0;
            for node in nodes::list(c)? {
                for summary in sso::list_for_node(c, node.id)? {
                    let Some(method) = sso::get(c, summary.sso_id)? else {
                        continue;
                    };
                    if record(
                        c,
                        ACTOR,
                        method.node_id,
                        method.sso_id,
                        &method.idp_certs,
                        now,
                        true,
                    )? {
                        recorded += 1;
                    }
                }
            }
            Ok(recorded)
        })
        .await
}

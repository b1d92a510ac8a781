//! Which account a verified assertion signs in, the same way on every backend and replica.
//!
//! 1. The method's identity link for the NameID names the account, when there is one; the
//!    email attribute must then name that account or nobody.
//! 2. Without a link, the email attribute (or the NameID, when it is an address or a userName)
//!    may name an existing account, which the method may take only when it is *authoritative*
//!    for it: the address's domain is reserved for this method, or the node has a single SSO
//!    method and no reserved domains. The first sign-in links the NameID to the account.
//! 3. With nothing found, JIT provisioning creates the account and its link.
//!
//! Everywhere: a method never speaks for an address outside its own reserved domains (when it
//! has some) or inside another method's; a transient NameID is never an account key; a linked
//! account never moves to another NameID. Runs inside the sign-in's transaction; a concurrent
//! first sign-in of the same person (two tabs, two replicas) is met by looking again.

use idgate_store::events::{NewEvent, Outcome};
use idgate_store::links::{self, NewLink};
use idgate_store::sso::{self, NodeRouting, SsoMethod};
use idgate_store::users::{self, Provenance, User, UserFields, UserStatus};
use idgate_store::{DbConnection, EmailDomain, IdentityKey, StorageError, events, printable};
use serde_json::{Value, json};

use crate::acs::failure::Failure;
use crate::validate::Verified;

const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

const EMAIL: &[&str] = &[
    "email",
    "Email",
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
];
const FIRST: &[&str] = &[
    "firstname",
    "First",
    "givenName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const LAST: &[&str] = &[
    "lastname",
    "Last",
    "sn",
    "surname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];

/// Who an assertion says is signing in, read with the method's attribute names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asserted<'a> {
    pub name_id: &'a str,
    pub format: Option<&'a str>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// The first non-blank value of the attribute the method names, or else of the first default
/// name present. A configured name is the only one read: no fallback to the defaults.
fn attribute(verified: &Verified, configured: Option<&str>, defaults: &[&str]) -> Option<String> {
    let value_of = |name: &str| {
        verified
            .attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.iter().find(|v| !v.trim().is_empty()))
            .map(|v| v.trim().to_owned())
    };
    match configured {
        Some(name) => value_of(name),
        None => defaults.iter().find_map(|name| value_of(name)),
    }
}

impl<'a> Asserted<'a> {
    pub(crate) fn of(method: &SsoMethod, verified: &'a Verified) -> Self {
        Asserted {
            name_id: &verified.name_id,
            format: verified.name_id_format.as_deref(),
            email: attribute(verified, method.attr_email.as_deref(), EMAIL),
            given_name: attribute(verified, method.attr_first_name.as_deref(), FIRST),
            family_name: attribute(verified, method.attr_last_name.as_deref(), LAST),
        }
    }

    fn transient(&self) -> bool {
        self.format == Some(TRANSIENT)
    }

    /// The NameID, when it is an email address.
    fn name_id_address(&self) -> Option<&str> {
        EmailDomain::of_address(self.name_id).map(|_| self.name_id)
    }

    /// Every address the assertion names the user by: the email, and the NameID when it is
    /// shaped as one (an `@`; not transient). One whose domain cannot be read stays in: it could
    /// be a reserved domain in disguise.
    fn addresses(&self) -> Vec<&str> {
        let name_id = (!self.transient() && self.name_id.contains('@')).then_some(self.name_id);
        let mut out: Vec<&str> = self.email.as_deref().into_iter().collect();
        if let Some(n) = name_id
            && !out.iter().any(|a| IdentityKey::of(a) == IdentityKey::of(n))
        {
            out.push(n);
        }
        out
    }
}

/// The account a sign-in lands in.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub user: User,
    /// Made now by JIT provisioning.
    pub created: bool,
}

/// One attempt's outcome.
enum Step {
    Done(Resolved),
    Refused(Failure),
    /// A concurrent sign-in made the account or the link first: look again.
    Raced,
}

/// Finds (or creates) the account `asserted` names for `method`; see the module's rules.
pub(crate) fn resolve(
    c: &mut DbConnection,
    method: &SsoMethod,
    asserted: &Asserted<'_>,
) -> Result<Result<Resolved, Failure>, StorageError> {
    if !printable(asserted.name_id) || asserted.email.as_deref().is_some_and(|e| !printable(e)) {
        return Ok(Err(Failure::Unprintable));
    }
    if let Some(refused) = check_addresses(c, method, &asserted.addresses())? {
        return Ok(Err(refused));
    }
    for _ in 0..3 {
        match attempt(c, method, asserted)? {
            Step::Done(resolved) => return Ok(Ok(resolved)),
            Step::Refused(failure) => return Ok(Err(failure)),
            Step::Raced => {}
        }
    }
    Err(StorageError::Conflict {
        constraint: "concurrent sign-ins of one user kept colliding".to_owned(),
    })
}

/// The method speaks only for addresses in its own reserved domains (when it has some), and
/// never for one in a domain another method of the node reserves, nor (when the node reserves
/// any) for one whose domain cannot be read.
fn check_addresses(
    c: &mut DbConnection,
    method: &SsoMethod,
    addresses: &[&str],
) -> Result<Option<Failure>, StorageError> {
    if !method.domains.is_empty() {
        let outside = addresses
            .iter()
            .find(|a| EmailDomain::of_address(a).is_none_or(|domain| !method.reserves(&domain)));
        return Ok(outside.map(|a| Failure::OutsideDomains(Some((*a).to_owned()))));
    }
    let mut routing = None;
    for address in addresses {
        let Some(domain) = EmailDomain::of_address(address) else {
            let routing = match routing {
                Some(known) => known,
                None => *routing.insert(sso::node_routing(c, method.node_id)?),
            };
            if routing.reserved_domains > 0 {
                return Ok(Some(Failure::NotAuthoritative(format!(
                    "the domain of {address:?} cannot be read, and the node reserves domains for its SSO methods"
                ))));
            }
            continue;
        };
        if let Some((owner, node)) = sso::domain_owner(c, &domain)?
            && node == method.node_id
            && owner != method.sso_id
        {
            return Ok(Some(Failure::NotAuthoritative(format!(
                "{domain} is reserved for the SSO method {owner}, which alone signs in {address}"
            ))));
        }
    }
    Ok(None)
}

/// The address an account is known by: its email, else its userName when that is one.
fn account_address(user: &User) -> Option<&str> {
    user.email
        .as_deref()
        .or_else(|| Some(user.user_name.as_str()).filter(|n| n.contains('@')))
}

fn attempt(
    c: &mut DbConnection,
    method: &SsoMethod,
    asserted: &Asserted<'_>,
) -> Result<Step, StorageError> {
    let link = if asserted.transient() {
        None
    } else {
        links::find(c, method.sso_id, asserted.name_id, asserted.format)?
    };
    if let Some(link) = link {
        let user = users::get(c, method.node_id, &link.user_id)?
            .ok_or(StorageError::NotFound { what: "user" })?;
        if let Some(email) = &asserted.email
            && let Some(other) = users::find_by_login(c, method.node_id, email)?
            && other.id != user.id
        {
            return Ok(Step::Refused(Failure::IdentityConflict(format!(
                "the NameID {} is linked to {}, but the email {email} names {}",
                asserted.name_id, user.user_name, other.user_name
            ))));
        }
        // The linked account must still be one the method may speak for: a domain reserved
        // since for another method (or outside the method's own) takes it away.
        let address: Vec<&str> = account_address(&user).into_iter().collect();
        if let Some(refused) = check_addresses(c, method, &address)? {
            return Ok(Step::Refused(refused));
        }
        if let Some(locked) = locked(&user) {
            return Ok(Step::Refused(locked));
        }
        links::touch(c, &link)?;
        return Ok(Step::Done(Resolved {
            user,
            created: false,
        }));
    }
    let by_email = match &asserted.email {
        Some(email) => users::find_by_login(c, method.node_id, email)?,
        None => None,
    };
    let name_id_is_email = asserted
        .email
        .as_deref()
        .is_some_and(|e| IdentityKey::of(e) == IdentityKey::of(asserted.name_id));
    let by_name_id = if asserted.transient() || name_id_is_email {
        None
    } else {
        users::find_by_login(c, method.node_id, asserted.name_id)?
    };
    if let (Some(named), Some(mailed)) = (&by_name_id, &by_email)
        && named.id != mailed.id
    {
        return Ok(Step::Refused(Failure::IdentityConflict(format!(
            "the NameID {} names {} and the email {} names {}",
            asserted.name_id,
            named.user_name,
            asserted.email.as_deref().unwrap_or_default(),
            mailed.user_name
        ))));
    }
    let found = match (by_email, by_name_id) {
        (Some(user), _) => Some((user, asserted.email.as_deref())),
        (None, Some(user)) => Some((user, asserted.name_id_address())),
        (None, None) => None,
    };
    match found {
        Some((user, address)) => take_over(c, method, asserted, user, address),
        None => provision(c, method, asserted),
    }
}

/// An unlocked account, or why it cannot sign in.
fn locked(user: &User) -> Option<Failure> {
    (user.status == UserStatus::Locked || !user.scim_visible)
        .then(|| Failure::Locked(user.user_name.clone()))
}

/// Whether the method may take an existing, unlinked account found by `address` (or by a
/// userName that is no address).
fn authoritative(routing: NodeRouting, method: &SsoMethod, address: Option<&str>) -> bool {
    routing.single_method_unreserved()
        || address
            .and_then(EmailDomain::of_address)
            .is_some_and(|domain| method.reserves(&domain))
}

/// Signs in an existing account that has no link of this method yet, and links it.
fn take_over(
    c: &mut DbConnection,
    method: &SsoMethod,
    asserted: &Asserted<'_>,
    user: User,
    address: Option<&str>,
) -> Result<Step, StorageError> {
    if let Some(other) = links::find_for_user(c, method.sso_id, &user.id)? {
        // Linked a moment ago under this very NameID, by a concurrent sign-in that committed
        // between this one's lookups: look again, and the link names the account.
        if links::name_id_key(&other.name_id, other.name_id_format.as_deref())
            == links::name_id_key(asserted.name_id, asserted.format)
        {
            return Ok(Step::Raced);
        }
        return Ok(Step::Refused(Failure::IdentityConflict(format!(
            "{} is linked to the NameID {} of this SSO method, not {}",
            user.user_name, other.name_id, asserted.name_id
        ))));
    }
    let routing = sso::node_routing(c, method.node_id)?;
    if !authoritative(routing, method, address) {
        return Ok(Step::Refused(Failure::NotAuthoritative(format!(
            "{} already exists and this SSO method is not authoritative for it: reserve its domain for the method, or link the account through the method that is",
            address.unwrap_or(&user.user_name)
        ))));
    }
    if let Some(locked) = locked(&user) {
        return Ok(Step::Refused(locked));
    }
    if asserted.transient() {
        return Ok(Step::Done(Resolved {
            user,
            created: false,
        }));
    }
    let linked = idgate_store::transaction(c, |c| link(c, method, asserted, &user));
    match linked {
        Ok(()) => Ok(Step::Done(Resolved {
            user,
            created: false,
        })),
        Err(StorageError::Conflict { .. }) => Ok(Step::Raced),
        Err(e) => Err(e),
    }
}

/// JIT provisioning: creates the account the assertion names, with its link.
fn provision(
    c: &mut DbConnection,
    method: &SsoMethod,
    asserted: &Asserted<'_>,
) -> Result<Step, StorageError> {
    let login = asserted
        .email
        .clone()
        .unwrap_or_else(|| asserted.name_id.to_owned());
    if !method.jit {
        return Ok(Step::Refused(Failure::NoAccount(login)));
    }
    if asserted.transient() && asserted.email.is_none() {
        return Ok(Step::Refused(Failure::NoIdentity));
    }
    // A method with reserved domains creates only accounts with an address in them (the
    // addresses were checked): a NameID with no address is never an account key there.
    if !method.domains.is_empty() && asserted.addresses().is_empty() {
        return Ok(Step::Refused(Failure::OutsideDomains(None)));
    }
    let mut doc = json!({"userName": login, "active": true});
    if let Some(email) = &asserted.email {
        doc["emails"] = json!([{"value": email, "primary": true}]);
    }
    if asserted.given_name.is_some() || asserted.family_name.is_some() {
        doc["name"] = json!({"givenName": asserted.given_name, "familyName": asserted.family_name});
    }
    let fields = UserFields {
        user_name: login.clone(),
        email: asserted
            .email
            .clone()
            .or_else(|| asserted.name_id_address().map(str::to_owned)),
        given_name: asserted.given_name.clone(),
        family_name: asserted.family_name.clone(),
        attributes: Value::to_string(&doc),
        active: true,
        ..UserFields::default()
    };
    // The account and its link together, or neither (a concurrent sign-in won: look again).
    let created = idgate_store::transaction(c, |c| {
        let user = users::insert(c, method.node_id, &fields, Provenance::Jit)?;
        if !asserted.transient() {
            link(c, method, asserted, &user)?;
        }
        Ok(user)
    });
    match created {
        Ok(user) => Ok(Step::Done(Resolved {
            user,
            created: true,
        })),
        Err(StorageError::Conflict { .. }) => Ok(Step::Raced),
        Err(e) => Err(e),
    }
}

/// Links the assertion's NameID to `user`, with its audit event.
fn link(
    c: &mut DbConnection,
    method: &SsoMethod,
    asserted: &Asserted<'_>,
    user: &User,
) -> Result<(), StorageError> {
    links::create(
        c,
        &NewLink {
            sso_id: method.sso_id,
            node_id: method.node_id,
            name_id: asserted.name_id,
            name_id_format: asserted.format,
            user_id: &user.id,
        },
    )?;
    events::record(
        c,
        &NewEvent {
            node_id: Some(method.node_id),
            kind: "identity_linked",
            actor: "saml",
            target: Some(&user.user_name),
            outcome: Outcome::Success,
            detail: &format!(
                "SSO method {} signs {} in by the NameID {}",
                method.sso_id, user.user_name, asserted.name_id
            ),
        },
    )
}

#[cfg(test)]
mod tests;

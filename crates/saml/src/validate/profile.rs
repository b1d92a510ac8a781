//! Rules of SAML core and of the Web Browser SSO profile on fields that samael reads but does not
//! check: the version, the Destination of a signed response, the order of the conditions'
//! window, the two InResponseTo of a response, and the authentication statement with the end
//! of the IdP's session.

use chrono::{DateTime, Utc};
use samael::schema::{Assertion, Response, SubjectConfirmationData};

use super::{Expectations, Rejection};

const VERSION: &str = "2.0";

/// SAML 2.0 only, on the Response and on the Assertion (core 3.2.2 and 2.3.3).
pub(super) fn check_versions(response: &Response, assertion: &Assertion) -> Result<(), Rejection> {
    for (element, version) in [
        ("response", &response.version),
        ("assertion", &assertion.version),
    ] {
        if version.trim() != VERSION {
            return Err(Rejection::Version {
                element,
                found: version.clone(),
            });
        }
    }
    Ok(())
}

/// A signed response names where it was sent: SAML bindings 3.5.5.2 require the `Destination`
/// of a signed message, which the recipient then compares with where it arrived. Without it, the
/// signature would not bind the response to this ACS.
pub(super) fn check_signed_destination(signed: Option<&Response>) -> Result<(), Rejection> {
    match signed {
        Some(response) if response.destination.as_deref().is_none_or(str::is_empty) => {
            Err(Rejection::NoDestination("response"))
        }
        _ => Ok(()),
    }
}

/// A window that starts before it ends (core 2.5.1.2 requires `NotBefore` to be less than
/// `NotOnOrAfter`); with the skew on both sides, an empty window would otherwise be open.
pub(super) fn check_conditions_window(assertion: &Assertion) -> Result<(), Rejection> {
    if let Some(conditions) = &assertion.conditions
        && let (Some(not_before), Some(not_on_or_after)) =
            (conditions.not_before, conditions.not_on_or_after)
        && not_before >= not_on_or_after
    {
        return Err(Rejection::ConditionsWindow {
            not_before,
            not_on_or_after,
        });
    }
    Ok(())
}

/// The response and its bearer confirmation answer the same request (profiles 4.1.4.2: when the
/// response answers an `AuthnRequest`, the confirmation's `InResponseTo` carries its ID). A
/// response that says it answers a request while its confirmation says otherwise (or nothing) is
/// refused rather than one of the two believed.
pub(super) fn check_in_response_to_agrees(
    response: &Response,
    bearer: &SubjectConfirmationData,
) -> Result<(), Rejection> {
    match (&response.in_response_to, &bearer.in_response_to) {
        (Some(answered), confirmed) if Some(answered) != confirmed.as_ref() => {
            Err(Rejection::InResponseToMismatch {
                response: answered.clone(),
                confirmation: confirmed
                    .as_ref()
                    .map_or_else(|| "no request".to_owned(), |c| format!("'{c}'")),
            })
        }
        _ => Ok(()),
    }
}

/// An assertion for sign-in carries an `AuthnStatement` (profiles 4.1.4.2 require one); a
/// `SessionNotOnOrAfter` that has passed (with the skew) means the IdP's session is over.
/// Returns the earliest one, when given, so that idgate's session ends no later.
pub(super) fn check_authn_statements(
    assertion: &Assertion,
    expect: &Expectations<'_>,
) -> Result<Option<DateTime<Utc>>, Rejection> {
    let statements = assertion.authn_statements.as_deref().unwrap_or_default();
    if statements.is_empty() {
        return Err(Rejection::NoAuthnStatement);
    }
    let session_end = statements
        .iter()
        .filter_map(|s| s.session_not_on_or_after)
        .min();
    if let Some(end) = session_end
        && expect.now >= end + expect.clock_skew
    {
        return Err(Rejection::SessionExpired(end));
    }
    Ok(session_end)
}

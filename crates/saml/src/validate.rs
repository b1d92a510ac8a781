//! Validation of a SAML Response, exactly as the assertion consumer applies it (and `idgate saml
//! check` offline): the signatures' shape is screened first (`crate::dsig`: nothing xmlsec would
//! fetch, read or run), then signatures are verified by samael with xmlsec over the element
//! actually used (the document is reduced to what the signatures cover, so a wrapped copy is
//! never read), and every other rule is checked here against an injected clock. Each refusal
//! names its rule.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use idgate_store::sso::RequireSigned;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};
use samael::schema::{Assertion, Response};
use serde::Serialize;

/// The largest response accepted, before any decoding or parsing.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// How long after its IssueInstant a message is still accepted (plus the method's skew). Real
/// IdPs' messages arrive within seconds; the bound keeps a captured message with a far (or, for
/// a LogoutRequest, no) NotOnOrAfter from being usable later.
pub const MAX_MESSAGE_AGE: Duration = Duration::minutes(10);

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// What a response must match.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    pub idp_entity_id: &'a str,
    /// PEM certificates of the IdP (several during a rotation).
    pub idp_certs: &'a [String],
    pub sp_entity_id: &'a str,
    /// The assertion consumer URL the response arrived at.
    pub acs_url: &'a str,
    pub now: DateTime<Utc>,
    pub clock_skew: Duration,
    pub allow_sha1: bool,
    pub require_signed: RequireSigned,
    /// The SP's private key (PEM) that opens encrypted assertions; `None`: they are refused.
    pub sp_key_pem: Option<&'a str>,
    /// Plaintext assertions are refused (`NotEncrypted`).
    pub require_encryption: bool,
}

/// Why a response was refused: one variant a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the response is not valid base64")]
    NotBase64,
    #[error("the response is not well-formed SAML XML: {0}")]
    NotXml(String),
    #[error("the response contains a DTD or an entity declaration")]
    Dtd,
    #[error("the response contains an XML comment")]
    Comment,
    #[error("the document declares the encoding '{0}'; only UTF-8 is accepted")]
    Encoding(String),
    #[error("no IdP signing certificate is configured")]
    NoCertificate,
    #[error("the response is signed with SHA-1, which this SSO method does not allow")]
    Sha1,
    #[error("the signature or digest algorithm '{0}' is not allowed")]
    Algorithm(String),
    #[error("more signatures than the signable elements (at most one each)")]
    TooManySignatures,
    #[error("a signature sits in '{0}', which is not an element that may be signed")]
    SignaturePlacement(String),
    #[error("a signature must have exactly one reference, this one has {0}")]
    References(usize),
    #[error("the signature reference '{0}' is not '#' and the ID of the signed element")]
    ReferenceUri(String),
    #[error("the signature transform '{0}' is not allowed")]
    Transform(String),
    #[error("the signature contains '{0}', which is not allowed")]
    SignatureElement(String),
    #[error("no valid signature by the IdP's certificate")]
    BadSignature,
    #[error("the {0} must be signed")]
    NotSigned(&'static str),
    #[error("the response carries no assertion")]
    NoAssertion,
    #[error("the signed assertion is not the response's assertion (signature wrapping)")]
    Wrapped,
    #[error(
        "an EncryptedAssertion that is not the response's one assertion (several, beside a plaintext one, or not a child of the Response in the SAML namespace)"
    )]
    Encrypted,
    #[error("the IdP answered with status {0}")]
    Status(String),
    #[error("issuer '{found}' is not the IdP '{expected}'")]
    Issuer { expected: String, found: String },
    #[error("destination '{found}' is not this ACS URL '{expected}'")]
    Destination { expected: String, found: String },
    #[error("the assertion has no bearer subject confirmation")]
    NoBearerConfirmation,
    #[error("the bearer subject confirmation has no NotOnOrAfter")]
    NoExpiry,
    #[error("recipient '{found}' is not this ACS URL '{expected}'")]
    Recipient { expected: String, found: String },
    #[error("the assertion has no audience restriction")]
    NoAudience,
    #[error("audience {found:?} does not include this SP '{expected}'")]
    Audience {
        expected: String,
        found: Vec<String>,
    },
    #[error("the assertion is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("the assertion expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the message was issued at {0}, longer ago than is accepted")]
    IssuedTooLongAgo(DateTime<Utc>),
    #[error("the message was issued at {0}, in the future")]
    IssuedInFuture(DateTime<Utc>),
    #[error("the message has no IssueInstant")]
    NoIssueInstant,
    #[error("the message has no ID")]
    NoId,
    #[error("the assertion has no subject NameID")]
    NoNameId,
    #[error("InResponseTo '{found}' answers no pending request of this SSO method")]
    UnknownRequest { found: String },
    #[error("InResponseTo is missing and IdP-initiated login is not allowed")]
    Unsolicited,
    #[error("the message's root element is {found}, not {expected}")]
    Envelope {
        expected: &'static str,
        found: String,
    },
    #[error("'{name}' is in the namespace {found}, not {expected}")]
    Namespace {
        name: String,
        expected: &'static str,
        found: String,
    },
    #[error("the {element}'s Version is '{found}', not 2.0")]
    Version {
        element: &'static str,
        found: String,
    },
    #[error("the signed {0} has no Destination")]
    NoDestination(&'static str),
    #[error(
        "the conditions start at {not_before}, which is not before their end {not_on_or_after}"
    )]
    ConditionsWindow {
        not_before: DateTime<Utc>,
        not_on_or_after: DateTime<Utc>,
    },
    #[error("the response answers '{response}' but its bearer confirmation answers {confirmation}")]
    InResponseToMismatch {
        response: String,
        confirmation: String,
    },
    #[error("the assertion has no AuthnStatement")]
    NoAuthnStatement,
    #[error("the IdP ended the session at {0} (SessionNotOnOrAfter)")]
    SessionExpired(DateTime<Utc>),
    #[error("the assertion was already used")]
    Replay,
    #[error("this SSO method requires encrypted assertions and this one is not encrypted")]
    NotEncrypted,
    #[error("the assertion is encrypted, but neither the response nor the assertion is signed")]
    EncryptedNotSigned,
    #[error("the encrypted assertion cannot be decrypted with this SSO method's key")]
    Decryption,
    #[error("the assertion's key is encrypted with RSA PKCS#1 v1.5 (rsa-1_5), which is refused")]
    Rsa15,
    #[error("the encryption algorithm '{0}' is not supported")]
    EncryptionAlgorithm(String),
    #[error("the encrypted assertion is not accepted: {0}")]
    EncryptionElement(String),
    #[error("the assertion is encrypted and no SP key to decrypt it is available")]
    NoDecryptionKey,
}

impl Rejection {
    /// A short stable code for logs, events and `saml check`'s JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::NotBase64 => "not_base64",
            Rejection::NotXml(_) => "not_xml",
            Rejection::Dtd => "dtd",
            Rejection::Comment => "comment",
            Rejection::Encoding(_) => "encoding",
            Rejection::NoCertificate => "no_certificate",
            Rejection::Sha1 => "sha1",
            Rejection::Algorithm(_) => "algorithm",
            Rejection::TooManySignatures => "signatures",
            Rejection::SignaturePlacement(_) => "signature_placement",
            Rejection::References(_) => "references",
            Rejection::ReferenceUri(_) => "reference_uri",
            Rejection::Transform(_) => "transform",
            Rejection::SignatureElement(_) => "signature_element",
            Rejection::BadSignature => "signature",
            Rejection::NotSigned(_) => "not_signed",
            Rejection::NoAssertion => "no_assertion",
            Rejection::Wrapped => "wrapped",
            Rejection::Encrypted => "encrypted",
            Rejection::Status(_) => "status",
            Rejection::Issuer { .. } => "issuer",
            Rejection::Destination { .. } => "destination",
            Rejection::NoBearerConfirmation => "no_bearer",
            Rejection::NoExpiry => "no_not_on_or_after",
            Rejection::Recipient { .. } => "recipient",
            Rejection::NoAudience => "no_audience",
            Rejection::Audience { .. } => "audience",
            Rejection::NotYetValid(_) => "not_yet_valid",
            Rejection::Expired(_) => "expired",
            Rejection::IssuedTooLongAgo(_) => "issued_too_long_ago",
            Rejection::IssuedInFuture(_) => "issued_in_future",
            Rejection::NoIssueInstant => "no_issue_instant",
            Rejection::NoId => "no_id",
            Rejection::NoNameId => "no_name_id",
            Rejection::UnknownRequest { .. } => "in_response_to",
            Rejection::Unsolicited => "unsolicited",
            Rejection::Envelope { .. } => "envelope",
            Rejection::Namespace { .. } => "namespace",
            Rejection::Version { .. } => "version",
            Rejection::NoDestination(_) => "no_destination",
            Rejection::ConditionsWindow { .. } => "conditions_window",
            Rejection::InResponseToMismatch { .. } => "in_response_to_mismatch",
            Rejection::NoAuthnStatement => "no_authn_statement",
            Rejection::SessionExpired(_) => "session_expired",
            Rejection::Replay => "replay",
            Rejection::NotEncrypted => "not_encrypted",
            Rejection::EncryptedNotSigned => "encrypted_unsigned",
            Rejection::Decryption => "decryption",
            Rejection::Rsa15 => "rsa1_5",
            Rejection::EncryptionAlgorithm(_) => "encryption_algorithm",
            Rejection::EncryptionElement(_) => "encryption_element",
            Rejection::NoDecryptionKey => "no_decryption_key",
        }
    }
}

/// What a valid response says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// Attributes by name, each with its values.
    pub attributes: Vec<(String, Vec<String>)>,
    pub assertion_id: String,
    /// Until when the assertion id must be remembered (replay protection).
    pub not_on_or_after: DateTime<Utc>,
    /// From signed content only.
    pub in_response_to: Option<String>,
    pub session_index: Option<String>,
    /// When the IdP's session ends (the earliest `SessionNotOnOrAfter` of its statements): idgate's
    /// session does not outlive it.
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    /// When the IdP authenticated the user (the `AuthnStatement`'s `AuthnInstant`).
    pub authn_instant: Option<DateTime<Utc>>,
    /// Which element carried the signature used: "response" or "assertion".
    pub signed: &'static str,
}

/// Reads the posted `SAMLResponse`: raw XML, or base64 of it (whitespace allowed).
pub fn decode(input: &str) -> Result<String, Rejection> {
    if input.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4096 {
        return Err(Rejection::TooLarge);
    }
    let trimmed = input.trim_start_matches('\u{feff}').trim();
    let xml = if trimmed.starts_with('<') {
        trimmed.to_owned()
    } else {
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = openssl::base64::decode_block(&compact).map_err(|_| Rejection::NotBase64)?;
        String::from_utf8(bytes).map_err(|_| Rejection::NotXml("not UTF-8".to_owned()))?
    };
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(Rejection::TooLarge);
    }
    Ok(xml)
}

/// DER certificates from PEM ones; `NoCertificate` when none is usable.
pub(crate) fn certificates_of(pems: &[String]) -> Result<Vec<CertificateDer>, Rejection> {
    let ders: Vec<CertificateDer> = pems
        .iter()
        .filter_map(|pem| openssl::x509::X509::from_pem(pem.as_bytes()).ok())
        .filter_map(|cert| cert.to_der().ok())
        .map(CertificateDer::from)
        .collect();
    if ders.is_empty() {
        return Err(Rejection::NoCertificate);
    }
    Ok(ders)
}

/// What samael is told to allow. It has no SHA-1 variant, so with SHA-1 allowed it is told
/// nothing, and [`crate::dsig::screen`] is the check that holds (RSA-SHA1 and SHA-1 added to the
/// strong list, nothing else).
pub(crate) fn allowed_algorithms(allow_sha1: bool) -> Option<&'static [AllowedSignatureAlgorithm]> {
    if allow_sha1 { None } else { Some(STRONG) }
}

const STRONG: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Validates a decoded response. InResponseTo and replay are the caller's (they need the
/// database): see [`check_in_response_to`].
pub fn validate(xml: &str, expect: &Expectations<'_>) -> Result<Verified, Rejection> {
    // An encrypted assertion is decrypted into the document first, its signatures verified
    // (`crate::decrypt`); the document that results passes every rule below.
    let (opened, decrypted) = match crate::decrypt::open(xml, expect)? {
        Some(opened) => (Some(opened.xml), Some(opened.signed)),
        None => (None, None),
    };
    let xml = opened.as_deref().unwrap_or(xml);
    let envelope = screen(xml)?;
    let Signed {
        response: signed_response,
        assertion,
        element: signed,
    } = match decrypted {
        Some(signed) => signed,
        None if expect.require_encryption => return Err(Rejection::NotEncrypted),
        None => verify(xml, &envelope, expect)?,
    };
    let response = signed_response.as_ref().unwrap_or(&envelope);
    profile::check_versions(response, &assertion)?;
    check_status(response)?;
    if let Some(issuer) = response.issuer.as_ref().and_then(|i| i.value.as_deref()) {
        check_issuer(issuer, expect)?;
    }
    check_issuer(
        assertion.issuer.value.as_deref().unwrap_or_default(),
        expect,
    )?;
    if let Some(destination) = response.destination.as_deref()
        && destination != expect.acs_url
    {
        return Err(Rejection::Destination {
            expected: expect.acs_url.to_owned(),
            found: destination.to_owned(),
        });
    }
    profile::check_signed_destination(signed_response.as_ref())?;
    let bearer = check_subject(&assertion, expect)?;
    profile::check_in_response_to_agrees(response, &bearer)?;
    profile::check_conditions_window(&assertion)?;
    check_conditions(&assertion, expect)?;
    check_issue_instant(assertion.issue_instant, expect.now, expect.clock_skew)?;
    if let Some(response) = &signed_response {
        check_issue_instant(response.issue_instant, expect.now, expect.clock_skew)?;
    }
    let session_not_on_or_after = profile::check_authn_statements(&assertion, expect)?;
    let name = assertion
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .ok_or(Rejection::NoNameId)?;
    if name.value.trim().is_empty() {
        return Err(Rejection::NoNameId);
    }
    let in_response_to = bearer.in_response_to.clone().or_else(|| {
        signed_response
            .as_ref()
            .and_then(|r| r.in_response_to.clone())
    });
    // The bearer confirmation's NotOnOrAfter is required (check_subject), so the replay cache
    // keeps the id for as long as the assertion could be accepted.
    let not_on_or_after = [
        bearer.not_on_or_after,
        assertion
            .conditions
            .as_ref()
            .and_then(|c| c.not_on_or_after),
    ]
    .into_iter()
    .flatten()
    .max()
    .ok_or(Rejection::NoExpiry)?;
    Ok(Verified {
        name_id: name.value.trim().to_owned(),
        name_id_format: name.format.clone(),
        attributes: attributes(&assertion),
        assertion_id: assertion.id.clone(),
        not_on_or_after,
        in_response_to,
        session_index: assertion
            .authn_statements
            .as_ref()
            .and_then(|s| s.first())
            .and_then(|s| s.session_index.clone()),
        session_not_on_or_after,
        authn_instant: assertion
            .authn_statements
            .as_ref()
            .and_then(|s| s.first())
            .and_then(|s| s.authn_instant),
        signed,
    })
}

/// The two elements a signature may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Response,
    Assertion,
}

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// The root element of a document, when it is a SAML Response or Assertion in its namespace.
fn root_element(xml: &str) -> Option<Root> {
    let mut rest = xml;
    // Skip the XML declaration and any processing instruction.
    loop {
        let start = rest.find('<')?;
        rest = &rest[start..];
        if rest.starts_with("<?") {
            rest = &rest[rest.find("?>")? + 2..];
        } else {
            break;
        }
    }
    let tag_end = rest.find('>')?;
    let tag = &rest[1..tag_end];
    let name = tag.split(|c: char| c.is_whitespace() || c == '/').next()?;
    let (prefix, local) = name.split_once(':').map_or(("", name), |(p, l)| (p, l));
    let declaration = if prefix.is_empty() {
        "xmlns=".to_owned()
    } else {
        format!("xmlns:{prefix}=")
    };
    let ns_start = tag.find(&declaration)? + declaration.len();
    let quote = tag[ns_start..].chars().next()?;
    let ns_rest = &tag[ns_start + 1..];
    let namespace = &ns_rest[..ns_rest.find(quote)?];
    match (local, namespace) {
        ("Response", PROTOCOL_NS) => Some(Root::Response),
        ("Assertion", ASSERTION_NS) => Some(Root::Assertion),
        _ => None,
    }
}

/// Refuses what must never reach the XML signature code, and parses the (unsigned) envelope:
/// a broken document is reported as such, not as a bad signature.
fn screen(xml: &str) -> Result<Response, Rejection> {
    screen_markup(xml)?;
    crate::names::check(xml, crate::names::RESPONSE)?;
    let envelope = Response::from_str(xml).map_err(parse_error)?;
    if envelope.encrypted_assertion.is_some() {
        return Err(Rejection::Encrypted);
    }
    Ok(envelope)
}

/// Size, encoding, DTD and comment refusals for any SAML message, before it is parsed.
pub(crate) fn screen_markup(xml: &str) -> Result<(), Rejection> {
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(Rejection::TooLarge);
    }
    crate::dsig::declared_encoding(xml)?;
    let upper = xml.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(Rejection::Dtd);
    }
    if xml.contains("<!--") {
        return Err(Rejection::Comment);
    }
    Ok(())
}

/// What the signatures cover.
pub(crate) struct Signed {
    /// The response, when its own signature covers it.
    pub(crate) response: Option<Response>,
    pub(crate) assertion: Assertion,
    /// "response" or "assertion": which element's signature covers what is used.
    pub(crate) element: &'static str,
}

/// Verifies every signature with the IdP's certificates and keeps only what they cover.
pub(crate) fn verify(
    xml: &str,
    envelope: &Response,
    expect: &Expectations<'_>,
) -> Result<Signed, Rejection> {
    let certs = certificates_of(expect.idp_certs)?;
    // Before xmlsec dereferences anything: references, transforms and algorithms (samael's
    // context allows every URI and transform, and with `None` every algorithm, RSA-MD5 too).
    crate::dsig::screen(xml, crate::dsig::RESPONSE, expect.allow_sha1)?;
    let allowed = allowed_algorithms(expect.allow_sha1);
    let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        allowed,
    )
    .map_err(|_| Rejection::BadSignature)?;
    crate::names::check(&reduced, crate::names::SIGNED)?;
    // samael's parser does not check the root element's name, so it is read here: the reduced
    // document is rooted at the element the signature covers.
    let signed = match root_element(&reduced) {
        Some(Root::Response) => {
            let response = Response::from_str(&reduced).map_err(parse_error)?;
            let assertion = response.assertion.clone().ok_or(Rejection::NoAssertion)?;
            Signed {
                response: Some(response),
                assertion,
                element: "response",
            }
        }
        Some(Root::Assertion) => Signed {
            response: None,
            assertion: Assertion::from_str(&reduced).map_err(parse_error)?,
            element: "assertion",
        },
        None => return Err(Rejection::NoAssertion),
    };
    // The signed response must be the document itself, not a copy nested in another one.
    if let Some(response) = &signed.response
        && response.id != envelope.id
    {
        return Err(Rejection::Wrapped);
    }
    // Only the assertion is signed: it must be the response's own assertion, where a reader of
    // the unsigned envelope would find it, not a copy moved elsewhere (signature wrapping).
    if signed.response.is_none()
        && envelope.assertion.as_ref().map(|a| a.id.as_str()) != Some(signed.assertion.id.as_str())
    {
        return Err(Rejection::Wrapped);
    }
    // Every signature in the document verified (samael demands it), so an assertion that
    // carries one was signed itself.
    let assertion_signed = signed.element == "assertion"
        || envelope
            .assertion
            .as_ref()
            .is_some_and(|a| a.signature.is_some());
    match expect.require_signed {
        RequireSigned::Response if signed.response.is_none() => {
            Err(Rejection::NotSigned("response"))
        }
        RequireSigned::Assertion if !assertion_signed => Err(Rejection::NotSigned("assertion")),
        _ => Ok(signed),
    }
}

/// A validity window with the allowed skew on both sides.
fn check_window(
    not_before: Option<DateTime<Utc>>,
    not_on_or_after: Option<DateTime<Utc>>,
    expect: &Expectations<'_>,
) -> Result<(), Rejection> {
    if let Some(until) = not_on_or_after
        && expect.now >= until + expect.clock_skew
    {
        return Err(Rejection::Expired(until));
    }
    if let Some(from) = not_before
        && expect.now + expect.clock_skew < from
    {
        return Err(Rejection::NotYetValid(from));
    }
    Ok(())
}

/// An IssueInstant no older than [`MAX_MESSAGE_AGE`] and not in the future, both with the skew.
pub(crate) fn check_issue_instant(
    issued: DateTime<Utc>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<(), Rejection> {
    if now > issued + MAX_MESSAGE_AGE + skew {
        return Err(Rejection::IssuedTooLongAgo(issued));
    }
    if issued > now + skew {
        return Err(Rejection::IssuedInFuture(issued));
    }
    Ok(())
}

fn check_status(response: &Response) -> Result<(), Rejection> {
    let code = response
        .status
        .as_ref()
        .and_then(|s| s.status_code.value.clone())
        .unwrap_or_default();
    if code == STATUS_SUCCESS {
        Ok(())
    } else {
        Err(Rejection::Status(if code.is_empty() {
            "(none)".to_owned()
        } else {
            code
        }))
    }
}

fn check_issuer(found: &str, expect: &Expectations<'_>) -> Result<(), Rejection> {
    if found.trim() == expect.idp_entity_id {
        Ok(())
    } else {
        Err(Rejection::Issuer {
            expected: expect.idp_entity_id.to_owned(),
            found: found.trim().to_owned(),
        })
    }
}

/// The bearer confirmation that names this ACS and is still valid.
fn check_subject(
    assertion: &Assertion,
    expect: &Expectations<'_>,
) -> Result<samael::schema::SubjectConfirmationData, Rejection> {
    let confirmations = assertion
        .subject
        .as_ref()
        .and_then(|s| s.subject_confirmations.clone())
        .unwrap_or_default();
    let mut first_error = Rejection::NoBearerConfirmation;
    for confirmation in confirmations
        .iter()
        .filter(|c| c.method.as_deref() == Some(BEARER))
    {
        let Some(data) = confirmation.subject_confirmation_data.clone() else {
            continue;
        };
        let recipient = data.recipient.clone().unwrap_or_default();
        if recipient != expect.acs_url {
            first_error = Rejection::Recipient {
                expected: expect.acs_url.to_owned(),
                found: recipient,
            };
            continue;
        }
        // Without it the assertion would be valid forever, long after the replay cache forgets it.
        if data.not_on_or_after.is_none() {
            return Err(Rejection::NoExpiry);
        }
        check_window(data.not_before, data.not_on_or_after, expect)?;
        return Ok(data);
    }
    Err(first_error)
}

fn check_conditions(assertion: &Assertion, expect: &Expectations<'_>) -> Result<(), Rejection> {
    let conditions = assertion.conditions.as_ref().ok_or(Rejection::NoAudience)?;
    check_window(conditions.not_before, conditions.not_on_or_after, expect)?;
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .unwrap_or_default();
    if restrictions.is_empty() {
        return Err(Rejection::NoAudience);
    }
    // Every AudienceRestriction must name this SP (SAML core 2.5.1.4).
    for restriction in restrictions {
        if !restriction
            .audience
            .iter()
            .any(|a| a.trim() == expect.sp_entity_id)
        {
            return Err(Rejection::Audience {
                expected: expect.sp_entity_id.to_owned(),
                found: restriction.audience.clone(),
            });
        }
    }
    Ok(())
}

fn attributes(assertion: &Assertion) -> Vec<(String, Vec<String>)> {
    assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
        .filter_map(|a| {
            let name = a.name.clone()?;
            let values = a.values.iter().filter_map(|v| v.value.clone()).collect();
            Some((name, values))
        })
        .collect()
}

/// InResponseTo, present: it must be the pending request given; absent: only when IdP-initiated
/// login is allowed.
pub fn check_in_response_to(
    verified: &Verified,
    pending: Option<&str>,
    allow_idp_initiated: bool,
) -> Result<(), Rejection> {
    match (&verified.in_response_to, pending) {
        (Some(found), Some(expected)) if found == expected => Ok(()),
        (Some(found), _) => Err(Rejection::UnknownRequest {
            found: found.clone(),
        }),
        (None, _) if allow_idp_initiated => Ok(()),
        (None, _) => Err(Rejection::Unsolicited),
    }
}

pub(crate) fn parse_error(err: impl std::fmt::Display) -> Rejection {
    Rejection::NotXml(first_line(&err.to_string()))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_owned()
}

mod profile;

#[cfg(test)]
mod tests;

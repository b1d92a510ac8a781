//! Names read by the book. samael's types are filled by quick-xml's serde reader, which maps an
//! element or an attribute to a field by its local name alone: `<x:Issuer xmlns:x="urn:other">`
//! would be read as the SAML Issuer, `x:Recipient="…"` as the confirmation's Recipient, and a
//! document rooted at `<x:Response>` as a SAML Response. Here the same reader, namespace-aware,
//! walks a message from its root down through every element idgate reads (and samael maps for
//! it), and refuses the message when the root, or any such element or attribute, is not in its
//! SAML namespace. It runs on what the signatures cover (samael with xmlsec reduce the document
//! to it) and on the unsigned envelope, whose status, issuer and destination are read when only
//! the assertion is signed.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::dsig::{ASSERTION_NS, PROTOCOL_NS};
use crate::validate::Rejection;

const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// An element name: namespace and local name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Name {
    ns: &'static str,
    local: &'static str,
}

const fn protocol(local: &'static str) -> Name {
    Name {
        ns: PROTOCOL_NS,
        local,
    }
}

const fn assertion(local: &'static str) -> Name {
    Name {
        ns: ASSERTION_NS,
        local,
    }
}

/// The signature is screened by `crate::dsig`; here only its name is held to its namespace,
/// because samael reads any `Signature` child as one.
const SIGNATURE: Name = Name {
    ns: DSIG_NS,
    local: "Signature",
};

/// An element that is read: the attributes read from it and the children read from it.
#[derive(Debug)]
struct Read {
    name: Name,
    attributes: &'static [&'static str],
    children: &'static [Name],
}

/// Every element idgate reads, with what samael maps from it for idgate (SAML core 2 and 3).
const READ: &[Read] = &[
    Read {
        name: protocol("Response"),
        attributes: &[
            "ID",
            "InResponseTo",
            "Version",
            "IssueInstant",
            "Destination",
            "Consent",
        ],
        children: &[
            assertion("Issuer"),
            SIGNATURE,
            protocol("Status"),
            assertion("Assertion"),
            assertion("EncryptedAssertion"),
        ],
    },
    Read {
        name: protocol("Status"),
        attributes: &[],
        children: &[
            protocol("StatusCode"),
            protocol("StatusMessage"),
            protocol("StatusDetail"),
        ],
    },
    Read {
        name: protocol("StatusCode"),
        attributes: &["Value"],
        children: &[],
    },
    Read {
        name: assertion("Issuer"),
        attributes: &["NameQualifier", "SPNameQualifier", "Format", "SPProvidedID"],
        children: &[],
    },
    Read {
        name: assertion("Assertion"),
        attributes: &["ID", "IssueInstant", "Version"],
        children: &[
            assertion("Issuer"),
            SIGNATURE,
            assertion("Subject"),
            assertion("Conditions"),
            assertion("AuthnStatement"),
            assertion("AttributeStatement"),
        ],
    },
    Read {
        name: assertion("Subject"),
        attributes: &[],
        children: &[assertion("NameID"), assertion("SubjectConfirmation")],
    },
    Read {
        name: assertion("NameID"),
        attributes: &["Format", "NameQualifier", "SPNameQualifier"],
        children: &[],
    },
    Read {
        name: assertion("SubjectConfirmation"),
        attributes: &["Method"],
        children: &[assertion("NameID"), assertion("SubjectConfirmationData")],
    },
    Read {
        name: assertion("SubjectConfirmationData"),
        attributes: &[
            "NotBefore",
            "NotOnOrAfter",
            "Recipient",
            "InResponseTo",
            "Address",
        ],
        children: &[],
    },
    Read {
        name: assertion("Conditions"),
        attributes: &["NotBefore", "NotOnOrAfter"],
        children: &[
            assertion("AudienceRestriction"),
            assertion("OneTimeUse"),
            assertion("ProxyRestriction"),
        ],
    },
    Read {
        name: assertion("AudienceRestriction"),
        attributes: &[],
        children: &[assertion("Audience")],
    },
    Read {
        name: assertion("ProxyRestriction"),
        attributes: &["Count"],
        children: &[assertion("Audience")],
    },
    Read {
        name: assertion("AuthnStatement"),
        attributes: &["AuthnInstant", "SessionIndex", "SessionNotOnOrAfter"],
        children: &[assertion("SubjectLocality"), assertion("AuthnContext")],
    },
    Read {
        name: assertion("AuthnContext"),
        attributes: &[],
        children: &[assertion("AuthnContextClassRef")],
    },
    Read {
        name: assertion("AttributeStatement"),
        attributes: &[],
        children: &[assertion("Attribute")],
    },
    Read {
        name: assertion("Attribute"),
        attributes: &["Name", "NameFormat", "FriendlyName"],
        children: &[assertion("AttributeValue")],
    },
    Read {
        name: protocol("LogoutRequest"),
        attributes: &[
            "ID",
            "Version",
            "IssueInstant",
            "Destination",
            "NotOnOrAfter",
            "Reason",
        ],
        children: &[
            assertion("Issuer"),
            SIGNATURE,
            assertion("NameID"),
            protocol("SessionIndex"),
        ],
    },
    Read {
        name: protocol("LogoutResponse"),
        attributes: &[
            "ID",
            "InResponseTo",
            "Version",
            "IssueInstant",
            "Destination",
            "Consent",
        ],
        children: &[assertion("Issuer"), SIGNATURE, protocol("Status")],
    },
];

/// The root elements a kind of message may have, and how a refusal names them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roots {
    names: &'static [Name],
    shown: &'static str,
}

/// The envelope of a response: a SAML protocol Response.
pub(crate) const RESPONSE: Roots = Roots {
    names: &[protocol("Response")],
    shown: "samlp:Response",
};
/// What a signature covers in a response: the Response or its Assertion.
pub(crate) const SIGNED: Roots = Roots {
    names: &[protocol("Response"), assertion("Assertion")],
    shown: "samlp:Response or saml:Assertion",
};
pub(crate) const LOGOUT_REQUEST: Roots = Roots {
    names: &[protocol("LogoutRequest")],
    shown: "samlp:LogoutRequest",
};
pub(crate) const LOGOUT_RESPONSE: Roots = Roots {
    names: &[protocol("LogoutResponse")],
    shown: "samlp:LogoutResponse",
};

fn read_of(name: Name) -> Option<&'static Read> {
    READ.iter().find(|r| r.name == name)
}

fn not_xml(err: impl std::fmt::Display) -> Rejection {
    Rejection::NotXml(
        err.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// The namespace a name resolved to (`""` for none).
fn namespace_of(resolved: &ResolveResult<'_>) -> Result<String, Rejection> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(Rejection::NotXml(format!(
            "the prefix '{}' is not declared",
            String::from_utf8_lossy(prefix)
        ))),
    }
}

fn shown(ns: &str) -> String {
    if ns.is_empty() {
        "(none)".to_owned()
    } else {
        ns.to_owned()
    }
}

/// Refuses `xml` unless its root is one of `roots` and every element and attribute read from it
/// is in its SAML namespace.
pub(crate) fn check(xml: &str, roots: Roots) -> Result<(), Rejection> {
    let mut reader = NsReader::from_str(xml);
    // One entry per open element: what is read from it, when it is read at all.
    let mut open: Vec<Option<&'static Read>> = Vec::new();
    let mut seen_root = false;
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(not_xml)?;
        let (start, empty) = match event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(_) => {
                open.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let ns = namespace_of(&resolved)?;
        let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let qualified = String::from_utf8_lossy(start.name().as_ref()).into_owned();
        let read = if let Some(parent) = open.last() {
            match parent.and_then(|p| p.children.iter().find(|c| c.local == local)) {
                Some(expected) if expected.ns != ns => {
                    return Err(Rejection::Namespace {
                        name: qualified,
                        expected: expected.ns,
                        found: shown(&ns),
                    });
                }
                Some(expected) => read_of(*expected),
                None => None,
            }
        } else {
            if seen_root {
                return Err(Rejection::NotXml("more than one root element".to_owned()));
            }
            seen_root = true;
            let Some(root) = roots.names.iter().find(|r| r.local == local && r.ns == ns) else {
                return Err(Rejection::Envelope {
                    expected: roots.shown,
                    found: format!("{qualified} in the namespace {}", shown(&ns)),
                });
            };
            read_of(*root)
        };
        if let Some(read) = read {
            attributes(&reader, &start, &qualified, read)?;
        }
        if !empty {
            open.push(read);
        }
    }
    if seen_root {
        Ok(())
    } else {
        Err(Rejection::NotXml("no root element".to_owned()))
    }
}

/// An attribute samael reads from `read` by its local name must carry no prefix: attributes of
/// SAML elements are in no namespace (`x:Recipient` is another attribute than `Recipient`).
fn attributes(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    qualified: &str,
    read: &Read,
) -> Result<(), Rejection> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(not_xml)?;
        if attribute.key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = reader.resolver().resolve_attribute(attribute.key);
        let local = String::from_utf8_lossy(local.as_ref()).into_owned();
        if !read.attributes.contains(&local.as_str()) {
            continue;
        }
        let ns = namespace_of(&resolved)?;
        if !ns.is_empty() {
            return Err(Rejection::Namespace {
                name: format!(
                    "{qualified}/@{}",
                    String::from_utf8_lossy(attribute.key.as_ref())
                ),
                expected: "(none)",
                found: ns,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

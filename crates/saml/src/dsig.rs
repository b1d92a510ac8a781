//! The shape every XML signature must have before xmlsec is allowed to see the document.
//!
//! samael hands each `ds:Signature` to xmlsec with a context whose defaults enable every
//! reference URI type and every transform. xmlsec dereferences the references and runs the
//! transforms to compute the digests *before* it checks the signature value, so an
//! unauthenticated sender could make idgate fetch `http://` URLs (SSRF), read `file://` paths
//! (`file:///dev/zero` crashes the process), or burn CPU with XPath transforms. Here the document
//! is parsed by libxml2, the same parser samael gives xmlsec (so the two cannot see different
//! trees), and each signature is held to the SAML profile of XML signatures (SAML core 5.4):
//! one enveloped reference to the signed element by its ID, the enveloped-signature and exclusive
//! canonicalisation transforms only, no `ds:Object`, no `ds:Manifest`, no `ds:RetrievalMethod`,
//! and only the signature and digest algorithms allowed. See docs/adr/0005.

use libxml::parser::Parser;
use libxml::readonly::RoNode;
use libxml::tree::NodeType;

use crate::validate::Rejection;

const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub(crate) const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

const STRONG_SIGNATURES: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const STRONG_DIGESTS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// The elements that may carry a signature in one kind of message, each at most once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signable(pub &'static [(&'static str, &'static str)]);

/// A SAML Response: the Response and its Assertion.
pub(crate) const RESPONSE: Signable =
    Signable(&[(PROTOCOL_NS, "Response"), (ASSERTION_NS, "Assertion")]);
/// A LogoutRequest sent by the POST binding.
pub(crate) const LOGOUT_REQUEST: Signable = Signable(&[(PROTOCOL_NS, "LogoutRequest")]);

/// Parses `xml` as samael will and refuses any signature xmlsec should not process.
pub(crate) fn screen(xml: &str, signable: Signable, allow_sha1: bool) -> Result<(), Rejection> {
    let document = Parser::default()
        .parse_string(xml)
        .map_err(|_| Rejection::NotXml("libxml2 cannot parse it".to_owned()))?;
    let root = document
        .get_root_readonly()
        .ok_or_else(|| Rejection::NotXml("no root element".to_owned()))?;
    // What precedes or follows the root element: the DTD lives there.
    let mut outside = Vec::new();
    let mut sibling = root.get_prev_sibling();
    while let Some(node) = sibling {
        outside.push(node);
        sibling = node.get_prev_sibling();
    }
    sibling = root.get_next_sibling();
    while let Some(node) = sibling {
        outside.push(node);
        sibling = node.get_next_sibling();
    }
    for node in outside {
        markup(node)?;
    }
    let mut signed = vec![0_usize; signable.0.len()];
    // Depth first, without recursion (libxml2 bounds the depth, but a stack costs nothing).
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        markup(node)?;
        if node.get_type() == Some(NodeType::ElementNode) && is(node, DSIG_NS, "Signature") {
            let kind = placement(node, signable)?;
            signed[kind] += 1;
            if signed[kind] > 1 {
                return Err(Rejection::TooManySignatures);
            }
            signature(node, allow_sha1)?;
        }
        let mut child = node.get_first_child();
        while let Some(c) = child {
            stack.push(c);
            child = c.get_next_sibling();
        }
    }
    Ok(())
}

/// DTDs, entities and comments as libxml2 sees them (the textual screening sees the bytes).
fn markup(node: RoNode) -> Result<(), Rejection> {
    match node.get_type() {
        Some(
            NodeType::DTDNode
            | NodeType::DocumentTypeNode
            | NodeType::EntityDecl
            | NodeType::EntityNode
            | NodeType::EntityRefNode
            | NodeType::ElementDecl
            | NodeType::AttributeDecl
            | NodeType::NotationNode,
        ) => Err(Rejection::Dtd),
        Some(NodeType::CommentNode) => Err(Rejection::Comment),
        _ => Ok(()),
    }
}

fn is(node: RoNode, namespace: &str, local: &str) -> bool {
    node.get_name() == local
        && node
            .get_namespace()
            .is_some_and(|ns| ns.get_href() == namespace)
}

fn qualified(node: RoNode) -> String {
    match node.get_namespace() {
        Some(ns) if !ns.get_prefix().is_empty() => {
            format!("{}:{}", ns.get_prefix(), node.get_name())
        }
        _ => node.get_name(),
    }
}

/// Which signable element the signature sits in (an index into `signable`).
fn placement(signature: RoNode, signable: Signable) -> Result<usize, Rejection> {
    let parent = signature
        .get_parent()
        .filter(|p| p.get_type() == Some(NodeType::ElementNode))
        .ok_or_else(|| Rejection::SignaturePlacement("(the document)".to_owned()))?;
    signable
        .0
        .iter()
        .position(|(ns, local)| is(parent, ns, local))
        .ok_or_else(|| Rejection::SignaturePlacement(qualified(parent)))
}

/// The element children of `node`; text other than whitespace is refused inside a signature's
/// structure (it has none), and so is anything that is not an element.
fn elements(node: RoNode) -> Result<Vec<RoNode>, Rejection> {
    let mut out = Vec::new();
    let mut child = node.get_first_child();
    while let Some(c) = child {
        match c.get_type() {
            Some(NodeType::ElementNode) => out.push(c),
            Some(NodeType::TextNode) if c.get_content().trim().is_empty() => {}
            Some(NodeType::CommentNode) => return Err(Rejection::Comment),
            _ => {
                return Err(Rejection::SignatureElement(format!(
                    "{} content",
                    qualified(node)
                )));
            }
        }
        child = c.get_next_sibling();
    }
    Ok(out)
}

/// The one signature element `node` must be, in the XML signature namespace.
fn dsig_name(node: RoNode) -> Result<String, Rejection> {
    if node
        .get_namespace()
        .is_some_and(|ns| ns.get_href() == DSIG_NS)
    {
        Ok(node.get_name())
    } else {
        Err(Rejection::SignatureElement(qualified(node)))
    }
}

fn algorithm(node: RoNode) -> String {
    node.get_attribute("Algorithm").unwrap_or_default()
}

fn signature(signature: RoNode, allow_sha1: bool) -> Result<(), Rejection> {
    for child in elements(signature)? {
        match dsig_name(child)?.as_str() {
            "SignedInfo" => signed_info(signature, child, allow_sha1)?,
            "SignatureValue" => {}
            "KeyInfo" => key_info(child)?,
            // Object (and a Manifest in it) is what xmlsec would dereference next.
            _ => return Err(Rejection::SignatureElement(qualified(child))),
        }
    }
    Ok(())
}

fn signed_info(signature: RoNode, signed_info: RoNode, allow_sha1: bool) -> Result<(), Rejection> {
    let mut references = Vec::new();
    for child in elements(signed_info)? {
        match dsig_name(child)?.as_str() {
            "CanonicalizationMethod" => canonicalisation(child)?,
            "SignatureMethod" => {
                if !elements(child)?.is_empty() {
                    return Err(Rejection::SignatureElement(
                        "ds:SignatureMethod content".to_owned(),
                    ));
                }
                allowed(&algorithm(child), STRONG_SIGNATURES, RSA_SHA1, allow_sha1)?;
            }
            "Reference" => references.push(child),
            _ => return Err(Rejection::SignatureElement(qualified(child))),
        }
    }
    let [reference] = references[..] else {
        return Err(Rejection::References(references.len()));
    };
    // The signed element is the signature's parent (an enveloped signature), named by its ID.
    let target = signature
        .get_parent()
        .and_then(|p| p.get_attribute("ID"))
        .filter(|id| !id.is_empty())
        .map(|id| format!("#{id}"));
    let uri = reference.get_attribute("URI");
    if uri.is_none() || uri != target {
        return Err(Rejection::ReferenceUri(
            uri.unwrap_or_else(|| "(none)".to_owned()),
        ));
    }
    for child in elements(reference)? {
        match dsig_name(child)?.as_str() {
            "Transforms" => transforms(child)?,
            "DigestMethod" => {
                if !elements(child)?.is_empty() {
                    return Err(Rejection::SignatureElement(
                        "ds:DigestMethod content".to_owned(),
                    ));
                }
                allowed(&algorithm(child), STRONG_DIGESTS, SHA1, allow_sha1)?;
            }
            "DigestValue" => {}
            _ => return Err(Rejection::SignatureElement(qualified(child))),
        }
    }
    Ok(())
}

/// A strong algorithm, or SHA-1 when the method allows it; RSA-MD5 and the rest never.
fn allowed(found: &str, strong: &[&str], sha1: &str, allow_sha1: bool) -> Result<(), Rejection> {
    if strong.contains(&found) {
        Ok(())
    } else if found == sha1 {
        if allow_sha1 {
            Ok(())
        } else {
            Err(Rejection::Sha1)
        }
    } else {
        Err(Rejection::Algorithm(found.to_owned()))
    }
}

/// Exclusive canonicalisation without comments, optionally with its `InclusiveNamespaces`.
fn canonicalisation(node: RoNode) -> Result<(), Rejection> {
    let found = algorithm(node);
    if found != EXC_C14N {
        return Err(Rejection::Transform(found));
    }
    inclusive_namespaces_only(node)
}

fn inclusive_namespaces_only(node: RoNode) -> Result<(), Rejection> {
    for child in elements(node)? {
        if !is(child, EXC_C14N_NS, "InclusiveNamespaces") {
            return Err(Rejection::SignatureElement(qualified(child)));
        }
    }
    Ok(())
}

fn transforms(node: RoNode) -> Result<(), Rejection> {
    let list = elements(node)?;
    for transform in &list {
        if dsig_name(*transform)? != "Transform" {
            return Err(Rejection::SignatureElement(qualified(*transform)));
        }
        match algorithm(*transform).as_str() {
            ENVELOPED => {
                if let Some(child) = elements(*transform)?.first() {
                    return Err(Rejection::SignatureElement(qualified(*child)));
                }
            }
            EXC_C14N => inclusive_namespaces_only(*transform)?,
            other => return Err(Rejection::Transform(other.to_owned())),
        }
    }
    // Enveloped-signature and exclusive canonicalisation, each once at most.
    if list.len() > 2 || (list.len() == 2 && algorithm(list[0]) == algorithm(list[1])) {
        return Err(Rejection::Transform("a repeated transform".to_owned()));
    }
    Ok(())
}

/// The key idgate verifies with comes from the metadata, never from here, but xmlsec may still
/// read KeyInfo: certificate data, key names and values only, nothing it would fetch
/// (`RetrievalMethod`, `KeyInfoReference`) or decrypt.
fn key_info(node: RoNode) -> Result<(), Rejection> {
    for child in elements(node)? {
        match dsig_name(child)?.as_str() {
            "X509Data" => {
                for data in elements(child)? {
                    if !dsig_name(data)?.starts_with("X509") {
                        return Err(Rejection::SignatureElement(qualified(data)));
                    }
                }
            }
            "KeyName" | "KeyValue" => {}
            _ => return Err(Rejection::SignatureElement(qualified(child))),
        }
    }
    Ok(())
}

/// Refuses an XML declaration (or any `<?xml` look-alike) naming an encoding other than UTF-8:
/// libxml2 would decode UTF-7 or UTF-16 while the textual screening and samael's serde parser
/// read UTF-8, so a DTD or a comment could hide from both (`+ADw-!--` is `<!--` in UTF-7).
pub(crate) fn declared_encoding(xml: &str) -> Result<(), Rejection> {
    // A NUL would let libxml2 guess UTF-16 or UCS-4 from the first bytes; XML forbids it anyway.
    if xml.contains('\0') {
        return Err(Rejection::NotXml("a NUL character".to_owned()));
    }
    let lower = xml.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<?xml") {
        let start = from + at + "<?xml".len();
        let end = lower[start..].find("?>").map_or(lower.len(), |e| start + e);
        let declaration = &xml[start..end];
        if let Some(encoding) = pseudo_attribute(declaration, "encoding")
            && !encoding.eq_ignore_ascii_case("UTF-8")
        {
            return Err(Rejection::Encoding(encoding));
        }
        from = end;
    }
    Ok(())
}

/// The value of `name="…"` (or `'…'`) in an XML declaration.
fn pseudo_attribute(declaration: &str, name: &str) -> Option<String> {
    let lower = declaration.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let after = from + at + name.len();
        let rest = declaration[after..].trim_start();
        if let Some(value) = rest.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let inner = &value[1..];
                return Some(inner[..inner.find(quote).unwrap_or(inner.len())].to_owned());
            }
            return Some(
                value
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        from = after;
    }
    None
}

#[cfg(test)]
mod tests;

//! Encrypted assertions. A response's `saml:EncryptedAssertion` is opened with the SSO method's
//! SP key (the one whose certificate the SP metadata publishes for encryption) and the assertion
//! is put back into the document in its place, so that it passes every rule of
//! [`crate::validate`], exactly as a plaintext one. See docs/adr/0007.
//!
//! Signatures. A signed Response covers the ciphertext: its signature is verified before
//! anything is decrypted, and what it covers is what is decrypted. An assertion signed inside is
//! verified after decryption, by the same code as a plaintext one (wrapping checks included).
//! With neither signature the response is refused (`encrypted_unsigned`): anyone can encrypt for
//! the SP, whose certificate is public.
//!
//! Oracles. Every failure of the cryptography is one `decryption`. CBC is malleable, so when no
//! signature covers the ciphertext (an unsigned Response) an attacker could change it and learn
//! from the answer whether the plaintext still parsed (the 2011 attack on XML Encryption): then
//! every refusal between the ciphertext and the assertion's verified signature is `decryption`
//! too, and the real reason goes to the debug log only.

mod xmlenc;

use std::fmt::Write as _;
use std::str::FromStr;

use idgate_store::sso::RequireSigned;
use libxml::parser::{Parser, ParserOptions};
use libxml::readonly::RoNode;
use libxml::tree::{Document, NodeType};
use openssl::pkey::{Id, PKey, Private};
use samael::crypto::{Crypto, CryptoProvider, ReduceMode};
use samael::schema::Response;

use crate::dsig::{ASSERTION_NS, PROTOCOL_NS};
use crate::validate::{self, Expectations, Rejection, Signed};
use xmlenc::{DSIG_NS, is};

pub(crate) use xmlenc::{CONTENT_ALGORITHMS, KEY_TRANSPORT_ALGORITHMS};

/// A response whose encrypted assertion was opened.
pub(crate) struct Opened {
    /// The response with the decrypted assertion in place of the encrypted one (and without the
    /// response's own signature, verified already and no longer matching the document).
    pub(crate) xml: String,
    /// What the signatures cover.
    pub(crate) signed: Signed,
}

/// Opens the encrypted assertion of `xml`; `None` when it has none (a plaintext response).
pub(crate) fn open(xml: &str, expect: &Expectations<'_>) -> Result<Option<Opened>, Rejection> {
    if !xml.contains("EncryptedAssertion") {
        return Ok(None);
    }
    validate::screen_markup(xml)?;
    // Every signature is screened before xmlsec may see one (and one inside the
    // EncryptedAssertion is misplaced).
    crate::dsig::screen(xml, crate::dsig::RESPONSE, expect.allow_sha1)?;
    let document = parse(xml)?;
    let Some(response_signed) = locate(&document)? else {
        return Ok(None);
    };
    let key = sp_key(expect)?;
    if !response_signed && expect.require_signed == RequireSigned::Response {
        return Err(Rejection::NotSigned("response"));
    }
    let source = if response_signed {
        verify_response(xml, &document, expect)?
    } else {
        document
    };
    let root = source
        .get_root_readonly()
        .ok_or_else(|| Rejection::NotXml("no root element".to_owned()))?;
    // The signed response holds the encrypted assertion (it is the whole document).
    let encrypted = children(root)
        .into_iter()
        .find(|c| is(*c, ASSERTION_NS, "EncryptedAssertion"))
        .ok_or(Rejection::Wrapped)?;
    let read = xmlenc::read(encrypted)?;
    let plaintext = read.decrypt(&key)?;
    let malleable = !response_signed && read.content.is_malleable();
    let no_oracle = |rejection: Rejection| {
        if malleable {
            tracing::debug!(rule = rejection.code(), reason = %rejection, "decrypted assertion refused");
            Rejection::Decryption
        } else {
            rejection
        }
    };
    let (doc, assertion_signed) =
        substitute(&source, root, encrypted, &plaintext, response_signed).map_err(no_oracle)?;
    if !response_signed && !assertion_signed {
        // Whether a changed CBC ciphertext still parses as an assertion must not show.
        return Err(no_oracle(Rejection::EncryptedNotSigned));
    }
    let signed = signatures(&doc, expect, response_signed, assertion_signed).map_err(no_oracle)?;
    Ok(Some(Opened { xml: doc, signed }))
}

/// The SP key: RSA (key transport is RSA-OAEP).
fn sp_key(expect: &Expectations<'_>) -> Result<PKey<Private>, Rejection> {
    let pem = expect.sp_key_pem.ok_or(Rejection::NoDecryptionKey)?;
    let key = PKey::private_key_from_pem(pem.as_bytes()).map_err(|_| Rejection::NoDecryptionKey)?;
    if key.id() != Id::RSA {
        return Err(Rejection::NoDecryptionKey);
    }
    Ok(key)
}

/// Parses as samael and xmlsec will (the same libxml2 with the same options).
fn parse(xml: &str) -> Result<Document, Rejection> {
    Parser::default()
        .parse_string(xml)
        .map_err(|_| Rejection::NotXml("libxml2 cannot parse it".to_owned()))
}

/// Whether the document is a Response with one encrypted assertion in its place, and then
/// whether the Response carries a signature. Any other `EncryptedAssertion` is refused: samael's
/// reader matches by local name only, so one elsewhere must not stay unread beside the one used.
fn locate(document: &Document) -> Result<Option<bool>, Rejection> {
    let Some(root) = document.get_root_readonly() else {
        return Ok(None);
    };
    if !is(root, PROTOCOL_NS, "Response") {
        // Not a response at all: the rules for plaintext responses refuse it.
        return Ok(None);
    }
    let (mut found, mut placed) = (0_usize, false);
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.get_type() == Some(NodeType::ElementNode) && node.get_name() == "EncryptedAssertion"
        {
            found += 1;
            placed = is(node, ASSERTION_NS, "EncryptedAssertion")
                && node.get_parent().map(|p| p.node_ptr()) == Some(root.node_ptr());
        }
        stack.extend(children(node));
    }
    let beside = children(root).iter().any(|c| c.get_name() == "Assertion");
    match found {
        0 => Ok(None),
        1 if placed && !beside => Ok(Some(
            children(root).iter().any(|c| is(*c, DSIG_NS, "Signature")),
        )),
        _ => Err(Rejection::Encrypted),
    }
}

/// The element children of `node`.
fn children(node: RoNode) -> Vec<RoNode> {
    node.get_child_elements()
}

/// Verifies the Response's signature (over the ciphertext) and returns what it covers.
fn verify_response(
    xml: &str,
    document: &Document,
    expect: &Expectations<'_>,
) -> Result<Document, Rejection> {
    let certs = validate::certificates_of(expect.idp_certs)?;
    let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        validate::allowed_algorithms(expect.allow_sha1),
    )
    .map_err(|_| Rejection::BadSignature)?;
    let covered = parse(&reduced)?;
    // The signature covers this response, not a signed one nested somewhere in it.
    let id = |d: &Document| {
        d.get_root_readonly()
            .filter(|r| is(*r, PROTOCOL_NS, "Response"))
            .and_then(|r| r.get_attribute("ID"))
    };
    match (id(&covered), id(document)) {
        (Some(signed), Some(envelope)) if signed == envelope => Ok(covered),
        _ => Err(Rejection::Wrapped),
    }
}

/// The response with the plaintext assertion in place of `encrypted`, and whether that assertion
/// carries a signature. The plaintext is parsed where it stands (with the namespaces in scope
/// there), strictly, and must be exactly one `saml:Assertion`; what goes into the document is
/// libxml2's serialisation of that one element.
fn substitute(
    source: &Document,
    root: RoNode,
    encrypted: RoNode,
    plaintext: &[u8],
    drop_response_signature: bool,
) -> Result<(String, bool), Rejection> {
    let text = std::str::from_utf8(plaintext).map_err(|_| Rejection::Decryption)?;
    validate::screen_markup(text)?;
    // XML Encryption decrypts in the context of the EncryptedData's parent.
    let context = in_scope(encrypted);
    let mut wrapper = String::from("<decrypted");
    for (prefix, href) in &context {
        wrapper.push_str(&declaration(prefix, href));
    }
    let _ = write!(wrapper, ">{}</decrypted>", without_declaration(text));
    let strict = ParserOptions {
        recover: false,
        no_net: true,
        ..ParserOptions::default()
    };
    let fragment = Parser::default()
        .parse_string_with_options(&wrapper, strict)
        .map_err(|_| Rejection::Decryption)?;
    let holder = fragment.get_root_readonly().ok_or(Rejection::Decryption)?;
    let mut assertion = None;
    for node in holder.get_child_nodes() {
        match node.get_type() {
            Some(NodeType::ElementNode)
                if assertion.is_none() && is(node, ASSERTION_NS, "Assertion") =>
            {
                assertion = Some(node);
            }
            Some(NodeType::TextNode) if node.get_content().trim().is_empty() => {}
            _ => return Err(Rejection::Decryption),
        }
    }
    let assertion = assertion.ok_or(Rejection::Decryption)?;
    let signed = children(assertion)
        .iter()
        .any(|c| is(*c, DSIG_NS, "Signature"));
    // The assertion declares what it inherited from that context, so that it reads the same in
    // the response (where the EncryptedAssertion's own declarations are not in scope).
    let own: Vec<String> = assertion
        .get_namespace_declarations()
        .iter()
        .map(libxml::tree::Namespace::get_prefix)
        .collect();
    let inherited: String = context
        .iter()
        .filter(|(prefix, _)| !own.contains(prefix))
        .map(|(prefix, href)| declaration(prefix, href))
        .collect();
    let prefix = assertion
        .get_namespace()
        .map(|ns| ns.get_prefix())
        .unwrap_or_default();
    let start = if prefix.is_empty() {
        "<Assertion".to_owned()
    } else {
        format!("<{prefix}:Assertion")
    };
    let dumped = fragment.ronode_to_string(&assertion);
    if !dumped.starts_with(&start) {
        return Err(Rejection::Decryption);
    }
    let placed = format!("{start}{inherited}{}", &dumped[start.len()..]);
    // Serialised by the same call, the encrypted element (which cannot contain itself) occurs
    // once in the response's text; it is replaced there.
    let mut document = source.ronode_to_string(&root);
    replace_once(&mut document, &source.ronode_to_string(&encrypted), &placed)?;
    if drop_response_signature
        && let Some(signature) = children(root)
            .into_iter()
            .find(|c| is(*c, DSIG_NS, "Signature"))
    {
        replace_once(&mut document, &source.ronode_to_string(&signature), "")?;
    }
    Ok((document, signed))
}

fn replace_once(document: &mut String, from: &str, to: &str) -> Result<(), Rejection> {
    if from.is_empty() || document.matches(from).count() != 1 {
        return Err(Rejection::Decryption);
    }
    *document = document.replacen(from, to, 1);
    Ok(())
}

/// The namespace declarations in scope at `node`, innermost first, each prefix once.
fn in_scope(node: RoNode) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut current = Some(node);
    while let Some(n) = current {
        for ns in n.get_namespace_declarations() {
            let prefix = ns.get_prefix();
            if !seen.iter().any(|(p, _)| *p == prefix) {
                seen.push((prefix, ns.get_href()));
            }
        }
        current = n
            .get_parent()
            .filter(|p| p.get_type() == Some(NodeType::ElementNode));
    }
    seen
}

/// ` xmlns:prefix="href"` (or ` xmlns="href"`).
fn declaration(prefix: &str, href: &str) -> String {
    let colon = if prefix.is_empty() { "" } else { ":" };
    let href = href
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    format!(" xmlns{colon}{prefix}=\"{href}\"")
}

/// An element's serialisation has no XML declaration, but some encrypt a whole document's
/// (`screen_markup` has refused any encoding but UTF-8).
fn without_declaration(text: &str) -> &str {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<?xml")
        && let Some(end) = trimmed.find("?>")
    {
        return &trimmed[end + 2..];
    }
    text
}

/// What the signatures of the decrypted document cover. The response's was verified before
/// decryption; the assertion's, when it has one, is verified here as a plaintext one's.
fn signatures(
    doc: &str,
    expect: &Expectations<'_>,
    response_signed: bool,
    assertion_signed: bool,
) -> Result<Signed, Rejection> {
    let envelope = Response::from_str(doc).map_err(validate::parse_error)?;
    let assertion = if assertion_signed {
        let inner = Expectations {
            require_signed: RequireSigned::Either,
            ..expect.clone()
        };
        validate::verify(doc, &envelope, &inner)?.assertion
    } else {
        envelope.assertion.clone().ok_or(Rejection::NoAssertion)?
    };
    if expect.require_signed == RequireSigned::Assertion && !assertion_signed {
        return Err(Rejection::NotSigned("assertion"));
    }
    Ok(Signed {
        response: response_signed.then_some(envelope),
        assertion,
        element: if response_signed {
            "response"
        } else {
            "assertion"
        },
    })
}

#[cfg(test)]
mod tests;

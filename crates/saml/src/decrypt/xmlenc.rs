//! The XML Encryption structures of an `EncryptedAssertion` as idgate accepts them, and the
//! cryptography that opens them (openssl): RSA-OAEP key transport, AES-CBC and AES-GCM content.
//!
//! Whatever the structure names is read from the element itself, never fetched: a
//! `ds:RetrievalMethod`, a `ds:KeyName` or an `xenc:ReferenceList` is ignored, an
//! `xenc:CipherReference` refused. Every failure of the cryptography itself (a key that does not
//! unwrap, a wrong length, bad padding, a bad GCM tag) is the one `Rejection::Decryption`.

use libxml::readonly::RoNode;
use libxml::tree::NodeType;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

use crate::validate::Rejection;

pub(crate) const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
pub(crate) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

const ELEMENT_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const MGF1_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";

/// The content algorithms, as the SP metadata lists them (strongest first).
pub(crate) const CONTENT_ALGORITHMS: [&str; 4] = [
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
];
/// The key transport algorithms, as the SP metadata lists them.
pub(crate) const KEY_TRANSPORT_ALGORITHMS: [&str; 2] = [RSA_OAEP, RSA_OAEP_MGF1P];

/// At most this many `EncryptedKey`s are tried (one per recipient; real IdPs send one).
const MAX_KEYS: usize = 4;
/// The largest wrapped key read: an RSA-8192 block.
const MAX_WRAPPED_KEY: usize = 1024;
/// The largest OAEP label (`xenc:OAEPparams`) read.
const MAX_LABEL: usize = 256;

const AES_BLOCK: usize = 16;
const GCM_IV: usize = 12;
const GCM_TAG: usize = 16;

/// The content encryption of an `EncryptedData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

impl Content {
    fn parse(uri: &str) -> Option<Self> {
        let index = CONTENT_ALGORITHMS.iter().position(|a| *a == uri)?;
        Some(
            [
                Self::Aes256Gcm,
                Self::Aes128Gcm,
                Self::Aes256Cbc,
                Self::Aes128Cbc,
            ][index],
        )
    }

    /// CBC is malleable: without a signature over the ciphertext, a changed ciphertext gives a
    /// changed plaintext, not an error.
    pub(crate) fn is_malleable(self) -> bool {
        matches!(self, Self::Aes128Cbc | Self::Aes256Cbc)
    }

    fn cipher(self) -> Cipher {
        match self {
            Self::Aes128Cbc => Cipher::aes_128_cbc(),
            Self::Aes256Cbc => Cipher::aes_256_cbc(),
            Self::Aes128Gcm => Cipher::aes_128_gcm(),
            Self::Aes256Gcm => Cipher::aes_256_gcm(),
        }
    }

    /// The plaintext of `data` (IV, ciphertext and, for GCM, the tag), or `None`.
    fn open(self, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        let cipher = self.cipher();
        if self.is_malleable() {
            // IV, then whole blocks; XML Encryption's padding: the last byte counts the padding
            // bytes (1 to 16), whose values are arbitrary (so not PKCS#7's check).
            if data.len() < 2 * AES_BLOCK || !data.len().is_multiple_of(AES_BLOCK) {
                return None;
            }
            let (iv, ciphertext) = data.split_at(AES_BLOCK);
            let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
            crypter.pad(false);
            let mut out = vec![0; ciphertext.len() + AES_BLOCK];
            let mut len = crypter.update(ciphertext, &mut out).ok()?;
            len += crypter.finalize(&mut out[len..]).ok()?;
            out.truncate(len);
            let padding = usize::from(*out.last()?);
            if padding == 0 || padding > AES_BLOCK || padding > out.len() {
                return None;
            }
            out.truncate(out.len() - padding);
            Some(out)
        } else {
            if data.len() < GCM_IV + GCM_TAG {
                return None;
            }
            let (iv, rest) = data.split_at(GCM_IV);
            let (ciphertext, tag) = rest.split_at(rest.len() - GCM_TAG);
            openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ciphertext, tag).ok()
        }
    }
}

/// One `EncryptedKey`: the content key wrapped with RSA-OAEP.
struct WrappedKey {
    digest: &'static MdRef,
    mgf1: &'static MdRef,
    label: Option<Vec<u8>>,
    ciphertext: Vec<u8>,
}

impl WrappedKey {
    fn unwrap(&self, key: &PKey<Private>) -> Option<Vec<u8>> {
        if self.ciphertext.len() != key.size() {
            return None;
        }
        let mut ctx = PkeyCtx::new(key).ok()?;
        ctx.decrypt_init().ok()?;
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).ok()?;
        ctx.set_rsa_oaep_md(self.digest).ok()?;
        ctx.set_rsa_mgf1_md(self.mgf1).ok()?;
        if let Some(label) = &self.label {
            ctx.set_rsa_oaep_label(label).ok()?;
        }
        let mut out = Vec::new();
        ctx.decrypt_to_vec(&self.ciphertext, &mut out).ok()?;
        Some(out)
    }
}

/// An `EncryptedAssertion`, read.
pub(crate) struct Encrypted {
    pub(crate) content: Content,
    data: Vec<u8>,
    keys: Vec<WrappedKey>,
}

impl Encrypted {
    /// The plaintext, with the first `EncryptedKey` that unwraps to a key of the content
    /// algorithm's length. When none does, the content is decrypted under a random key all the
    /// same and refused afterwards: every failure takes the same path to the same answer.
    pub(crate) fn decrypt(&self, key: &PKey<Private>) -> Result<Vec<u8>, Rejection> {
        let length = self.content.cipher().key_len();
        let unwrapped = self
            .keys
            .iter()
            .filter_map(|wrapped| wrapped.unwrap(key))
            .find(|k| k.len() == length);
        let found = unwrapped.is_some();
        let content_key = if let Some(k) = unwrapped {
            k
        } else {
            let mut random = vec![0; length];
            openssl::rand::rand_bytes(&mut random).map_err(|_| Rejection::Decryption)?;
            random
        };
        match self.content.open(&content_key, &self.data) {
            Some(plaintext) if found => Ok(plaintext),
            _ => Err(Rejection::Decryption),
        }
    }
}

/// Reads an `EncryptedAssertion`: one `EncryptedData`, its `EncryptedKey`s inside its KeyInfo
/// or beside it (ADFS and Shibboleth put them in either place).
pub(crate) fn read(assertion: RoNode) -> Result<Encrypted, Rejection> {
    let mut data = None;
    let mut keys = Vec::new();
    for child in elements(assertion)? {
        if is(child, XENC_NS, "EncryptedData") && data.is_none() {
            data = Some(child);
        } else if is(child, XENC_NS, "EncryptedKey") {
            keys.push(child);
        } else {
            return Err(unexpected(child));
        }
    }
    let data = data.ok_or_else(|| missing("xenc:EncryptedData"))?;
    if let Some(kind) = data.get_attribute("Type")
        && kind != ELEMENT_TYPE
    {
        return Err(Rejection::EncryptionElement(format!(
            "an EncryptedData of Type '{kind}'"
        )));
    }
    let (mut content, mut value, mut inner) = (None, None, Vec::new());
    for child in elements(data)? {
        if is(child, XENC_NS, "EncryptionMethod") && content.is_none() {
            let uri = algorithm(child);
            for part in elements(child)? {
                if !is(part, XENC_NS, "KeySize") {
                    return Err(unexpected(part));
                }
            }
            content = Some(Content::parse(&uri).ok_or(Rejection::EncryptionAlgorithm(uri))?);
        } else if is(child, DSIG_NS, "KeyInfo") {
            // Only an EncryptedKey inside is read; a RetrievalMethod or KeyName is never followed.
            inner.extend(
                elements(child)?
                    .into_iter()
                    .filter(|k| is(*k, XENC_NS, "EncryptedKey")),
            );
        } else if is(child, XENC_NS, "CipherData") && value.is_none() {
            value = Some(cipher_value(child, crate::validate::MAX_RESPONSE_BYTES)?);
        } else if !is(child, XENC_NS, "EncryptionProperties") {
            return Err(unexpected(child));
        }
    }
    inner.extend(keys);
    if inner.is_empty() {
        return Err(missing("xenc:EncryptedKey"));
    }
    if inner.len() > MAX_KEYS {
        return Err(Rejection::EncryptionElement(format!(
            "more than {MAX_KEYS} xenc:EncryptedKey elements"
        )));
    }
    let keys = inner
        .into_iter()
        .map(wrapped_key)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Encrypted {
        content: content.ok_or_else(|| missing("xenc:EncryptionMethod"))?,
        data: value.ok_or_else(|| missing("xenc:CipherData"))?,
        keys,
    })
}

fn wrapped_key(node: RoNode) -> Result<WrappedKey, Rejection> {
    let (mut method, mut value) = (None, None);
    for child in elements(node)? {
        if is(child, XENC_NS, "EncryptionMethod") && method.is_none() {
            method = Some(key_transport(child)?);
        } else if is(child, XENC_NS, "CipherData") && value.is_none() {
            value = Some(cipher_value(child, MAX_WRAPPED_KEY)?);
        } else if !(is(child, DSIG_NS, "KeyInfo")
            || is(child, XENC_NS, "ReferenceList")
            || is(child, XENC_NS, "CarriedKeyName"))
        {
            // KeyInfo names the SP's certificate; ReferenceList and CarriedKeyName point at the
            // data. idgate uses its own key and this assertion's data, so none of them is read.
            return Err(unexpected(child));
        }
    }
    let (digest, mgf1, label) = method.ok_or_else(|| missing("xenc:EncryptionMethod"))?;
    Ok(WrappedKey {
        digest,
        mgf1,
        label,
        ciphertext: value.ok_or_else(|| missing("xenc:CipherData"))?,
    })
}

type Oaep = (&'static MdRef, &'static MdRef, Option<Vec<u8>>);

/// RSA-OAEP's parameters: the digest (default SHA-1), MGF1's digest (SHA-1 for `rsa-oaep-mgf1p`,
/// `xenc11:MGF` or SHA-1 for `rsa-oaep`), the label.
fn key_transport(method: RoNode) -> Result<Oaep, Rejection> {
    let uri = algorithm(method);
    let mgf_allowed = match uri.as_str() {
        RSA_OAEP => true,
        RSA_OAEP_MGF1P => false,
        RSA_1_5 => return Err(Rejection::Rsa15),
        _ => return Err(Rejection::EncryptionAlgorithm(uri)),
    };
    let (mut digest, mut mgf1, mut label) = (Md::sha1(), Md::sha1(), None);
    for child in elements(method)? {
        if is(child, DSIG_NS, "DigestMethod") {
            digest = digest_of(
                &algorithm(child),
                &[(SHA1, Md::sha1()), (SHA256, Md::sha256())],
            )?;
        } else if mgf_allowed && is(child, XENC11_NS, "MGF") {
            mgf1 = digest_of(
                &algorithm(child),
                &[(MGF1_SHA1, Md::sha1()), (MGF1_SHA256, Md::sha256())],
            )?;
        } else if is(child, XENC_NS, "OAEPparams") {
            label = Some(base64(&child.get_content(), MAX_LABEL, "xenc:OAEPparams")?);
        } else if !is(child, XENC_NS, "KeySize") {
            return Err(unexpected(child));
        }
    }
    Ok((digest, mgf1, label))
}

fn digest_of(uri: &str, known: &[(&str, &'static MdRef)]) -> Result<&'static MdRef, Rejection> {
    known
        .iter()
        .find(|(name, _)| *name == uri)
        .map(|(_, md)| *md)
        .ok_or_else(|| Rejection::EncryptionAlgorithm(uri.to_owned()))
}

/// The bytes of a `CipherData`'s `CipherValue`, at most `max` of them.
fn cipher_value(data: RoNode, max: usize) -> Result<Vec<u8>, Rejection> {
    match elements(data)?[..] {
        [value] if is(value, XENC_NS, "CipherValue") => {
            base64(&value.get_content(), max, "xenc:CipherValue")
        }
        [other] => Err(unexpected(other)),
        _ => Err(missing("one xenc:CipherValue")),
    }
}

fn base64(text: &str, max: usize, what: &str) -> Result<Vec<u8>, Rejection> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let too_large = || Rejection::EncryptionElement(format!("an oversized {what}"));
    if compact.len() > max.div_ceil(3) * 4 {
        return Err(too_large());
    }
    let bytes = openssl::base64::decode_block(&compact)
        .map_err(|_| Rejection::EncryptionElement(format!("{what} that is not base64")))?;
    if bytes.len() > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The element children of `node`; text other than whitespace is refused (XML Encryption's
/// structures have none outside their values).
fn elements(node: RoNode) -> Result<Vec<RoNode>, Rejection> {
    let mut out = Vec::new();
    let mut child = node.get_first_child();
    while let Some(c) = child {
        match c.get_type() {
            Some(NodeType::ElementNode) => out.push(c),
            Some(NodeType::TextNode) if c.get_content().trim().is_empty() => {}
            _ => {
                return Err(Rejection::EncryptionElement(format!(
                    "text or markup in {}",
                    qualified(node)
                )));
            }
        }
        child = c.get_next_sibling();
    }
    Ok(out)
}

pub(crate) fn is(node: RoNode, namespace: &str, local: &str) -> bool {
    node.get_type() == Some(NodeType::ElementNode)
        && node.get_name() == local
        && node
            .get_namespace()
            .is_some_and(|ns| ns.get_href() == namespace)
}

fn algorithm(node: RoNode) -> String {
    node.get_attribute("Algorithm").unwrap_or_default()
}

fn qualified(node: RoNode) -> String {
    match node.get_namespace() {
        Some(ns) if !ns.get_prefix().is_empty() => {
            format!("{}:{}", ns.get_prefix(), node.get_name())
        }
        _ => node.get_name(),
    }
}

fn unexpected(node: RoNode) -> Rejection {
    Rejection::EncryptionElement(format!("'{}' where it is not allowed", qualified(node)))
}

fn missing(what: &str) -> Rejection {
    Rejection::EncryptionElement(format!("no {what}"))
}

#[cfg(test)]
mod tests;

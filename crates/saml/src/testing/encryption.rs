//! Encrypted test assertions, made as an IdP makes them and never by idgate: the `xmlsec1`
//! command encrypts, with an XML Encryption template; XML Encryption 1.1's `rsa-oaep`, which
//! xmlsec1 1.2 lacks, has its content key wrapped by the `openssl` command instead.

use std::path::Path;
use std::process::Command;

use super::{Claims, TestIdp, assertion_xml, response_around, signature_template};

/// How the content key is encrypted for the SP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTransport {
    /// `xmlenc#rsa-oaep-mgf1p`: OAEP with SHA-1 and MGF1 with SHA-1 (xmlsec1).
    OaepMgf1p,
    /// `xmlenc11#rsa-oaep` with a digest and an MGF1 digest, each `"sha1"` or `"sha256"`
    /// (the openssl command).
    Oaep {
        digest: &'static str,
        mgf1: &'static str,
    },
    /// `xmlenc#rsa-1_5`, RSA PKCS#1 v1.5 (xmlsec1).
    Rsa15,
}

/// How the assertion itself is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCipher {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

impl ContentCipher {
    pub const ALL: [ContentCipher; 4] = [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes256Gcm,
    ];

    /// The algorithm URI and xmlsec1's session key name.
    fn names(self) -> (&'static str, &'static str, usize) {
        match self {
            ContentCipher::Aes128Cbc => {
                ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128", 16)
            }
            ContentCipher::Aes256Cbc => {
                ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256", 32)
            }
            ContentCipher::Aes128Gcm => {
                ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128", 16)
            }
            ContentCipher::Aes256Gcm => {
                ("http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256", 32)
            }
        }
    }
}

/// An encryption as an IdP applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encryption {
    pub transport: KeyTransport,
    pub content: ContentCipher,
    /// The `EncryptedKey` beside the `EncryptedData`, pointed at by a `ds:RetrievalMethod` (the
    /// shape ADFS and Shibboleth send), instead of inside its KeyInfo.
    pub key_beside: bool,
}

impl Encryption {
    pub fn new(transport: KeyTransport, content: ContentCipher) -> Self {
        Self {
            transport,
            content,
            key_beside: false,
        }
    }
}

/// Which signatures an encrypted test response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// The assertion, signed before it is encrypted.
    Assertion,
    /// The Response, signed after the assertion is encrypted (so it covers the ciphertext).
    Response,
    Both,
    Neither,
}

/// A response for `c` whose assertion is encrypted for `sp_cert_pem`, signed by `idp` as `signing`
/// says.
pub fn encrypted_response(
    idp: &TestIdp,
    c: &Claims<'_>,
    sp_cert_pem: &str,
    how: Encryption,
    signing: Signing,
) -> String {
    let assertion_signed = matches!(signing, Signing::Assertion | Signing::Both);
    let mut response = response_around(c, &assertion_xml(c, assertion_signed));
    if assertion_signed {
        response = idp.sign(&response);
    }
    let encrypted = encrypt_assertion(&response, sp_cert_pem, how);
    if matches!(signing, Signing::Response | Signing::Both) {
        idp.sign(&with_response_signature(&encrypted))
    } else {
        encrypted
    }
}

/// `xml` with an empty signature template for its Response (before `samlp:Status`).
pub fn with_response_signature(xml: &str) -> String {
    let start = xml.find("<samlp:Response").expect("a Response");
    let id_at = start + xml[start..].find(" ID=\"").expect("a Response ID") + 5;
    let id = &xml[id_at..id_at + xml[id_at..].find('"').unwrap()];
    let template = signature_template(id, super::RSA_SHA256, super::SHA256);
    xml.replacen("<samlp:Status>", &format!("{template}<samlp:Status>"), 1)
}

/// Encrypts the `saml:Assertion` element of `response` (signed or not) for the SP certificate
/// `sp_cert_pem`: the response gets a `saml:EncryptedAssertion` in its place.
pub fn encrypt_assertion(response: &str, sp_cert_pem: &str, how: Encryption) -> String {
    let dir = super::tempfile_dir::Dir::new("idgate-test-encryption");
    let path = |name: &str| dir.0.join(name);
    let start = response.find("<saml:Assertion").expect("an assertion");
    let end =
        response.rfind("</saml:Assertion>").expect("an assertion") + "</saml:Assertion>".len();
    let data = format!(
        "{}<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>{}",
        &response[..start],
        &response[start..end],
        &response[end..]
    );
    std::fs::write(path("data.xml"), data).unwrap();
    std::fs::write(path("sp-cert.pem"), sp_cert_pem).unwrap();
    let (content, session, key_len) = how.content.names();
    let key_info = match how.transport {
        KeyTransport::OaepMgf1p => encrypted_key(
            "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>"#,
            "",
        ),
        KeyTransport::Rsa15 => encrypted_key("http://www.w3.org/2001/04/xmlenc#rsa-1_5", "", ""),
        KeyTransport::Oaep { .. } => "<ds:KeyName>content-key</ds:KeyName>".to_owned(),
    };
    std::fs::write(
        path("template.xml"),
        format!(
            r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="{content}"/><ds:KeyInfo>{key_info}</ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"#
        ),
    )
    .unwrap();
    let mut xmlsec = Command::new("xmlsec1");
    xmlsec.args([
        "--encrypt",
        "--node-name",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    ]);
    if let KeyTransport::Oaep { .. } = how.transport {
        run(Command::new("openssl")
            .args(["rand", "-out"])
            .arg(path("content.key"))
            .arg(key_len.to_string()));
        xmlsec.arg("--aeskey:content-key").arg(path("content.key"));
    } else {
        xmlsec.arg("--pubkey-cert-pem").arg(path("sp-cert.pem"));
        xmlsec.args(["--session-key", session]);
    }
    xmlsec.arg("--xml-data").arg(path("data.xml"));
    xmlsec
        .arg("--output")
        .arg(path("encrypted.xml"))
        .arg(path("template.xml"));
    run(&mut xmlsec);
    let mut xml = std::fs::read_to_string(path("encrypted.xml")).unwrap();
    if let KeyTransport::Oaep { digest, mgf1 } = how.transport {
        let wrapped = wrap_with_openssl(&dir.0, &path("content.key"), digest, mgf1);
        let digest_uri = match digest {
            "sha1" => "http://www.w3.org/2000/09/xmldsig#sha1",
            "sha256" => "http://www.w3.org/2001/04/xmlenc#sha256",
            other => panic!("no digest {other}"),
        };
        let key = encrypted_key(
            "http://www.w3.org/2009/xmlenc11#rsa-oaep",
            &format!(
                r#"<ds:DigestMethod Algorithm="{digest_uri}"/><xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="http://www.w3.org/2009/xmlenc11#mgf1{mgf1}"/>"#
            ),
            &wrapped,
        );
        xml = xml.replacen("<ds:KeyName>content-key</ds:KeyName>", &key, 1);
    }
    if how.key_beside {
        let from = xml.find("<xenc:EncryptedKey").unwrap();
        let to = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
        let key = xml[from..to].replacen(
            "<xenc:EncryptedKey",
            r#"<xenc:EncryptedKey Id="_test-key""#,
            1,
        );
        xml.replace_range(
            from..to,
            r##"<ds:RetrievalMethod Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#_test-key"/>"##,
        );
        xml = xml.replacen(
            "</xenc:EncryptedData>",
            &format!("</xenc:EncryptedData>{key}"),
            1,
        );
    }
    xml
}

/// An `EncryptedKey` (a template when `value` is empty), with its own namespace declarations so
/// that it can stand beside the `EncryptedData` too.
fn encrypted_key(algorithm: &str, parameters: &str, value: &str) -> String {
    format!(
        r#"<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptionMethod Algorithm="{algorithm}">{parameters}</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>{value}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"#
    )
}

/// The content key wrapped with RSA-OAEP by the openssl command, base64.
fn wrap_with_openssl(dir: &Path, key: &Path, digest: &str, mgf1: &str) -> String {
    let wrapped = dir.join("content.key.wrapped");
    run(Command::new("openssl")
        .args(["pkeyutl", "-encrypt", "-certin", "-inkey"])
        .arg(dir.join("sp-cert.pem"))
        .arg("-in")
        .arg(key)
        .arg("-out")
        .arg(&wrapped)
        .args(["-pkeyopt", "rsa_padding_mode:oaep"])
        .args(["-pkeyopt", &format!("rsa_oaep_md:{digest}")])
        .args(["-pkeyopt", &format!("rsa_mgf1_md:{mgf1}")]));
    openssl::base64::encode_block(&std::fs::read(wrapped).unwrap())
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .expect("xmlsec1 and openssl are installed (scripts/setup installs them)");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

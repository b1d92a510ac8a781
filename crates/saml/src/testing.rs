//! (feature `test-support`) A throw-away test IdP that signs SAML responses with the `xmlsec1`
//! command, and encrypts their assertions with it (`encryption`): tests must never sign or
//! encrypt with the code under test.

use std::process::Command;

/// The entity id test responses are issued by.
pub const IDP_ENTITY: &str = "https://idp.example.test/saml";

/// A test IdP: a throw-away key and certificate in a temporary directory.
#[derive(Debug)]
pub struct TestIdp {
    dir: tempfile_dir::Dir,
    pub cert_pem: String,
}

mod encryption;

pub use encryption::{
    ContentCipher, Encryption, KeyTransport, Signing, encrypt_assertion, encrypted_response,
    with_response_signature,
};

mod tempfile_dir {
    /// A directory removed when dropped.
    #[derive(Debug)]
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        /// A fresh directory under the system's temporary one.
        pub fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "{name}-{}",
                &idgate_store::token::generate().hash[..16]
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestIdp {
    pub fn new() -> Self {
        let pair = crate::keys::generate("throw-away test IdP").unwrap();
        Self::with_pair(&pair.key_pem, pair.cert_pem)
    }

    /// A test IdP whose throw-away certificate is valid from `from_days` to `until_days` days
    /// from now (negative: in the past): for certificate expiry.
    pub fn with_certificate_days(from_days: i64, until_days: i64) -> Self {
        use openssl::asn1::Asn1Time;
        let key =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(openssl::nid::Nid::COMMONNAME, "throw-away test IdP")
            .unwrap();
        let name = name.build();
        let at = |days: i64| {
            Asn1Time::from_unix(chrono::Utc::now().timestamp() + days * 86_400).unwrap()
        };
        let mut builder = openssl::x509::X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder.set_not_before(&at(from_days)).unwrap();
        builder.set_not_after(&at(until_days)).unwrap();
        builder
            .sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let cert_pem = String::from_utf8(builder.build().to_pem().unwrap()).unwrap();
        let key_pem = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        Self::with_pair(&key_pem, cert_pem)
    }

    fn with_pair(key_pem: &str, cert_pem: String) -> Self {
        let dir = tempfile_dir::Dir::new("idgate-test-idp");
        std::fs::write(dir.0.join("test-idp-key.pem"), key_pem).unwrap();
        std::fs::write(dir.0.join("test-idp-cert.pem"), &cert_pem).unwrap();
        Self { dir, cert_pem }
    }

    /// Signs every empty `ds:Signature` template of `xml` with xmlsec1.
    pub fn sign(&self, xml: &str) -> String {
        let dir = &self.dir.0;
        let template = dir.join("template.xml");
        let signed = dir.join("signed.xml");
        std::fs::write(&template, xml).unwrap();
        let key = format!(
            "{},{}",
            dir.join("test-idp-key.pem").display(),
            dir.join("test-idp-cert.pem").display()
        );
        let out = Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem", &key])
            .args([
                "--id-attr:ID",
                "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            ])
            .args([
                "--id-attr:ID",
                "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            ])
            .args([
                "--id-attr:ID",
                "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
            ])
            .arg("--output")
            .arg(&signed)
            .arg(&template)
            .output()
            .expect("xmlsec1 is installed (scripts/setup installs it)");
        assert!(
            out.status.success(),
            "xmlsec1: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(signed).unwrap()
    }
}

impl TestIdp {
    /// What importing this IdP's metadata stores: its entity id and certificate, sign-in by
    /// HTTP-POST at `https://idp.example.test/sso`, no single logout.
    pub fn settings(&self) -> idgate_store::sso::IdpSettings {
        idgate_store::sso::IdpSettings {
            entity_id: IDP_ENTITY.into(),
            metadata_xml: String::new(),
            sso_post_url: Some("https://idp.example.test/sso".into()),
            sso_redirect_url: None,
            slo_url: None,
            certs: vec![self.cert_pem.clone()],
        }
    }

    /// This IdP's metadata, as an admin would import it: its entity id, its signing
    /// certificate, sign-in by HTTP-POST at `https://idp.example.test/sso`.
    pub fn metadata_xml(&self) -> String {
        self.metadata(IDP_ENTITY, "")
    }

    /// This IdP's metadata as an `md:EntityDescriptor` named `entity_id`: its certificate,
    /// sign-in by HTTP-POST at `https://idp.example.test/sso`, and `extra` inside the
    /// `IDPSSODescriptor` (`SingleLogoutService` elements, say).
    pub fn metadata(&self, entity_id: &str, extra: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>{extra}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            cert = crate::keys::pem_body(&self.cert_pem),
        )
    }

    /// The throw-away private key (PEM), for signing Redirect-binding query strings.
    pub fn key_pem(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("test-idp-key.pem")).unwrap()
    }
}

impl Default for TestIdp {
    fn default() -> Self {
        Self::new()
    }
}

/// An empty enveloped-signature template for the element with `ID="{reference}"`.
pub fn signature_template(reference: &str, algorithm: &str, digest: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{algorithm}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##
    )
}

pub const EMAIL_ADDRESS: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// What a test response says.
#[derive(Debug, Clone)]
pub struct Claims<'a> {
    pub acs: &'a str,
    pub audience: &'a str,
    pub name_id: &'a str,
    /// The NameID's Format (emailAddress unless changed).
    pub name_id_format: &'a str,
    pub email: Option<&'a str>,
    pub in_response_to: Option<&'a str>,
    pub issuer: &'a str,
    /// Offset of the validity window from now, in seconds.
    pub shift_secs: i64,
    pub assertion_id: &'a str,
    /// (signature method, digest method) of the assertion's signature template.
    pub algorithms: (&'a str, &'a str),
    /// The `AuthnStatement`'s `SessionNotOnOrAfter`, in seconds from the (shifted) issue instant;
    /// none by default.
    pub session_not_on_or_after: Option<i64>,
}

impl<'a> Claims<'a> {
    pub fn new(acs: &'a str, audience: &'a str, assertion_id: &'a str) -> Self {
        Self {
            acs,
            audience,
            name_id: "jane@acme.test",
            name_id_format: EMAIL_ADDRESS,
            email: Some("jane@acme.test"),
            in_response_to: None,
            issuer: IDP_ENTITY,
            shift_secs: 0,
            assertion_id,
            algorithms: (RSA_SHA256, SHA256),
            session_not_on_or_after: None,
        }
    }
}

/// The assertion element alone (with an empty signature template when `signed`).
pub fn assertion_xml(c: &Claims<'_>, signed: bool) -> String {
    let now = chrono::Utc::now() + chrono::Duration::seconds(c.shift_secs);
    let t = |d: i64| {
        (now + chrono::Duration::seconds(d)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let irt = c
        .in_response_to
        .map(|id| format!(r#" InResponseTo="{id}""#))
        .unwrap_or_default();
    let attrs = c.email.map(|e| format!(
        r#"<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{e}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="firstname"><saml:AttributeValue>Jane</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"#
    )).unwrap_or_default();
    let session_end = c
        .session_not_on_or_after
        .map(|secs| format!(r#" SessionNotOnOrAfter="{}""#, t(secs)))
        .unwrap_or_default();
    let sig = if signed {
        signature_template(c.assertion_id, c.algorithms.0, c.algorithms.1)
    } else {
        String::new()
    };
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{acs}"{irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{from}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="s1"{session_end}><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>{attrs}</saml:Assertion>"#,
        id = c.assertion_id,
        now = t(0),
        from = t(-60),
        until = t(300),
        issuer = c.issuer,
        name_id = c.name_id,
        format = c.name_id_format,
        acs = c.acs,
        audience = c.audience,
    )
}

/// A Response around `inner` (an assertion, signed or not, or anything else).
pub fn response_around(c: &Claims<'_>, inner: &str) -> String {
    let now = (chrono::Utc::now() + chrono::Duration::seconds(c.shift_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let irt = c
        .in_response_to
        .map(|id| format!(r#" InResponseTo="{id}""#))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r{rid}" Version="2.0" IssueInstant="{now}" Destination="{acs}"{irt}><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#,
        rid = &idgate_store::token::generate().hash[..24],
        acs = c.acs,
        issuer = c.issuer,
    )
}

/// A response whose assertion is signed by `idp`.
pub fn signed_response(idp: &TestIdp, c: &Claims<'_>) -> String {
    idp.sign(&response_around(c, &assertion_xml(c, true)))
}

/// A response whose Response element (not its assertion) carries an empty signature template:
/// edit it if need be, then sign it with [`TestIdp::sign`].
pub fn response_signature_template(c: &Claims<'_>) -> String {
    let unsigned = response_around(c, &assertion_xml(c, false));
    let start = unsigned.find(r#" ID=""#).expect("the response has an ID") + r#" ID=""#.len();
    let id = &unsigned[start..start + unsigned[start..].find('"').expect("a quoted ID")];
    let template = signature_template(id, RSA_SHA256, SHA256);
    unsigned.replacen("<samlp:Status>", &format!("{template}<samlp:Status>"), 1)
}

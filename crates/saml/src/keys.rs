//! SP key material: an RSA key and a self-signed certificate per SSO method, as JumpCloud's
//! "SP Certificate" upload expects.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

/// A generated key and certificate, both PEM.
#[derive(Debug, Clone)]
pub struct SpKeyPair {
    pub key_pem: String,
    pub cert_pem: String,
}

/// How long a generated SP certificate is valid. IdPs do not check SP certificate expiry for
/// signature verification; rotation is an admin decision, not a deadline.
const VALID_DAYS: u32 = 3650;

/// Generates an RSA-2048 key and a self-signed SHA-256 certificate whose subject names the
/// method.
pub fn generate(common_name: &str) -> Result<SpKeyPair, openssl::error::ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    let cn: String = common_name.chars().take(64).collect();
    name.append_entry_by_nid(Nid::COMMONNAME, &cn)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "idgate SAML SP")?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(VALID_DAYS)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.sign(&key, MessageDigest::sha256())?;
    let cert = builder.build();
    Ok(SpKeyPair {
        key_pem: String::from_utf8(key.private_key_to_pem_pkcs8()?).expect("PEM is ASCII"),
        cert_pem: String::from_utf8(cert.to_pem()?).expect("PEM is ASCII"),
    })
}

/// The base64 DER body of a PEM certificate, as metadata's `X509Certificate` holds it.
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect()
}

/// A PEM certificate from metadata's base64 DER text; `None` when it is not a certificate.
pub fn pem_from_metadata(base64_der: &str) -> Option<String> {
    let compact: String = base64_der.chars().filter(|c| !c.is_whitespace()).collect();
    let der = openssl::base64::decode_block(&compact).ok()?;
    let cert = X509::from_der(&der).ok()?;
    String::from_utf8(cert.to_pem().ok()?).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_pairs_match_and_round_trip_through_metadata() {
        let pair = super::generate("https://sso.acme.test/api/rest/sso/saml/123456789012").unwrap();
        let key = openssl::pkey::PKey::private_key_from_pem(pair.key_pem.as_bytes()).unwrap();
        let cert = openssl::x509::X509::from_pem(pair.cert_pem.as_bytes()).unwrap();
        assert!(cert.public_key().unwrap().public_eq(&key));
        assert_eq!(key.bits(), 2048);
        let body = super::pem_body(&pair.cert_pem);
        assert_eq!(super::pem_from_metadata(&body).unwrap(), pair.cert_pem);
        assert!(super::pem_from_metadata("not base64!").is_none());
    }
}

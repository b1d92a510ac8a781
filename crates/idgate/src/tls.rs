//! HTTPS: the operator's certificate and key, or a self-signed pair generated into the data
//! directory the first time TLS is asked for without one (and reused afterwards).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};

use crate::config::{Config, Tls};

/// Where the generated certificate and key live.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// The acceptor for the configured TLS mode, or `None` for plain HTTP.
pub fn acceptor(config: &Config) -> anyhow::Result<Option<SslAcceptorBuilder>> {
    let (cert, key) = match &config.tls {
        Tls::Off => return Ok(None),
        Tls::Files { cert, key } => (cert.clone(), key.clone()),
        Tls::SelfSigned => {
            let (cert, key) = self_signed_paths(&config.data_dir);
            if !cert.exists() || !key.exists() {
                generate_self_signed(&config.base_url, &cert, &key)?;
                tracing::warn!(cert = %cert.display(), "generated a self-signed TLS certificate; browsers will warn until a real one is configured");
            }
            (cert, key)
        }
    };
    let mut builder =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).context("cannot initialise TLS")?;
    builder
        .set_private_key_file(&key, SslFiletype::PEM)
        .with_context(|| format!("cannot load TLS key {}", key.display()))?;
    builder
        .set_certificate_chain_file(&cert)
        .with_context(|| format!("cannot load TLS certificate {}", cert.display()))?;
    if builder.check_private_key().is_err() {
        bail!(
            "TLS key {} does not match certificate {}",
            key.display(),
            cert.display()
        );
    }
    Ok(Some(builder))
}

/// Writes a P-256 key and a one-year self-signed certificate for localhost and the base URL's
/// host. The key file is readable by its owner only.
pub fn generate_self_signed(
    base_url: &str,
    cert_path: &Path,
    key_path: &Path,
) -> anyhow::Result<()> {
    let key = new_key()?;
    let host = base_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("localhost")
        .trim_matches(['[', ']']);
    let cert = self_signed_cert(&key, host)?;
    if let Some(dir) = cert_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_private(key_path, &key.private_key_to_pem_pkcs8()?)?;
    std::fs::write(cert_path, cert.to_pem()?)
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    Ok(())
}

fn new_key() -> anyhow::Result<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn self_signed_cert(key: &PKey<Private>, host: &str) -> anyhow::Result<X509> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, host)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "idgate self-signed")?;
    let name = name.build();

    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;

    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(365)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    san.dns("localhost").ip("127.0.0.1").ip("::1");
    if host.parse::<std::net::IpAddr>().is_ok() {
        san.ip(host);
    } else if host != "localhost" {
        san.dns(host);
    }
    let san = san.build(&builder.x509v3_context(None, None))?;
    builder.append_extension(san)?;
    builder.sign(key, MessageDigest::sha256())?;
    Ok(builder.build())
}

fn write_private(path: &Path, pem: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(pem)
        .with_context(|| format!("cannot write {}", path.display()))
}

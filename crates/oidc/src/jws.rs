//! ID tokens as JWS compact serialisations (RFC 7515), signed RS256 (RSA PKCS#1 v1.5 with
//! SHA-256) or ES256 (ECDSA P-256 with SHA-256, the signature as `r || s`, RFC 7518 section
//! 3.4), with openssl: the library that already verifies SAML signatures here (see
//! docs/adr/0008). Keys are generated here and published as JWKs whose `kid` is the RFC 7638
//! thumbprint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idgate_store::oidc::{KeyAlg, NewKey, SigningKey};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer as OpenSigner, Verifier};
use serde_json::{Value, json};

/// Why a key could not be made or used, or a token not be signed.
#[derive(Debug)]
pub struct JwsError(pub String);

impl std::fmt::Display for JwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JwsError {}

impl From<openssl::error::ErrorStack> for JwsError {
    fn from(err: openssl::error::ErrorStack) -> Self {
        JwsError(err.to_string())
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh key pair for `alg`: RSA-2048 for RS256, P-256 for ES256.
pub fn generate(alg: KeyAlg) -> Result<NewKey, JwsError> {
    let (key, jwk) = match alg {
        KeyAlg::Rs256 => {
            let rsa = Rsa::generate(2048)?;
            let members = json!({
                "e": b64(&rsa.e().to_vec()),
                "kty": "RSA",
                "n": b64(&rsa.n().to_vec()),
            });
            (PKey::from_rsa(rsa)?, members)
        }
        KeyAlg::Es256 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            let ec = EcKey::generate(&group)?;
            let (x, y) = coordinates(&ec)?;
            let members = json!({
                "crv": "P-256",
                "kty": "EC",
                "x": b64(&x),
                "y": b64(&y),
            });
            (PKey::from_ec_key(ec)?, members)
        }
    };
    // RFC 7638: the thumbprint is over the required members, in lexicographic order, with no
    // whitespace, which is how serde_json writes a json! object (its maps are sorted).
    let kid = b64(&openssl::sha::sha256(jwk.to_string().as_bytes()));
    let mut public = jwk;
    public["kid"] = Value::String(kid.clone());
    public["use"] = Value::String("sig".to_owned());
    public["alg"] = Value::String(alg.as_str().to_owned());
    let pem = key.private_key_to_pem_pkcs8()?;
    Ok(NewKey {
        kid,
        alg,
        private_key_pem: String::from_utf8(pem).map_err(|e| JwsError(e.to_string()))?,
        public_jwk: public.to_string(),
    })
}

fn coordinates<T: openssl::pkey::HasPublic>(ec: &EcKey<T>) -> Result<(Vec<u8>, Vec<u8>), JwsError> {
    let mut ctx = BigNumContext::new()?;
    let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
    Ok((x.to_vec_padded(32)?, y.to_vec_padded(32)?))
}

/// The signing half of a stored key.
pub struct Signer {
    kid: String,
    alg: KeyAlg,
    key: PKey<Private>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn of(stored: &SigningKey) -> Result<Self, JwsError> {
        let key = PKey::private_key_from_pem(stored.private_key_pem.as_bytes())?;
        Ok(Self {
            kid: stored.kid.clone(),
            alg: stored.alg,
            key,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `claims` as a signed JWT.
    pub fn sign(&self, claims: &Value) -> Result<String, JwsError> {
        let header = json!({ "alg": self.alg.as_str(), "typ": "JWT", "kid": self.kid });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signer = OpenSigner::new(MessageDigest::sha256(), &self.key)?;
        let der = signer.sign_oneshot_to_vec(input.as_bytes())?;
        let signature = match self.alg {
            KeyAlg::Rs256 => der,
            KeyAlg::Es256 => {
                let sig = EcdsaSig::from_der(&der)?;
                let mut raw = sig.r().to_vec_padded(32)?;
                raw.extend(sig.s().to_vec_padded(32)?);
                raw
            }
        };
        Ok(format!("{input}.{}", b64(&signature)))
    }
}

/// The public key of a published JWK.
fn public_key(jwk: &Value) -> Result<PKey<Public>, JwsError> {
    let member = |name: &str| -> Result<Vec<u8>, JwsError> {
        jwk[name]
            .as_str()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| JwsError(format!("the key has no usable '{name}'")))
    };
    match jwk["kty"].as_str() {
        Some("RSA") => {
            let rsa = Rsa::from_public_components(
                BigNum::from_slice(&member("n")?)?,
                BigNum::from_slice(&member("e")?)?,
            )?;
            Ok(PKey::from_rsa(rsa)?)
        }
        Some("EC") => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            let x = BigNum::from_slice(&member("x")?)?;
            let y = BigNum::from_slice(&member("y")?)?;
            let ec = EcKey::from_public_key_affine_coordinates(&group, &x, &y)?;
            Ok(PKey::from_ec_key(ec)?)
        }
        _ => Err(JwsError("the key's type is unknown".to_owned())),
    }
}

/// The claims of a token idgate signed with one of `keys`, whatever its times say (an
/// `id_token_hint` may have expired). `None` when the token is not one of idgate's.
pub fn verified_claims(token: &str, keys: &[SigningKey]) -> Option<Value> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let kid = header["kid"].as_str()?;
    let key = keys.iter().find(|k| k.kid == kid)?;
    // The algorithm is the key's, never the header's choice.
    if header["alg"].as_str()? != key.alg.as_str() {
        return None;
    }
    let jwk: Value = serde_json::from_str(&key.public_jwk).ok()?;
    let public = public_key(&jwk).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let der = match key.alg {
        KeyAlg::Rs256 => signature,
        KeyAlg::Es256 => {
            if signature.len() != 64 {
                return None;
            }
            let r = BigNum::from_slice(&signature[..32]).ok()?;
            let s = BigNum::from_slice(&signature[32..]).ok()?;
            EcdsaSig::from_private_components(r, s)
                .ok()?
                .to_der()
                .ok()?
        }
    };
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).ok()?;
    let input = format!(
        "{header_b64}.{payload}",
        header_b64 = token.split('.').next()?
    );
    if !verifier.verify_oneshot(&der, input.as_bytes()).ok()? {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::{Signer, generate, verified_claims};
    use idgate_store::oidc::{KeyAlg, SigningKey};
    use serde_json::json;

    fn stored(alg: KeyAlg) -> SigningKey {
        let new = generate(alg).expect("key");
        SigningKey {
            kid: new.kid,
            alg: new.alg,
            private_key_pem: new.private_key_pem,
            public_jwk: new.public_jwk,
            created_at: 0,
            retired_at: None,
        }
    }

    #[test]
    fn tokens_verify_with_their_key_only() {
        for alg in [KeyAlg::Rs256, KeyAlg::Es256] {
            let key = stored(alg);
            let other = stored(alg);
            let token = Signer::of(&key)
                .unwrap()
                .sign(&json!({"sub": "u1"}))
                .unwrap();
            let claims = verified_claims(&token, std::slice::from_ref(&key)).expect("verifies");
            assert_eq!(claims["sub"], "u1");
            // Another key of the same kid-less set: refused.
            assert!(verified_claims(&token, std::slice::from_ref(&other)).is_none());
            // A changed payload: refused.
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = super::b64(br#"{"sub":"admin"}"#);
            parts[1] = &forged;
            assert!(verified_claims(&parts.join("."), std::slice::from_ref(&key)).is_none());
            // alg none: refused.
            let none = format!(
                "{}.{}.",
                super::b64(format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid).as_bytes()),
                super::b64(br#"{"sub":"u1"}"#)
            );
            assert!(verified_claims(&none, &[key]).is_none());
        }
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        let key = stored(KeyAlg::Rs256);
        let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap(),
            jwk["n"].as_str().unwrap()
        );
        assert_eq!(
            key.kid,
            super::b64(&openssl::sha::sha256(canonical.as_bytes()))
        );
        assert_eq!(jwk["e"], "AQAB");
    }
}

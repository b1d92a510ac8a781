//! Bearer secrets (SCIM tokens, session cookies): 256 random bits, shown once, stored as a
//! SHA-256 hash, compared in constant time.

/// A fresh secret: give `token` out once, store `hash`.
#[derive(Debug)]
pub struct NewToken {
    pub token: String,
    pub hash: String,
}

/// Generates a token (43 URL-safe characters carrying 256 random bits).
pub fn generate() -> NewToken {
    let mut bytes = [0u8; 32];
    openssl::rand::rand_bytes(&mut bytes).expect("the system random generator works");
    let token = openssl::base64::encode_block(&bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    let hash = hash(&token);
    NewToken { token, hash }
}

/// Hex SHA-256 of a token. A fast hash suffices: the token has 256 bits of entropy.
pub fn hash(token: &str) -> String {
    openssl::sha::sha256(token.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            use std::fmt::Write;
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Whether `presented` is the token whose hash is `stored_hash`, in constant time.
pub fn matches(presented: &str, stored_hash: &str) -> bool {
    let presented = hash(presented);
    presented.len() == stored_hash.len()
        && openssl::memcmp::eq(presented.as_bytes(), stored_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_carry_256_bits_and_only_their_hash_matches() {
        let a = super::generate();
        let b = super::generate();
        assert_eq!(a.token.len(), 43);
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash.len(), 64);
        assert!(super::matches(&a.token, &a.hash));
        assert!(!super::matches(&b.token, &a.hash));
        assert!(!super::matches("", &a.hash));
    }
}

//! How idgate compares identities: userNames, email addresses, team names and email domains.
//!
//! Every comparison is case-insensitive for the ASCII letters only, and computed once, here, in
//! Rust: the key is stored in an indexed column beside the value and compared there, so SQLite
//! and PostgreSQL (whose `lower()` folds different characters) agree about who a user is. A
//! non-ASCII character matches only itself: `Jöran` and `JÖRAN` are two accounts.

use std::fmt;

/// The comparison key of a userName, an email address or a team name: ASCII letters in lower
/// case, every other character as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(String);

impl IdentityKey {
    pub fn of(raw: &str) -> Self {
        Self(raw.to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a userName, email address or NameID can name someone: no control character (a CR,
/// a DEL, a C1 control). Proxies and logs drop or mangle those, so two different values would
/// reach an application as one.
pub fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// An email domain such as `acme.com`: at least two labels of ASCII letters, digits and inner
/// hyphens, kept in lower case. Parsed from what an admin types (`@Acme.COM`, a trailing dot)
/// or from the part of an address after its last `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailDomain(String);

impl EmailDomain {
    /// A domain as an admin or a user types it: surrounding spaces, a leading `@` and a
    /// trailing dot are ignored.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut domain = raw.trim();
        domain = domain.strip_prefix('@').unwrap_or(domain);
        domain = domain.strip_suffix('.').unwrap_or(domain);
        let labels: Vec<&str> = domain.split('.').collect();
        let valid = domain.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if valid {
            Ok(Self(domain.to_ascii_lowercase()))
        } else {
            Err(format!(
                "'{}' is not an email domain such as acme.com",
                raw.trim()
            ))
        }
    }

    /// The domain of an email address (what follows its last `@`); `None` when the text is not
    /// an address or its domain is not one.
    pub fn of_address(address: &str) -> Option<Self> {
        let (local, domain) = address.trim().rsplit_once('@')?;
        if local.is_empty() {
            return None;
        }
        Self::parse(domain).ok()
    }

    /// The domain of an email address, or a bare domain (what the `/login` prompt accepts).
    pub fn of_address_or_domain(input: &str) -> Option<Self> {
        if input.contains('@') {
            Self::of_address(input)
        } else {
            Self::parse(input).ok()
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for EmailDomain {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for EmailDomain {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{EmailDomain, IdentityKey};

    #[test]
    fn keys_fold_ascii_letters_only() {
        assert_eq!(
            IdentityKey::of("Jane.Doe@ACME.test").as_str(),
            "jane.doe@acme.test"
        );
        assert_eq!(IdentityKey::of("JÖRAN").as_str(), "jÖran");
        assert_ne!(IdentityKey::of("Jöran"), IdentityKey::of("JÖRAN"));
        // The Kelvin sign and the dotted capital I are not ASCII letters: they stay.
        assert_eq!(IdentityKey::of("\u{212a}im").as_str(), "\u{212a}im");
        assert_ne!(IdentityKey::of("\u{212a}im"), IdentityKey::of("kim"));
        assert_ne!(IdentityKey::of("\u{130}da"), IdentityKey::of("ida"));
    }

    #[test]
    fn identities_are_printable() {
        assert!(super::printable("Jöran.Doe@acme.test"));
        for bad in [
            "alice@acme.com\u{7f}",
            "a\r\nb",
            "alice\u{85}@acme.com",
            "\u{9f}",
        ] {
            assert!(!super::printable(bad), "{bad:?}");
        }
    }

    #[test]
    fn domains_parse_as_admins_type_them() {
        for raw in ["acme.com", "@Acme.COM", " acme.com. ", "ACME.com"] {
            assert_eq!(
                EmailDomain::parse(raw).unwrap().as_str(),
                "acme.com",
                "{raw}"
            );
        }
        for raw in [
            "acme",
            "",
            "@",
            "acme..com",
            "-acme.com",
            "acme.com-",
            "ac me.com",
            "äcme.com",
            "acme.com..",
        ] {
            assert!(EmailDomain::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn domains_of_addresses() {
        assert_eq!(
            EmailDomain::of_address("Jane@Acme.COM").unwrap().as_str(),
            "acme.com"
        );
        assert_eq!(
            EmailDomain::of_address("a@b@acme.com").unwrap().as_str(),
            "acme.com"
        );
        assert_eq!(EmailDomain::of_address("jane"), None);
        assert_eq!(EmailDomain::of_address("@acme.com"), None);
        assert_eq!(EmailDomain::of_address("jane@<script>.com"), None);
        assert_eq!(
            EmailDomain::of_address("jane@acme.com."),
            EmailDomain::parse("acme.com").ok()
        );
        assert_eq!(
            EmailDomain::of_address_or_domain("acme.com")
                .unwrap()
                .as_str(),
            "acme.com"
        );
        assert_eq!(EmailDomain::of_address_or_domain("jane"), None);
    }
}

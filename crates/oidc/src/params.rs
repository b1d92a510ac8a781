//! Request parameters as OAuth 2.0 reads them: `application/x-www-form-urlencoded`, each
//! parameter at most once (RFC 6749 section 3.1), an empty value the same as an absent one.

use std::collections::BTreeMap;

/// The parameters of a query string or a form body.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    values: BTreeMap<String, String>,
    /// The first parameter given more than once, if any.
    pub repeated: Option<String>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Self {
        let mut params = Params::default();
        for (key, value) in url::form_urlencoded::parse(raw) {
            if value.is_empty() {
                continue;
            }
            if params
                .values
                .insert(key.clone().into_owned(), value.into_owned())
                .is_some()
                && params.repeated.is_none()
            {
                params.repeated = Some(key.into_owned());
            }
        }
        params
    }

    /// Whether these are the fields of one of idgate's own confirmation forms (`confirm=yes`),
    /// posted from idgate's origin: another site's post does not confirm (nor does it carry the
    /// session cookie, SameSite=Lax).
    pub fn confirmed_by_own_form(
        &self,
        req: &actix_web::HttpRequest,
        base: &idgate_store::PublicBaseUrl,
    ) -> bool {
        self.get("confirm") == Some("yes")
            && req
                .headers()
                .get(actix_web::http::header::ORIGIN)
                .is_none_or(|o| idgate_saml::session::same_origin_as(o.as_bytes(), base))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every parameter but those named (for a form that asks again and carries the rest).
    pub fn except<'a>(&'a self, skip: &'a [&str]) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.values
            .iter()
            .filter(move |(k, _)| !skip.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn repeated_and_empty_parameters() {
        let p = Params::parse(b"a=1&b=&a=2&c=%20x");
        assert_eq!(p.repeated.as_deref(), Some("a"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x"));
    }
}

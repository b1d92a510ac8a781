use std::io::Write;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn toml_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    file
}

#[test]
fn no_configuration_means_loopback_8080_and_sqlite_in_idgate_data() {
    let config = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.base_url, "http://127.0.0.1:8080");
    assert_eq!(config.data_dir, PathBuf::from("./idgate-data"));
    assert_eq!(
        config.database_url.to_string(),
        "sqlite://./idgate-data/idgate.db"
    );
    assert!(config.database_is_default);
    assert_eq!(config.tls, Tls::Off);
    assert_eq!(config.log.format, LogFormat::Text);
}

#[test]
fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
    let file = toml_file(
        "listen = \"0.0.0.0:9000\"\nbase_url = \"https://sso.acme.test/\"\n\
         [database]\nurl = \"sqlite:///var/lib/idgate/a.db\"\npool_size = 3\n\
         [log]\nformat = \"json\"\n",
    );
    let config = Config::load_from(
        Some(file.path()),
        env(&[
            ("IDGATE_DATABASE_URL", "postgres://idgate:pw@db/idgate"),
            ("IDGATE_DATABASE_POOL_SIZE", "12"),
        ]),
    )
    .unwrap();
    assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(config.base_url, "https://sso.acme.test");
    assert_eq!(
        config.database_url.to_string(),
        "postgres://idgate:***@db/idgate"
    );
    assert!(!config.database_is_default);
    assert_eq!(config.pool_size, 12);
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn secrets_can_come_from_files() {
    let secret = toml_file("postgres://idgate:from-file@db/idgate\n");
    let path = secret.path().to_str().unwrap();
    let config = Config::load_from(None, env(&[("IDGATE_DATABASE_URL_FILE", path)])).unwrap();
    assert_eq!(
        config.database_url.to_string(),
        "postgres://idgate:***@db/idgate"
    );
    assert_eq!(
        config.database_url,
        idgate_store::DatabaseUrl::parse("postgres://idgate:from-file@db/idgate").unwrap()
    );

    let both = Config::load_from(
        None,
        env(&[
            ("IDGATE_DATABASE_URL_FILE", path),
            ("IDGATE_DATABASE_URL", "sqlite://x.db"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        both.to_string(),
        "set IDGATE_DATABASE_URL or IDGATE_DATABASE_URL_FILE, not both"
    );

    let missing = Config::load_from(
        None,
        env(&[("IDGATE_DATABASE_URL_FILE", "/nonexistent/secret")]),
    )
    .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("cannot read IDGATE_DATABASE_URL_FILE file /nonexistent/secret"),
        "{missing}"
    );
}

#[test]
fn an_unknown_key_in_the_file_is_refused_by_name() {
    let file = toml_file("lisen = \"127.0.0.1:1\"\n");
    let err = Config::load_from(Some(file.path()), env(&[])).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("invalid configuration:"), "{message}");
    assert!(message.contains("lisen"), "{message}");

    let nested = toml_file("[database]\nurl = \"sqlite://a.db\"\npoolsize = 2\n");
    let err = Config::load_from(Some(nested.path()), env(&[])).unwrap_err();
    assert!(err.to_string().contains("poolsize"), "{err}");
}

#[test]
fn unknown_environment_variables_are_reported_not_fatal() {
    let config =
        Config::load_from(None, env(&[("IDGATE_LISTN", "x"), ("IDGATE_CONFIG", "y")])).unwrap();
    assert_eq!(
        config.warnings,
        ["ignoring unknown environment variable IDGATE_LISTN"]
    );
}

#[test]
fn a_missing_config_file_is_an_error() {
    let err = Config::load_from(Some(Path::new("/nonexistent/idgate.toml")), env(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read config file /nonexistent/idgate.toml: no such file"
    );
}

#[test]
fn bad_values_are_refused_with_one_readable_line() {
    let cases = [
        (
            "IDGATE_LISTEN",
            "localhost",
            "invalid listen address 'localhost'",
        ),
        ("IDGATE_LISTEN", "127.0.0.1:99999", "invalid listen address"),
        (
            "IDGATE_DATABASE_URL",
            "mysql://x",
            "unsupported scheme 'mysql'",
        ),
        (
            "IDGATE_BASE_URL",
            "sso.acme.test",
            "invalid base_url 'sso.acme.test'",
        ),
        (
            "IDGATE_DATABASE_POOL_SIZE",
            "0",
            "pool_size must be at least 1",
        ),
        (
            "IDGATE_TLS_CERT",
            "/x.pem",
            "tls.cert and tls.key must be given together",
        ),
    ];
    for (var, value, expected) in cases {
        let err = Config::load_from(None, env(&[(var, value)])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(expected), "{var}={value}: {message}");
        assert!(!message.contains('\n'), "{var}={value}: {message}");
    }
}

#[test]
fn tls_without_files_means_a_self_signed_certificate_and_https() {
    let config = Config::load_from(None, env(&[("IDGATE_TLS", "true")])).unwrap();
    assert_eq!(config.tls, Tls::SelfSigned);
    assert_eq!(config.base_url, "https://127.0.0.1:8080");
}

#[test]
fn an_unwritable_data_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let data_dir = blocker.join("data");
    let config = Config::load_from(
        None,
        env(&[("IDGATE_DATA_DIR", data_dir.to_str().unwrap())]),
    )
    .unwrap();
    let err = config.ensure_data_dir().unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot create data directory {}",
            data_dir.display()
        )),
        "{err}"
    );
}

//! Building and running the HTTP server: one route table for the whole product.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use actix_web_prom::PrometheusMetricsBuilder;
use anyhow::Context;
use idgate_store::{PoolOptions, Store};
use tracing_actix_web::TracingLogger;

use openssl::ssl::SslAcceptorBuilder;

use crate::config::{Config, Tls, default_base_url};
use crate::{console, ops, pages, tls};

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How often expired sessions, AuthnRequests and assertion ids are removed.
const PURGE_EVERY: Duration = Duration::from_secs(15 * 60);

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    port: u16,
    base_url: String,
    store: Store,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Opens the configured database (creating the default data directory when it is used) and
/// applies migrations when `migrate` is set.
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<Store> {
    if config.database_is_default {
        config.ensure_data_dir()?;
    }
    let url = config.database_url.clone();
    let options = PoolOptions {
        max_size: config.pool_size,
        connect_timeout: Duration::from_secs(config.connect_timeout_secs),
    };
    let store = tokio::task::spawn_blocking(move || Store::open(&url, &options, migrate))
        .await
        .context("database start-up was interrupted")??;
    Ok(store)
}

impl Application {
    /// Binds the listener, then opens and migrates the database: a port in use or a bad TLS
    /// file is reported before anything touches the database.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        idgate_saml::self_test().map_err(anyhow::Error::msg)?;
        let (config, listener, acceptor) = bind(config)?;
        let store = open_store(&config, true).await?;
        if let Some(token) = console::issue_setup_token(&store).await? {
            tracing::warn!(
                "no administrator yet: create the first one at {}/console/setup?token={token} (this link works once)",
                config.base_url
            );
        }
        Self::assemble(config, store, listener, acceptor)
    }

    /// Binds the listener for an already opened store.
    pub fn build_with_store(config: Config, store: Store) -> anyhow::Result<Self> {
        let (config, listener, acceptor) = bind(config)?;
        Self::assemble(config, store, listener, acceptor)
    }

    fn assemble(
        config: Config,
        store: Store,
        listener: TcpListener,
        acceptor: Option<SslAcceptorBuilder>,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let metrics = PrometheusMetricsBuilder::new("idgate")
            .endpoint("/metrics")
            // Route patterns label the series; unmatched paths (scanners, typos) share one
            // label instead of growing the series without bound.
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up metrics: {e}"))?;

        let base_url = config.base_url.clone();
        let public_base = web::Data::new(idgate_store::PublicBaseUrl(base_url.clone()));
        let config = web::Data::new(config);
        let purge_store = store.clone();
        let store = web::Data::new(store);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(metrics.clone())
                .wrap(TracingLogger::<crate::telemetry::RedactedRootSpan>::new())
                .app_data(config.clone())
                .app_data(store.clone())
                .app_data(public_base.clone())
                .configure(routes)
        })
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        let server = match acceptor {
            Some(acceptor) => server.listen_openssl(listener, acceptor)?,
            None => server.listen(listener)?,
        }
        .run();
        Ok(Self {
            server,
            port,
            base_url,
            store: purge_store,
        })
    }

    /// The port actually bound (useful when the configuration asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!(base_url = %self.base_url, port = self.port, "idgate is serving");
        let purger = tokio::spawn(purge_periodically(self.store.clone()));
        let result = self.server.await;
        purger.abort();
        tracing::info!("idgate stopped");
        result
    }
}

/// Removes expired sessions, AuthnRequests and used assertion ids now and then, and (hourly)
/// records the IdP certificates that expire soon. Every replica runs it; the deletes are
/// idempotent, and a method's certificate event is recorded at most once a day.
async fn purge_periodically(store: Store) {
    let mut ticks = tokio::time::interval(PURGE_EVERY);
    let mut certificates_checked: Option<tokio::time::Instant> = None;
    loop {
        ticks.tick().await;
        if certificates_checked.is_none_or(|at| at.elapsed() >= crate::certificates::CHECK_EVERY) {
            certificates_checked = Some(tokio::time::Instant::now());
            match crate::certificates::check_all(&store, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::warn!(count, "IdP signing certificates expire soon"),
                Err(err) => tracing::warn!(error = %err, "cannot check IdP certificates"),
            }
        }
        let purged = store
            .run(|c| {
                Ok(idgate_store::saml_state::purge_expired(c)?
                    + idgate_store::sessions::purge_expired(c)?
                    + idgate_store::admins::purge_expired_sessions(c)?
                    + idgate_store::oidc::purge_expired(
                        c,
                        idgate_store::now_millis()
                            - idgate_oidc::keys::KEPT_AFTER_RETIREMENT_SECONDS * 1000,
                    )?)
            })
            .await;
        match purged {
            Ok(0) => {}
            Ok(count) => tracing::debug!(count, "expired SAML state and sessions removed"),
            Err(err) => tracing::warn!(error = %err, "cannot remove expired SAML state"),
        }
    }
}

/// Prepares TLS and binds the listening socket. When the configuration asked for port 0 and
/// derived its base URL, the base URL takes the port actually bound.
fn bind(mut config: Config) -> anyhow::Result<(Config, TcpListener, Option<SslAcceptorBuilder>)> {
    if config.tls == Tls::SelfSigned {
        config.ensure_data_dir()?;
    }
    let acceptor = tls::acceptor(&config)?;
    let listener = TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    if config.base_url_is_default {
        config.base_url = default_base_url(listener.local_addr()?, config.tls != Tls::Off);
    }
    Ok((config, listener, acceptor))
}

/// The whole HTTP surface, mounted in one place.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::index))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .configure(console::configure)
        .configure(idgate_saml::configure)
        .configure(idgate_oidc::configure)
        .configure(idgate_scim::configure);
}

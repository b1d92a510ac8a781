//! `idgate sso …`: SAML SSO methods (create, import IdP metadata, settings, exports).

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use idgate_saml::idp;
use idgate_saml::sp::{self, SpUrls};
use idgate_store::sso::{self, RequireSigned, SettingsChange, SsoMethod};
use idgate_store::{NodeId, SsoId, Store};
use serde_json::json;

use super::{Output, Switch};
use crate::actions::{self, ActionError, Actor, NewSso};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Create an SSO method with a fresh 12-digit id, SP key and certificate.
    Create {
        node_id: NodeId,
        #[arg(long)]
        name: String,
        /// A custom SP entity id (default: the method's /api/rest/sso/saml/<ssoId> URL).
        #[arg(long)]
        entity_id: Option<String>,
        /// Accept sign-ins started at the IdP (JumpCloud's User Console tile needs it). Off by
        /// default: an unsolicited response can sign a browser in as someone else (login CSRF).
        #[arg(long, value_enum, default_value = "off")]
        idp_initiated: Switch,
        #[command(flatten)]
        output: Output,
    },
    /// Import the IdP's metadata (JumpCloud: SSO tab → Export Metadata); the method's sessions
    /// end.
    ImportIdp {
        sso_id: SsoId,
        file: PathBuf,
        /// The identity provider to import, when the metadata describes several.
        #[arg(long)]
        entity_id: Option<String>,
    },
    /// Change settings.
    Set(SetArgs),
    /// Print the SP metadata XML.
    ExportMetadata { sso_id: SsoId },
    /// Print the SP certificate (PEM).
    ExportCert { sso_id: SsoId },
    /// Give the method a new SP key and certificate (give the IdP the new metadata after).
    RotateCert { sso_id: SsoId },
    /// Delete the method: sign-in through it stops and its sessions end; accounts stay.
    Delete {
        sso_id: SsoId,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Show the method: URLs to give the IdP, imported IdP, settings.
    Show {
        sso_id: SsoId,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    pub sso_id: SsoId,
    #[arg(long, value_enum)]
    pub jit: Option<Switch>,
    #[arg(long, value_enum)]
    pub idp_initiated: Option<Switch>,
    /// Allowed clock difference with the IdP, in seconds.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=3600))]
    pub clock_skew: Option<i32>,
    /// Reserve an email domain for routing (repeatable).
    #[arg(long = "domain")]
    pub domains: Vec<String>,
    #[arg(long, value_enum)]
    pub sign_requests: Option<Switch>,
    #[arg(long, value_enum)]
    pub allow_sha1: Option<Switch>,
    #[arg(long, value_enum)]
    pub require_signed: Option<Signed>,
    /// Accept only encrypted assertions (the IdP encrypts for the SP certificate).
    #[arg(long, value_enum)]
    pub require_encryption: Option<Switch>,
    /// The assertion attribute holding the email (default: email, Email, the common URIs;
    /// an empty value returns to the defaults).
    #[arg(long)]
    pub email_attribute: Option<String>,
    /// The attribute holding the first name (default: firstname, First, givenName, …).
    #[arg(long)]
    pub first_name_attribute: Option<String>,
    /// The attribute holding the last name (default: lastname, Last, sn, …).
    #[arg(long)]
    pub last_name_attribute: Option<String>,
    /// The application (client id) IdP-initiated sign-ins go to: after the sign-in the
    /// browser goes to its initiate-login URI, and it starts its own OIDC sign-in.
    #[arg(long, value_name = "CLIENT_ID", conflicts_with = "no_default_app")]
    pub default_app: Option<String>,
    /// IdP-initiated sign-ins go to idgate's start page again.
    #[arg(long)]
    pub no_default_app: bool,
}

#[derive(Debug, Subcommand)]
pub enum SamlCommand {
    /// Validate a captured SAML response offline with the rules the assertion consumer uses;
    /// prints the verdict as JSON. Exit 0: accepted; 1: rejected; 2: usage.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The IdP's metadata (its entity id and signing certificates are used).
    #[arg(long)]
    idp_metadata: PathBuf,
    /// The identity provider to use, when the metadata describes several.
    #[arg(long)]
    idp_entity_id: Option<String>,
    #[arg(long)]
    sp_entity_id: String,
    /// The ACS URL the response was posted to.
    #[arg(long)]
    acs_url: String,
    /// The instant to validate at (RFC 3339); default now.
    #[arg(long)]
    now: Option<String>,
    /// The AuthnRequest id the response must answer; without it, only IdP-initiated
    /// responses are accepted.
    #[arg(long)]
    in_response_to: Option<String>,
    #[arg(long)]
    allow_sha1: bool,
    /// The SP's private key (PEM), to decrypt an encrypted assertion (`sso show` names the
    /// method's certificate; the key is the one the method was created or rotated with).
    #[arg(long)]
    sp_key: Option<PathBuf>,
    /// Allowed clock difference, in seconds.
    #[arg(long, default_value_t = 180)]
    clock_skew: u32,
    /// The response: raw XML or base64 (as posted in SAMLResponse).
    response_file: PathBuf,
}

/// `idgate saml check`.
pub fn check(args: &CheckArgs) -> anyhow::Result<()> {
    use idgate_saml::validate::{self, Expectations};
    let usage = |message: String| anyhow::Error::new(super::UsageError(message));
    let metadata = std::fs::read_to_string(&args.idp_metadata)
        .map_err(|e| usage(format!("cannot read {}: {e}", args.idp_metadata.display())))?;
    let now = match &args.now {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| usage(format!("--now '{text}' is not an RFC 3339 instant: {e}")))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    // The metadata is judged at the same instant as the response (its validUntil).
    let idp = idp::import_entity(&metadata, args.idp_entity_id.as_deref(), now).map_err(|e| {
        usage(format!(
            "cannot import {}: {e}",
            args.idp_metadata.display()
        ))
    })?;
    let raw = std::fs::read_to_string(&args.response_file)
        .map_err(|e| usage(format!("cannot read {}: {e}", args.response_file.display())))?;
    let sp_key = args
        .sp_key
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path)
                .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
        })
        .transpose()?;
    let expect = Expectations {
        idp_entity_id: &idp.entity_id,
        idp_certs: &idp.certs,
        sp_entity_id: &args.sp_entity_id,
        acs_url: &args.acs_url,
        now,
        clock_skew: chrono::Duration::seconds(i64::from(args.clock_skew)),
        allow_sha1: args.allow_sha1,
        require_signed: RequireSigned::Either,
        sp_key_pem: sp_key.as_deref(),
        require_encryption: false,
    };
    let verdict = validate::decode(&raw)
        .and_then(|xml| validate::validate(&xml, &expect))
        .and_then(|verified| {
            validate::check_in_response_to(
                &verified,
                args.in_response_to.as_deref(),
                args.in_response_to.is_none(),
            )
            .map(|()| verified)
        });
    match verdict {
        Ok(verified) => {
            println!("{}", json!({"accepted": true, "identity": verified}));
            Ok(())
        }
        Err(rejection) => {
            println!(
                "{}",
                json!({"accepted": false, "rule": rejection.code(), "reason": rejection.to_string()})
            );
            bail!("the response was rejected: {rejection}")
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Signed {
    Response,
    Assertion,
    Either,
}

pub async fn run(store: &Store, config: &Config, cmd: SsoCommand) -> anyhow::Result<()> {
    match cmd {
        SsoCommand::Create {
            node_id,
            name,
            entity_id,
            idp_initiated,
            output,
        } => {
            let new = NewSso {
                name,
                entity_id,
                idp_initiated: idp_initiated.is_on(),
                ..NewSso::default()
            };
            create(store, config, node_id, new, &output).await
        }
        SsoCommand::ImportIdp {
            sso_id,
            file,
            entity_id,
        } => import_idp(store, sso_id, &file, entity_id.as_deref()).await,
        SsoCommand::Set(args) => set(store, args).await,
        SsoCommand::ExportMetadata { sso_id } => {
            let method = load(store, sso_id).await?;
            println!(
                "{}",
                sp::metadata_xml(&config.base_url, &method).map_err(anyhow::Error::msg)?
            );
            Ok(())
        }
        SsoCommand::ExportCert { sso_id } => {
            print!("{}", load(store, sso_id).await?.sp_cert_pem);
            Ok(())
        }
        SsoCommand::RotateCert { sso_id } => {
            actions::rotate_sp_cert(store, &Actor::cli(), sso_id).await?;
            println!(
                "new SP certificate for SSO method {sso_id}: give the IdP {}",
                SpUrls::of(&config.base_url, &load(store, sso_id).await?).metadata_url
            );
            Ok(())
        }
        SsoCommand::Delete { sso_id, yes } => {
            if !yes {
                return Err(super::UsageError(format!(
                    "deleting SSO method {sso_id} stops sign-in through it: add --yes to confirm"
                ))
                .into());
            }
            actions::delete_sso(store, &Actor::cli(), sso_id).await?;
            println!("deleted SSO method {sso_id}");
            Ok(())
        }
        SsoCommand::Show { sso_id, output } => {
            show(&load(store, sso_id).await?, config, &output);
            Ok(())
        }
    }
}

async fn load(store: &Store, sso_id: SsoId) -> anyhow::Result<SsoMethod> {
    store
        .run(move |c| sso::get(c, sso_id))
        .await?
        .ok_or_else(|| anyhow!("no SSO method with id {sso_id}"))
}

async fn create(
    store: &Store,
    config: &Config,
    node_id: NodeId,
    new: NewSso,
    output: &super::Output,
) -> anyhow::Result<()> {
    let sso_id = actions::create_sso(store, &Actor::cli(), node_id, new).await?;
    let method = load(store, sso_id).await?;
    let urls = SpUrls::of(&config.base_url, &method);
    if output.json {
        println!(
            "{}",
            json!({"sso_id": sso_id, "entity_id": urls.entity_id, "acs_url": urls.acs_url, "login_url": urls.login_url, "metadata_url": urls.metadata_url, "idp_initiated": method.idp_initiated})
        );
    } else {
        println!("created SSO method {sso_id}");
        print_urls(&urls);
        if method.idp_initiated {
            println!("IdP-initiated sign-in: on (tile sign-ins accepted)");
        } else {
            println!(
                "IdP-initiated sign-in: off (for tile sign-ins: idgate sso set {sso_id} --idp-initiated on)"
            );
        }
    }
    Ok(())
}

fn print_urls(urls: &SpUrls) {
    println!("SP entity id:  {}", urls.entity_id);
    println!("ACS URL:       {}", urls.acs_url);
    println!("Login URL:     {}", urls.login_url);
    println!("SP metadata:   {}", urls.metadata_url);
    println!("SP cert:       {}", urls.cert_url);
}

async fn import_idp(
    store: &Store,
    sso_id: SsoId,
    file: &std::path::Path,
    entity_id: Option<&str>,
) -> anyhow::Result<()> {
    let xml =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let summary = actions::import_idp(store, &Actor::cli(), sso_id, &xml, entity_id)
        .await
        .map_err(|e| match e {
            ActionError::Invalid(why) => anyhow!("cannot import {}: {why}", file.display()),
            other => other.into(),
        })?;
    println!("{summary}");
    Ok(())
}

fn show(method: &SsoMethod, config: &Config, output: &super::Output) {
    let urls = SpUrls::of(&config.base_url, method);
    let expiring = idp::expiring_certificates(&method.idp_certs, chrono::Utc::now());
    if output.json {
        println!(
            "{}",
            json!({
                "sso_id": method.sso_id, "node_id": method.node_id, "name": method.name,
                "urls": urls,
                "idp": {"entity_id": method.idp_entity_id, "sso_post_url": method.idp_sso_post_url,
                        "sso_redirect_url": method.idp_sso_redirect_url, "slo_url": method.idp_slo_url,
                        "signing_certificates": method.idp_certs.len(),
                        "certificate_warnings": expiring.iter().map(|c| json!({
                            "subject": c.subject, "not_after": c.not_after, "expired": c.expired,
                            "warning": c.to_string()})).collect::<Vec<_>>()},
                "jit": method.jit, "idp_initiated": method.idp_initiated, "clock_skew_secs": method.clock_skew_secs,
                "sign_requests": method.sign_requests, "allow_sha1": method.allow_sha1,
                "require_signed": method.require_signed, "require_encryption": method.require_encryption,
                "default_app": method.default_app_id,
                "domains": method.domains,
                "attributes": {"email": method.attr_email, "first_name": method.attr_first_name, "last_name": method.attr_last_name},
            })
        );
        return;
    }
    println!(
        "SSO method {} ({}) of node {}",
        method.sso_id, method.name, method.node_id
    );
    print_urls(&urls);
    match &method.idp_entity_id {
        Some(id) => println!(
            "IdP:           {id} ({} signing certificate(s))",
            method.idp_certs.len()
        ),
        None => println!(
            "IdP:           not imported yet: idgate sso import-idp {} FILE",
            method.sso_id
        ),
    }
    for certificate in &expiring {
        println!("Warning:       {certificate}");
    }
    let on = |b: bool| if b { "on" } else { "off" };
    println!(
        "JIT provisioning: {}; IdP-initiated login: {}; clock skew: {} s",
        on(method.jit),
        on(method.idp_initiated),
        method.clock_skew_secs
    );
    println!(
        "Signed requests: {}; SHA-1 allowed: {}; signature required on: {}; encryption required: {}",
        on(method.sign_requests),
        on(method.allow_sha1),
        method.require_signed.as_str(),
        on(method.require_encryption)
    );
    if let Some(app) = &method.default_app_id {
        println!("Default application (IdP-initiated sign-ins): {app}");
    }
    println!(
        "Reserved domains: {}",
        if method.domains.is_empty() {
            "none".to_owned()
        } else {
            method.domains_joined(", ")
        }
    );
}

async fn set(store: &Store, args: SetArgs) -> anyhow::Result<()> {
    let SetArgs {
        sso_id,
        jit,
        idp_initiated,
        clock_skew,
        domains,
        sign_requests,
        allow_sha1,
        require_signed,
        require_encryption,
        email_attribute,
        first_name_attribute,
        last_name_attribute,
        default_app,
        no_default_app,
    } = args;
    let attr =
        |v: Option<String>| v.map(|name| Some(name.trim().to_owned()).filter(|n| !n.is_empty()));
    let change = SettingsChange {
        jit: jit.map(Switch::is_on),
        idp_initiated: idp_initiated.map(Switch::is_on),
        clock_skew_secs: clock_skew,
        sign_requests: sign_requests.map(Switch::is_on),
        allow_sha1: allow_sha1.map(Switch::is_on),
        require_signed: require_signed.map(|s| match s {
            Signed::Response => RequireSigned::Response,
            Signed::Assertion => RequireSigned::Assertion,
            Signed::Either => RequireSigned::Either,
        }),
        require_encryption: require_encryption.map(Switch::is_on),
        attr_email: attr(email_attribute),
        attr_first_name: attr(first_name_attribute),
        attr_last_name: attr(last_name_attribute),
    };
    let app_change: Option<Option<idgate_store::apps::ClientId>> =
        match (default_app, no_default_app) {
            (Some(raw), _) => Some(Some(raw.parse().map_err(anyhow::Error::msg)?)),
            (None, true) => Some(None),
            (None, false) => None,
        };
    if change == SettingsChange::default() && domains.is_empty() && app_change.is_none() {
        bail!("nothing to change: give at least one setting");
    }
    if change != SettingsChange::default() || !domains.is_empty() {
        actions::add_domains(store, &Actor::cli(), sso_id, change, domains).await?;
    }
    if let Some(app) = app_change {
        actions::set_default_app(store, &Actor::cli(), sso_id, app).await?;
    }
    println!("updated SSO method {sso_id}");
    Ok(())
}

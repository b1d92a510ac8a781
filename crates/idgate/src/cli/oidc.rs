//! `idgate oidc …`: the OpenID Connect provider's signing keys.

use clap::Subcommand;
use idgate_store::oidc::{KeyAlg, keys};
use idgate_store::{Store, events};
use serde_json::json;

use super::{Output, rfc3339};

#[derive(Debug, Subcommand)]
pub enum OidcCommand {
    /// Make a new ID token signing key; the previous one stays in the JWKS until the tokens
    /// it signed have expired.
    RotateKey {
        /// RS256 (RSA-2048, the default every client supports) or ES256 (ECDSA P-256).
        #[arg(long, default_value = "RS256")]
        alg: String,
        #[command(flatten)]
        output: Output,
    },
    /// List the signing keys (never their private halves), newest first.
    Keys {
        #[command(flatten)]
        output: Output,
    },
}

pub async fn run(store: &Store, cmd: OidcCommand) -> anyhow::Result<()> {
    match cmd {
        OidcCommand::RotateKey { alg, output } => {
            let alg: KeyAlg = alg.parse().map_err(anyhow::Error::msg)?;
            let key = store
                .run(move |c| {
                    idgate_store::transaction(c, |c| {
                        let key = idgate_oidc::keys::rotate(c, alg)?;
                        events::record(
                            c,
                            &events::NewEvent {
                                node_id: None,
                                kind: "oidc_key_rotated",
                                actor: "cli",
                                target: Some(&key.kid),
                                outcome: events::Outcome::Success,
                                detail: key.alg.as_str(),
                            },
                        )?;
                        Ok(key)
                    })
                })
                .await?;
            if output.json {
                println!("{}", json!({"kid": key.kid, "alg": key.alg.as_str()}));
            } else {
                println!(
                    "new {} signing key {}: it signs ID tokens from now on",
                    key.alg, key.kid
                );
                println!(
                    "the previous key stays in the JWKS for {} minutes",
                    idgate_oidc::keys::PUBLISHED_AFTER_RETIREMENT_SECONDS / 60
                );
            }
        }
        OidcCommand::Keys { output } => {
            let all = store.run(keys::list).await?;
            if output.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|k| {
                        json!({"kid": k.kid, "alg": k.alg.as_str(), "created": rfc3339(k.created_at),
                               "retired": k.retired_at.map(rfc3339)})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if all.is_empty() {
                println!(
                    "no signing key yet: one is made at the first sign-in (or run `idgate oidc rotate-key`)"
                );
            } else {
                println!("{:<44} {:<6} {:<22} STATE", "KID", "ALG", "CREATED");
                for k in all {
                    let state = match k.retired_at {
                        None => "signing".to_owned(),
                        Some(at) => format!("retired {}", rfc3339(at)),
                    };
                    println!(
                        "{:<44} {:<6} {:<22} {state}",
                        k.kid,
                        k.alg.as_str(),
                        rfc3339(k.created_at)
                    );
                }
            }
        }
    }
    Ok(())
}

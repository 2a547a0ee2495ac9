//! `facekiosk keys show | export-jwk | rotate` and `facekiosk verify-result`.

use anyhow::Context as _;
use facekiosk_identity::{Jwks, KeyStore, KioskIdentity};
use serde::Serialize;

use crate::args::{KeysArgs, KeysCommand, VerifyResultArgs};
use crate::cmd::unix_ms;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// The kiosk's identity from its key store, created on first use.
pub fn identity(config: &KioskConfig) -> anyhow::Result<(KioskIdentity, KeyStore)> {
    let (identity, store, created) = facekiosk_kiosk::store::KioskStore::new(config)?.identity()?;
    if created {
        eprintln!(
            "facekiosk: created the kiosk identity {} in {}",
            identity.kiosk_id(),
            store.dir().display()
        );
    }
    Ok((identity, store))
}

/// Where this kiosk's test keys are published: `test-jwks.json` beside its key store.
pub fn test_jwks(config: &KioskConfig) -> anyhow::Result<facekiosk_identity::TestJwksFile> {
    Ok(facekiosk_kiosk::store::KioskStore::new(config)?.test_jwks()?)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyRow {
    kid: String,
    public_key: String,
    created_at: u64,
    retired_at: Option<u64>,
    current: bool,
}

/// Runs `keys`.
pub fn run(config: &KioskConfig, args: &KeysArgs, out: &Output) -> anyhow::Result<Outcome> {
    let (mut identity, store) = identity(config)?;
    match args.command {
        KeysCommand::Show => {
            let current = identity.current().kid().to_owned();
            let rows: Vec<KeyRow> = identity
                .keys()
                .iter()
                .map(|k| KeyRow {
                    kid: k.kid().to_owned(),
                    public_key: k.public_x(),
                    created_at: k.created_at(),
                    retired_at: k.retired_at(),
                    current: k.kid() == current,
                })
                .collect();
            let value = serde_json::json!({ "kioskId": identity.kiosk_id(), "store": store.dir(), "keys": rows });
            out.print(&value, || {
                let mut s = format!(
                    "kiosk {}\n  store: {}\n",
                    identity.kiosk_id(),
                    store.dir().display()
                );
                for r in &rows {
                    s.push_str(&format!(
                        "  {} {}  Ed25519 {}  created {}{}\n",
                        if r.current { "*" } else { " " },
                        r.kid,
                        r.public_key,
                        r.created_at,
                        r.retired_at
                            .map(|t| format!(", retired {t}"))
                            .unwrap_or_default()
                    ));
                }
                s
            })?;
        }
        KeysCommand::ExportJwk => {
            // A JWKS is JSON in either output mode.
            println!("{}", serde_json::to_string_pretty(&identity.jwks())?);
        }
        KeysCommand::Rotate => {
            let kid = identity.rotate(unix_ms() / 1000)?.kid().to_owned();
            store.save(&identity)?;
            out.print(&serde_json::json!({ "kioskId": identity.kiosk_id(), "current": kid }), || {
                format!(
                    "rotated: new results are signed with {kid}; export the JWKS again for integrators \
                     (facekiosk keys export-jwk): it keeps the old keys so older results still verify"
                )
            })?;
        }
    }
    Ok(Outcome::Success)
}

/// Runs `verify-result`: exit 0 when the result verifies, 1 when it does not.
pub fn verify_result(args: &VerifyResultArgs, out: &Output) -> anyhow::Result<Outcome> {
    let jws = if args.result == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read the result from stdin")?;
        s
    } else {
        std::fs::read_to_string(&args.result)
            .with_context(|| format!("cannot read {}", args.result))?
    };
    let jwks_text = std::fs::read_to_string(&args.jwks)
        .with_context(|| format!("cannot read {}", args.jwks.display()))?;
    let jwks = Jwks::parse(&jwks_text).with_context(|| args.jwks.display().to_string())?;
    let now = args.at.unwrap_or_else(|| unix_ms() / 1000);
    match facekiosk_identity::verify(&jws, &jwks, now) {
        Ok(v) => {
            out.print(
                &serde_json::json!({ "valid": true, "kid": v.kid, "claims": v.claims }),
                || {
                    let test = if v.claims["test"] == true {
                        "\nTEST RESULT: made from a file, a folder or the demo and signed with a test key; \
                         it says nothing about a person in front of a kiosk"
                    } else {
                        ""
                    };
                    format!(
                        "VALID: signed by {} (session {}, verified {}){test}\n{}",
                        v.kid,
                        v.claims["sessionId"].as_str().unwrap_or("?"),
                        v.claims["isVerified"],
                        serde_json::to_string_pretty(&v.claims).unwrap_or_default()
                    )
                },
            )?;
            Ok(Outcome::Success)
        }
        Err(e) => {
            out.print(
                &serde_json::json!({ "valid": false, "reason": e.to_string() }),
                || format!("INVALID: {e}"),
            )?;
            Ok(Outcome::Negative)
        }
    }
}

//! `facekiosk models list | verify | install DIR`.

use std::path::PathBuf;

use anyhow::bail;
use facekiosk_face::manifest::{ModelOrigin, ModelStore, Role, install};
use serde::Serialize;

use crate::args::{ModelsArgs, ModelsCommand};
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleRow {
    role: Role,
    file: Option<String>,
    interface: Option<String>,
    sha256: Option<String>,
    origin: Option<ModelOrigin>,
    verified: Option<bool>,
    problem: Option<String>,
}

/// The models directory an operator installs into: the configured one, else
/// `<data dir>/models` (`~/.local/share/facekiosk/models`).
pub fn install_dir(config: &KioskConfig) -> anyhow::Result<PathBuf> {
    Ok(facekiosk_kiosk::store::KioskStore::new(config)?.models_dir()?)
}

fn store(config: &KioskConfig) -> anyhow::Result<ModelStore> {
    Ok(match &config.face.models_dir {
        Some(dir) => ModelStore::with_dir(dir)?,
        None => {
            // An operator's installed passive-liveness model is used without configuration
            // once it exists (that directory may add nothing else).
            let default = install_dir(config)?;
            if default
                .join(facekiosk_face::manifest::MANIFEST_FILE)
                .is_file()
            {
                ModelStore::embedded()?.with_drop_in(&default)?
            } else {
                ModelStore::embedded()?
            }
        }
    })
}

/// Runs `models`.
pub fn run(config: &KioskConfig, args: &ModelsArgs, out: &Output) -> anyhow::Result<Outcome> {
    match &args.command {
        ModelsCommand::List => list(config, out, false),
        ModelsCommand::Verify => list(config, out, true),
        ModelsCommand::Install { dir } => {
            let target = install_dir(config)?;
            let roles = install(dir, &target)?;
            let names: Vec<&str> = roles.iter().map(|r| r.key()).collect();
            out.print(&serde_json::json!({ "installed": names, "into": target }), || {
                format!(
                    "installed {} into {}\n  it is used from now on (`facekiosk models list` shows every role)",
                    names.join(", "),
                    target.display()
                )
            })?;
            Ok(Outcome::Success)
        }
    }
}

fn list(config: &KioskConfig, out: &Output, verify: bool) -> anyhow::Result<Outcome> {
    let store = store(config)?;
    let mut rows = Vec::new();
    let mut failed = false;
    for role in Role::ALL {
        let Some((entry, origin)) = store.entry(role) else {
            rows.push(RoleRow {
                role,
                file: None,
                interface: None,
                sha256: None,
                origin: None,
                verified: None,
                problem: None,
            });
            continue;
        };
        let (verified, problem) = if verify {
            match store.load(role) {
                Ok(_) => (Some(true), None),
                Err(e) => {
                    failed = true;
                    (Some(false), Some(e.to_string()))
                }
            }
        } else {
            (None, None)
        };
        rows.push(RoleRow {
            role,
            file: Some(entry.file.clone()),
            interface: Some(entry.interface.name().to_owned()),
            sha256: Some(entry.sha256.clone()),
            origin: Some(origin),
            verified,
            problem,
        });
    }
    out.print(&rows, || {
        let mut s = String::new();
        for r in &rows {
            match (&r.file, &r.origin) {
                (Some(file), Some(origin)) => s.push_str(&format!(
                    "  {:<20} {:<34} {:<18} {}{}\n",
                    r.role.key(),
                    file,
                    r.interface.as_deref().unwrap_or(""),
                    origin,
                    match (r.verified, &r.problem) {
                        (Some(true), _) => "  sha256 ok".to_owned(),
                        (Some(false), Some(p)) => format!("\n      FAILED: {p}"),
                        _ => String::new(),
                    }
                )),
                _ => s.push_str(&format!("  {:<20} (none installed)\n", r.role.key())),
            }
        }
        s
    })?;
    if failed {
        bail!("one or more models failed verification");
    }
    Ok(Outcome::Success)
}

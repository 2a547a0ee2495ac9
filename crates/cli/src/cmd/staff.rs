//! The kiosk app's set-up from the command line: `facekiosk staff hash-pin` (the Argon2id hash
//! of a staff PIN for facekiosk.toml; the PIN is read from stdin, never from the command line,
//! where `ps` and shell history would keep it) and `facekiosk texts check`.

use std::io::BufRead;

use facekiosk_kiosk::staff::{hash_pin, is_pin};

use crate::args::{StaffArgs, StaffCommand, TextsArgs, TextsCommand};
use crate::output::{Outcome, Output};

/// Runs `facekiosk staff …`.
pub fn run(args: &StaffArgs, out: &Output) -> anyhow::Result<Outcome> {
    match &args.command {
        StaffCommand::HashPin { name } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| anyhow::anyhow!("cannot read the PIN from stdin: {e}"))?;
            let pin = line.trim_end_matches(['\n', '\r']);
            if !is_pin(pin) {
                anyhow::bail!("a staff PIN is 4 to 12 digits (read from the first line of stdin)");
            }
            let hash = hash_pin(pin).map_err(anyhow::Error::msg)?;
            let value = serde_json::json!({ "name": name, "pinHash": hash });
            out.print(&value, || match name {
                Some(n) => format!(
                    "[[staff.operators]]\nname = {}\npin_hash = {}\n",
                    toml_string(n),
                    toml_string(&hash)
                ),
                None => format!("{hash}\n"),
            })?;
            Ok(Outcome::Success)
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Runs `facekiosk texts …`.
pub fn texts(args: &TextsArgs, out: &Output) -> anyhow::Result<Outcome> {
    let TextsCommand::Check { dir } = &args.command;
    let reports = facekiosk_kiosk::texts::check(dir.as_deref()).map_err(anyhow::Error::msg)?;
    let clean = reports.iter().all(|r| r.is_clean());
    let value = serde_json::json!({ "clean": clean, "languages": reports });
    out.print(&value, || {
        let mut s = String::new();
        for r in &reports {
            if r.is_clean() {
                s.push_str(&format!("{}  ok  ({})\n", r.lang, r.source));
                continue;
            }
            s.push_str(&format!("{}  PROBLEMS  ({})\n", r.lang, r.source));
            if let Some(e) = &r.error {
                s.push_str(&format!("  error: {e}\n"));
            }
            for k in &r.missing {
                s.push_str(&format!("  missing: {k} (shown in English)\n"));
            }
            for k in &r.extra {
                s.push_str(&format!(
                    "  extra: {k} (not a key of the default language)\n"
                ));
            }
            for b in &r.bad_placeholders {
                s.push_str(&format!("  placeholder: {}: {}\n", b.key, b.problem));
            }
        }
        s
    })?;
    Ok(if clean {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

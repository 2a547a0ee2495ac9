//! `facekiosk staff hash-pin`: the Argon2id hash of a staff PIN for facekiosk.toml. The PIN is
//! read from stdin (never from the command line, where `ps` and shell history would keep it).

use std::io::BufRead;

use facekiosk_kiosk::staff::{hash_pin, is_pin};

use crate::args::{StaffArgs, StaffCommand};
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

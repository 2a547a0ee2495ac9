//! `facekiosk demo`: the kiosk's main job on the embedded defaults.

use crate::cmd::runtime::describe;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// Runs the demo.
pub fn run(config: &KioskConfig, out: &Output) -> anyhow::Result<Outcome> {
    let engine = crate::cmd::engine(config)?;
    let info = engine.runtime_info();
    out.print(&info, || {
        format!(
            "{}\n  face engine loaded and warmed up in {:.0} ms",
            describe(&info),
            engine.load_ms()
        )
    })?;
    Ok(Outcome::Success)
}

//! The configuration file (crates/kiosk: `facekiosk_kiosk::config`), overridden by
//! command-line options.

pub use facekiosk_kiosk::config::KioskConfig;
use facekiosk_kiosk::config::{config_path, read};

use crate::args::Global;

/// Reads the configuration file (if any) and applies the command-line overrides.
pub fn load(global: &Global) -> anyhow::Result<KioskConfig> {
    let mut config = match config_path(global.config.as_deref()) {
        Some(path) => read(&path)?,
        None => KioskConfig::default(),
    };
    if let Some(lib) = &global.ort_library {
        config.runtime.library = Some(lib.clone());
    }
    if let Some(p) = &global.provider {
        config.runtime.provider = p.parse()?;
    }
    if global.allow_cpu_fallback {
        config.runtime.allow_fallback = true;
    }
    if let Some(t) = global.threads {
        config.runtime.intra_threads = t;
        config.runtime.embedder_threads = t;
    }
    if let Some(dir) = &global.models {
        config.face.models_dir = Some(dir.clone());
    }
    if let Some(cal) = &global.calibration {
        config.face.calibration = Some(cal.clone());
    }
    Ok(config)
}

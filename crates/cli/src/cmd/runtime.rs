//! `facekiosk runtime`: what the loaded ONNX Runtime library reports.

use facekiosk_face::runtime::{Runtime, RuntimeInfo};

use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// Loads ONNX Runtime and prints its report.
pub fn run(config: &KioskConfig, out: &Output) -> anyhow::Result<Outcome> {
    let info = Runtime::load(&config.runtime)?.info();
    out.print(&info, || describe(&info))?;
    Ok(Outcome::Success)
}

/// The report as text.
pub fn describe(info: &RuntimeInfo) -> String {
    let mut s = format!(
        "ONNX Runtime {}\n  library:   {}\n  available: {}\n  in use:    {}",
        info.version,
        info.library.display(),
        info.available_providers.join(", "),
        info.provider
    );
    if let Some(reason) = &info.fallback_reason {
        s.push_str(&format!(" (fallback: {reason})"));
    }
    let threads = |n: usize| {
        if n == 0 {
            "all cores".to_owned()
        } else {
            n.to_string()
        }
    };
    s.push_str(&format!(
        "\n  threads:   {} per operator, {} for the embedder",
        threads(info.intra_threads),
        threads(info.embedder_threads)
    ));
    s
}

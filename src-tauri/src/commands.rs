//! Tauri commands: the only way the UI reaches the engine. Transport types live here.

use facekiosk_face::runtime::{Runtime, RuntimeConfig};
use serde::Serialize;

/// What the start screen shows about the engine.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStatus {
    /// True when ONNX Runtime loaded and an execution provider was chosen.
    pub ready: bool,
    /// ONNX Runtime's version, when loaded.
    pub runtime_version: Option<String>,
    /// The execution provider in use (`cpu`, `cuda`, …).
    pub provider: Option<String>,
    /// The providers the library offers.
    pub available_providers: Vec<String>,
    /// Why the engine is not ready, in words for branch IT.
    pub problem: Option<String>,
}

/// Loads ONNX Runtime (once per process) and reports on it.
#[tauri::command]
pub fn engine_status() -> EngineStatus {
    match Runtime::load(&RuntimeConfig::default()) {
        Ok(rt) => {
            let info = rt.info();
            EngineStatus {
                ready: true,
                runtime_version: Some(info.version),
                provider: Some(info.provider.to_string()),
                available_providers: info.available_providers,
                problem: None,
            }
        }
        Err(e) => EngineStatus {
            ready: false,
            runtime_version: None,
            provider: None,
            available_providers: Vec::new(),
            problem: Some(e.to_string()),
        },
    }
}

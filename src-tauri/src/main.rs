//! The FaceKiosk desktop app.
//!
//! A thin shell: it wires Tauri commands and events to the engine crates and shows `ui/`.
//! **Never** here: face logic, SQL, HTTP handling — those live in the crates.

#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

mod commands;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::engine_status])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        tracing::error!("the kiosk app stopped: {e}");
        std::process::exit(1);
    }
}

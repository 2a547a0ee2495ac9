//! The FaceKiosk desktop app.
//!
//! A thin shell: it reads `facekiosk.toml` (the same file as the `facekiosk` command's), wires
//! Tauri commands and channels to `facekiosk_kiosk`, runs the sync worker, and shows `ui/`.
//! **Never** here: face logic, SQL, HTTP handling — those live in the crates.

#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

mod commands;
mod lockdown;
mod staff;
mod state;
mod webview;

use facekiosk_kiosk::config::{KioskConfig, config_path, read};
use facekiosk_kiosk::store::KioskStore;

/// The configuration: `$FACEKIOSK_CONFIG`, else `~/.config/facekiosk/facekiosk.toml` when it
/// exists, else the defaults. An invalid file stops the app with the reason.
fn load_config() -> Result<KioskConfig, String> {
    let explicit = std::env::var_os("FACEKIOSK_CONFIG").map(std::path::PathBuf::from);
    let config = match config_path(explicit.as_deref()) {
        Some(path) => read(&path).map_err(|e| e.to_string())?,
        None => KioskConfig::default(),
    };
    // Every language offered must have its texts, and a deployment's texts must be valid: a
    // kiosk must not start to show blank or broken screens.
    facekiosk_kiosk::texts::validate(&config.kiosk.languages, config.kiosk.texts_dir.as_deref())?;
    Ok(config)
}

/// The configured theme (its warnings are logged); an unusable one stops the app.
fn load_theme(config: &KioskConfig) -> Result<facekiosk_kiosk::theme::Theme, String> {
    facekiosk_kiosk::theme::load(&config.kiosk.theme, config.kiosk.assets_dir.as_deref())
        .map_err(|e| format!("kiosk.theme: {e}"))
}

fn main() {
    let started = std::time::Instant::now();
    tracing_subscriber::fmt()
        // On stderr: colours for a person at a terminal, plain text for a log file or journal.
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = match load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("facekiosk-app: {e}");
            std::process::exit(2);
        }
    };
    let theme = match load_theme(&config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("facekiosk-app: {e}");
            std::process::exit(2);
        }
    };
    let store = match KioskStore::new(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("facekiosk-app: {e}");
            std::process::exit(2);
        }
    };
    // One app at a time on this kiosk's outbox and camera (held until the process ends).
    let _lock = match store.lock_app() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("facekiosk-app: {e}");
            std::process::exit(2);
        }
    };
    lockdown::autostart(
        config.kiosk.autostart,
        std::env::var_os("FACEKIOSK_CONFIG")
            .map(std::path::PathBuf::from)
            .as_deref(),
    );
    state::spawn_sync_worker(&config, &store);
    let kiosk_mode = config.kiosk.lockdown;
    let acceleration = config.kiosk.hardware_acceleration;
    let result = tauri::Builder::default()
        .plugin(lockdown::navigation_guard())
        .setup(move |app| {
            if kiosk_mode {
                lockdown::apply(app);
            }
            webview::set_hardware_acceleration(app, acceleration);
            Ok(())
        })
        .manage(state::AppState::start(config, store, theme, started))
        .invoke_handler(tauri::generate_handler![
            commands::kiosk_info,
            commands::texts,
            commands::theme,
            commands::claim_session,
            commands::scan_session,
            commands::cancel_scan,
            commands::start_session,
            commands::cancel_session,
            commands::retry_session,
            staff::staff_unlock,
            staff::staff_lock,
            staff::staff_overview,
            staff::staff_waiting_sessions,
            staff::staff_pick_session,
            staff::staff_walk_in,
            staff::staff_camera_test,
            staff::staff_cameras,
            staff::staff_use_camera,
            staff::staff_exit,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        tracing::error!("the kiosk app stopped: {e}");
        std::process::exit(1);
    }
}

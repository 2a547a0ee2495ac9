//! Tauri's build step: reads the app config at the repository root.
fn main() {
    // Only our commands are allowed, and only those the capability names
    // (capabilities/default.json).
    let manifest = tauri_build::AppManifest::new().commands(&[
        "kiosk_info",
        "texts",
        "theme",
        "claim_session",
        "scan_session",
        "cancel_scan",
        "start_session",
        "cancel_session",
        "retry_session",
        "staff_unlock",
        "staff_lock",
        "staff_overview",
        "staff_waiting_sessions",
        "staff_pick_session",
        "staff_walk_in",
        "staff_camera_test",
        "staff_cameras",
        "staff_use_camera",
        "staff_exit",
    ]);
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new()
            .config_path("../tauri.conf.json")
            .app_manifest(manifest),
    ) {
        // The build script's own failure message is what cargo shows; say which file to look at.
        println!(
            "cargo:warning=tauri build step failed: {e:#} (check tauri.conf.json at the repository root)"
        );
        std::process::exit(1);
    }
}

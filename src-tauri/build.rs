//! Tauri's build step: reads the app config at the repository root.
fn main() {
    if let Err(e) =
        tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
    {
        // The build script's own failure message is what cargo shows; say which file to look at.
        println!(
            "cargo:warning=tauri build step failed: {e:#} (check tauri.conf.json at the repository root)"
        );
        std::process::exit(1);
    }
}

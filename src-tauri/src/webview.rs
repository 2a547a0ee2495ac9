//! The web view's own settings, beyond what Tauri's configuration offers.

use tauri::{Manager, Runtime};

/// Whether WebKit may draw the screens with the GPU (`kiosk.hardware_acceleration`). Off, it
/// paints in software: the screens are flat and need no GPU, and WebKit's processes keep
/// about 130 MB less (docs/PERFORMANCE.md). Elsewhere than Linux the system's web view decides.
pub fn set_hardware_acceleration<R: Runtime>(app: &tauri::App<R>, on: bool) {
    let Some(window) = app.get_webview_window("main") else {
        tracing::error!("no main window to set up");
        return;
    };
    #[cfg(target_os = "linux")]
    {
        let done = window.with_webview(move |view| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt as _, WebViewExt as _};
            let policy = if on {
                HardwareAccelerationPolicy::OnDemand
            } else {
                HardwareAccelerationPolicy::Never
            };
            match view.inner().settings() {
                Some(settings) => settings.set_hardware_acceleration_policy(policy),
                None => tracing::warn!(
                    "the web view has no settings: hardware acceleration left as it is"
                ),
            }
        });
        if let Err(e) = done {
            tracing::warn!(error = %e, "cannot reach the web view: hardware acceleration left as it is");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, on);
}

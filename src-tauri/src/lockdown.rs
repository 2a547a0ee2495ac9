//! Kiosk mode (`kiosk.lockdown`): the window fills the screen without decorations, and the
//! page never leaves the app. The page's own side (no reload, print, find or zoom shortcuts,
//! no context menu, selection or drops) is `ui/lockdown.js`. Also the XDG autostart entry
//! (`kiosk.autostart`).

use std::path::PathBuf;

use tauri::plugin::TauriPlugin;
use tauri::{Manager, Runtime, Url};

/// Whether `url` is the app's own page (`tauri://localhost/…`, or `http(s)://tauri.localhost`
/// where the platform serves it so).
fn is_app_url(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// Refuses every navigation away from the app's own page (a link, a script, a dropped file),
/// whatever `kiosk.lockdown` says: the kiosk's webview has no reason to show anything else.
pub fn navigation_guard<R: Runtime>() -> TauriPlugin<R> {
    tauri::plugin::Builder::new("facekiosk-lockdown")
        .on_navigation(|_webview, url| {
            let ok = is_app_url(url);
            if !ok {
                tracing::warn!(url = %url, "a navigation away from the app was refused");
            }
            ok
        })
        .build()
}

/// Fills the screen, without decorations.
pub fn apply<R: Runtime>(app: &tauri::App<R>) {
    let Some(window) = app.get_webview_window("main") else {
        tracing::error!("no main window to lock down");
        return;
    };
    for (what, result) in [
        ("remove the decorations", window.set_decorations(false)),
        ("fill the screen", window.set_fullscreen(true)),
    ] {
        if let Err(e) = result {
            tracing::error!(error = %e, "kiosk mode: cannot {what}");
        }
    }
}

/// The XDG autostart entry: `$XDG_CONFIG_HOME/autostart/facekiosk.desktop` (or
/// `~/.config/autostart/…`).
fn autostart_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("autostart").join("facekiosk.desktop"))
}

/// Writes the autostart entry (starting this executable, with this configuration file) while
/// `kiosk.autostart` is on; removes it when off. Failures are logged: the app runs anyway.
pub fn autostart(on: bool, config_file: Option<&std::path::Path>) {
    let Some(path) = autostart_path() else {
        tracing::warn!("no HOME: the autostart entry cannot be kept");
        return;
    };
    if !on {
        if path.is_file() {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(path = %path.display(), "autostart entry removed"),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "cannot remove the autostart entry")
                }
            }
        }
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "autostart: this executable's path is unknown");
            return;
        }
    };
    let quote =
        |p: &std::path::Path| format!("\"{}\"", p.display().to_string().replace('"', "\\\""));
    let exec = match config_file {
        Some(c) => format!("env FACEKIOSK_CONFIG={} {}", quote(c), quote(&exe)),
        None => quote(&exe),
    };
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=FaceKiosk\nComment=Face verification kiosk\n\
         Exec={exec}\nX-GNOME-Autostart-enabled=true\nNoDisplay=true\n"
    );
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, entry));
    match written {
        Ok(()) => tracing::info!(path = %path.display(), "autostart entry written"),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot write the autostart entry")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_page_may_be_shown() {
        for ok in [
            "tauri://localhost/",
            "tauri://localhost/index.html",
            "http://tauri.localhost/x",
        ] {
            assert!(is_app_url(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "https://example.com/",
            "http://127.0.0.1:8080/",
            "file:///etc/passwd",
            "tauri://evil/",
            "http://tauri.localhost.example.com/",
            "data:text/html,hi",
            "about:blank",
        ] {
            assert!(!is_app_url(&Url::parse(bad).unwrap()), "{bad}");
        }
    }
}

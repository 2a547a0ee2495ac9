//! The app refuses to start on a configuration it cannot run with, and says why (exit code 2,
//! the reason on stderr) — before it opens any window, so this needs no display.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

fn start_with(config: &str, files: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let path = dir.path().join("facekiosk.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_facekiosk-app"))
        .env("FACEKIOSK_CONFIG", &path)
        .env("FACEKIOSK_DATA_DIR", dir.path().join("data"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_config_or_texts_it_cannot_run_with_stop_the_app_with_the_reason() {
    for (config, files, reason) in [
        ("[kiosk]\ncamara = \"camera\"\n", vec![], "camara"),
        (
            "[kiosk]\nidle_timeout_s = 1\n",
            vec![],
            "kiosk.idle_timeout_s = 1",
        ),
        (
            "[[staff.operators]]\nname = \"Amal\"\npin_hash = \"2468\"\n",
            vec![],
            "staff.operators[0].pin_hash",
        ),
        (
            "[kiosk]\nlanguages = [\"en\", \"xx\"]\n",
            vec![],
            "no texts for `xx`",
        ),
        (
            "[kiosk]\ntexts_dir = \"texts\"\n",
            vec![("texts/en.json", "{ \"screen\": ")],
            "en.json: not JSON",
        ),
        (
            "[kiosk]\ntexts_dir = \"no-such-folder\"\n",
            vec![],
            "kiosk.texts_dir",
        ),
        ("[kiosk]\ntheme = \"neon\"\n", vec![], "no theme `neon`"),
        (
            "[kiosk]\nassets_dir = \"assets\"\n",
            vec![("assets/themes/default/theme.json", "{ \"radius\": ")],
            "theme.json: not JSON",
        ),
    ] {
        let (code, stderr) = start_with(config, &files);
        assert_eq!(code, Some(2), "{config}: {stderr}");
        assert!(stderr.contains(reason), "{config}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// One app at a time on a kiosk's data: a second one is refused, and says which lock it met.
#[test]
fn a_second_app_on_the_same_kiosk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = facekiosk_kiosk::config::KioskConfig::default();
    let store = facekiosk_kiosk::store::KioskStore::in_dir(&data, &config);
    let _held = store.lock_app().unwrap();
    let path = dir.path().join("facekiosk.toml");
    std::fs::write(&path, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_facekiosk-app"))
        .env("FACEKIOSK_CONFIG", &path)
        .env("FACEKIOSK_DATA_DIR", &data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already running") && stderr.contains("app.lock"),
        "{stderr}"
    );
    // Released, the lock is free again.
    drop(_held);
    assert!(store.lock_app().is_ok());
}

//! Scanning a session's QR code with the kiosk's camera (a clip standing in for it): the code
//! is found among frames without one, shown on the preview as it goes; an unrelated QR code,
//! a clip without any, a missing camera and a cancel each end the scan with their code.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use facekiosk_kiosk::config::KioskConfig;
use facekiosk_kiosk::scan::{SessionCode, scan_for_session};
use facekiosk_synth::demo::qr_code_frame;
use image::RgbImage;

fn clip(dir: &std::path::Path, name: &str, text: Option<&str>) -> String {
    let frames: Vec<RgbImage> = (0..20)
        .map(|i| qr_code_frame(if i < 6 { None } else { text }, i))
        .collect();
    let path = dir.join(name);
    facekiosk_capture::video::write_avi(&path, &frames, 15).unwrap();
    path.display().to_string()
}

fn config(camera: String) -> KioskConfig {
    let mut c = KioskConfig::default();
    c.kiosk.camera = camera;
    c
}

#[test]
fn a_session_qr_code_is_found_and_everything_else_ends_the_scan_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let minute = Duration::from_secs(60);

    let url = "http://127.0.0.1:8080/s/ses_0123abcd#clientSecret=fkcs_secret-42";
    let shown = Arc::new(AtomicUsize::new(0));
    let s = shown.clone();
    let preview: facekiosk_runner::Preview = Arc::new(move |_img: &RgbImage| {
        s.fetch_add(1, Ordering::SeqCst);
    });
    let found = scan_for_session(
        &config(clip(dir.path(), "session.avi", Some(url))),
        Some(&preview),
        &stop,
        minute,
    )
    .unwrap();
    assert_eq!(
        found,
        SessionCode {
            session_id: "ses_0123abcd".to_owned(),
            client_secret: "fkcs_secret-42".to_owned(),
        }
    );
    // The frames before the code were shown too.
    assert!(shown.load(Ordering::SeqCst) >= 7);

    let err = scan_for_session(
        &config(clip(
            dir.path(),
            "other.avi",
            Some("https://example.com/menu"),
        )),
        None,
        &stop,
        minute,
    )
    .unwrap_err();
    assert_eq!(err.code, "INVALID_QR");

    let err = scan_for_session(
        &config(clip(dir.path(), "none.avi", None)),
        None,
        &stop,
        minute,
    )
    .unwrap_err();
    assert_eq!(err.code, "SCAN_TIMEOUT");

    let err = scan_for_session(
        &config(dir.path().join("unplugged.avi").display().to_string()),
        None,
        &stop,
        minute,
    )
    .unwrap_err();
    assert_eq!(err.code, "MEDIA_NOT_FOUND_ERROR", "{err:?}");

    stop.store(true, Ordering::SeqCst);
    let err = scan_for_session(
        &config(clip(dir.path(), "late.avi", Some(url))),
        None,
        &stop,
        minute,
    )
    .unwrap_err();
    assert_eq!(err.code, "SCAN_CANCELED");
}

//! `facekiosk session`, `keys` and `verify-result` end to end: real models, real image
//! sequences made from the project's photos, results verified with the exported key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{data, json, ort_library, s};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{Rgb, RgbImage};
use serde_json::Value;

/// Runs facekiosk with its own data dir (keys) and a config allowing attended sessions.
fn facekiosk(home: &Path, args: &[&str]) -> Output {
    let config = home.join("facekiosk.toml");
    if !config.exists() {
        std::fs::write(&config, "[session]\nallow_attended = true\n").unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_facekiosk"))
        .args(["--threads", "1", "--config"])
        .arg(&config)
        .args(args)
        .env("FACEKIOSK_DATA_DIR", home.join("data"))
        .env("ORT_DYLIB_PATH", ort_library())
        .output()
        .expect("facekiosk runs")
}

fn photo(name: &str) -> RgbImage {
    image::open(data(name)).unwrap().to_rgb8()
}

/// Frames at a kiosk: the head-and-shoulders crop of `img` on a plain background, moving a little.
fn frames(img: &RgbImage, dir: &Path, n: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let head = image::imageops::crop_imm(img, 100, 0, 320, 360).to_image();
    let near = image::imageops::resize(&head, 400, 450, image::imageops::FilterType::Triangle);
    for i in 0..n {
        let mut f = RgbImage::from_pixel(640, 480, Rgb([150, 140, 130]));
        image::imageops::overlay(&mut f, &near, 120 + i64::from(i % 3), 15 + i64::from(i % 2));
        f.save(dir.join(format!("frame{i:03}.jpg"))).unwrap();
    }
}

fn id_photo(dir: &Path) -> PathBuf {
    let crop = image::imageops::crop_imm(&photo("astronaut.jpg"), 130, 20, 190, 240).to_image();
    let small = image::imageops::resize(&crop, 152, 192, image::imageops::FilterType::Triangle);
    let p = dir.join("id.jpg");
    small.save(&p).unwrap();
    p
}

#[test]
fn a_genuine_session_signs_a_result_that_verifies_and_fails_when_altered() {
    let home = tempfile::tempdir().unwrap();
    let id = id_photo(home.path());
    let clip = home.path().join("clip");
    frames(&photo("astronaut.jpg"), &clip, 20);
    let out = facekiosk(
        home.path(),
        &[
            "--json",
            "session",
            "--reference",
            s(&id),
            "--source",
            s(&clip),
            "--liveness",
            "attended",
            "--operator",
            "staff-1",
            "--session-id",
            "vs_e2e",
            "--nonce",
            "n-42",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["outcome"], "success");
    assert_eq!(v["claims"]["isVerified"], true);
    assert_eq!(v["claims"]["sessionId"], "vs_e2e");
    assert_eq!(v["claims"]["nonce"], "n-42");
    assert_eq!(v["claims"]["liveness"]["method"], "attended");
    assert_eq!(v["claims"]["operator"], "staff-1");
    // Frames from a folder: a test result, never signed with the kiosk's key.
    assert_eq!(v["claims"]["test"], true);
    assert_eq!(v["claims"]["capture"]["source"], "folder");
    assert_eq!(v["claims"]["reference"]["source"], "api");
    assert_eq!(
        v["claims"]["reference"]["sha256"].as_str().unwrap().len(),
        64
    );
    let jws = v["jws"].as_str().unwrap().to_owned();
    let jwks = PathBuf::from(v["testJwks"].as_str().unwrap());
    assert!(jwks.ends_with("test-jwks.json"), "{}", jwks.display());

    // The kiosk's own keys do not verify it …
    let kiosk_jwks = home.path().join("keys.json");
    let out = facekiosk(home.path(), &["keys", "export-jwk"]);
    assert!(out.status.success());
    std::fs::write(&kiosk_jwks, &out.stdout).unwrap();
    let result = home.path().join("result.jws");
    std::fs::write(&result, &jws).unwrap();
    let out = facekiosk(
        home.path(),
        &["verify-result", s(&result), "--jwks", s(&kiosk_jwks)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no key"));
    // … the test JWKS does, and says it is a test result.
    let out = facekiosk(
        home.path(),
        &["verify-result", s(&result), "--jwks", s(&jwks)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("TEST RESULT"));

    // One byte changed, anywhere: refused.
    let dot = jws.find('.').unwrap();
    for at in [3, dot + 10, jws.len() - 5] {
        let mut bytes = jws.clone().into_bytes();
        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
        std::fs::write(&result, &bytes).unwrap();
        let out = facekiosk(
            home.path(),
            &["verify-result", s(&result), "--jwks", s(&jwks)],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "changed at {at}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("INVALID"));
    }

    // Expiry is checked.
    std::fs::write(&result, &jws).unwrap();
    let late = (v["claims"]["exp"].as_u64().unwrap() + 1).to_string();
    let out = facekiosk(
        home.path(),
        &[
            "verify-result",
            s(&result),
            "--jwks",
            s(&jwks),
            "--at",
            &late,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired"));
}

#[test]
fn an_impostor_uses_every_attempt() {
    let home = tempfile::tempdir().unwrap();
    // The cameraman looks aside (yaw ~50°, so his eyes are only ~18 px apart): this kiosk
    // accepts such a pose, so the attempts get as far as matching.
    std::fs::write(
        home.path().join("facekiosk.toml"),
        "[session]\nallow_attended = true\n[face.live_quality]\nmax_yaw_deg = 70.0\nmax_pitch_deg = 45.0\nmin_face_fraction = 0.1\nmax_center_offset = 0.3\nmin_eye_distance_px = 12.0\n",
    )
    .unwrap();
    let id = id_photo(home.path());
    let clip = home.path().join("clip");
    // The cameraman: a different person.
    let cam = photo("camera.png");
    std::fs::create_dir_all(&clip).unwrap();
    for i in 0..80u32 {
        let mut f = RgbImage::from_pixel(640, 480, Rgb([120, 120, 120]));
        let face = image::imageops::crop_imm(&cam, 120, 40, 240, 260).to_image();
        let big = image::imageops::resize(&face, 330, 358, image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut f, &big, 155 + i64::from(i % 2), 60);
        f.save(clip.join(format!("f{i:03}.png"))).unwrap();
    }
    let out = facekiosk(
        home.path(),
        &[
            "--json",
            "session",
            "--reference",
            s(&id),
            "--source",
            s(&clip),
            "--liveness",
            "attended",
            "--operator",
            "staff-1",
            "--max-attempts",
            "2",
            "--return-data-for-incomplete-session",
        ],
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(
        v["error"]["code"], "SESSION_INVALIDATED_FACE_RECOGNITION_TOO_MANY_ATTEMPTS",
        "{v}"
    );
    assert_eq!(v["partialClaims"]["isVerified"], false);
    assert_eq!(v["partialClaims"]["attempts"].as_array().unwrap().len(), 2);
}

#[test]
fn a_corrupt_frame_is_skipped_and_traced() {
    let home = tempfile::tempdir().unwrap();
    let id = id_photo(home.path());
    let clip = home.path().join("clip");
    frames(&photo("astronaut.jpg"), &clip, 20);
    let full = std::fs::read(clip.join("frame004.jpg")).unwrap();
    std::fs::write(clip.join("frame004.jpg"), &full[..full.len() / 2]).unwrap();
    let out = facekiosk(
        home.path(),
        &[
            "session",
            "--trace",
            "--reference",
            s(&id),
            "--source",
            s(&clip),
            "--liveness",
            "attended",
            "--operator",
            "staff-1",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let skipped = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["trace"]["event"] == "FRAME_SKIPPED")
        .expect("a FRAME_SKIPPED trace");
    assert!(
        skipped["trace"]["statusMessage"]
            .as_str()
            .unwrap()
            .contains("frame 4"),
        "{skipped}"
    );
    // Traces carry no image, no embedding.
    assert!(!text.contains("embedding") && !text.contains("auditImage\":{\"mediaType"));
}

#[test]
fn a_reference_with_no_face_or_two_faces_is_invalid_config() {
    let home = tempfile::tempdir().unwrap();
    let clip = home.path().join("clip");
    frames(&photo("astronaut.jpg"), &clip, 3);
    let sky = image::imageops::crop_imm(&photo("astronaut.jpg"), 340, 0, 172, 300).to_image();
    let none = home.path().join("sky.png");
    sky.save(&none).unwrap();
    let out = facekiosk(
        home.path(),
        &[
            "--json",
            "session",
            "--reference",
            s(&none),
            "--source",
            s(&clip),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["error"]["code"], "INVALID_CONFIG");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("no face"),
        "{v}"
    );

    let face = image::imageops::crop_imm(&photo("astronaut.jpg"), 130, 40, 190, 210).to_image();
    let mut two = RgbImage::from_pixel(400, 230, Rgb([90, 90, 90]));
    image::imageops::overlay(&mut two, &face, 5, 10);
    image::imageops::overlay(&mut two, &face, 205, 10);
    let both = home.path().join("two.png");
    two.save(&both).unwrap();
    let v = json(&facekiosk(
        home.path(),
        &[
            "--json",
            "session",
            "--reference",
            s(&both),
            "--source",
            s(&clip),
        ],
    ));
    assert_eq!(v["error"]["code"], "INVALID_CONFIG");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than one face"),
        "{v}"
    );
}

#[test]
fn a_zero_length_video_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let id = id_photo(home.path());
    let empty = home.path().join("clip.avi");
    std::fs::write(&empty, b"").unwrap();
    let out = facekiosk(
        home.path(),
        &[
            "--json",
            "session",
            "--reference",
            s(&id),
            "--source",
            s(&empty),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty (0 bytes)"),
        "{v}"
    );
}

#[test]
fn a_missing_camera_is_media_not_found() {
    let home = tempfile::tempdir().unwrap();
    let id = id_photo(home.path());
    // No machine has these; "camera" (the first camera) is missing only where there is none.
    let mut specs = vec!["camera:97", "camera:No Such Camera 9000"];
    if !(0..10).any(|i| Path::new(&format!("/dev/video{i}")).exists()) {
        specs.push("camera");
    }
    for spec in specs {
        let out = facekiosk(
            home.path(),
            &["--json", "session", "--reference", s(&id), "--source", spec],
        );
        assert_eq!(out.status.code(), Some(2), "{spec}");
        assert_eq!(
            json(&out)["error"]["code"],
            "MEDIA_NOT_FOUND_ERROR",
            "{spec}"
        );
    }
}

#[test]
fn attended_needs_the_kiosks_permission() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("facekiosk.toml"), "").unwrap();
    let id = id_photo(home.path());
    let clip = home.path().join("clip");
    frames(&photo("astronaut.jpg"), &clip, 3);
    let out = facekiosk(
        home.path(),
        &[
            "--json",
            "session",
            "--reference",
            s(&id),
            "--source",
            s(&clip),
            "--liveness",
            "attended",
            "--operator",
            "staff-1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        json(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not allowed on this kiosk")
    );
}

#[test]
fn keys_show_and_a_malformed_jwks() {
    let home = tempfile::tempdir().unwrap();
    let out = facekiosk(home.path(), &["--json", "keys", "show"]);
    assert!(out.status.success());
    let v = json(&out);
    let kiosk = v["kioskId"].as_str().unwrap().to_owned();
    assert!(kiosk.starts_with("kiosk-"));
    assert_eq!(v["keys"][0]["kid"], kiosk);
    // The same identity next time.
    assert_eq!(
        json(&facekiosk(home.path(), &["--json", "keys", "show"]))["kioskId"],
        kiosk
    );
    let bad = home.path().join("bad.json");
    std::fs::write(&bad, "{\"keys\": \"nope\"}").unwrap();
    let jws = home.path().join("r.jws");
    std::fs::write(&jws, "a.b.c").unwrap();
    let out = facekiosk(home.path(), &["verify-result", s(&jws), "--jwks", s(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWKS"));
}

//! Bad input gets a clear error, never a panic: broken and hostile images, a model file that is
//! not a model, a model that does not match its manifest, a calibration file out of order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use facekiosk_face::decode::{DecodeLimits, decode, decode_file};
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::manifest::sha256_hex;
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_face::{FaceError, ImageError};

fn decode_err(bytes: &[u8]) -> ImageError {
    match decode(bytes, DecodeLimits::default()) {
        Err(FaceError::Image(e)) => e,
        Err(other) => panic!("expected an image error, got {other}"),
        Ok(img) => panic!(
            "expected an image error, got a {}x{} image",
            img.width(),
            img.height()
        ),
    }
}

#[test]
fn a_zero_byte_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.jpg");
    std::fs::write(&p, b"").unwrap();
    let err = decode_file(&p, DecodeLimits::default()).unwrap_err();
    assert_eq!(err.to_string(), "the image is empty (0 bytes)");
}

#[test]
fn a_missing_file_names_the_path() {
    let err = decode_file("/nonexistent/id.jpg".as_ref(), DecodeLimits::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/id.jpg: "),
        "{err}"
    );
}

#[test]
fn a_truncated_jpeg() {
    let full = jpeg(&astronaut(), 90);
    for keep in [200, full.len() / 3, full.len() / 2] {
        let err = decode_err(&full[..keep]);
        assert!(matches!(err, ImageError::Corrupt(_)), "{keep} bytes: {err}");
    }
}

#[test]
fn a_text_file_named_jpg() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("photo.jpg");
    std::fs::write(&p, "Dear customer, this is not a photo.\n").unwrap();
    let err = decode_file(&p, DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(err, FaceError::Image(ImageError::UnsupportedFormat(_))),
        "{err}"
    );
    assert!(err.to_string().contains("not a supported image"), "{err}");
}

#[test]
fn a_20000_by_20000_png_is_refused_before_decoding() {
    let err = decode_err(&png_header_only(20_000, 20_000));
    assert!(
        matches!(
            err,
            ImageError::TooLarge {
                width: 20_000,
                height: 20_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("400.0 MP"), "{err}");
}

#[test]
fn a_one_pixel_image() {
    let one = image::RgbImage::from_pixel(1, 1, image::Rgb([1, 2, 3]));
    let err = decode_err(&encode(&one, image::ImageFormat::Png));
    assert_eq!(
        err.to_string(),
        "the image is too small: 1x1 pixels, at least 32x32 are needed"
    );
}

#[test]
fn unsupported_formats_are_named() {
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert!(matches!(decode_err(gif), ImageError::UnsupportedFormat(_)));
}

/// A models directory whose manifest replaces the embedder with `bytes`.
fn models_dir_with_embedder(bytes: &[u8], manifest_sha: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("embedder.onnx"), bytes).unwrap();
    let sha = manifest_sha.map_or_else(|| sha256_hex(bytes), str::to_owned);
    std::fs::write(
        dir.path().join("manifest.toml"),
        format!("schema = 1\n[embedder]\nfile = \"embedder.onnx\"\ninterface = \"mobilefacenet-112\"\nsha256 = \"{sha}\"\n"),
    )
    .unwrap();
    dir
}

fn load_with(config: FaceConfig) -> FaceError {
    let runtime = RuntimeConfig {
        intra_threads: 1,
        ..RuntimeConfig::default()
    };
    FaceEngine::load(&runtime, &config).unwrap_err()
}

#[test]
fn a_model_file_replaced_by_garbage_is_refused_by_its_hash() {
    let dir = models_dir_with_embedder(b"garbage, not a model", Some(&"a".repeat(64)));
    let err = load_with(FaceConfig {
        models_dir: Some(dir.path().to_path_buf()),
        ..FaceConfig::default()
    });
    let msg = err.to_string();
    assert!(matches!(err, FaceError::Model { .. }), "{msg}");
    assert!(msg.contains("sha256") && msg.contains("refusing"), "{msg}");
}

#[test]
fn garbage_with_a_matching_hash_is_not_a_model() {
    let dir = models_dir_with_embedder(&[0x13; 4096], None);
    let err = load_with(FaceConfig {
        models_dir: Some(dir.path().to_path_buf()),
        ..FaceConfig::default()
    });
    let msg = err.to_string();
    assert!(matches!(err, FaceError::Model { .. }), "{msg}");
    assert!(msg.contains("ONNX Runtime cannot load it"), "{msg}");
}

#[test]
fn a_model_with_the_wrong_interface_is_refused() {
    // The short-range detector, declared as the embedder: its input is not 112×112.
    let detector =
        std::fs::read(data_dir().join("../../models/face_detection_short_range.onnx")).unwrap();
    let dir = models_dir_with_embedder(&detector, None);
    let err = load_with(FaceConfig {
        models_dir: Some(dir.path().to_path_buf()),
        ..FaceConfig::default()
    });
    assert!(
        err.to_string()
            .contains("interface `mobilefacenet-112` needs"),
        "{err}"
    );
}

#[test]
fn a_calibration_with_levels_out_of_order() {
    let shipped =
        std::fs::read_to_string(data_dir().join("../../models/calibration.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    let levels = json["levels"].as_array_mut().unwrap();
    levels.swap(1, 3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("calibration.json");
    std::fs::write(&p, serde_json::to_string(&json).unwrap()).unwrap();
    let err = load_with(FaceConfig {
        calibration: Some(p.clone()),
        ..FaceConfig::default()
    });
    assert!(matches!(err, FaceError::Calibration { .. }), "{err}");
    assert!(err.to_string().contains("in order"), "{err}");

    // Levels in order but with a higher level less strict than a lower one.
    let mut json: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    json["levels"][3]["threshold"] = serde_json::json!(0.1);
    std::fs::write(&p, serde_json::to_string(&json).unwrap()).unwrap();
    let err = load_with(FaceConfig {
        calibration: Some(p),
        ..FaceConfig::default()
    });
    assert!(err.to_string().contains("out of order"), "{err}");
}

#[test]
fn a_calibration_for_another_embedder() {
    let shipped =
        std::fs::read_to_string(data_dir().join("../../models/calibration.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    json["embedderSha256"] = serde_json::json!("0".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("calibration.json");
    std::fs::write(&p, serde_json::to_string(&json).unwrap()).unwrap();
    let err = load_with(FaceConfig {
        calibration: Some(p),
        ..FaceConfig::default()
    });
    assert!(
        err.to_string().contains("run `facekiosk calibrate`"),
        "{err}"
    );
}

#[test]
fn a_malformed_manifest_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.toml"), "schema = 1\n[embedder\n").unwrap();
    let err = load_with(FaceConfig {
        models_dir: Some(dir.path().to_path_buf()),
        ..FaceConfig::default()
    });
    assert!(err.to_string().contains("manifest.toml"), "{err}");
}

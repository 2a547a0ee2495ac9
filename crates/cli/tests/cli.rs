//! The `facekiosk` binary on real files: golden JSON of `detect` and `verify`, exit codes,
//! errors for bad input, and the evaluation commands on a set made from the project's photos.
//!
//! Golden files live in tests/golden; numbers are compared with a tolerance (ONNX Runtime's
//! results differ in the last digits between CPUs). `UPDATE_GOLDEN=1 cargo test` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{data, json, ort_library, s};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::RgbImage;
use serde_json::Value;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn facekiosk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facekiosk"))
        .args(["--threads", "1"])
        .args(args)
        .env_remove("FACEKIOSK_CONFIG")
        // Models an operator may have installed on this machine must not change the results.
        .env(
            "FACEKIOSK_DATA_DIR",
            std::env::temp_dir().join("facekiosk-cli-tests-no-data"),
        )
        .env("ORT_DYLIB_PATH", ort_library())
        .output()
        .expect("the facekiosk binary runs")
}

/// Replaces values that change from run to run (timings, paths) by placeholders.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if key.ends_with("ms") || key == "timings" {
                    *val = Value::String("<time>".into());
                } else if key == "file" || key == "image" {
                    *val = Value::String("<path>".into());
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Structural equality with numbers within 0.02 or 2 %.
fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 0.02_f64.max(0.02 * x.abs().max(y.abs())) {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let (kx, ky): (Vec<_>, Vec<_>) = (x.keys().collect(), y.keys().collect());
            if kx != ky {
                return Err(format!("{path}: keys {kx:?} != {ky:?}"));
            }
            x.iter()
                .try_for_each(|(k, v)| same(v, &y[k], &format!("{path}.{k}")))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: {} items != {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (p, q))| same(p, q, &format!("{path}[{i}]")))
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

fn check_golden(name: &str, mut actual: Value) {
    redact(&mut actual);
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if let Err(diff) = same(&actual, &expected, "$") {
        panic!(
            "{name} differs from the golden file ({diff}); if the change is intended, \
             rerun with UPDATE_GOLDEN=1 and review the diff.\nactual: {}",
            serde_json::to_string_pretty(&actual).unwrap()
        );
    }
}

fn save(img: &RgbImage, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    img.save(&p).unwrap();
    p
}

fn astronaut() -> RgbImage {
    image::open(data("astronaut.jpg")).unwrap().to_rgb8()
}

/// An ID-photo-sized crop of the astronaut.
fn id_photo(dir: &Path) -> PathBuf {
    let crop = image::imageops::crop_imm(&astronaut(), 130, 20, 190, 240).to_image();
    let small = image::imageops::resize(&crop, 152, 192, image::imageops::FilterType::Triangle);
    save(&small, dir, "id.jpg")
}

#[test]
fn detect_json_is_golden() {
    let out = facekiosk(&["--json", "detect", s(&data("astronaut.jpg"))]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_golden("detect_astronaut.json", json(&out));
}

#[test]
fn verify_same_person_is_golden_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let id = id_photo(dir.path());
    let out = facekiosk(&[
        "--json",
        "verify",
        "--reference",
        s(&id),
        "--probe",
        s(&data("astronaut.jpg")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["decision"], "MATCH");
    check_golden("verify_same_person.json", v);
}

#[test]
fn verify_another_person_exits_1() {
    let out = facekiosk(&[
        "verify",
        "--reference",
        s(&data("astronaut.jpg")),
        "--probe",
        s(&data("camera.png")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("NO_MATCH"), "{text}");
}

#[test]
fn verify_with_a_broken_probe_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("selfie.jpg");
    std::fs::write(&bad, "not a photo").unwrap();
    let out = facekiosk(&[
        "verify",
        "--reference",
        s(&data("astronaut.jpg")),
        "--probe",
        s(&bad),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("selfie.jpg") && err.contains("not a supported image"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = facekiosk(&[
        "--json",
        "verify",
        "--reference",
        s(&data("astronaut.jpg")),
        "--probe",
        s(&bad),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "INVALID_IMAGE");
}

#[test]
fn a_photo_without_a_face_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sky = image::imageops::crop_imm(&astronaut(), 340, 0, 172, 300).to_image();
    let p = save(&sky, dir.path(), "sky.png");
    let out = facekiosk(&[
        "--json",
        "verify",
        "--reference",
        s(&p),
        "--probe",
        s(&data("astronaut.jpg")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["error"]["code"], "NO_FACE");
    assert_eq!(
        v["error"]["message"],
        "no face found in the reference image"
    );
}

#[test]
fn a_missing_onnx_runtime_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_facekiosk"))
        .arg("runtime")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("scripts/setup") && !err.contains("panicked"),
        "{err}"
    );
}

/// Regression: ONNX Runtime looks for its provider libraries (CUDA, TensorRT) beside the path it
/// was loaded from, and scripts/setup selects the build with a symlink — loaded through the
/// symlink, the GPU build could never start CUDA. The library is loaded by its real path.
#[test]
fn the_library_is_loaded_by_its_real_path() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("libonnxruntime.so");
    let real = std::fs::canonicalize(ort_library()).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = facekiosk(&["--json", "--ort-library", s(&link), "runtime"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["library"], real.to_str().unwrap());
}

#[test]
fn an_unavailable_provider_is_an_error_unless_fallback_is_allowed() {
    let out = facekiosk(&["--provider", "cuda", "runtime"]);
    let info = facekiosk(&["--json", "runtime"]);
    let gpu_build = json(&info)["availableProviders"]
        .to_string()
        .contains("CUDAExecutionProvider");
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // Only a GPU build of ONNX Runtime on a machine with a working GPU starts CUDA.
        assert!(gpu_build, "CUDA started without a GPU build");
        assert_eq!(
            json(&facekiosk(&["--json", "--provider", "cuda", "runtime"]))["provider"],
            "cuda"
        );
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert!(
            err.contains("`cuda` cannot start") && err.contains("allow the CPU fallback"),
            "{err}"
        );
    }

    let out = facekiosk(&[
        "--json",
        "--provider",
        "cuda",
        "--allow-cpu-fallback",
        "runtime",
    ]);
    assert!(out.status.success());
    let v = json(&out);
    if v["provider"] == "cpu" {
        assert!(
            v["fallbackReason"].as_str().unwrap().contains("cuda"),
            "{v}"
        );
    } else {
        assert_eq!(v["provider"], "cuda", "{v}");
    }
}

/// A labelled set made from the two project photos: variants of each person.
fn labelled_set(dir: &Path) {
    let a = astronaut();
    let c = image::open(data("camera.png")).unwrap().to_rgb8();
    let mut labels = String::from("file,identity\n");
    for (person, img) in [("astronaut", &a), ("camera", &c)] {
        let variants = [
            img.clone(),
            image::imageops::flip_horizontal(img),
            image::imageops::resize(img, 300, 300, image::imageops::FilterType::Triangle),
            image::imageops::brighten(img, -30),
            image::imageops::crop_imm(img, 40, 0, 440, 480).to_image(),
        ];
        for (i, v) in variants.iter().enumerate() {
            let name = format!("{person}{i}.png");
            save(v, dir, &name);
            labels.push_str(&format!("{name},{person}\n"));
        }
    }
    std::fs::write(dir.join("labels.csv"), labels).unwrap();
}

#[test]
fn eval_and_calibrate_on_a_labelled_set() {
    let dir = tempfile::tempdir().unwrap();
    labelled_set(dir.path());
    let plot = dir.path().join("det.png");
    let out = facekiosk(&["--json", "eval", "--set", s(dir.path()), "--plot", s(&plot)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["imagesWithFace"], 10);
    assert_eq!(v["metrics"]["genuinePairs"], 20);
    assert_eq!(v["metrics"]["impostorPairs"], 25);
    assert!(v["metrics"]["eer"].as_f64().unwrap() < 0.05, "{v}");
    assert!(image::open(&plot).unwrap().width() > 100);

    // Two people cannot be split into identities that choose thresholds and identities that
    // measure them: a clear error, and no file.
    let cal = dir.path().join("calibration.json");
    let out = facekiosk(&[
        "--json",
        "calibrate",
        "--set",
        s(dir.path()),
        "--out",
        s(&cal),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = json(&out)["error"]["message"].to_string();
    assert!(err.contains("too few"), "{err}");
    assert!(!cal.exists());

    // The project ships photos of two people only, so for the command's flow (embed, split,
    // bound, write, reload) each variant is labelled as its own "identity"; the statistics
    // themselves are unit-tested in facekiosk_face::calibrate.
    let labels = std::fs::read_to_string(dir.path().join("labels.csv")).unwrap();
    let pseudo: String = labels
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                let file = l.split(',').next().unwrap();
                format!("{file},{}\n", file.trim_end_matches(".png"))
            }
        })
        .collect();
    // Each pseudo-identity needs a genuine pair: the same file under a second name.
    let mut with_pairs = pseudo.clone();
    for l in pseudo.lines().skip(1) {
        let (file, id) = l.split_once(',').unwrap();
        let copy = format!("copy-{file}");
        std::fs::copy(dir.path().join(file), dir.path().join(&copy)).unwrap();
        with_pairs.push_str(&format!("{copy},{id}\n"));
    }
    let pseudo_labels = dir.path().join("pseudo.csv");
    std::fs::write(&pseudo_labels, with_pairs).unwrap();
    let det = dir.path().join("cal.png");
    let out = facekiosk(&[
        "--json",
        "calibrate",
        "--set",
        s(dir.path()),
        "--labels",
        s(&pseudo_labels),
        "--out",
        s(&cal),
        "--plot",
        s(&det),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = json(&out);
    assert_eq!(c["schema"], 2);
    assert_eq!(c["set"]["images"], 20);
    assert_eq!(c["set"]["labelsSha256"].as_str().unwrap().len(), 64);
    assert_eq!(c["levels"].as_array().unwrap().len(), 5);
    assert!(image::open(&det).unwrap().width() > 100);
    // The new file is usable at once.
    let out = facekiosk(&[
        "--calibration",
        s(&cal),
        "verify",
        "--reference",
        s(&data("astronaut.jpg")),
        "--probe",
        s(&data("astronaut.jpg")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eval_with_malformed_labels_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("labels.csv"), "file,identity\na.jpg,x,y\n").unwrap();
    let out = facekiosk(&["eval", "--set", s(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("labels.csv:2"));
}

#[test]
fn spoof_evaluation_without_a_passive_model_says_how_to_install_one() {
    let dir = tempfile::tempdir().unwrap();
    labelled_set(dir.path());
    let out = facekiosk(&["eval", "--spoof", "--set", s(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("facekiosk models install"));
}

#[test]
fn models_verify_passes_for_the_embedded_models() {
    let out = facekiosk(&["--json", "models", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json(&out);
    assert_eq!(
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["verified"] == true)
            .count(),
        4
    );
}

#[test]
fn installing_a_model_whose_hash_does_not_match_changes_nothing() {
    let src = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("p.onnx"),
        b"not the file the manifest describes",
    )
    .unwrap();
    std::fs::write(
        src.path().join("manifest.toml"),
        format!("schema = 1\n[passive_liveness]\nfile = \"p.onnx\"\ninterface = \"minifas-128\"\nsha256 = \"{}\"\n", "0".repeat(64)),
    )
    .unwrap();
    let out = facekiosk(&[
        "--models",
        s(target.path()),
        "models",
        "install",
        s(src.path()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sha256"));
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
}

/// `staff hash-pin` reads the PIN from stdin and prints a `[[staff.operators]]` table that a
/// configuration file takes as it is, and whose hash opens the staff panel with that PIN only;
/// a PIN that is not 4–12 digits is refused.
#[test]
fn a_hashed_staff_pin_goes_into_the_config_and_opens_the_panel() {
    use std::io::Write;
    use std::process::Stdio;
    let run = |pin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_facekiosk"))
            .args(["staff", "hash-pin", "--name", "Amal Haddad"])
            .env_remove("FACEKIOSK_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{pin}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("24681357");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains("24681357"), "{table}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facekiosk.toml");
    std::fs::write(&path, &table).unwrap();
    let config = facekiosk_kiosk::config::read(&path).unwrap();
    let mut gate = facekiosk_kiosk::staff::StaffGate::default();
    assert_eq!(
        gate.unlock(&config.staff, "24681357", 0).unwrap(),
        "Amal Haddad"
    );
    assert!(gate.unlock(&config.staff, "24681358", 1).is_err());

    for bad in ["123", "12ab", ""] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("4 to 12 digits"),
            "{bad:?}"
        );
    }
}

/// `texts check`: the shipped texts are clean; a deployment's folder with a missing key, an
/// extra key, a wrong placeholder and a broken file is reported, with exit code 1.
#[test]
fn texts_check_reports_what_a_deployment_got_wrong() {
    let out = facekiosk(&["--json", "texts", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["clean"], true);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("en.json"),
        r#"{ "screen": { "attract": { "title": "Welcome {custmer}" } }, "hint": { "NEW": "x" } }"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("xx.json"),
        r#"{ "hint": { "MOVE_CLOSER": "closer" } }"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("zz.json"), "{ oops").unwrap();
    let out = facekiosk(&["--json", "texts", "check", "--dir", s(dir.path())]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let langs = v["languages"].as_array().unwrap();
    let en = &langs[0];
    assert_eq!(en["lang"], "en");
    assert_eq!(en["extra"], serde_json::json!(["hint.NEW"]));
    assert_eq!(
        en["missing"],
        serde_json::json!([]),
        "overrides need not repeat keys"
    );
    assert!(
        en["badPlaceholders"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("{custmer}"),
        "{en}"
    );
    // A new language must have every key.
    assert!(langs[1]["missing"].as_array().unwrap().len() > 20);
    assert!(langs[2]["error"].as_str().unwrap().contains("not JSON"));
    let text = facekiosk(&["texts", "check", "--dir", s(dir.path())]);
    let human = String::from_utf8_lossy(&text.stdout);
    assert!(
        human.contains("extra: hint.NEW") && human.contains("zz  PROBLEMS"),
        "{human}"
    );
}

/// `bench` on a few iterations: every stage measured, the stream row with the face followed
/// between detector frames, and the session's clip counted in detector and followed frames.
#[test]
fn bench_measures_every_stage_and_follows_the_face_in_a_stream() {
    let out = facekiosk(&["--json", "bench", "--iterations", "3", "--warmup", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["redetectEvery"], 5);
    let runs = v["runs"].as_array().unwrap();
    assert!(!runs.is_empty());
    for run in runs {
        for stage in [
            "decode",
            "detect",
            "landmarks",
            "align",
            "embed",
            "frame",
            "frameStream",
            "verify",
            "verifySequential",
        ] {
            let median = run["stages"][stage]["medianMs"].as_f64().unwrap();
            assert!(median > 0.0, "{stage}: {run}");
        }
    }
    let session = &v["session"];
    let (detector, followed) = (
        session["detectorFrames"].as_u64().unwrap(),
        session["followedFrames"].as_u64().unwrap(),
    );
    assert!(detector >= 1 && followed >= detector, "{session}");
    assert!(
        v["speedupFrameStream"].is_null(),
        "no Python run was asked for"
    );
}

//! The app's look: `assets/themes/<name>/theme.json` (colours, corner radius, text scale, logo,
//! images, sounds). Two themes are built in, `default` and `high-contrast`; a deployment
//! changes any key or file, or adds a theme, from its own folder (`kiosk.assets_dir`:
//! `themes/<name>/theme.json` and the files it names) without rebuilding.
//!
//! A theme's keys are merged over the built-in one of the same name, itself over `default`.
//! Files are looked for in the deployment's theme folder, then the built-in theme's, then the
//! default's; a file found nowhere (or too large, or of an unknown type) falls back to the
//! default theme's, with a warning, never to a broken image. The screen gets the files as
//! `data:` URLs, so nothing is fetched at run time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

/// The theme used when none is configured.
pub const DEFAULT_THEME: &str = "default";

/// The built-in themes.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../../assets/themes/default/theme.json"),
    ),
    (
        "high-contrast",
        include_str!("../../../assets/themes/high-contrast/theme.json"),
    ),
];

/// The built-in themes' files, by `<theme>/<path>`.
const BUILT_IN_FILES: &[(&str, &[u8])] = &[
    (
        "default/logo.svg",
        include_bytes!("../../../assets/themes/default/logo.svg"),
    ),
    (
        "default/sounds/hint.wav",
        include_bytes!("../../../assets/themes/default/sounds/hint.wav"),
    ),
    (
        "default/sounds/challenge.wav",
        include_bytes!("../../../assets/themes/default/sounds/challenge.wav"),
    ),
    (
        "default/sounds/success.wav",
        include_bytes!("../../../assets/themes/default/sounds/success.wav"),
    ),
    (
        "default/sounds/failure.wav",
        include_bytes!("../../../assets/themes/default/sounds/failure.wav"),
    ),
];

/// The colours a theme sets (CSS custom properties of the screens, `--brand` …).
pub const COLORS: &[&str] = &[
    "brand",
    "brandStrong",
    "brandSoft",
    "brandContrast",
    "accent",
    "bg",
    "surface",
    "text",
    "muted",
    "line",
    "success",
    "successSoft",
    "warning",
    "warningSoft",
    "danger",
    "dangerSoft",
    "neutral",
    "neutralSoft",
    "faceIn",
    "faceOut",
    "previewBg",
];

/// The moments a theme may give a sound.
pub const SOUNDS: &[&str] = &["hint", "challenge", "success", "failure"];

/// The largest file a theme may use, bytes.
const MAX_FILE: usize = 2 * 1024 * 1024;

/// A theme, ready for the screens.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Theme {
    /// Its name.
    pub name: String,
    /// Colours by name ([`COLORS`]).
    pub colors: BTreeMap<String, String>,
    /// Corner radius, px.
    pub radius: f64,
    /// Large corner radius, px.
    pub radius_large: f64,
    /// Text size factor.
    pub font_scale: f64,
    /// The logo, as a `data:` URL.
    pub logo: Option<String>,
    /// Images by name, as `data:` URLs.
    pub images: BTreeMap<String, String>,
    /// Sounds by moment ([`SOUNDS`]), as `data:` URLs.
    pub sounds: BTreeMap<String, String>,
    /// The theme's own typeface (none: the bundled DejaVu Sans and Noto Sans Arabic).
    pub font: Option<ThemeFont>,
    /// What fell back to the default (also logged).
    pub warnings: Vec<String>,
}

/// A theme's typeface: its family name and its files as `data:` URLs (woff2, woff, ttf or
/// otf). Text it has no glyphs for is drawn with the bundled fonts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThemeFont {
    /// The family name the screens use (letters, digits, spaces, `-` and `_`).
    pub family: String,
    /// The regular weight.
    pub regular: Option<String>,
    /// The bold weight (headings, buttons); without it the browser emboldens the regular one.
    pub bold: Option<String>,
}

/// A font family name that cannot break out of a CSS declaration.
pub fn family_ok(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.trim() == s
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '_')
}

fn built_in_json(name: &str) -> Option<Value> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, t)| serde_json::from_str(t).ok())
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot @ Value::Object(_)) if v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn mime(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => return None,
    })
}

/// A safe relative path inside a theme folder.
fn relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

/// A CSS colour value that cannot break out of its declaration.
pub fn color_ok(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || " #(),.%-".contains(c))
}

struct Finder<'a> {
    /// The deployment's folder for this theme.
    folder: Option<PathBuf>,
    /// The built-in theme of that name, if any.
    built_in: Option<&'a str>,
}

impl Finder<'_> {
    /// The file's bytes: the deployment's, the built-in theme's, the default's.
    fn find(&self, path: &str) -> Result<(Vec<u8>, String), String> {
        if !relative(path) {
            return Err(format!("`{path}` is not a path inside the theme's folder"));
        }
        if let Some(dir) = &self.folder {
            let p = dir.join(path);
            if p.is_file() {
                let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                return Ok((bytes, p.display().to_string()));
            }
        }
        for theme in self.built_in.into_iter().chain([DEFAULT_THEME]) {
            let key = format!("{theme}/{path}");
            if let Some((_, b)) = BUILT_IN_FILES.iter().find(|(k, _)| *k == key) {
                return Ok((b.to_vec(), format!("built-in {key}")));
            }
        }
        Err(format!("`{path}` is missing"))
    }

    /// The file at `path` as a `data:` URL, if it is of `kind` (judged by its name, before it
    /// is read).
    fn data_url(&self, path: &str, kind: FileKind) -> Result<String, String> {
        let (prefix, what) = match kind {
            FileKind::Image => ("image/", "an image"),
            FileKind::Sound => ("audio/", "a sound"),
            FileKind::Font => ("font/", "a font"),
        };
        let mime = mime(path)
            .filter(|m| m.starts_with(prefix))
            .ok_or_else(|| format!("`{path}` is not {what}"))?;
        let (bytes, from) = self.find(path)?;
        if bytes.len() > MAX_FILE {
            return Err(format!("{from} is larger than {} MB", MAX_FILE >> 20));
        }
        Ok(format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }
}

/// What a theme's key takes: the logo and images, sounds, the typeface's files.
#[derive(Clone, Copy)]
enum FileKind {
    Image,
    Sound,
    Font,
}

/// The theme `name`: built in, or `themes/<name>/theme.json` in `assets_dir`, merged as the
/// module says. An unknown theme, a theme.json that is not JSON, or values out of range are
/// errors (the app refuses to start with them); a missing file falls back with a warning.
pub fn load(name: &str, assets_dir: Option<&Path>) -> Result<Theme, String> {
    let mut json = built_in_json(DEFAULT_THEME).ok_or("the built-in default theme is broken")?;
    let built_in = BUILT_IN.iter().find(|(n, _)| *n == name).map(|(n, _)| *n);
    if let Some(t) = built_in.and_then(built_in_json) {
        merge(&mut json, &t);
    }
    let folder = assets_dir.map(|d| d.join("themes").join(name));
    let file = folder.as_ref().map(|f| f.join("theme.json"));
    match &file {
        Some(f) if f.is_file() => {
            let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
            let over: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", f.display()))?;
            if !over.is_object() {
                return Err(format!("{}: not a JSON object", f.display()));
            }
            merge(&mut json, &over);
        }
        _ if built_in.is_none() => {
            return Err(format!(
                "no theme `{name}` (built in: {}{})",
                BUILT_IN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
                file.map(|f| format!("; nor {}", f.display()))
                    .unwrap_or_default()
            ));
        }
        _ => {}
    }
    let defaults = built_in_json(DEFAULT_THEME).unwrap_or(Value::Null);
    let finder = Finder { folder, built_in };
    let mut warnings = Vec::new();
    let obj = |v: &Value, key: &str| v[key].as_object().cloned().unwrap_or_else(Map::new);

    let mut colors = BTreeMap::new();
    for (k, v) in obj(&json, "colors") {
        let Some(s) = v.as_str() else {
            return Err(format!("theme `{name}`: colors.{k} is not a string"));
        };
        if !COLORS.contains(&k.as_str()) {
            warnings.push(format!(
                "colors.{k} is not a colour of the screens: ignored"
            ));
            continue;
        }
        if !color_ok(s) {
            return Err(format!(
                "theme `{name}`: colors.{k} = {s:?} is not a CSS colour"
            ));
        }
        colors.insert(k, s.to_owned());
    }
    let number = |key: &str, range: std::ops::RangeInclusive<f64>| -> Result<f64, String> {
        let v = json[key]
            .as_f64()
            .ok_or_else(|| format!("theme `{name}`: {key} is not a number"))?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "theme `{name}`: {key} = {v}: expected {} to {}",
                range.start(),
                range.end()
            ))
        }
    };
    let radius = number("radius", 0.0..=64.0)?;
    let radius_large = number("radiusLarge", 0.0..=96.0)?;
    let font_scale = number("fontScale", 0.75..=2.0)?;

    // A file that cannot be used (missing, too large, or not of the key's kind: a font as the
    // logo) falls back to the default theme's for the same key.
    let file_or_default = |warnings: &mut Vec<String>,
                           what: &str,
                           kind: FileKind,
                           path: Option<&str>,
                           default: Option<&str>| {
        let path = path?;
        match finder.data_url(path, kind) {
            Ok(url) => Some(url),
            Err(e) => {
                let fallback = default.filter(|d| *d != path);
                warnings.push(format!(
                    "{what}: {e}; {}",
                    if fallback.is_some() {
                        "the default theme's is used"
                    } else {
                        "none is used"
                    }
                ));
                fallback.and_then(|d| finder.data_url(d, kind).ok())
            }
        }
    };
    let logo = file_or_default(
        &mut warnings,
        "logo",
        FileKind::Image,
        json["logo"].as_str(),
        defaults["logo"].as_str(),
    );
    let mut images = BTreeMap::new();
    for (k, v) in obj(&json, "images") {
        if let Some(url) = file_or_default(
            &mut warnings,
            &format!("images.{k}"),
            FileKind::Image,
            v.as_str(),
            None,
        ) {
            images.insert(k, url);
        }
    }
    let mut sounds = BTreeMap::new();
    for (k, v) in obj(&json, "sounds") {
        if !SOUNDS.contains(&k.as_str()) {
            warnings.push(format!("sounds.{k} is not a moment with a sound: ignored"));
            continue;
        }
        let default = defaults["sounds"][k.as_str()].as_str();
        if let Some(url) = file_or_default(
            &mut warnings,
            &format!("sounds.{k}"),
            FileKind::Sound,
            v.as_str(),
            default,
        ) {
            sounds.insert(k, url);
        }
    }
    let font = match json.get("font") {
        None | Some(Value::Null) => None,
        Some(f) => {
            let family = f["family"].as_str().unwrap_or_default();
            if !family_ok(family) {
                return Err(format!(
                    "theme `{name}`: font.family = {family:?}: expected 1 to 64 letters, digits, spaces, - or _"
                ));
            }
            let regular = file_or_default(
                &mut warnings,
                "font.regular",
                FileKind::Font,
                f["regular"].as_str(),
                None,
            );
            let bold = file_or_default(
                &mut warnings,
                "font.bold",
                FileKind::Font,
                f["bold"].as_str(),
                None,
            );
            if regular.is_none() && bold.is_none() {
                warnings.push(format!(
                    "font `{family}`: no file of it could be used; the bundled fonts are used"
                ));
                None
            } else {
                Some(ThemeFont {
                    family: family.to_owned(),
                    regular,
                    bold,
                })
            }
        }
    };
    for w in &warnings {
        tracing::warn!(theme = name, "{w}");
    }
    Ok(Theme {
        name: name.to_owned(),
        colors,
        radius,
        radius_large,
        font_scale,
        logo,
        images,
        sounds,
        font,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_themes_set_every_colour_and_their_files_exist() {
        for (name, _) in BUILT_IN {
            let t = load(name, None).unwrap();
            assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
            for c in COLORS {
                assert!(t.colors.contains_key(*c), "{name} lacks {c}");
            }
            assert!(
                t.logo
                    .as_deref()
                    .unwrap()
                    .starts_with("data:image/svg+xml;base64,")
            );
        }
        let d = load("default", None).unwrap();
        assert_eq!(d.sounds.len(), SOUNDS.len());
        assert!(d.sounds["success"].starts_with("data:audio/wav;base64,"));
        let hc = load("high-contrast", None).unwrap();
        assert_eq!(hc.colors["bg"], "#ffffff");
        assert_eq!(hc.colors["text"], "#000000");
        assert!((hc.font_scale - 1.1).abs() < 1e-9);
        // It names no sounds or logo: the default's are used, silently.
        assert_eq!(hc.sounds, d.sounds);
    }

    #[test]
    fn a_deployment_changes_keys_and_files_and_a_missing_file_falls_back_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("themes/default");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("bank.svg"),
            "<svg xmlns='http://www.w3.org/2000/svg'/>",
        )
        .unwrap();
        std::fs::write(
            folder.join("theme.json"),
            r##"{ "colors": { "brand": "#123456", "sparkle": "#fff" }, "logo": "bank.svg",
                  "sounds": { "success": "sounds/fanfare.wav" }, "images": { "attract": "lobby.jpg" } }"##,
        )
        .unwrap();
        let t = load("default", Some(dir.path())).unwrap();
        assert_eq!(t.colors["brand"], "#123456");
        // Keys it does not set keep the built-in theme's.
        assert_eq!(t.colors["bg"], "#f3f6f5");
        assert!(
            t.logo.as_deref().unwrap().contains(
                &base64::engine::general_purpose::STANDARD
                    .encode("<svg xmlns='http://www.w3.org/2000/svg'/>")
            )
        );
        // The missing sound: the default's; the missing image: none; each said.
        let default = load("default", None).unwrap();
        assert_eq!(t.sounds["success"], default.sounds["success"]);
        assert!(t.images.is_empty());
        let w = t.warnings.join("\n");
        assert!(
            w.contains(
                "sounds.success: `sounds/fanfare.wav` is missing; the default theme's is used"
            ),
            "{w}"
        );
        assert!(
            w.contains("images.attract: `lobby.jpg` is missing; none is used"),
            "{w}"
        );
        assert!(w.contains("colors.sparkle"), "{w}");

        // A theme of its own, over the default.
        let own = dir.path().join("themes/night");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(
            own.join("theme.json"),
            r##"{ "colors": { "bg": "#000" } }"##,
        )
        .unwrap();
        let n = load("night", Some(dir.path())).unwrap();
        assert_eq!(
            (n.colors["bg"].as_str(), n.colors["brand"].as_str()),
            ("#000", "#0b6e4f")
        );
        assert_eq!(n.font, None, "no typeface: the bundled fonts");
    }

    #[test]
    fn a_theme_brings_its_typeface_and_a_file_of_the_wrong_kind_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("themes/bank");
        std::fs::create_dir_all(folder.join("fonts")).unwrap();
        std::fs::write(folder.join("fonts/Brand.woff2"), b"wOF2 not really").unwrap();
        std::fs::write(folder.join("face.png"), b"png").unwrap();
        std::fs::write(
            folder.join("theme.json"),
            r#"{ "font": { "family": "Brand Sans", "regular": "fonts/Brand.woff2", "bold": "fonts/Brand-Bold.woff2" },
                 "logo": "fonts/Brand.woff2", "sounds": { "hint": "face.png" } }"#,
        )
        .unwrap();
        let t = load("bank", Some(dir.path())).unwrap();
        let font = t.font.clone().unwrap();
        assert_eq!(font.family, "Brand Sans");
        assert!(font.regular.unwrap().starts_with("data:font/woff2;base64,"));
        assert_eq!(font.bold, None);
        let w = t.warnings.join("\n");
        assert!(
            w.contains("font.bold: `fonts/Brand-Bold.woff2` is missing; none is used"),
            "{w}"
        );
        // A font is not a logo, an image is not a sound: the default's instead.
        let default = load("default", None).unwrap();
        assert_eq!(t.logo, default.logo, "{w}");
        assert_eq!(t.sounds["hint"], default.sounds["hint"], "{w}");
        assert!(
            w.contains("logo: `fonts/Brand.woff2` is not an image"),
            "{w}"
        );

        // No usable file: no typeface, said.
        std::fs::write(
            folder.join("theme.json"),
            r#"{ "font": { "family": "Brand Sans", "regular": "fonts/Gone.ttf" } }"#,
        )
        .unwrap();
        let t = load("bank", Some(dir.path())).unwrap();
        assert_eq!(t.font, None);
        assert!(
            t.warnings
                .iter()
                .any(|w| w.contains("the bundled fonts are used")),
            "{:?}",
            t.warnings
        );

        // A family name that could break out of the style is refused.
        std::fs::write(
            folder.join("theme.json"),
            r#"{ "font": { "family": "x\"; color: red", "regular": "fonts/Brand.woff2" } }"#,
        )
        .unwrap();
        assert!(
            load("bank", Some(dir.path()))
                .unwrap_err()
                .contains("font.family")
        );
    }

    #[test]
    fn unknown_themes_broken_files_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load("neon", None).unwrap_err().contains("no theme `neon`"));
        let write = |json: &str| {
            let folder = dir.path().join("themes/x");
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("theme.json"), json).unwrap();
        };
        write("{ \"colors\": ");
        assert!(
            load("x", Some(dir.path()))
                .unwrap_err()
                .contains("not JSON")
        );
        write(r#"{ "colors": { "brand": "red; background: url(http://x)" } }"#);
        assert!(
            load("x", Some(dir.path()))
                .unwrap_err()
                .contains("not a CSS colour")
        );
        write(r#"{ "fontScale": 5 }"#);
        assert!(
            load("x", Some(dir.path()))
                .unwrap_err()
                .contains("fontScale = 5")
        );
        write(r#"{ "logo": "../../etc/passwd.svg" }"#);
        let t = load("x", Some(dir.path())).unwrap();
        assert!(
            t.warnings[0].contains("not a path inside"),
            "{:?}",
            t.warnings
        );
        assert!(t.logo.is_some(), "the default logo");
    }
}

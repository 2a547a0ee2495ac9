//! The app's texts: `texts/<lang>.json`, every string the screens show by key (hints and error
//! messages included). The shipped languages are built in; a deployment overrides any key, or
//! adds a language, from its own folder (`kiosk.texts_dir`) without rebuilding. A key missing
//! in a language falls back to the default language (`en`), never to a blank label.
//!
//! [`check`] is `facekiosk texts check`: missing and extra keys per language, and placeholders
//! (`{name}`) that the default language does not have or that are malformed. Plural texts are
//! objects of CLDR categories (`zero`, `one`, `two`, `few`, `many`, `other`); each language has
//! the categories its own grammar needs, so a plural text is one key, and needs `other`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

/// The language every other falls back to.
pub const DEFAULT_LANG: &str = "en";

/// The shipped texts, by language.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("../../../texts/en.json")),
    ("fr", include_str!("../../../texts/fr.json")),
    ("ar", include_str!("../../../texts/ar.json")),
];

const PLURAL: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

/// A text: one string, or plural forms.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Text {
    One(String),
    Plural(BTreeMap<String, String>),
}

impl Text {
    fn forms(&self) -> Vec<&str> {
        match self {
            Text::One(s) => vec![s.as_str()],
            Text::Plural(m) => m.values().map(String::as_str).collect(),
        }
    }
}

/// Keys whose values are not shown text (comments, the layout direction, the digit style).
fn is_meta(key: &str) -> bool {
    key.starts_with('_') || key.contains("._")
}

/// Every text of a texts file, by its dotted key.
fn flatten(v: &Value) -> Result<BTreeMap<String, Text>, String> {
    fn walk(
        node: &Map<String, Value>,
        prefix: &str,
        out: &mut BTreeMap<String, Text>,
    ) -> Result<(), String> {
        for (k, v) in node {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::String(s) => {
                    out.insert(key, Text::One(s.clone()));
                }
                Value::Object(m)
                    if !m.is_empty() && m.keys().all(|c| PLURAL.contains(&c.as_str())) =>
                {
                    let mut forms = BTreeMap::new();
                    for (c, f) in m {
                        let s = f
                            .as_str()
                            .ok_or_else(|| format!("`{key}.{c}` is not a string"))?;
                        forms.insert(c.clone(), s.to_owned());
                    }
                    out.insert(key, Text::Plural(forms));
                }
                Value::Object(m) => walk(m, &key, out)?,
                _ => return Err(format!("`{key}` is not a string or an object")),
            }
        }
        Ok(())
    }
    let root = v
        .as_object()
        .ok_or("the file is not a JSON object".to_owned())?;
    let mut out = BTreeMap::new();
    walk(root, "", &mut out)?;
    out.retain(|k, _| !is_meta(k));
    Ok(out)
}

/// The `{name}` placeholders of a text, or why they are malformed.
fn placeholders(text: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a `}` without its `{`".to_owned());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` without its `}`".to_owned())?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{{{name}}}` is not a placeholder name"));
        }
        out.insert(name.to_owned());
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// One language's findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LanguageReport {
    /// The language.
    pub lang: String,
    /// Where its texts came from (`built-in`, or a file).
    pub source: String,
    /// Keys the default language has and this one lacks (shown in the default language).
    pub missing: Vec<String>,
    /// Keys the default language does not have (never shown).
    pub extra: Vec<String>,
    /// Texts whose placeholders are malformed or unknown to the default language's text.
    pub bad_placeholders: Vec<BadPlaceholder>,
    /// The file could not be read as texts at all.
    pub error: Option<String>,
}

impl LanguageReport {
    /// Nothing to fix.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.bad_placeholders.is_empty()
            && self.error.is_none()
    }
}

/// A text with a placeholder problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadPlaceholder {
    /// Its key.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Compares one language's texts (`json`) with the default language's (`base`). With
/// `partial`, the texts are a deployment's overrides of a built-in language: keys they do not
/// override are not missing.
fn compare(base: &Value, lang: &str, source: &str, json: &Value, partial: bool) -> LanguageReport {
    let mut report = LanguageReport {
        lang: lang.to_owned(),
        source: source.to_owned(),
        ..LanguageReport::default()
    };
    let (base, texts) = match (flatten(base), flatten(json)) {
        (Ok(b), Ok(t)) => (b, t),
        (Err(e), _) => {
            report.error = Some(format!("the default language's texts: {e}"));
            return report;
        }
        (_, Err(e)) => {
            report.error = Some(e);
            return report;
        }
    };
    if !partial {
        report.missing = base
            .keys()
            .filter(|k| !texts.contains_key(*k))
            .cloned()
            .collect();
    }
    for (key, text) in &texts {
        let Some(want) = base.get(key) else {
            report.extra.push(key.clone());
            continue;
        };
        let mut bad = |problem: String| {
            report.bad_placeholders.push(BadPlaceholder {
                key: key.clone(),
                problem,
            })
        };
        if let (Text::Plural(_), Text::One(_)) | (Text::One(_), Text::Plural(_)) = (want, text) {
            bad("a plural text in one language and not in the other".to_owned());
            continue;
        }
        if let Text::Plural(forms) = text
            && !forms.contains_key("other")
        {
            bad("a plural text without its `other` form".to_owned());
        }
        let mut allowed = BTreeSet::new();
        for f in want.forms() {
            allowed.extend(placeholders(f).unwrap_or_default());
        }
        let mut used = BTreeSet::new();
        for f in text.forms() {
            match placeholders(f) {
                Ok(p) => used.extend(p),
                Err(e) => bad(e),
            }
        }
        for unknown in used.difference(&allowed) {
            bad(format!(
                "`{{{unknown}}}` is not a placeholder of this text (it has: {})",
                names(&allowed)
            ));
        }
        // One text (not plural) must use every placeholder: a count or a name left out
        // changes the meaning. Plural forms may leave out `{n}` ("one file").
        if let (Text::One(_), Text::One(_)) = (want, text) {
            for lost in allowed.difference(&used) {
                bad(format!("`{{{lost}}}` is missing"));
            }
        }
    }
    report
}

fn names(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        return "none".to_owned();
    }
    set.iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The built-in texts of `lang`.
pub fn built_in(lang: &str) -> Option<Value> {
    BUILT_IN
        .iter()
        .find(|(l, _)| *l == lang)
        .and_then(|(_, t)| serde_json::from_str(t).ok())
}

fn default_texts() -> Result<Value, String> {
    built_in(DEFAULT_LANG).ok_or_else(|| "the built-in default texts do not parse".to_owned())
}

/// Checks the built-in texts, or a deployment's folder of `<lang>.json` files (overrides of a
/// built-in language, or whole new languages). Languages in order, the default first.
pub fn check(dir: Option<&Path>) -> Result<Vec<LanguageReport>, String> {
    let base = default_texts()?;
    let Some(dir) = dir else {
        return Ok(BUILT_IN
            .iter()
            .map(|(lang, text)| {
                let source = format!("built-in texts/{lang}.json");
                match serde_json::from_str::<Value>(text) {
                    Ok(v) => compare(&base, lang, &source, &v, false),
                    Err(e) => LanguageReport {
                        lang: (*lang).to_owned(),
                        source,
                        error: Some(format!("not JSON: {e}")),
                        ..LanguageReport::default()
                    },
                }
            })
            .collect());
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no <lang>.json texts in it", dir.display()));
    }
    Ok(files
        .iter()
        .map(|path| {
            let lang = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = path.display().to_string();
            match read_json(path) {
                Ok(v) => compare(&base, &lang, &source, &v, built_in(&lang).is_some()),
                Err(e) => LanguageReport {
                    lang,
                    source,
                    error: Some(e),
                    ..LanguageReport::default()
                },
            }
        })
        .collect())
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

/// Puts `over`'s keys into `base`, recursively (a plural text is replaced whole).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot @ Value::Object(_)) if v.is_object() && !is_plural(v) => {
                        merge(slot, v)
                    }
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn is_plural(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| !m.is_empty() && m.keys().all(|c| PLURAL.contains(&c.as_str())))
}

/// The texts of `lang` as the app shows them: the built-in ones with the deployment's
/// overrides from `dir` merged in (a language only in `dir` is fine). Keys still missing fall
/// back to the default language in the screens, each logged once here as a warning.
/// An override file that is not valid JSON is an error (the app refuses to start with it).
pub fn load(lang: &str, dir: Option<&Path>) -> Result<Value, String> {
    let mut texts = built_in(lang).unwrap_or_else(|| Value::Object(Map::new()));
    let mut from_dir = false;
    if let Some(dir) = dir {
        let path = dir.join(format!("{lang}.json"));
        if path.is_file() {
            let over = read_json(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if !over.is_object() {
                return Err(format!("{}: not a JSON object", path.display()));
            }
            merge(&mut texts, &over);
            from_dir = true;
        }
    }
    if built_in(lang).is_none() && !from_dir {
        return Err(format!("no texts for `{lang}` (built in: {})", languages()));
    }
    if lang != DEFAULT_LANG {
        let report = compare(&default_texts()?, lang, "", &texts, false);
        for key in &report.missing {
            tracing::warn!(lang, key = %key, "a text is missing: shown in the default language");
        }
    }
    Ok(texts)
}

/// The built-in languages, comma-separated.
pub fn languages() -> String {
    BUILT_IN
        .iter()
        .map(|(l, _)| *l)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks at start that every configured language has texts and that the override folder's
/// files are valid: the reason when not (the app refuses to start with it).
pub fn validate(languages: &[String], dir: Option<&Path>) -> Result<(), String> {
    if let Some(d) = dir
        && !d.is_dir()
    {
        return Err(format!("kiosk.texts_dir {}: not a folder", d.display()));
    }
    for lang in languages {
        load(lang, dir).map_err(|e| format!("kiosk.languages: {e}"))?;
    }
    if let Some(d) = dir {
        for r in check(Some(d))? {
            if let Some(e) = r.error {
                return Err(format!("{}: {e}", r.source));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "_comment": "ignored",
            "screen": { "dir": "ltr", "title": "Hello {name}",
                        "left": { "one": "{n} try left", "other": "{n} tries left" } },
            "hint": { "A": "Look" },
        })
    }

    #[test]
    fn the_shipped_texts_are_complete_and_their_placeholders_right() {
        for r in check(None).unwrap() {
            assert!(r.is_clean(), "{r:#?}");
        }
    }

    #[test]
    fn missing_extra_and_bad_placeholders_are_each_reported() {
        let fr = json!({
            "screen": { "dir": "ltr", "title": "Bonjour {nom}",
                        "left": { "one": "un essai", "many": "{n} essais" } },
            "hint": { "B": "Regardez" },
            "_note": "not a text",
        });
        let r = compare(&base(), "fr", "fr.json", &fr, false);
        assert_eq!(r.missing, ["hint.A"]);
        assert_eq!(r.extra, ["hint.B"]);
        let problems: Vec<&str> = r
            .bad_placeholders
            .iter()
            .map(|b| b.problem.as_str())
            .collect();
        assert!(
            problems.iter().any(|p| p.contains("without its `other`")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`{nom}` is not a placeholder")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("`{name}` is missing")),
            "{problems:?}"
        );
        // Overrides of a built-in language: what they leave out is not missing.
        let partial = compare(
            &base(),
            "fr",
            "fr.json",
            &json!({ "hint": { "A": "Regardez" } }),
            true,
        );
        assert!(partial.is_clean(), "{partial:?}");
        assert!(placeholders("a {b").is_err());
        assert!(placeholders("a } b").is_err());
        assert!(placeholders("a {b c}").is_err());
        assert_eq!(
            placeholders("{n} of {total}")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["n", "total"]
        );
    }

    #[test]
    fn a_deployment_overrides_keys_without_losing_the_others_and_bad_json_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("en.json"),
            r#"{ "screen": { "attract": { "title": "Welcome to Example Bank" } } }"#,
        )
        .unwrap();
        let en = load("en", Some(dir.path())).unwrap();
        assert_eq!(en["screen"]["attract"]["title"], "Welcome to Example Bank");
        // Everything else is still there.
        assert_eq!(en["hint"], built_in("en").unwrap()["hint"]);
        assert_eq!(
            flatten(&en).unwrap().len(),
            flatten(&built_in("en").unwrap()).unwrap().len()
        );
        validate(&["en".to_owned()], Some(dir.path())).unwrap();

        std::fs::write(dir.path().join("de.json"), "{ \"screen\": ").unwrap();
        let e = validate(&["en".to_owned()], Some(dir.path())).unwrap_err();
        assert!(e.contains("de.json") && e.contains("not JSON"), "{e}");
        let e = validate(&["xx".to_owned()], None).unwrap_err();
        assert!(e.contains("no texts for `xx`"), "{e}");
        let reports = check(Some(dir.path())).unwrap();
        assert_eq!(reports.len(), 2);
        assert!(
            reports[0].error.is_some() && reports[1].is_clean(),
            "{reports:#?}"
        );
    }
}

//! Match levels and the calibration file that gives them their thresholds.
//!
//! Level N means the similarity threshold was calibrated so that the false match rate on an
//! impostor set is at most 10^-(N+1): level 1 = FMR 1e-2 … level 5 = 1e-6. The thresholds live in
//! `models/calibration.json`, written by `facekiosk calibrate` from a labelled set; a level that
//! the set is too small to measure is extrapolated, and marked so.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{FaceError, Result};

/// A match level, 1..=5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct MatchLevel(u8);

impl MatchLevel {
    /// The lowest level (FMR 1e-2).
    pub const MIN: MatchLevel = MatchLevel(1);
    /// The highest level (FMR 1e-6).
    pub const MAX: MatchLevel = MatchLevel(5);
    /// The default minimum level of a session (FMR 1e-4).
    pub const DEFAULT: MatchLevel = MatchLevel(3);

    /// A level, if `n` is 1..=5.
    pub fn new(n: u8) -> Option<MatchLevel> {
        (1..=5).contains(&n).then_some(MatchLevel(n))
    }

    /// The number, 1..=5.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The false match rate this level stands for: 10^-(level+1).
    pub fn max_fmr(self) -> f64 {
        10f64.powi(-(i32::from(self.0) + 1))
    }

    /// All levels, ascending.
    pub fn all() -> impl Iterator<Item = MatchLevel> {
        (1..=5).map(MatchLevel)
    }
}

impl TryFrom<u8> for MatchLevel {
    type Error = String;
    fn try_from(n: u8) -> std::result::Result<Self, String> {
        MatchLevel::new(n).ok_or_else(|| format!("match level must be 1 to 5, not {n}"))
    }
}

impl From<MatchLevel> for u8 {
    fn from(l: MatchLevel) -> u8 {
        l.0
    }
}

impl std::fmt::Display for MatchLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One level of a calibration.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LevelThreshold {
    /// The level.
    pub level: MatchLevel,
    /// The false match rate it stands for.
    pub max_fmr: f64,
    /// Cosine similarity at or above which a pair reaches the level.
    pub threshold: f32,
    /// True when the calibration could not measure this FMR (its upper bound exceeds the
    /// target, or the set is too small) and the threshold was extrapolated from the tail of the
    /// impostor scores.
    pub extrapolated: bool,
    /// The false match rate observed at this threshold (on the held-out identities, from
    /// schema 2 on).
    pub observed_fmr: f64,
    /// The true match rate observed at this threshold (held-out identities, from schema 2 on).
    pub observed_tmr: f64,
    /// The exact 95 % upper bound on the false match rate at this threshold, counting the
    /// held-out identity pairs as the independent trials (schema 2). The level is measured when
    /// this is within `maxFmr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmr_upper_bound: Option<f64>,
    /// Held-out impostor image pairs at or above the threshold (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_matches: Option<u64>,
}

/// What the calibration was computed on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalibrationSet {
    /// A name for the set (its directory name).
    pub name: String,
    /// Images used (faces found).
    pub images: usize,
    /// Distinct identities.
    pub identities: usize,
    /// Genuine (same person) pairs.
    pub genuine_pairs: usize,
    /// Impostor (different people) pairs.
    pub impostor_pairs: usize,
    /// sha256 of the set's labels file (schema 2): names the exact set without holding any of
    /// its images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_sha256: Option<String>,
    /// Images without a usable face, left out (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images_without_face: Option<usize>,
}

/// How the set was split into identities that choose the thresholds and identities that
/// measure them (schema 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalibrationSplit {
    /// The seed of the split (a hash of each identity's name with it decides its side).
    pub seed: u64,
    /// Identities that chose the thresholds.
    pub threshold_identities: usize,
    /// Identities that measured them (none of them chose a threshold).
    pub holdout_identities: usize,
    /// Genuine image pairs among the held-out identities.
    pub holdout_genuine_pairs: usize,
    /// Impostor image pairs among the held-out identities.
    pub holdout_impostor_pairs: u64,
    /// Distinct pairs of held-out identities: the independent trials the bound counts.
    pub holdout_identity_pairs: u64,
    /// Confidence of the upper bounds (one-sided).
    pub confidence: f64,
    /// The thresholds were chosen so that the bound on the threshold identities is within this
    /// share of the target (room for the difference between the two halves).
    pub margin: f64,
}

/// The calibration file (`models/calibration.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Calibration {
    /// Format version, 1.
    pub schema: u32,
    /// The sha256 of the embedder the scores came from; thresholds mean nothing for another model.
    pub embedder_sha256: String,
    /// How faces were found and aligned (`detector`, alignment points).
    pub pipeline: String,
    /// The calibration set.
    pub set: CalibrationSet,
    /// How the set was split (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<CalibrationSplit>,
    /// How thresholds were derived.
    pub method: String,
    /// Thresholds for levels 1..=5, ascending.
    pub levels: Vec<LevelThreshold>,
    /// The sha256 of the file's text as read (set when parsed; not part of the file).
    #[serde(skip)]
    pub file_sha256: String,
}

impl Calibration {
    /// Parses and validates a calibration (`origin` names it in errors): five levels, 1 to 5 in
    /// order, thresholds within −1..1 and not decreasing with the level.
    pub fn parse(text: &str, origin: &Path) -> Result<Calibration> {
        let bad = |reason: String| FaceError::Calibration {
            path: origin.to_path_buf(),
            reason,
        };
        let mut cal: Calibration = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        cal.file_sha256 = crate::manifest::sha256_hex(text.as_bytes());
        if !(1..=2).contains(&cal.schema) {
            return Err(bad(format!(
                "schema {} is not supported (this build reads 1 and 2)",
                cal.schema
            )));
        }
        if cal.levels.len() != 5 {
            return Err(bad(format!(
                "needs exactly 5 levels, has {}",
                cal.levels.len()
            )));
        }
        for (i, l) in cal.levels.iter().enumerate() {
            let expected = i as u8 + 1;
            if l.level.get() != expected {
                return Err(bad(format!(
                    "levels must be listed 1 to 5 in order; entry {} is level {}",
                    i + 1,
                    l.level
                )));
            }
            if !l.threshold.is_finite() || !(-1.0..=1.0).contains(&l.threshold) {
                return Err(bad(format!(
                    "level {}: threshold {} is not within -1..1",
                    l.level, l.threshold
                )));
            }
        }
        for w in cal.levels.windows(2) {
            if w[1].threshold < w[0].threshold {
                return Err(bad(format!(
                    "thresholds out of order: level {} ({}) is below level {} ({}); a higher level must be at least as strict",
                    w[1].level, w[1].threshold, w[0].level, w[0].threshold
                )));
            }
        }
        Ok(cal)
    }

    /// Reads a calibration file.
    pub fn read(path: &Path) -> Result<Calibration> {
        // A calibration is a few kilobytes; refuse anything huge before reading it.
        let len = std::fs::metadata(path)
            .map_err(|e| FaceError::io(path, e))?
            .len();
        if len > 1 << 20 {
            return Err(FaceError::Calibration {
                path: path.to_path_buf(),
                reason: format!("the file is {len} bytes; a calibration is at most 1 MiB"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| FaceError::io(path, e))?;
        Calibration::parse(&text, path)
    }

    /// The calibration shipped with the embedded models.
    #[cfg(feature = "embedded-models")]
    pub fn embedded() -> Result<Calibration> {
        Calibration::parse(
            include_str!("../../../models/calibration.json"),
            &PathBuf::from("<embedded>/calibration.json"),
        )
    }

    /// Checks that this calibration belongs to the embedder with this sha256.
    pub fn check_embedder(&self, sha256: &str, origin: &Path) -> Result<()> {
        if self.embedder_sha256.eq_ignore_ascii_case(sha256) {
            Ok(())
        } else {
            Err(FaceError::Calibration {
                path: origin.to_path_buf(),
                reason: format!(
                    "made for the embedder with sha256 {}, but the embedder in use has {sha256}; \
                     run `facekiosk calibrate` for this model",
                    self.embedder_sha256
                ),
            })
        }
    }

    /// The threshold of a level.
    pub fn threshold(&self, level: MatchLevel) -> f32 {
        self.levels
            .get(usize::from(level.get()) - 1)
            .map_or(f32::INFINITY, |l| l.threshold)
    }

    /// The highest level a similarity reaches, if any.
    pub fn level_of(&self, similarity: f32) -> Option<MatchLevel> {
        self.levels
            .iter()
            .rev()
            .find(|l| similarity >= l.threshold)
            .map(|l| l.level)
    }

    /// Writes the calibration as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| FaceError::Calibration {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let tmp: PathBuf = path.with_extension("json.partial");
        std::fs::write(&tmp, text + "\n").map_err(|e| FaceError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| FaceError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal_json(thresholds: [f32; 5]) -> String {
        let levels: Vec<String> = thresholds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    r#"{{"level":{},"maxFmr":{},"threshold":{t},"extrapolated":false,"observedFmr":0,"observedTmr":1}}"#,
                    i + 1,
                    10f64.powi(-(i as i32 + 2))
                )
            })
            .collect();
        format!(
            r#"{{"schema":1,"embedderSha256":"ab","pipeline":"p","set":{{"name":"s","images":1,"identities":1,"genuinePairs":1,"impostorPairs":1}},"method":"m","levels":[{}]}}"#,
            levels.join(",")
        )
    }

    #[test]
    fn levels_are_one_to_five() {
        assert!(MatchLevel::new(0).is_none());
        assert!(MatchLevel::new(6).is_none());
        assert_eq!(MatchLevel::new(3).unwrap().max_fmr(), 1e-4);
        assert!(serde_json::from_str::<MatchLevel>("7").is_err());
    }

    #[test]
    fn a_score_reaches_the_highest_level_below_it() {
        let cal =
            Calibration::parse(&cal_json([0.4, 0.5, 0.6, 0.7, 0.8]), Path::new("c.json")).unwrap();
        assert_eq!(cal.level_of(0.3), None);
        assert_eq!(cal.level_of(0.55), MatchLevel::new(2));
        assert_eq!(cal.level_of(0.95), MatchLevel::new(5));
    }

    #[test]
    fn thresholds_out_of_order_are_refused() {
        let err = Calibration::parse(&cal_json([0.4, 0.6, 0.5, 0.7, 0.8]), Path::new("c.json"))
            .unwrap_err();
        assert!(err.to_string().contains("out of order"), "{err}");
    }

    #[test]
    fn levels_listed_out_of_order_are_refused() {
        let json = cal_json([0.4, 0.5, 0.6, 0.7, 0.8]).replacen(r#""level":1"#, r#""level":2"#, 1);
        let err = Calibration::parse(&json, Path::new("c.json")).unwrap_err();
        assert!(err.to_string().contains("in order"), "{err}");
    }

    #[test]
    fn another_models_calibration_is_refused() {
        let cal =
            Calibration::parse(&cal_json([0.4, 0.5, 0.6, 0.7, 0.8]), Path::new("c.json")).unwrap();
        assert!(cal.check_embedder("cd", Path::new("c.json")).is_err());
        assert!(cal.check_embedder("AB", Path::new("c.json")).is_ok());
    }
}

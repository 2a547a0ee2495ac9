//! Match-level thresholds measured on a labelled set, with identity-disjoint splits.
//!
//! The identities of the set are split in two by a seeded hash of their names. The *threshold*
//! half chooses each level's threshold: the lowest whose false-match rate, bounded above at 95 %
//! confidence, stays within `margin` × the level's target there. The *held-out* half measures
//! it: its impostor pairs at or above the threshold give the observed FMR and its exact
//! (Clopper–Pearson) upper bound. No identity that chose a threshold measures it.
//!
//! Image pairs are not independent trials: every pair of the same two people shares their
//! faces. The bound therefore counts the distinct *identity* pairs as the trials, with the
//! observed false matches scaled to them ([`crate::stats::effective_count`]). A level is
//! *measured* when that bound is within its target; otherwise its threshold is extrapolated
//! from a generalised Pareto tail fitted to the impostor scores, and marked so.

use crate::embed::Embedding;
use crate::evaluate::{ParetoTail, rate_at_or_above};
use crate::matching::{Calibration, CalibrationSet, CalibrationSplit, LevelThreshold, MatchLevel};
use crate::stats::{clopper_pearson_upper, effective_count};

/// How to split and bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitOptions {
    /// Seed of the split.
    pub seed: u64,
    /// Share of the identities held out to measure the thresholds, 0..1.
    pub holdout: f64,
    /// Confidence of the one-sided upper bounds, e.g. 0.95.
    pub confidence: f64,
    /// Thresholds are chosen with the bound on the threshold half within `margin` × target.
    pub margin: f64,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            seed: 20_261_202,
            holdout: 0.5,
            confidence: 0.95,
            margin: 0.6,
        }
    }
}

/// The scores of one half of the split.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HalfScores {
    /// Genuine scores.
    pub genuine: Vec<f32>,
    /// Impostor scores, highest first.
    pub impostors: Vec<f32>,
    /// Identities in this half (with at least one embedded image).
    pub identities: usize,
}

impl HalfScores {
    /// Distinct pairs of identities.
    pub fn identity_pairs(&self) -> u64 {
        let m = self.identities as u64;
        m * m.saturating_sub(1) / 2
    }

    /// Impostor pairs at or above `t`.
    pub fn false_matches(&self, t: f32) -> u64 {
        // Sorted descending: the count is the first index below t.
        self.impostors.partition_point(|&s| s >= t) as u64
    }

    /// The upper bound on the FMR at `t`.
    pub fn bound(&self, t: f32, confidence: f64) -> f64 {
        let x = effective_count(
            self.false_matches(t),
            self.impostors.len() as u64,
            self.identity_pairs(),
        );
        clopper_pearson_upper(x, self.identity_pairs() as f64, confidence)
    }
}

/// Which half an identity falls in: a splitmix64 hash of its name and the seed.
pub fn held_out(identity: &str, seed: u64, holdout: f64) -> bool {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for b in identity.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    (h as f64 / u64::MAX as f64) < holdout
}

/// Splits labelled embeddings and scores every pair within each half: (threshold half,
/// held-out half).
pub fn split_scores(
    items: &[(String, Embedding)],
    options: &SplitOptions,
) -> (HalfScores, HalfScores) {
    let mut halves = [Vec::new(), Vec::new()];
    for (id, e) in items {
        let side = usize::from(held_out(id, options.seed, options.holdout));
        halves[side].push((id.as_str(), e));
    }
    let score = |half: &[(&str, &Embedding)]| {
        let mut out = HalfScores::default();
        let mut ids: Vec<&str> = half.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        out.identities = ids.len();
        for (i, (la, ea)) in half.iter().enumerate() {
            for (lb, eb) in &half[i + 1..] {
                let s = ea.similarity(eb);
                if la == lb {
                    out.genuine.push(s);
                } else {
                    out.impostors.push(s);
                }
            }
        }
        out.impostors.sort_by(|a, b| b.total_cmp(a));
        out
    };
    (score(&halves[0]), score(&halves[1]))
}

/// The lowest threshold at which the half's bound stays within `limit`, or `None` when even no
/// false match at all would not (the half is too small for this FMR).
fn threshold_for_bound(half: &HalfScores, limit: f64, confidence: f64) -> Option<f32> {
    let n_img = half.impostors.len() as u64;
    let n_id = half.identity_pairs();
    let ok = |k: u64| {
        clopper_pearson_upper(effective_count(k, n_img, n_id), n_id as f64, confidence) <= limit
    };
    if !ok(0) {
        return None;
    }
    // The largest k that keeps the bound within the limit (the bound grows with k).
    let (mut lo, mut hi) = (0u64, n_img);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    // Just above the (k+1)-th highest score: exactly k pairs at or above.
    Some(match half.impostors.get(lo as usize) {
        Some(&s) => next_up(s),
        None => -1.0,
    })
}

fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    f32::from_bits(if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    })
}

/// The calibration of a set, split as `options` says. `None` when a half has no genuine or too
/// few impostor pairs to fit a tail.
pub fn calibrate_split(
    items: &[(String, Embedding)],
    embedder_sha256: &str,
    pipeline: &str,
    set: CalibrationSet,
    options: &SplitOptions,
) -> Option<(Calibration, HalfScores, HalfScores)> {
    let (choose, measure) = split_scores(items, options);
    if choose.genuine.is_empty() || measure.genuine.is_empty() {
        return None;
    }
    let tail = ParetoTail::fit(&choose.impostors)?;
    // Every impostor pair of the set, for the point estimate of levels too rare to bound.
    let mut all_impostors = choose.impostors.clone();
    all_impostors.extend_from_slice(&measure.impostors);
    all_impostors.sort_by(|a, b| b.total_cmp(a));
    let mut levels = Vec::with_capacity(5);
    let mut floor = -1.0f32;
    for level in MatchLevel::all() {
        let target = level.max_fmr();
        let chosen = threshold_for_bound(&choose, options.margin * target, options.confidence);
        // A level the halves cannot bound takes the stricter of the tail fit and the set's own
        // point estimate, and always more than the level below.
        let raw = chosen.unwrap_or_else(|| {
            let k = (target * all_impostors.len() as f64).floor() as usize;
            let empirical = all_impostors.get(k).map_or(-1.0, |&s| next_up(s));
            (tail.quantile(target) as f32).max(empirical)
        });
        let threshold = if chosen.is_none() && raw <= floor {
            next_up(floor)
        } else {
            raw.max(floor)
        }
        .min(0.999);
        floor = threshold;
        let bound = measure.bound(threshold, options.confidence);
        let false_matches = measure.false_matches(threshold);
        levels.push(LevelThreshold {
            level,
            max_fmr: target,
            threshold,
            extrapolated: chosen.is_none() || bound > target,
            observed_fmr: false_matches as f64 / measure.impostors.len().max(1) as f64,
            observed_tmr: rate_at_or_above(&measure.genuine, threshold),
            fmr_upper_bound: Some(bound),
            false_matches: Some(false_matches),
        });
    }
    let split = CalibrationSplit {
        seed: options.seed,
        threshold_identities: choose.identities,
        holdout_identities: measure.identities,
        holdout_genuine_pairs: measure.genuine.len(),
        holdout_impostor_pairs: measure.impostors.len() as u64,
        holdout_identity_pairs: measure.identity_pairs(),
        confidence: options.confidence,
        margin: options.margin,
    };
    let method = format!(
        "identities split by a seeded hash ({:.0} % held out); each threshold is the lowest whose \
         exact (Clopper-Pearson) one-sided {:.0} % upper bound on the FMR of the threshold half, \
         counting distinct identity pairs as the trials, is within {} x the level's target; the \
         held-out half then measures it the same way, and a level whose held-out bound exceeds its \
         target is extrapolated from a generalised Pareto tail fitted by probability-weighted \
         moments to the top {} impostor scores of the threshold half (u = {:.4}, sigma = {:.4}, \
         xi = {:.3})",
        options.holdout * 100.0,
        options.confidence * 100.0,
        options.margin,
        tail.n,
        tail.u,
        tail.sigma,
        tail.xi
    );
    let calibration = Calibration {
        schema: 2,
        embedder_sha256: embedder_sha256.to_owned(),
        pipeline: pipeline.to_owned(),
        set,
        split: Some(split),
        method,
        levels,
        file_sha256: String::new(),
    };
    Some((calibration, choose, measure))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors in `dims` dimensions from a seeded generator: identity `i` is a random
    /// direction, its images that direction plus noise.
    fn synthetic(identities: usize, per: usize, noise: f32, seed: u64) -> Vec<(String, Embedding)> {
        let mut s = seed;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let dims = 24;
        let mut out = Vec::new();
        for i in 0..identities {
            let centre: Vec<f32> = (0..dims).map(|_| rnd()).collect();
            for _ in 0..per {
                let v: Vec<f32> = centre.iter().map(|c| c + noise * rnd()).collect();
                if let Some(e) = Embedding::from_raw(v) {
                    out.push((format!("id{i}"), e));
                }
            }
        }
        out
    }

    fn set() -> CalibrationSet {
        CalibrationSet {
            name: "synthetic".into(),
            images: 0,
            identities: 0,
            genuine_pairs: 0,
            impostor_pairs: 0,
            labels_sha256: None,
            images_without_face: None,
        }
    }

    #[test]
    fn the_split_is_disjoint_and_stable() {
        let a: Vec<bool> = (0..1000)
            .map(|i| held_out(&format!("p{i}"), 7, 0.5))
            .collect();
        let b: Vec<bool> = (0..1000)
            .map(|i| held_out(&format!("p{i}"), 7, 0.5))
            .collect();
        assert_eq!(a, b);
        let share = a.iter().filter(|&&h| h).count();
        assert!((400..600).contains(&share), "{share}");
        let other: Vec<bool> = (0..1000)
            .map(|i| held_out(&format!("p{i}"), 8, 0.5))
            .collect();
        assert_ne!(a, other);
    }

    #[test]
    fn levels_are_monotone_bounded_and_honest() {
        let items = synthetic(400, 2, 0.6, 3);
        let (cal, _, measure) = calibrate_split(&items, "e", "p", set(), &SplitOptions::default())
            .expect("a calibration");
        assert_eq!(cal.levels.len(), 5);
        for w in cal.levels.windows(2) {
            assert!(w[1].threshold >= w[0].threshold);
        }
        for l in &cal.levels {
            let bound = l.fmr_upper_bound.unwrap();
            // Measured means the held-out bound is within the target, and only then.
            assert_eq!(!l.extrapolated, bound <= l.max_fmr, "{l:?}");
            assert_eq!(l.false_matches.unwrap(), measure.false_matches(l.threshold));
        }
        // 200 identities per half: 19,900 identity pairs cannot measure 1e-5.
        assert!(cal.levels[3].extrapolated && cal.levels[4].extrapolated);
        // 1e-2 they can.
        assert!(!cal.levels[0].extrapolated);
        // An extrapolated level is always stricter than the level below it.
        for w in cal.levels.windows(2) {
            if w[1].extrapolated {
                assert!(w[1].threshold > w[0].threshold, "{:?}", cal.levels);
            }
        }
        // It round-trips through the file format's validation.
        let text = serde_json::to_string(&cal).unwrap();
        assert!(Calibration::parse(&text, std::path::Path::new("c.json")).is_ok());
    }

    #[test]
    fn the_bound_counts_identity_pairs_not_image_pairs() {
        let half = HalfScores {
            genuine: vec![0.9],
            impostors: (0..4_000).map(|i| 0.5 - i as f32 * 1e-4).collect(),
            identities: 64, // 2016 identity pairs behind the 4000 image pairs
        };
        // 10 false matches among 4000 image pairs = 5 effective among 2016 trials.
        let t = half.impostors[9];
        assert_eq!(half.false_matches(t), 10);
        let want = clopper_pearson_upper(10.0 * 2016.0 / 4000.0, 2016.0, 0.95);
        assert!((half.bound(t, 0.95) - want).abs() < 1e-12);
        assert!(half.bound(t, 0.95) > clopper_pearson_upper(10.0, 4000.0, 0.95));
    }
}

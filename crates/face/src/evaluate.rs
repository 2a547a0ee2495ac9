//! Verification and liveness metrics, and deriving match-level thresholds from scores.
//!
//! Terms: a *genuine* pair shows one person twice, an *impostor* pair two people. FMR/FAR is the
//! share of impostor pairs at or above a threshold, TAR/TMR the share of genuine pairs at or
//! above it, EER the error rate where FMR equals the false non-match rate. For presentation
//! attacks (ISO/IEC 30107-3): APCER is the share of attacks accepted as live, BPCER the share of
//! live (bona fide) presentations rejected.

use serde::Serialize;

/// Share of `scores` at or above `t`.
pub fn rate_at_or_above(scores: &[f32], t: f32) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s >= t).count() as f64 / scores.len() as f64
}

/// The lowest threshold whose empirical FMR is at most `fmr`: just above the k-th highest
/// impostor score, with k = ⌊fmr·n⌋ impostors allowed at or above it.
pub fn threshold_at_fmr(impostors: &[f32], fmr: f64) -> f32 {
    if impostors.is_empty() {
        return -1.0;
    }
    let mut sorted = impostors.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fmr * sorted.len() as f64).floor() as usize;
    match sorted.get(allowed) {
        Some(&s) => next_up(s),
        None => -1.0,
    }
}

fn next_up(x: f32) -> f32 {
    // The smallest f32 above x: pairs scoring exactly x stay below the threshold.
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    let next = if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f32::from_bits(next)
}

/// Verification metrics over genuine and impostor scores.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMetrics {
    /// Genuine pairs.
    pub genuine_pairs: usize,
    /// Impostor pairs.
    pub impostor_pairs: usize,
    /// Equal error rate, 0..1.
    pub eer: f64,
    /// The threshold at the EER.
    pub eer_threshold: f32,
    /// TAR at FAR 1e-2 and its threshold.
    pub tar_at_far_1e2: f64,
    /// Threshold for FAR 1e-2.
    pub threshold_at_far_1e2: f32,
    /// TAR at FAR 1e-3.
    pub tar_at_far_1e3: f64,
    /// Threshold for FAR 1e-3.
    pub threshold_at_far_1e3: f32,
    /// Genuine score mean.
    pub genuine_mean: f32,
    /// Lowest genuine score.
    pub genuine_min: f32,
    /// Impostor score mean.
    pub impostor_mean: f32,
    /// Highest impostor score.
    pub impostor_max: f32,
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

/// Computes the verification metrics; `None` unless both score sets are non-empty.
pub fn verification_metrics(genuine: &[f32], impostors: &[f32]) -> Option<VerificationMetrics> {
    if genuine.is_empty() || impostors.is_empty() {
        return None;
    }
    let mut thresholds: Vec<f32> = genuine.iter().chain(impostors).copied().collect();
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let (mut best_gap, mut eer, mut eer_t) = (f64::INFINITY, 0.0, 0.0);
    for &t in &thresholds {
        let far = rate_at_or_above(impostors, t);
        let frr = 1.0 - rate_at_or_above(genuine, t);
        if (far - frr).abs() < best_gap {
            best_gap = (far - frr).abs();
            eer = (far + frr) / 2.0;
            eer_t = t;
        }
    }
    let t2 = threshold_at_fmr(impostors, 1e-2);
    let t3 = threshold_at_fmr(impostors, 1e-3);
    Some(VerificationMetrics {
        genuine_pairs: genuine.len(),
        impostor_pairs: impostors.len(),
        eer,
        eer_threshold: eer_t,
        tar_at_far_1e2: rate_at_or_above(genuine, t2),
        threshold_at_far_1e2: t2,
        tar_at_far_1e3: rate_at_or_above(genuine, t3),
        threshold_at_far_1e3: t3,
        genuine_mean: mean(genuine),
        genuine_min: genuine.iter().copied().fold(f32::INFINITY, f32::min),
        impostor_mean: mean(impostors),
        impostor_max: impostors.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    })
}

/// A histogram of scores over −1..1 (or any range).
#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub min: f32,
    /// Upper edge of the last bin.
    pub max: f32,
    /// Counts per bin.
    pub counts: Vec<usize>,
}

impl Histogram {
    /// Bins `scores` into `bins` equal bins over `min..max` (values outside go to the end bins).
    pub fn of(scores: &[f32], min: f32, max: f32, bins: usize) -> Histogram {
        let bins = bins.max(1);
        let mut counts = vec![0usize; bins];
        let width = (max - min) / bins as f32;
        for &s in scores {
            let i = (((s - min) / width).floor().max(0.0) as usize).min(bins - 1);
            counts[i] += 1;
        }
        Histogram { min, max, counts }
    }
}

/// One point of a ROC/DET curve.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurvePoint {
    /// The threshold.
    pub threshold: f32,
    /// False match rate at it.
    pub fmr: f64,
    /// False non-match rate at it.
    pub fnmr: f64,
}

/// The DET curve: (FMR, FNMR) at every distinct score.
pub fn det_curve(genuine: &[f32], impostors: &[f32]) -> Vec<CurvePoint> {
    let mut thresholds: Vec<f32> = genuine.iter().chain(impostors).copied().collect();
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    thresholds
        .into_iter()
        .map(|t| CurvePoint {
            threshold: t,
            fmr: rate_at_or_above(impostors, t),
            fnmr: 1.0 - rate_at_or_above(genuine, t),
        })
        .collect()
}

/// Presentation-attack metrics (ISO/IEC 30107-3) at a threshold on a liveness score where
/// higher means "more live".
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpoofMetrics {
    /// Attack presentations.
    pub attacks: usize,
    /// Bona fide (live) presentations.
    pub bona_fide: usize,
    /// The threshold applied.
    pub threshold: f32,
    /// Attack presentation classification error rate: attacks accepted as live.
    pub apcer: f64,
    /// Bona fide presentation classification error rate: live faces rejected.
    pub bpcer: f64,
}

/// APCER and BPCER of liveness scores at `threshold` (live when score ≥ threshold).
pub fn spoof_metrics(attack_scores: &[f32], live_scores: &[f32], threshold: f32) -> SpoofMetrics {
    SpoofMetrics {
        attacks: attack_scores.len(),
        bona_fide: live_scores.len(),
        threshold,
        apcer: rate_at_or_above(attack_scores, threshold),
        bpcer: 1.0 - rate_at_or_above(live_scores, threshold),
    }
}

/// How many impostor pairs an empirical threshold at `fmr` needs: by the rule of three, with no
/// false match among 3/FMR pairs the FMR is below the target with 95 % confidence.
pub fn pairs_needed(fmr: f64) -> usize {
    (3.0 / fmr).ceil() as usize
}

/// A generalised Pareto tail fitted to the scores above a high threshold `u` ("peaks over
/// threshold"): P(S > t) = p_u · (1 + ξ(t − u)/σ)^(−1/ξ) for t > u.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ParetoTail {
    /// The threshold the tail starts at.
    pub u: f32,
    /// The share of scores above `u`.
    pub p_u: f64,
    /// Scale σ.
    pub sigma: f64,
    /// Shape ξ (negative: a bounded tail, as cosine scores have; 0: exponential).
    pub xi: f64,
    /// Scores in the tail.
    pub n: usize,
}

impl ParetoTail {
    /// Fits the tail to the top 10 % of `scores` (at least 20) by probability-weighted moments
    /// (Hosking & Wallis 1987). The shape is kept within −0.3..0.5: a few hundred scores cannot
    /// prove a lighter tail than that, and the fit must not promise more than the data shows.
    pub fn fit(scores: &[f32]) -> Option<ParetoTail> {
        if scores.len() < 20 {
            return None;
        }
        let mut sorted = scores.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let n = (sorted.len() / 10).max(20).min(sorted.len() - 1);
        let u = sorted[n];
        let mut excess: Vec<f64> = sorted[..n].iter().map(|&s| f64::from(s - u)).collect();
        excess.sort_by(f64::total_cmp);
        let b0 = excess.iter().sum::<f64>() / n as f64;
        let b1 = excess
            .iter()
            .enumerate()
            .map(|(i, y)| i as f64 / (n - 1).max(1) as f64 * y)
            .sum::<f64>()
            / n as f64;
        // Hosking & Wallis in terms of a₁ = E[Y(1 − F)] = b0 − b1:
        // k = a0/(a0 − 2a1) − 2, σ = 2·a0·a1/(a0 − 2a1); ξ = −k.
        let a1 = b0 - b1;
        let denom = b0 - 2.0 * a1;
        if b0 <= 0.0 || denom <= 1e-12 {
            return None;
        }
        let xi = (-(b0 / denom - 2.0)).clamp(-0.3, 0.5);
        let sigma = (2.0 * b0 * a1 / denom).max(1e-6);
        Some(ParetoTail {
            u,
            p_u: n as f64 / sorted.len() as f64,
            sigma,
            xi,
            n,
        })
    }

    /// The score exceeded with probability `p` (for p < p_u).
    pub fn quantile(&self, p: f64) -> f64 {
        let r = (p / self.p_u).min(1.0);
        let excess = if self.xi.abs() < 1e-9 {
            -self.sigma * r.ln()
        } else {
            self.sigma / self.xi * (r.powf(-self.xi) - 1.0)
        };
        f64::from(self.u) + excess
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_separation_has_zero_eer() {
        let m = verification_metrics(&[0.8, 0.9, 0.7], &[0.1, 0.2, 0.0, -0.1]).unwrap();
        assert_eq!(m.eer, 0.0);
        assert_eq!(m.tar_at_far_1e2, 1.0);
    }

    #[test]
    fn threshold_at_fmr_allows_floor_fmr_n_impostors() {
        let imp: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let t = threshold_at_fmr(&imp, 1e-2);
        assert_eq!(rate_at_or_above(&imp, t), 0.01);
        let t = threshold_at_fmr(&imp, 1e-3);
        assert_eq!(rate_at_or_above(&imp, t), 0.001);
        let t = threshold_at_fmr(&imp[..999], 1e-3);
        assert_eq!(rate_at_or_above(&imp[..999], t), 0.0);
    }

    #[test]
    fn pareto_fit_recovers_an_exponential_tail() {
        // Scores whose top tail is exactly exponential with scale 0.05 above 0.2.
        let n = 20_000;
        let scores: Vec<f32> = (0..n)
            .map(|i| {
                let q = (i as f64 + 0.5) / n as f64; // uniform quantiles
                if q < 0.1 {
                    (0.2 - 0.05 * (q / 0.1).ln()) as f32
                } else {
                    (0.2 - (q - 0.1)) as f32
                }
            })
            .collect();
        let tail = ParetoTail::fit(&scores).unwrap();
        assert!(tail.xi.abs() < 0.05, "{tail:?}");
        assert!((tail.sigma - 0.05).abs() < 0.005, "{tail:?}");
        let t = tail.quantile(1e-4);
        let expected = 0.2 + 0.05 * (0.1f64 / 1e-4).ln();
        assert!((t - expected).abs() < 0.02, "{t} vs {expected}");
    }

    #[test]
    fn spoof_rates() {
        let m = spoof_metrics(&[-5.0, -3.0, 1.0], &[4.0, 6.0, -1.0, 3.0], 0.0);
        assert!((m.apcer - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.bpcer - 0.25).abs() < 1e-9);
    }
}

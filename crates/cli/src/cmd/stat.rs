//! Median and 95th percentile of timed samples (the engine and session benchmarks).

use serde::{Deserialize, Serialize};

/// Median and 95th percentile of one stage, ms.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stat {
    /// Median, ms.
    #[serde(alias = "median_ms")]
    pub median_ms: f64,
    /// 95th percentile, ms.
    #[serde(alias = "p95_ms")]
    pub p95_ms: f64,
}

impl Stat {
    /// Median and 95th percentile of samples.
    pub fn of(mut samples: Vec<f64>) -> Stat {
        if samples.is_empty() {
            return Stat::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Stat {
            median_ms: at(0.5),
            p95_ms: at(0.95),
        }
    }
}

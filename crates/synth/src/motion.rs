//! How people move: minimum-jerk movements, sway and tremor, reaction times, blinks.

use rand::Rng;

use crate::camera::normal;

/// The minimum-jerk profile: 0 at τ ≤ 0, 1 at τ ≥ 1, zero velocity and acceleration at both ends.
pub fn min_jerk(tau: f32) -> f32 {
    let t = tau.clamp(0.0, 1.0);
    t * t * t * (10.0 - 15.0 * t + 6.0 * t * t)
}

/// A movement from `from` to `to` starting at `start_ms` and lasting `duration_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Move {
    /// Start, ms.
    pub start_ms: f32,
    /// Duration, ms.
    pub duration_ms: f32,
    /// Value before.
    pub from: f32,
    /// Value after.
    pub to: f32,
}

impl Move {
    /// A value that stays at `v`.
    pub fn hold(v: f32) -> Self {
        Self {
            start_ms: 0.0,
            duration_ms: 1.0,
            from: v,
            to: v,
        }
    }

    /// The value at `t_ms`.
    pub fn at(&self, t_ms: f32) -> f32 {
        let tau = (t_ms - self.start_ms) / self.duration_ms.max(1.0);
        self.from + (self.to - self.from) * min_jerk(tau)
    }

    /// True once the movement is over.
    pub fn done(&self, t_ms: f32) -> bool {
        t_ms >= self.start_ms + self.duration_ms
    }
}

/// A sum of `n` random sinusoids between `fmin` and `fmax` Hz: body sway or hand tremor whose
/// peaks are about `amp`.
#[derive(Clone, Debug)]
pub struct Wobble {
    parts: Vec<(f32, f32)>,
    amp: f32,
}

impl Wobble {
    /// A wobble of about `amp`.
    pub fn new(rng: &mut impl Rng, amp: f32, fmin: f32, fmax: f32) -> Self {
        let n = 3;
        Self {
            parts: (0..n)
                .map(|_| {
                    (
                        rng.gen_range(fmin..fmax),
                        rng.gen_range(0.0..std::f32::consts::TAU),
                    )
                })
                .collect(),
            amp: amp / (n as f32).sqrt(),
        }
    }

    /// The value at `t_ms`.
    pub fn at(&self, t_ms: f32) -> f32 {
        let t = t_ms / 1000.0;
        self.parts
            .iter()
            .map(|(f, ph)| (std::f32::consts::TAU * f * t + ph).sin())
            .sum::<f32>()
            * self.amp
    }
}

/// A reaction time to a visual prompt, ms: log-normal, median 450 ms, within 250..1200.
pub fn reaction_ms(rng: &mut impl Rng) -> f32 {
    (450.0 * (0.35 * normal(rng)).exp()).clamp(250.0, 1200.0)
}

/// The eyelids over one blink starting at `start_ms` (0 open … 1 closed): closing 80 ms,
/// closed `closed_ms`, opening 120 ms.
pub fn blink_profile(t_ms: f32, start_ms: f32, closed_ms: f32) -> f32 {
    let t = t_ms - start_ms;
    if t < 0.0 {
        0.0
    } else if t < 80.0 {
        min_jerk(t / 80.0)
    } else if t < 80.0 + closed_ms {
        1.0
    } else {
        1.0 - min_jerk((t - 80.0 - closed_ms) / 120.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_jerk_ends_where_it_should() {
        assert_eq!(min_jerk(0.0), 0.0);
        assert_eq!(min_jerk(1.0), 1.0);
        assert!((min_jerk(0.5) - 0.5).abs() < 1e-6);
        let m = Move {
            start_ms: 100.0,
            duration_ms: 400.0,
            from: 0.0,
            to: 30.0,
        };
        assert_eq!(m.at(0.0), 0.0);
        assert_eq!(m.at(600.0), 30.0);
        assert!(m.done(500.0));
    }

    #[test]
    fn a_blink_closes_and_opens() {
        assert_eq!(blink_profile(0.0, 100.0, 80.0), 0.0);
        assert_eq!(blink_profile(200.0, 100.0, 80.0), 1.0);
        assert_eq!(blink_profile(500.0, 100.0, 80.0), 0.0);
    }
}

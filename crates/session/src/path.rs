//! Does a head movement pass through the poses between where it started and where it went?
//!
//! A real head turns (or nods) along a smooth, minimum-jerk-like path: its angle changes a
//! little in every frame on the way. A flip-book — prints of the person at a few poses swapped
//! by hand — jumps between a few held values. A movement is refused when, between 20 % and
//! 80 % of its amplitude A, it shows (a) a jump: one frame's change above what a head does at
//! the frame rate (`jump_share` · A, or faster than the speed limit), (b) a hold mid-way: a
//! large step together with more than 0.2 s spent crossing 35–65 % of A, or (c) a staircase: two
//! jumps of a few degrees with near-still frames between them. The limits follow the frame
//! interval, so dropped frames are judged on real time.

/// What was wrong with a movement's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathFault {
    /// One frame's change was larger than a head moves in a frame.
    Jump,
    /// It stopped half-way, after a large step.
    Hold,
    /// It went up in a few steps with still frames between.
    Staircase,
}

/// The movement's limits at a frame interval of `dt_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Limits {
    jump_share: f32,
    hold_share: f32,
    stair_deg: f32,
    stair_gap: usize,
}

impl Limits {
    fn at(dt_ms: f32) -> Self {
        // 15 frames/s (66 ms) → 0.6, 0.35, 4°, 2 frames; 30 frames/s (33 ms) → 0.35, 0.2, 3°, 3.
        let k = ((dt_ms - 33.3) / 33.3).clamp(0.0, 2.0);
        Self {
            jump_share: (0.35 + 0.25 * k).min(0.85),
            hold_share: (0.2 + 0.15 * k).min(0.5),
            stair_deg: 3.0 + k,
            stair_gap: if dt_ms < 50.0 { 3 } else { 2 },
        }
    }
}

/// Checks one movement's trace: (time, ms; angle, degrees, signed towards the requested
/// direction), from the prompt to the frame where it counted as done. `max_speed` is the speed
/// limit, degrees per second.
pub fn check(trace: &[(u64, f32)], max_speed: f32) -> Result<(), PathFault> {
    if trace.len() < 3 {
        return Ok(());
    }
    let mut first: Vec<f32> = trace.iter().take(3).map(|s| s.1).collect();
    first.sort_by(f32::total_cmp);
    let rest = first[1];
    let v: Vec<(u64, f32)> = trace.iter().map(|&(t, a)| (t, a - rest)).collect();
    let amplitude = v.iter().map(|s| s.1).fold(0.0f32, f32::max);
    if amplitude <= 1.0 {
        return Ok(());
    }
    // The rise: from the last sample at ≤ 20 % to the first at ≥ 80 % of the amplitude.
    let Some(end) = v.iter().position(|s| s.1 >= 0.8 * amplitude) else {
        return Ok(());
    };
    let start = v[..end]
        .iter()
        .rposition(|s| s.1 <= 0.2 * amplitude)
        .unwrap_or(0);
    let rise = &v[start..=end];
    let steps: Vec<(f32, f32)> = rise
        .windows(2)
        .map(|w| ((w[1].0.saturating_sub(w[0].0)) as f32, w[1].1 - w[0].1))
        .collect();
    if steps.is_empty() {
        return Ok(());
    }
    let mut dts: Vec<f32> = steps.iter().map(|s| s.0).collect();
    dts.sort_by(f32::total_cmp);
    let limits = Limits::at(dts[dts.len() / 2].max(1.0));
    let largest = steps.iter().map(|s| s.1).fold(0.0f32, f32::max);
    // (a) A jump.
    for &(dt, d) in &steps {
        if d.abs() / dt.max(1.0) * 1000.0 > max_speed {
            return Err(PathFault::Jump);
        }
    }
    if largest > limits.jump_share * amplitude {
        return Err(PathFault::Jump);
    }
    // (b) A hold half-way after a large step.
    if largest > limits.hold_share * amplitude
        && crossing_ms(rise, 0.35 * amplitude, 0.65 * amplitude) > 200.0
    {
        return Err(PathFault::Hold);
    }
    // (c) A staircase.
    let jumps: Vec<(usize, f32)> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1 >= limits.stair_deg)
        .map(|(i, s)| (i, s.1))
        .collect();
    for pair in jumps.windows(2) {
        let ((i, a), (j, b)) = (pair[0], pair[1]);
        let between = &steps[i + 1..j];
        let small = a.min(b);
        if between.len() >= limits.stair_gap && between.iter().all(|s| s.1.abs() <= 0.3 * small) {
            return Err(PathFault::Staircase);
        }
    }
    Ok(())
}

/// Time from first reaching `lo` to last crossing `hi` upwards, ms (linearly interpolated).
fn crossing_ms(rise: &[(u64, f32)], lo: f32, hi: f32) -> f32 {
    let cross = |level: f32, first: bool| -> Option<f32> {
        let mut found = None;
        for w in rise.windows(2) {
            let ((t0, a), (t1, b)) = (w[0], w[1]);
            if a < level && b >= level {
                let f = (level - a) / (b - a).max(1e-6);
                let t = t0 as f32 + f * (t1 as f32 - t0 as f32);
                if first {
                    return Some(t);
                }
                found = Some(t);
            }
        }
        found
    };
    match (cross(lo, true), cross(hi, false)) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn min_jerk(tau: f32) -> f32 {
        let t = tau.clamp(0.0, 1.0);
        t * t * t * (10.0 - 15.0 * t + 6.0 * t * t)
    }

    /// A head turn of `amp` degrees over `dur` ms, sampled every `dt` ms from a random phase.
    fn turn(amp: f32, dur: f32, dt: f32, phase: f32) -> Vec<(u64, f32)> {
        (0..60)
            .map(|i| {
                let t = phase + i as f32 * dt;
                (t as u64, amp * min_jerk((t - 200.0) / dur))
            })
            .collect()
    }

    #[test]
    fn real_turns_pass_at_15_and_30_frames_per_second() {
        for dt in [66.6f32, 33.3] {
            for amp in [20.0f32, 27.0, 35.0] {
                for dur in [250.0f32, 400.0, 700.0] {
                    for k in 0..5 {
                        let phase = k as f32 * dt / 5.0;
                        let tr = turn(amp, dur, dt, phase);
                        assert_eq!(check(&tr, 320.0), Ok(()), "dt {dt} amp {amp} dur {dur}");
                    }
                }
            }
        }
    }

    /// Prints at the given angles, each held `hold` ms, sampled every `dt` ms.
    fn flip_book(levels: &[f32], hold: f32, dt: f32) -> Vec<(u64, f32)> {
        let total = hold * levels.len() as f32;
        (0..(total / dt) as usize)
            .map(|i| {
                let t = i as f32 * dt;
                let k = ((t / hold) as usize).min(levels.len() - 1);
                (t as u64, levels[k])
            })
            .collect()
    }

    #[test]
    fn swapped_prints_do_not_pass() {
        for dt in [66.6f32, 33.3] {
            // A frontal print, then a turned one.
            assert!(check(&flip_book(&[0.0, 0.0, 24.0], 300.0, dt), 320.0).is_err());
            // With one print in between, held a while.
            assert!(check(&flip_book(&[0.0, 12.0, 24.0], 300.0, dt), 320.0).is_err());
            // Three steps up.
            assert!(check(&flip_book(&[0.0, 8.0, 16.0, 24.0], 250.0, dt), 320.0).is_err());
        }
    }

    #[test]
    fn a_jump_faster_than_a_head_is_refused() {
        let tr = [(0, 0.0), (66, 0.0), (132, 0.0), (198, 2.0), (264, 30.0)];
        assert_eq!(check(&tr, 320.0), Err(PathFault::Jump));
    }
}

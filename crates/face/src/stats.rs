//! The statistics behind measured false-match rates: the regularised incomplete beta function
//! and the exact (Clopper–Pearson) binomial confidence bound.

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error below 1e-13).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return std::f64::consts::PI.ln()
            - (std::f64::consts::PI * x).sin().abs().ln()
            - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function I_x(a, b), for a, b > 0 and x in 0..=1.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=500 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The exact (Clopper–Pearson) one-sided upper confidence bound on a rate observed as `x`
/// events in `n` independent trials, at `confidence` (0.95 for 95 %): the `confidence` quantile
/// of Beta(x + 1, n − x). `x` may be fractional (an effective count, see
/// [`effective_count`]); the bound is 1 when x ≥ n.
pub fn clopper_pearson_upper(x: f64, n: f64, confidence: f64) -> f64 {
    if n <= 0.0 || x >= n {
        return 1.0;
    }
    let (a, b) = (x.max(0.0) + 1.0, n - x.max(0.0));
    // Bisection on the beta CDF: monotone, and exact to 1e-15 after 60 halvings of a bracket
    // that starts at the point estimate's neighbourhood.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if beta_inc(a, b, mid) < confidence {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-16 {
            break;
        }
    }
    hi
}

/// The effective number of independent false matches among `pairs` image pairs of which
/// `false_matches` scored at or above the threshold, when the pairs come from only
/// `identity_pairs` distinct pairs of people: pairs of the same two people are not independent
/// trials, so the count is scaled to that many trials (the design effect of the clustering).
pub fn effective_count(false_matches: u64, pairs: u64, identity_pairs: u64) -> f64 {
    if pairs == 0 {
        return 0.0;
    }
    false_matches as f64 * identity_pairs as f64 / pairs as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_of_integers_is_ln_factorial() {
        let mut f = 1.0f64;
        for n in 1..20 {
            assert!((ln_gamma(n as f64) - f.ln()).abs() < 1e-10, "{n}");
            f *= n as f64;
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn bounds_match_scipy() {
        // scipy.stats.beta.ppf(0.95, x + 1, n - x).
        for (x, n, want) in [
            (0.0, 100.0, 0.029_513_049_607_039_925),
            (5.0, 100.0, 0.102_253_377_643_274_5),
            (0.0, 280_875.0, 1.066_565_660_097_816_5e-5),
            (18.4, 280_875.0, 9.672_245_698_746_454e-5),
            (9.5, 280_875.0, 5.815_785_636_074_942e-5),
            (3.0, 1000.0, 0.007_735_244_718_479_458),
            (2.5, 37.5, 0.176_512_695_417_272_83),
        ] {
            let got = clopper_pearson_upper(x, n, 0.95);
            assert!(
                (got - want).abs() / want < 1e-7,
                "x {x} n {n}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn the_bound_grows_with_the_count_and_shrinks_with_the_trials() {
        let b = |x, n| clopper_pearson_upper(x, n, 0.95);
        assert!(b(1.0, 1000.0) > b(0.0, 1000.0));
        assert!(b(1.0, 1000.0) > b(1.0, 10_000.0));
        assert_eq!(b(10.0, 10.0), 1.0);
        // Clustered pairs count less than independent ones.
        assert!((effective_count(40, 1_000_000, 250_000) - 10.0).abs() < 1e-9);
    }
}

//! Plots of `facekiosk eval`: the DET curve (false non-match rate against false match rate, both
//! on log axes) with the calibrated match levels marked, and the score histograms.

use std::path::Path;

use anyhow::anyhow;
use facekiosk_face::evaluate::{CurvePoint, Histogram};
use facekiosk_face::matching::Calibration;
use plotters::prelude::*;

const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

fn register_font() -> anyhow::Result<()> {
    use std::sync::OnceLock;
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the plot font could not be loaded"))
    }
}

/// Draws the DET curve and the two score histograms side by side into a PNG.
pub fn det_and_histograms(
    path: &Path,
    title: &str,
    det: &[CurvePoint],
    genuine: &Histogram,
    impostor: &Histogram,
    calibration: &Calibration,
) -> anyhow::Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root
        .titled(title, ("sans-serif", 24))
        .map_err(|e| anyhow!("{e}"))?;
    let (left, right) = root.split_horizontally(700);
    draw_det(&left, det, calibration).map_err(|e| anyhow!("{e}"))?;
    draw_histograms(&right, genuine, impostor, calibration).map_err(|e| anyhow!("{e}"))?;
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draws each scenario's pass rate with its exact 95 % interval: attacks in red (they should be
/// at 0), genuine users in green (they should be near 1). `bars`: (name, attack, passed, trials).
pub fn pass_rates(path: &Path, bars: &[(String, bool, usize, usize)]) -> anyhow::Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    draw_rates(&root, bars).map_err(|e| anyhow!("{e}"))?;
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

fn draw_rates(
    area: &Area<'_>,
    bars: &[(String, bool, usize, usize)],
) -> Result<(), Box<dyn std::error::Error>> {
    let n = bars.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Sessions passed per scenario (bar: 95 % interval)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n, 0.0..1.05f64)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("share of sessions passed")
        .y_label_formatter(&|v| format!("{:.0} %", v * 100.0))
        .label_style(("sans-serif", 14))
        .draw()?;
    for (i, (name, attack, passed, trials)) in bars.iter().enumerate() {
        let x = i as f64;
        let rate = *passed as f64 / (*trials).max(1) as f64;
        let (lo, hi) = exact_interval(*passed, *trials);
        let colour = if *attack {
            RGBColor(200, 40, 40)
        } else {
            RGBColor(0, 140, 60)
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.2, 0.0), (x + 0.8, rate.max(0.004))],
            colour.mix(0.6).filled(),
        )))?;
        chart.draw_series(LineSeries::new(
            [(x + 0.5, lo), (x + 0.5, hi)],
            BLACK.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{name} {passed}/{trials}"),
            (x + 0.1, (hi + 0.03).min(1.02)),
            ("sans-serif", 13),
        )))?;
    }
    Ok(())
}

/// The exact (Clopper–Pearson) two-sided 95 % interval of a proportion.
fn exact_interval(k: usize, n: usize) -> (f64, f64) {
    use facekiosk_face::stats::clopper_pearson_upper;
    if n == 0 {
        return (0.0, 1.0);
    }
    let hi = clopper_pearson_upper(k as f64, n as f64, 0.975);
    // The lower bound of k is 1 − the upper bound of the complement.
    let lo = 1.0 - clopper_pearson_upper((n - k) as f64, n as f64, 0.975);
    (lo.max(0.0), hi)
}

/// Draws the held-out DET curve of a calibration, with each level's measured false-match rate,
/// its upper bound (a bar from the observed rate to the bound) and its TAR.
pub fn calibration_det(
    path: &Path,
    title: &str,
    det: &[CurvePoint],
    cal: &Calibration,
) -> anyhow::Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root
        .titled(title, ("sans-serif", 22))
        .map_err(|e| anyhow!("{e}"))?;
    draw_calibration(&root, det, cal).map_err(|e| anyhow!("{e}"))?;
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

fn draw_calibration(
    area: &Area<'_>,
    det: &[CurvePoint],
    cal: &Calibration,
) -> Result<(), Box<dyn std::error::Error>> {
    let (fx, fy) = (1e-7, 1e-4);
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((fx..1.0f64).log_scale(), (fy..1.0f64).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("false match rate (held-out impostor pairs)")
        .y_desc("false non-match rate (held-out genuine pairs)")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            det.iter().map(|p| (p.fmr.max(fx), p.fnmr.max(fy))),
            BLUE.stroke_width(2),
        ))?
        .label("DET, held-out identities")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    for l in &cal.levels {
        let colour = if l.extrapolated {
            RGBColor(200, 120, 0)
        } else {
            RGBColor(0, 140, 60)
        };
        let fnmr = (1.0 - l.observed_tmr).max(fy);
        let fmr = l.observed_fmr.max(fx);
        let bound = l.fmr_upper_bound.unwrap_or(fmr).max(fx);
        // The target, the measured point and the bar up to its bound.
        chart.draw_series(LineSeries::new(
            [(l.max_fmr, fy), (l.max_fmr, 1.0)],
            colour.mix(0.35).stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(
            [(fmr, fnmr), (bound, fnmr)],
            colour.stroke_width(3),
        ))?;
        chart.draw_series(std::iter::once(Circle::new(
            (fmr, fnmr),
            5,
            colour.filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!(
                "L{} {}: FMR {:.1e} ≤ {:.1e}, TAR {:.1} %",
                l.level,
                if l.extrapolated {
                    "extrap."
                } else {
                    "measured"
                },
                l.observed_fmr,
                bound,
                l.observed_tmr * 100.0
            ),
            (
                l.max_fmr * 1.15,
                (0.55 - 0.1 * f64::from(l.level.get())).max(0.02),
            ),
            ("sans-serif", 13).into_font().color(&colour),
        )))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

fn draw_det(
    area: &Area<'_>,
    det: &[CurvePoint],
    cal: &Calibration,
) -> Result<(), Box<dyn std::error::Error>> {
    // Rates of zero cannot sit on a log axis: clamp them to the smallest plotted value.
    let floor = 1e-4;
    let mut chart = ChartBuilder::on(area)
        .caption("DET curve", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((floor..1.0f64).log_scale(), (floor..1.0f64).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("false match rate")
        .y_desc("false non-match rate")
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            det.iter().map(|p| (p.fmr.max(floor), p.fnmr.max(floor))),
            BLUE.stroke_width(2),
        ))?
        .label("this set")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    for l in &cal.levels {
        if l.max_fmr < floor {
            continue;
        }
        let colour = if l.extrapolated {
            RGBColor(200, 120, 0)
        } else {
            RGBColor(0, 140, 60)
        };
        chart.draw_series(LineSeries::new(
            [(l.max_fmr, floor), (l.max_fmr, 1.0)],
            colour.stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("level {}", l.level),
            (l.max_fmr * 1.1, 0.5),
            ("sans-serif", 13).into_font().color(&colour),
        )))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

fn draw_histograms(
    area: &Area<'_>,
    genuine: &Histogram,
    impostor: &Histogram,
    cal: &Calibration,
) -> Result<(), Box<dyn std::error::Error>> {
    let share = |h: &Histogram| -> Vec<f64> {
        let total = h.counts.iter().sum::<usize>().max(1) as f64;
        h.counts.iter().map(|&c| c as f64 / total).collect()
    };
    let (g, i) = (share(genuine), share(impostor));
    let top = g.iter().chain(&i).copied().fold(0.0, f64::max).max(0.01) * 1.1;
    let (min, max) = (f64::from(genuine.min), f64::from(genuine.max));
    let width = (max - min) / g.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("Similarity scores", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(min..max, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("cosine similarity")
        .y_desc("share of pairs")
        .label_style(("sans-serif", 14))
        .draw()?;
    for (values, colour, label) in [(&i, RED, "impostor pairs"), (&g, BLUE, "genuine pairs")] {
        chart
            .draw_series(values.iter().enumerate().map(|(k, &v)| {
                let x0 = min + k as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, v)], colour.mix(0.4).filled())
            }))?
            .label(label)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 15, y + 5)], colour.mix(0.4).filled())
            });
    }
    for l in &cal.levels {
        let t = f64::from(l.threshold);
        chart.draw_series(LineSeries::new(
            [(t, 0.0), (t, top)],
            BLACK.mix(0.5).stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("L{}", l.level),
            (t, top * (0.95 - 0.05 * f64::from(l.level.get()))),
            ("sans-serif", 13),
        )))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

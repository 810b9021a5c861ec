//! Replay outputs: `path.csv` (the path shown, frame by frame, with the ball), `metrics.json`
//! and `report.html`/`path.svg` (the camera path against the ball over time: charts drawn
//! by plotters as SVG text, no fonts or image libraries needed; the page from a minijinja
//! template; opens in any browser).

use crate::framing::FramingMode;
use crate::metrics::{table, PathMetrics};
use crate::planner::{PlanFrame, PlannerCounters};
use crate::replay::InputStats;
use crate::view::Pose;
use crate::window::WindowCounters;
use plotters::prelude::*;
use serde::Serialize;
use shared::config::DirectorConfig;
use shared::time::NS_PER_SEC;
use std::path::Path;

/// Everything `metrics.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsFile<'a> {
    pub input: &'a InputStats,
    pub faults: Option<crate::synth::TrackFaults>,
    pub config: &'a DirectorConfig,
    pub planner: &'a PathMetrics,
    pub baselines: Option<Baselines<'a>>,
    pub counters: &'a PlannerCounters,
    pub window: &'a WindowCounters,
    /// Share of frames framed on the ball, the players' centre, the wide shot.
    pub modes: Vec<(FramingMode, f64)>,
    pub wall_s: f64,
    /// Replayed time over wall time.
    pub speed_factor: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Baselines<'a> {
    pub old_rules: &'a PathMetrics,
    pub naive: &'a PathMetrics,
}

fn io_err(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes `path.csv`: one row per frame, numbers with fixed precision so that the same
/// input and config give a byte-identical file.
pub fn write_path_csv(
    path: &Path,
    frames: &[PlanFrame],
    step_ns: u64,
    ball: &[Option<(f64, f64, bool)>],
) -> std::io::Result<()> {
    let csv_err = |e: csv::Error| io_err(path, e.into());
    let mut w = csv::Writer::from_path(path).map_err(csv_err)?;
    w.write_record([
        "pts_ns",
        "t_s",
        "yaw_deg",
        "pitch_deg",
        "fov_deg",
        "mode",
        "ball_lon_deg",
        "ball_lat_deg",
        "ball_in_play",
    ])
    .map_err(csv_err)?;
    for (i, f) in frames.iter().enumerate() {
        let pts = f.k * step_ns;
        let ball = match ball.get(i).copied().flatten() {
            Some((lon, lat, p)) => [
                format!("{lon:.4}"),
                format!("{lat:.4}"),
                (p as u8).to_string(),
            ],
            None => Default::default(),
        };
        let [lon, lat, in_play] = ball;
        w.write_record([
            pts.to_string(),
            format!("{:.3}", pts as f64 / NS_PER_SEC as f64),
            format!("{:.4}", f.yaw.p),
            format!("{:.4}", f.pitch.p),
            format!("{:.4}", f.fov.p),
            f.mode.name().to_string(),
            lon,
            lat,
            in_play,
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(|e| io_err(path, e))
}

/// Writes `metrics.json`.
pub fn write_metrics_json(path: &Path, m: &MetricsFile) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(m).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n").map_err(|e| io_err(path, e))
}

/// One line of a chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
    pub dashed: bool,
}

const W: u32 = 1100;
const H: u32 = 260;
/// Most points per series drawn: longer series are reduced to min/max per pixel column.
const MAX_POINTS: usize = 2400;

/// The value range of `series` at the samples `idx`, padded by 5 % (at least 1 wide).
fn value_range(series: &[Series], idx: &[usize]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &i in idx {
            if let Some(v) = s.values.get(i).copied().flatten() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1.0 {
        hi += 0.5;
        lo -= 0.5;
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// The runs of a series without gaps at the samples `idx`, reduced to its minimum and
/// maximum per column when there are more samples than [`MAX_POINTS`].
fn runs(t: &[f64], values: &[Option<f64>], idx: &[usize]) -> Vec<Vec<(f64, f64)>> {
    let cols = MAX_POINTS.min(idx.len().max(1));
    let per = (idx.len() as f64 / cols as f64).max(1.0);
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut pen_down = false;
    let mut c = 0.0;
    while (c as usize) < idx.len() {
        let a = c as usize;
        let b = ((c + per) as usize).min(idx.len()).max(a + 1);
        let vals: Vec<f64> = idx[a..b]
            .iter()
            .filter_map(|&i| values.get(i).copied().flatten())
            .collect();
        if vals.is_empty() {
            pen_down = false;
        } else {
            let x = t[idx[a]];
            let (mn, mx) = vals
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(*v), h.max(*v))
                });
            if !pen_down {
                out.push(Vec::new());
            }
            if let Some(run) = out.last_mut() {
                run.push((x, mn));
                if mx > mn {
                    run.push((x, mx));
                }
            }
            pen_down = true;
        }
        c += per;
    }
    out
}

/// An SVG line chart of `series` over `t` (seconds), between `t0` and `t1`, drawn with
/// plotters: title above, legend inside the plot's upper right corner.
pub fn svg_chart(
    title: &str,
    unit: &str,
    t: &[f64],
    series: &[Series],
    t0: f64,
    t1: f64,
) -> String {
    let mut svg = String::new();
    let chart = Chart {
        title,
        unit,
        t,
        series,
        t0,
        t1,
    };
    if let Err(e) = draw_chart(&mut svg, &chart) {
        // A chart that cannot be drawn leaves a note in the report, never a failed replay.
        return format!("<p>chart {title:?} not drawn: {e}</p>");
    }
    svg
}

type ChartResult = Result<(), Box<dyn std::error::Error>>;

/// What one chart shows: `series` over `t` (seconds) between `t0` and `t1`.
struct Chart<'a> {
    title: &'a str,
    unit: &'a str,
    t: &'a [f64],
    series: &'a [Series<'a>],
    t0: f64,
    t1: f64,
}

fn draw_chart(svg: &mut String, c: &Chart) -> ChartResult {
    let (title, unit, t, series, t0, t1) = (c.title, c.unit, c.t, c.series, c.t0, c.t1);
    let idx: Vec<usize> = (0..t.len()).filter(|&i| t[i] >= t0 && t[i] <= t1).collect();
    let (lo, hi) = value_range(series, &idx);
    let t1 = t1.max(t0 + 1e-6);
    let root = SVGBackend::with_string(svg, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 14))
        .margin(6)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(t0..t1, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("s")
        .y_desc(unit)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in series {
        let style = ShapeStyle::from(&s.color).stroke_width(1);
        let mut labelled = false;
        for run in runs(t, &s.values, &idx) {
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(run, 4, 3, style))?
            } else {
                chart.draw_series(LineSeries::new(run, style))?
            };
            if !labelled {
                let color = s.color;
                drawn
                    .label(s.name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
                labelled = true;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The paths and the ball, as charts.
pub struct ReportData<'a> {
    pub title: &'a str,
    pub t: Vec<f64>,
    pub ours: Vec<Pose>,
    pub old_rules: Option<&'a [Pose]>,
    pub naive: Option<&'a [Pose]>,
    pub ball: &'a [Option<(f64, f64, bool)>],
    pub metrics_table: String,
}

/// Picks longitude or latitude from a ball reference `(lon, lat, in_play)`.
type BallAxis = fn(&(f64, f64, bool)) -> f64;

fn axis(poses: &[Pose], f: fn(&Pose) -> f64) -> Vec<Option<f64>> {
    poses.iter().map(|p| Some(f(p))).collect()
}

/// All charts of the report (pan, tilt, zoom; whole input and its first two minutes), SVG.
pub fn charts(d: &ReportData) -> Vec<String> {
    let (t0, t1) = (
        d.t.first().copied().unwrap_or(0.0),
        d.t.last().copied().unwrap_or(1.0),
    );
    let mk = |f: fn(&Pose) -> f64, ball: Option<BallAxis>| {
        let mut v = vec![Series {
            name: "director",
            color: RGBColor(0x1f, 0x6f, 0xd1),
            values: axis(&d.ours, f),
            dashed: false,
        }];
        if let Some(b) = ball {
            v.insert(
                0,
                Series {
                    name: "ball",
                    color: RGBColor(0xe0, 0x8a, 0x00),
                    values: d.ball.iter().map(|x| x.as_ref().map(b)).collect(),
                    dashed: false,
                },
            );
        }
        if let Some(p) = d.old_rules {
            v.push(Series {
                name: "old rules",
                color: RGBColor(0x99, 0x99, 0x99),
                values: axis(p, f),
                dashed: true,
            });
        }
        if let Some(p) = d.naive {
            v.push(Series {
                name: "naive",
                color: RGBColor(0xcc, 0x33, 0x33),
                values: axis(p, f),
                dashed: true,
            });
        }
        v
    };
    let pan = mk(|p| p.yaw, Some(|b| b.0));
    let tilt = mk(|p| p.pitch, Some(|b| b.1));
    let zoom = mk(|p| p.fov, None);
    let detail = (t0 + 120.0).min(t1);
    let mut charts: Vec<(&str, &[Series], f64)> = vec![
        ("Pan (yaw) and ball longitude", &pan, t1),
        ("Tilt (pitch) and ball latitude", &tilt, t1),
        ("Zoom (horizontal field of view)", &zoom, t1),
    ];
    if detail < t1 {
        charts.push(("Pan, first two minutes", &pan, detail));
        charts.push(("Zoom, first two minutes", &zoom, detail));
    }
    charts
        .into_iter()
        .map(|(title, series, end)| svg_chart(title, "deg", &d.t, series, t0, end))
        .collect()
}

/// The page around the charts; minijinja escapes the title and the table.
const REPORT_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:sans-serif;margin:20px}svg{display:block;margin:10px 0}</style>
</head><body><h2>{{ title }}</h2><pre>{{ table }}</pre>
{% for chart in charts %}{{ chart | safe }}
{% endfor %}</body></html>
"#;

/// The report page: title, metrics table and the charts (SVG, inline).
pub fn report_html(title: &str, table: &str, charts: &[String]) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", REPORT_PAGE)
        .map_err(|e| e.to_string())?;
    env.get_template("report.html")
        .and_then(|t| t.render(minijinja::context! { title, table, charts }))
        .map_err(|e| e.to_string())
}

/// Writes `report.html` (metrics table and charts) and `path.svg` (the pan chart alone).
pub fn write_report(dir: &Path, d: &ReportData) -> std::io::Result<()> {
    let charts = charts(d);
    let html = report_html(d.title, &d.metrics_table, &charts).map_err(std::io::Error::other)?;
    let p = dir.join("report.html");
    std::fs::write(&p, html).map_err(|e| io_err(&p, e))?;
    let first = charts.first().cloned().unwrap_or_default() + "\n";
    let p = dir.join("path.svg");
    std::fs::write(&p, first).map_err(|e| io_err(&p, e))
}

/// The metrics table of the planner and, when given, the baselines.
pub fn metrics_table(
    ours: &PathMetrics,
    baselines: Option<(&PathMetrics, &PathMetrics)>,
) -> String {
    let mut rows = vec![("director".to_string(), *ours)];
    if let Some((o, n)) = baselines {
        rows.push(("old rules".to_string(), *o));
        rows.push(("naive".to_string(), *n));
    }
    table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_with_gaps_is_drawn_as_runs_and_long_ones_are_reduced_per_column() {
        let t: Vec<f64> = (0..6).map(f64::from).collect();
        let v = vec![Some(1.0), Some(2.0), None, None, Some(5.0), Some(6.0)];
        let idx: Vec<usize> = (0..6).collect();
        assert_eq!(
            runs(&t, &v, &idx),
            vec![vec![(0.0, 1.0), (1.0, 2.0)], vec![(4.0, 5.0), (5.0, 6.0)]]
        );
        let n = 3 * MAX_POINTS;
        let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let v: Vec<Option<f64>> = (0..n).map(|i| Some((i % 3) as f64)).collect();
        let idx: Vec<usize> = (0..n).collect();
        let r = runs(&t, &v, &idx);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].len(), 2 * MAX_POINTS, "min and max of each column");
        assert_eq!((r[0][0], r[0][1]), ((0.0, 0.0), (0.0, 2.0)));
    }

    #[test]
    fn a_chart_names_its_title_axes_and_every_series_once() {
        let t: Vec<f64> = (0..100).map(|i| i as f64 * 0.1).collect();
        let series = [
            Series {
                name: "ball",
                color: RGBColor(0xe0, 0x8a, 0x00),
                values: t
                    .iter()
                    .map(|&x| (!(3.0..=6.0).contains(&x)).then_some(x))
                    .collect(),
                dashed: false,
            },
            Series {
                name: "old rules",
                color: RGBColor(0x99, 0x99, 0x99),
                values: t.iter().map(|&x| Some(x * 0.5)).collect(),
                dashed: true,
            },
        ];
        let svg = svg_chart("Pan & tilt", "deg", &t, &series, 0.0, 9.9);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("Pan &amp; tilt"));
        assert!(
            svg.contains(">\ndeg\n<") || svg.contains(">deg<"),
            "unit on the y axis"
        );
        for name in ["ball", "old rules"] {
            let label = svg.matches(&format!("\n{name}\n")).count()
                + svg.matches(&format!(">{name}<")).count();
            assert_eq!(label, 1, "{name} in the legend once");
        }
    }

    #[test]
    fn the_page_escapes_the_title_and_table_and_keeps_the_charts() {
        let html = report_html("a < b", "| x & y |", &["<svg>c</svg>".to_string()]).unwrap();
        assert!(html.contains("<title>a &lt; b</title>"));
        assert!(html.contains("| x &amp; y |"));
        assert!(html.contains("<svg>c</svg>"));
    }
}

//! Replay outputs: `path.csv` (the path shown, frame by frame, with the ball), `metrics.json`
//! and `report.html`/`path.svg` (the camera path against the ball over time, drawn as
//! inline SVG: no fonts or image libraries needed, opens in any browser).

use crate::framing::Mode;
use crate::metrics::{table, Metrics};
use crate::planner::{PlanFrame, PlannerCounters};
use crate::replay::InputStats;
use crate::view::Pose;
use crate::window::WindowCounters;
use serde::Serialize;
use shared::config::DirectorConfig;
use shared::time::NS_PER_SEC;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// Everything `metrics.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsFile<'a> {
    pub input: &'a InputStats,
    pub faults: Option<crate::synth::Faults>,
    pub config: &'a DirectorConfig,
    pub planner: &'a Metrics,
    pub baselines: Option<Baselines<'a>>,
    pub counters: &'a PlannerCounters,
    pub window: &'a WindowCounters,
    /// Share of frames framed on the ball, the players' centre, the wide shot.
    pub modes: Vec<(Mode, f64)>,
    pub wall_s: f64,
    /// Replayed time over wall time.
    pub speed_factor: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Baselines<'a> {
    pub old_rules: &'a Metrics,
    pub naive: &'a Metrics,
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
    let f = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = std::io::BufWriter::new(f);
    writeln!(
        w,
        "pts_ns,t_s,yaw_deg,pitch_deg,fov_deg,mode,ball_lon_deg,ball_lat_deg,ball_in_play"
    )?;
    for (i, f) in frames.iter().enumerate() {
        let pts = f.k * step_ns;
        write!(
            w,
            "{pts},{:.3},{:.4},{:.4},{:.4},{}",
            pts as f64 / NS_PER_SEC as f64,
            f.yaw.p,
            f.pitch.p,
            f.fov.p,
            f.mode.name()
        )?;
        match ball.get(i).copied().flatten() {
            Some((lon, lat, p)) => writeln!(w, ",{lon:.4},{lat:.4},{}", p as u8)?,
            None => writeln!(w, ",,,")?,
        }
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
    pub color: &'a str,
    pub values: Vec<Option<f64>>,
    pub dashed: bool,
}

const W: f64 = 1100.0;
const H: f64 = 260.0;
const ML: f64 = 60.0;
const MR: f64 = 20.0;
const MT: f64 = 28.0;
const MB: f64 = 30.0;
/// Most points per series drawn: longer series are reduced to min/max per pixel column.
const MAX_POINTS: usize = 2400;

fn nice_step(span: f64, ticks: f64) -> f64 {
    let raw = (span / ticks).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// An SVG line chart of `series` over `t` (seconds), between `t0` and `t1`.
pub fn svg_chart(
    title: &str,
    unit: &str,
    t: &[f64],
    series: &[Series],
    t0: f64,
    t1: f64,
) -> String {
    let idx: Vec<usize> = (0..t.len()).filter(|&i| t[i] >= t0 && t[i] <= t1).collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &i in &idx {
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
    let (lo, hi) = (lo - pad, hi + pad);
    let span_t = (t1 - t0).max(1e-6);
    let x = |tt: f64| ML + (tt - t0) / span_t * (W - ML - MR);
    let y = |v: f64| MT + (hi - v) / (hi - lo) * (H - MT - MB);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/><text x="{ML}" y="16" font-size="13" font-weight="bold">{title}</text>"##
    );
    // Grid and ticks.
    let ystep = nice_step(hi - lo, 5.0);
    let mut v = (lo / ystep).ceil() * ystep;
    while v <= hi {
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{ML}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"##,
            W - MR,
            ML - 4.0,
            yy + 4.0
        );
        v += ystep;
    }
    let tstep = nice_step(span_t, 10.0);
    let mut tt = (t0 / tstep).ceil() * tstep;
    while tt <= t1 {
        let xx = x(tt);
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{MT}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{tt}</text>"##,
            H - MB,
            H - MB + 14.0
        );
        tt += tstep;
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end">s</text><text x="6" y="{:.1}">{unit}</text>"##,
        W - MR,
        H - 4.0,
        MT - 4.0
    );
    // Series: min/max per pixel column when there are more points than columns.
    let cols = MAX_POINTS.min(idx.len().max(1));
    for (n, ser) in series.iter().enumerate() {
        let mut path = String::new();
        let mut pen_down = false;
        let per = (idx.len() as f64 / cols as f64).max(1.0);
        let mut c = 0.0;
        while (c as usize) < idx.len() {
            let a = c as usize;
            let b = ((c + per) as usize).min(idx.len()).max(a + 1);
            let vals: Vec<f64> = idx[a..b]
                .iter()
                .filter_map(|&i| ser.values.get(i).copied().flatten())
                .collect();
            if vals.is_empty() {
                pen_down = false;
            } else {
                let xx = x(t[idx[a]]);
                let (mn, mx) = vals
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                        (l.min(*v), h.max(*v))
                    });
                let cmd = if pen_down { 'L' } else { 'M' };
                let _ = write!(path, "{cmd}{xx:.1},{:.1}", y(mn));
                if mx > mn {
                    let _ = write!(path, "L{xx:.1},{:.1}", y(mx));
                }
                pen_down = true;
            }
            c += per;
        }
        let dash = if ser.dashed {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<path d="{path}" fill="none" stroke="{}" stroke-width="1.3"{dash}/>"#,
            ser.color
        );
        let lx = ML + 160.0 + n as f64 * 150.0;
        let _ = write!(
            s,
            r#"<line x1="{lx}" x2="{:.0}" y1="12" y2="12" stroke="{}" stroke-width="2"{dash}/><text x="{:.0}" y="16">{}</text>"#,
            lx + 18.0,
            ser.color,
            lx + 22.0,
            ser.name
        );
    }
    s.push_str("</svg>");
    s
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

/// All charts of the report (pan, tilt, zoom; whole input and its first two minutes).
pub fn charts(d: &ReportData) -> String {
    let (t0, t1) = (
        d.t.first().copied().unwrap_or(0.0),
        d.t.last().copied().unwrap_or(1.0),
    );
    let mk = |f: fn(&Pose) -> f64, ball: Option<BallAxis>| {
        let mut v = vec![Series {
            name: "director",
            color: "#1f6fd1",
            values: axis(&d.ours, f),
            dashed: false,
        }];
        if let Some(b) = ball {
            v.insert(
                0,
                Series {
                    name: "ball",
                    color: "#e08a00",
                    values: d.ball.iter().map(|x| x.as_ref().map(b)).collect(),
                    dashed: false,
                },
            );
        }
        if let Some(p) = d.old_rules {
            v.push(Series {
                name: "old rules",
                color: "#999",
                values: axis(p, f),
                dashed: true,
            });
        }
        if let Some(p) = d.naive {
            v.push(Series {
                name: "naive",
                color: "#c33",
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
    let mut s = String::new();
    s.push_str(&svg_chart(
        "Pan (yaw) and ball longitude",
        "deg",
        &d.t,
        &pan,
        t0,
        t1,
    ));
    s.push_str(&svg_chart(
        "Tilt (pitch) and ball latitude",
        "deg",
        &d.t,
        &tilt,
        t0,
        t1,
    ));
    s.push_str(&svg_chart(
        "Zoom (horizontal field of view)",
        "deg",
        &d.t,
        &zoom,
        t0,
        t1,
    ));
    if detail < t1 {
        s.push_str(&svg_chart(
            "Pan, first two minutes",
            "deg",
            &d.t,
            &pan,
            t0,
            detail,
        ));
        s.push_str(&svg_chart(
            "Zoom, first two minutes",
            "deg",
            &d.t,
            &zoom,
            t0,
            detail,
        ));
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `report.html` (metrics table and charts) and `path.svg` (the pan chart alone).
pub fn write_report(dir: &Path, d: &ReportData) -> std::io::Result<()> {
    let body = charts(d);
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
<style>body{{font-family:sans-serif;margin:20px}}table{{border-collapse:collapse}}\
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:12px}}svg{{display:block;margin:10px 0}}</style>\
</head><body><h2>{t}</h2><pre>{m}</pre>{body}</body></html>\n",
        t = escape(d.title),
        m = escape(&d.metrics_table),
    );
    let p = dir.join("report.html");
    std::fs::write(&p, html).map_err(|e| io_err(&p, e))?;
    let first = body.split("</svg>").next().unwrap_or("").to_string() + "</svg>\n";
    let p = dir.join("path.svg");
    std::fs::write(&p, first).map_err(|e| io_err(&p, e))
}

/// The metrics table of the planner and, when given, the baselines.
pub fn metrics_table(ours: &Metrics, baselines: Option<(&Metrics, &Metrics)>) -> String {
    let mut rows = vec![("director".to_string(), *ours)];
    if let Some((o, n)) = baselines {
        rows.push(("old rules".to_string(), *o));
        rows.push(("naive".to_string(), *n));
    }
    table(&rows)
}

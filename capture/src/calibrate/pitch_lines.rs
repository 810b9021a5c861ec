//! The painted lines of a standard pitch, by name, as points every 0.1 m: what the preview
//! draws and what the seam is measured on.

/// One painted line (or a closed shape such as a penalty area) as a chain of pitch points.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Points from `a` to `b` every 0.1 m, both ends included.
fn straight(a: (f64, f64), b: (f64, f64)) -> Vec<(f64, f64)> {
    let n = (((b.0 - a.0).hypot(b.1 - a.1)) / 0.1).ceil().max(1.0) as usize;
    (0..=n)
        .map(|k| {
            let t = k as f64 / n as f64;
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        })
        .collect()
}

/// The lines of a pitch `length` x `width` metres (x along the touchlines from the left goal
/// line, y across from the near touchline): touchlines, goal lines, halfway line, penalty and
/// goal areas, penalty arcs and the centre circle.
pub fn segments(length: f64, width: f64) -> Vec<Segment> {
    let (l, w, cy) = (length, width, width / 2.0);
    let mut out = Vec::new();
    let mut add = |name: &str, points: Vec<(f64, f64)>| {
        out.push(Segment {
            name: name.into(),
            points,
        })
    };
    add("near touchline", straight((0.0, 0.0), (l, 0.0)));
    add("far touchline", straight((0.0, w), (l, w)));
    add("left goal line", straight((0.0, 0.0), (0.0, w)));
    add("right goal line", straight((l, 0.0), (l, w)));
    add("halfway line", straight((l / 2.0, 0.0), (l / 2.0, w)));
    for (side, x0, dir) in [("left", 0.0, 1.0), ("right", l, -1.0)] {
        // Penalty area (16.5 m deep, 40.32 m wide) and goal area (5.5 x 18.32).
        for (area, depth, half) in [("penalty area", 16.5, 20.16), ("goal area", 5.5, 9.16)] {
            let x1 = x0 + dir * depth;
            let mut pts = straight((x0, cy - half), (x1, cy - half));
            pts.extend(
                straight((x1, cy - half), (x1, cy + half))
                    .into_iter()
                    .skip(1),
            );
            pts.extend(
                straight((x1, cy + half), (x0, cy + half))
                    .into_iter()
                    .skip(1),
            );
            add(&format!("{side} {area}"), pts);
        }
        // Penalty arc: the part of the 9.15 m circle about the spot outside the area.
        let spot = x0 + dir * 11.0;
        let arc: Vec<(f64, f64)> = (0..=360)
            .map(|k| (k as f64).to_radians())
            .map(|a| (spot + 9.15 * a.cos(), cy + 9.15 * a.sin()))
            .filter(|(x, _)| (x - x0) * dir > 16.5)
            .collect();
        add(&format!("{side} penalty arc"), arc);
    }
    add(
        "centre circle",
        (0..=720)
            .map(|k| (k as f64 / 2.0).to_radians())
            .map(|a| (l / 2.0 + 9.15 * a.cos(), cy + 9.15 * a.sin()))
            .collect(),
    );
    out
}

/// All the points of [`segments`].
pub fn points(length: f64, width: f64) -> Vec<(f64, f64)> {
    segments(length, width)
        .into_iter()
        .flat_map(|s| s.points)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_of_a_standard_pitch_are_where_the_laws_put_them() {
        let s = segments(105.0, 68.0);
        let by = |n: &str| s.iter().find(|s| s.name == n).unwrap();
        let half = by("halfway line");
        assert!(half.points.iter().all(|p| (p.0 - 52.5).abs() < 1e-9));
        assert_eq!(half.points.first(), Some(&(52.5, 0.0)));
        assert_eq!(half.points.last(), Some(&(52.5, 68.0)));
        // Neighbouring points are at most 0.1 m apart along every straight line.
        for seg in s
            .iter()
            .filter(|s| !s.name.contains("arc") && !s.name.contains("circle"))
        {
            for w in seg.points.windows(2) {
                let d = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
                assert!(d <= 0.1 + 1e-9, "{}: {d}", seg.name);
            }
        }
        let pen = by("right penalty area");
        assert!(pen.points.iter().any(|p| (p.0 - 88.5).abs() < 1e-9));
        assert!(by("left penalty arc")
            .points
            .iter()
            .all(|p| p.0 > 16.5 && (p.0 - 11.0).hypot(p.1 - 34.0) < 9.15 + 1e-9));
        let c = by("centre circle");
        assert!(c
            .points
            .iter()
            .all(|p| ((p.0 - 52.5).hypot(p.1 - 34.0) - 9.15).abs() < 1e-9));
    }
}

//! Stitch look-up tables: for every panorama pixel and each camera, the source position in
//! that camera's image and the blend weight. Computed from the calibration (feathered weights
//! across the overlap), cached on disk by the calibration's hash, or imported from the old
//! prototype's raw maps.

use super::Calibration;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File names of the old prototype's maps (float32, panorama-sized, row-major), in the
/// order x/y of the left camera, x/y of the right camera, left weight, right weight.
pub const LEGACY_LUT_FILES: [&str; 6] = [
    "lut_left_x.bin",
    "lut_left_y.bin",
    "lut_right_x.bin",
    "lut_right_y.bin",
    "weight_left.bin",
    "weight_right.bin",
];

const CACHE_MAGIC: [u8; 8] = *b"TLLUT\0\0\x01";

#[derive(Debug, Error)]
pub enum LutError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is {found} bytes; a {width}x{height} panorama needs {expected} bytes (width x height x 4-byte floats)")]
    Size {
        path: PathBuf,
        found: u64,
        expected: u64,
        width: u32,
        height: u32,
    },
    #[error("{path} is not a Touchline table cache file or is corrupt")]
    BadCache { path: PathBuf },
}

/// One camera's table.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraTable {
    /// Source pixel (OpenCV convention); -1 where the camera does not see the pixel.
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    /// Blend weight in [0, 1]; the weights of both cameras sum to 1 where any is valid.
    pub w: Vec<f32>,
}

/// The tables of both cameras (left, right) for one panorama size.
#[derive(Debug, Clone, PartialEq)]
pub struct StitchLut {
    pub width: u32,
    pub height: u32,
    pub cams: [CameraTable; 2],
}

/// Where a table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LutSource {
    Cache(PathBuf),
    Computed { saved: Option<PathBuf> },
}

impl StitchLut {
    /// Computes the tables from the calibration (multi-threaded).
    pub fn compute(cal: &Calibration) -> StitchLut {
        let p = &cal.panorama;
        let (w, h) = (p.width as usize, p.height as usize);
        let rots = [cal.rotation(0), cal.rotation(1)];
        let limits = [cal.cameras[0].radius_limit(), cal.cameras[1].radius_limit()];
        let n = w * h;
        let mut out: Vec<[f32; 6]> = vec![[0.0; 6]; n];
        out.par_chunks_mut(w).enumerate().for_each(|(row, line)| {
            for (col, px) in line.iter_mut().enumerate() {
                let d = p.pixel_to_dir(col as f64, row as f64);
                let mut e = [0.0f64; 2];
                let mut xy = [(-1.0f64, -1.0f64); 2];
                for i in 0..2 {
                    let c = &cal.cameras[i];
                    let dc = cal.camera_vector(i, &d);
                    if let Some((u, v)) = c.project_dir_limited(&rots[i], &dc, limits[i]) {
                        if c.contains(u, v) {
                            let edge = u
                                .min(v)
                                .min((c.width - 1) as f64 - u)
                                .min((c.height - 1) as f64 - v);
                            // Feather: weight grows with the distance to the image border.
                            e[i] = edge + 1e-3;
                            xy[i] = (u, v);
                        }
                    }
                }
                let sum = e[0] + e[1];
                for i in 0..2 {
                    let (wt, (x, y)) = if e[i] > 0.0 {
                        (e[i] / sum, xy[i])
                    } else {
                        (0.0, (-1.0, -1.0))
                    };
                    px[i * 2] = x as f32;
                    px[i * 2 + 1] = y as f32;
                    px[4 + i] = wt as f32;
                }
            }
        });
        let take = |k: usize| out.iter().map(|a| a[k]).collect::<Vec<f32>>();
        StitchLut {
            width: p.width,
            height: p.height,
            cams: [
                CameraTable {
                    x: take(0),
                    y: take(1),
                    w: take(4),
                },
                CameraTable {
                    x: take(2),
                    y: take(3),
                    w: take(5),
                },
            ],
        }
    }

    /// Loads the tables for `cal` from `cache_dir` when a cache file for its hash exists,
    /// otherwise computes them and saves them there (a failed save is logged, not fatal).
    pub fn load_or_compute(cal: &Calibration, cache_dir: Option<&Path>) -> (StitchLut, LutSource) {
        let Some(dir) = cache_dir else {
            return (Self::compute(cal), LutSource::Computed { saved: None });
        };
        let path = dir.join(format!(
            "stitch-{}-{}x{}.tllut",
            cal.hash(),
            cal.panorama.width,
            cal.panorama.height
        ));
        if path.exists() {
            match Self::read_cache(&path, cal.panorama.width, cal.panorama.height) {
                Ok(l) => return (l, LutSource::Cache(path)),
                Err(e) => {
                    tracing::warn!(message = "Ignoring an unreadable table cache; recomputing.", error = %e)
                }
            }
        }
        let lut = Self::compute(cal);
        let saved = match std::fs::create_dir_all(dir)
            .map_err(|source| LutError::Io {
                path: dir.to_path_buf(),
                source,
            })
            .and_then(|_| lut.write_cache(&path))
        {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(message = "Could not save the stitch table cache; it will be recomputed next start.", error = %e);
                None
            }
        };
        (lut, LutSource::Computed { saved })
    }

    fn arrays(&self) -> [&Vec<f32>; 6] {
        [
            &self.cams[0].x,
            &self.cams[0].y,
            &self.cams[1].x,
            &self.cams[1].y,
            &self.cams[0].w,
            &self.cams[1].w,
        ]
    }

    /// Writes the cache file atomically (temporary file, then rename).
    pub fn write_cache(&self, path: &Path) -> Result<(), LutError> {
        let io = |source| LutError::Io {
            path: path.to_path_buf(),
            source,
        };
        crate::atomic_file::replace_with(path, |f| -> std::io::Result<()> {
            f.write_all(&CACHE_MAGIC)?;
            f.write_all(&self.width.to_le_bytes())?;
            f.write_all(&self.height.to_le_bytes())?;
            for a in self.arrays() {
                f.write_all(&f32s_to_bytes(a))?;
            }
            Ok(())
        })
        .map_err(io)
    }

    fn read_cache(path: &Path, width: u32, height: u32) -> Result<StitchLut, LutError> {
        let bytes = std::fs::read(path).map_err(|source| LutError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let n = width as usize * height as usize * 4;
        let bad = || LutError::BadCache {
            path: path.to_path_buf(),
        };
        if bytes.len() != 16 + 6 * n || bytes[..8] != CACHE_MAGIC {
            return Err(bad());
        }
        let w = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        let h = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
        if (w, h) != (width, height) {
            return Err(bad());
        }
        let arr = |k: usize| bytes_to_f32s(&bytes[16 + k * n..16 + (k + 1) * n]);
        Ok(StitchLut {
            width,
            height,
            cams: [
                CameraTable {
                    x: arr(0),
                    y: arr(1),
                    w: arr(4),
                },
                CameraTable {
                    x: arr(2),
                    y: arr(3),
                    w: arr(5),
                },
            ],
        })
    }

    /// Writes the six maps in the old prototype's format into `dir`.
    pub fn write_legacy(&self, dir: &Path) -> Result<(), LutError> {
        for (name, a) in LEGACY_LUT_FILES.iter().zip(self.arrays()) {
            let path = dir.join(name);
            std::fs::write(&path, f32s_to_bytes(a))
                .map_err(|source| LutError::Io { path, source })?;
        }
        Ok(())
    }

    /// Imports the old prototype's maps from `dir` for a `width` x `height` panorama and
    /// cameras of the given sizes. Source positions outside a camera's image or not finite
    /// become "not seen"; weights are renormalised to sum to 1 per pixel.
    pub fn import_legacy(
        dir: &Path,
        width: u32,
        height: u32,
        camera_sizes: [(u32, u32); 2],
    ) -> Result<StitchLut, LutError> {
        let expected = width as u64 * height as u64 * 4;
        let mut arrays: Vec<Vec<f32>> = Vec::with_capacity(6);
        for name in LEGACY_LUT_FILES {
            let path = dir.join(name);
            let meta = std::fs::metadata(&path).map_err(|source| LutError::Io {
                path: path.clone(),
                source,
            })?;
            if meta.len() != expected {
                return Err(LutError::Size {
                    path,
                    found: meta.len(),
                    expected,
                    width,
                    height,
                });
            }
            let bytes = std::fs::read(&path).map_err(|source| LutError::Io {
                path: path.clone(),
                source,
            })?;
            arrays.push(bytes_to_f32s(&bytes));
        }
        let mut it = arrays.into_iter();
        let (lx, ly, rx, ry, lw, rw) = (
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap(),
        );
        let mut cams = [
            CameraTable {
                x: lx,
                y: ly,
                w: lw,
            },
            CameraTable {
                x: rx,
                y: ry,
                w: rw,
            },
        ];
        let n = (width * height) as usize;
        for k in 0..n {
            let mut ws = [0f32; 2];
            for (i, c) in cams.iter_mut().enumerate() {
                let (cw, ch) = camera_sizes[i];
                let (x, y, w) = (c.x[k], c.y[k], c.w[k]);
                let ok = x.is_finite()
                    && y.is_finite()
                    && w.is_finite()
                    && w > 0.0
                    && x >= 0.0
                    && y >= 0.0
                    && x <= (cw - 1) as f32
                    && y <= (ch - 1) as f32;
                if ok {
                    ws[i] = w;
                } else {
                    c.x[k] = -1.0;
                    c.y[k] = -1.0;
                }
            }
            let sum = ws[0] + ws[1];
            for (i, c) in cams.iter_mut().enumerate() {
                c.w[k] = if sum > 0.0 { ws[i] / sum } else { 0.0 };
            }
        }
        Ok(StitchLut {
            width,
            height,
            cams,
        })
    }

    /// Fraction of panorama pixels seen by at least one camera.
    pub fn coverage(&self) -> f64 {
        let n = self.cams[0].w.len();
        let seen = (0..n)
            .filter(|&k| self.cams[0].w[k] > 0.0 || self.cams[1].w[k] > 0.0)
            .count();
        seen as f64 / n as f64
    }
}

fn f32s_to_bytes(a: &[f32]) -> Vec<u8> {
    a.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn bytes_to_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calibration {
        Calibration::synthetic(480, 320, 180)
    }

    #[test]
    fn weights_sum_to_one_and_overlap_is_blended() {
        let lut = StitchLut::compute(&cal());
        let n = lut.cams[0].w.len();
        let mut overlap = 0;
        for k in 0..n {
            let s = lut.cams[0].w[k] + lut.cams[1].w[k];
            assert!(s == 0.0 || (s - 1.0).abs() < 1e-5);
            if lut.cams[0].w[k] > 0.0 && lut.cams[1].w[k] > 0.0 {
                overlap += 1;
            }
        }
        assert!(overlap > 0);
        assert!(lut.coverage() > 0.8, "coverage {}", lut.coverage());
    }

    #[test]
    fn table_agrees_with_the_camera_model() {
        let c = cal();
        let lut = StitchLut::compute(&c);
        let (u, v) = c.pitch_to_panorama(30.0, 30.0, 0.0);
        let k = (v.round() as usize) * 480 + u.round() as usize;
        let (cu, cv) = c.panorama_to_camera(0, u.round(), v.round()).unwrap();
        assert!((lut.cams[0].x[k] as f64 - cu).abs() < 1e-3);
        assert!((lut.cams[0].y[k] as f64 - cv).abs() < 1e-3);
    }

    #[test]
    fn cache_is_used_on_second_load_and_keyed_by_calibration() {
        let t = tempfile::tempdir().unwrap();
        let c = cal();
        let (a, src) = StitchLut::load_or_compute(&c, Some(t.path()));
        assert!(matches!(src, LutSource::Computed { saved: Some(_) }));
        let (b, src) = StitchLut::load_or_compute(&c, Some(t.path()));
        assert!(matches!(src, LutSource::Cache(_)));
        assert_eq!(a, b);
        let mut d = c.clone();
        d.cameras[1].yaw_deg += 0.5;
        let (_, src) = StitchLut::load_or_compute(&d, Some(t.path()));
        assert!(matches!(src, LutSource::Computed { .. }));
    }

    /// Maps written by hand the way the old prototype's tools wrote them (not by our own
    /// writer): unnormalised weights, NaN and -1 for "not seen", coordinates past the image.
    #[test]
    fn legacy_maps_are_cleaned_on_import() {
        let t = tempfile::tempdir().unwrap();
        // A 4x1 panorama; cameras of 10x10.
        let files: [(&str, [f32; 4]); 6] = [
            ("lut_left_x.bin", [1.5, f32::NAN, 3.0, 12.0]),
            ("lut_left_y.bin", [2.0, 2.0, 4.0, 1.0]),
            ("lut_right_x.bin", [-1.0, 5.0, 6.0, 2.0]),
            ("lut_right_y.bin", [-1.0, 5.0, 7.0, 3.0]),
            ("weight_left.bin", [2.0, 1.0, 3.0, 1.0]),
            ("weight_right.bin", [0.0, 4.0, 1.0, 1.0]),
        ];
        for (name, v) in files {
            std::fs::write(t.path().join(name), f32s_to_bytes(&v)).unwrap();
        }
        let lut = StitchLut::import_legacy(t.path(), 4, 1, [(10, 10), (10, 10)]).unwrap();
        let [l, r] = &lut.cams;
        // Pixel 0: only the left camera (right is -1): weight normalised to 1.
        assert_eq!((l.x[0], l.y[0], l.w[0], r.w[0]), (1.5, 2.0, 1.0, 0.0));
        assert_eq!((r.x[0], r.y[0]), (-1.0, -1.0));
        // Pixel 1: the left coordinate is NaN, so only the right camera.
        assert_eq!((l.x[1], l.w[1], r.w[1]), (-1.0, 0.0, 1.0));
        // Pixel 2: both, weights 3:1 normalised.
        assert_eq!((l.w[2], r.w[2]), (0.75, 0.25));
        // Pixel 3: the left x is outside the 10 px wide image, so only the right camera.
        assert_eq!((l.x[3], l.w[3], r.w[3]), (-1.0, 0.0, 1.0));
        assert!((lut.coverage() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn legacy_round_trip_and_size_errors() {
        let t = tempfile::tempdir().unwrap();
        let c = cal();
        let lut = StitchLut::compute(&c);
        lut.write_legacy(t.path()).unwrap();
        let sizes = [(320, 180), (320, 180)];
        let back = StitchLut::import_legacy(t.path(), 480, 160, sizes).unwrap();
        assert_eq!(back, lut);
        // Wrong panorama size: the error names the file and the expected size.
        let e = StitchLut::import_legacy(t.path(), 481, 160, sizes)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lut_left_x.bin") && e.contains("307840"), "{e}");
        std::fs::remove_file(t.path().join("weight_right.bin")).unwrap();
        let e = StitchLut::import_legacy(t.path(), 480, 160, sizes)
            .unwrap_err()
            .to_string();
        assert!(e.contains("weight_right.bin"), "{e}");
    }
}

//! The moving things as simple 3D shapes (pitch frame): people as upright cylinders in team
//! colours, the ball as a sphere, and their shadows as dark disks on the grass.

use nalgebra::Vector3;
use shared::image::Rgb;
use shared::scene::{Role, SceneFrame, Team, BALL_RADIUS_M};

/// Direction towards the sun (pitch frame), for simple shading.
fn sun() -> Vector3<f64> {
    Vector3::new(-0.4, -0.6, 0.7).normalize()
}

#[derive(Debug, Clone, Copy)]
pub struct Kit {
    pub shirt: Rgb,
    pub shorts: Rgb,
    pub socks: Rgb,
}

fn kit(team: Team, role: Role, goalkeeper: bool) -> Kit {
    match (team, role, goalkeeper) {
        (Team::Officials, _, _) => Kit {
            shirt: [0.9, 0.85, 0.1],
            shorts: [0.05, 0.05, 0.05],
            socks: [0.05, 0.05, 0.05],
        },
        (Team::Home, _, true) => Kit {
            shirt: [0.1, 0.1, 0.1],
            shorts: [0.1, 0.1, 0.1],
            socks: [0.1, 0.1, 0.1],
        },
        (Team::Away, _, true) => Kit {
            shirt: [0.95, 0.5, 0.1],
            shorts: [0.95, 0.5, 0.1],
            socks: [0.95, 0.5, 0.1],
        },
        (Team::Home, _, false) => Kit {
            shirt: [0.78, 0.08, 0.1],
            shorts: [0.95, 0.95, 0.95],
            socks: [0.78, 0.08, 0.1],
        },
        (Team::Away, _, false) => Kit {
            shirt: [0.1, 0.25, 0.75],
            shorts: [0.08, 0.08, 0.2],
            socks: [0.95, 0.95, 0.95],
        },
    }
}

/// One drawable shape.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Sphere {
        centre: Vector3<f64>,
        radius: f64,
        color: Rgb,
    },
    Person {
        x: f64,
        y: f64,
        radius: f64,
        height: f64,
        kit: Kit,
    },
    /// A dark disk on the ground: multiplies what is there by `1 - strength`.
    Shadow {
        x: f64,
        y: f64,
        radius: f64,
        strength: f32,
    },
}

/// What a ray sees of a shape.
pub enum Hit {
    Color(Rgb),
    Darken(f32),
}

impl Shape {
    /// Points whose projections bound the shape on screen.
    pub fn bounds(&self) -> Vec<Vector3<f64>> {
        match *self {
            Shape::Sphere { centre, radius, .. } => [
                (1.0, 0.0, 0.0),
                (-1.0, 0.0, 0.0),
                (0.0, 1.0, 0.0),
                (0.0, -1.0, 0.0),
                (0.0, 0.0, 1.0),
                (0.0, 0.0, -1.0),
            ]
            .iter()
            .map(|&(a, b, c)| centre + Vector3::new(a, b, c) * radius)
            .collect(),
            Shape::Person {
                x,
                y,
                radius,
                height,
                ..
            } => {
                let mut v = Vec::with_capacity(8);
                for z in [0.0, height] {
                    for (dx, dy) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                        v.push(Vector3::new(x + dx * radius, y + dy * radius, z));
                    }
                }
                v
            }
            Shape::Shadow { x, y, radius, .. } => {
                [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
                    .iter()
                    .map(|&(dx, dy)| Vector3::new(x + dx * radius, y + dy * radius, 0.0))
                    .collect()
            }
        }
    }

    /// Intersects a ray (pitch frame, `d` need not be unit).
    // Long by design: one arm per shape of the synthetic pitch, each a closed-form ray
    // intersection.
    pub fn hit(&self, o: &Vector3<f64>, d: &Vector3<f64>) -> Option<Hit> {
        match *self {
            Shape::Sphere {
                centre,
                radius,
                color,
            } => {
                let dn = d.normalize();
                let oc = o - centre;
                let b = oc.dot(&dn);
                let c = oc.dot(&oc) - radius * radius;
                let disc = b * b - c;
                if disc < 0.0 {
                    return None;
                }
                let t = -b - disc.sqrt();
                if t <= 0.0 {
                    return None;
                }
                let n = (o + dn * t - centre) / radius;
                let light = (0.5 + 0.5 * n.dot(&sun()).max(0.0)) as f32;
                Some(Hit::Color([
                    color[0] * light,
                    color[1] * light,
                    color[2] * light,
                ]))
            }
            Shape::Person {
                x,
                y,
                radius,
                height,
                kit,
            } => {
                let (ox, oy) = (o.x - x, o.y - y);
                let a = d.x * d.x + d.y * d.y;
                if a < 1e-12 {
                    return None;
                }
                let b = ox * d.x + oy * d.y;
                let c = ox * ox + oy * oy - radius * radius;
                let disc = b * b - a * c;
                if disc < 0.0 {
                    return None;
                }
                let t = (-b - disc.sqrt()) / a;
                if t <= 0.0 {
                    return None;
                }
                let z = o.z + t * d.z;
                if !(0.0..=height).contains(&z) {
                    return None;
                }
                let f = z / height;
                let base = if f < 0.30 {
                    kit.socks
                } else if f < 0.45 {
                    [0.85, 0.65, 0.5] // knees
                } else if f < 0.56 {
                    kit.shorts
                } else if f < 0.86 {
                    kit.shirt
                } else if f < 0.96 {
                    [0.8, 0.6, 0.45] // face
                } else {
                    [0.15, 0.1, 0.05] // hair
                };
                let n = Vector3::new(ox + t * d.x, oy + t * d.y, 0.0) / radius;
                let light = (0.55 + 0.45 * n.dot(&sun()).max(0.0)) as f32;
                Some(Hit::Color([
                    base[0] * light,
                    base[1] * light,
                    base[2] * light,
                ]))
            }
            Shape::Shadow {
                x,
                y,
                radius,
                strength,
            } => {
                if d.z >= -1e-9 {
                    return None;
                }
                let t = -o.z / d.z;
                let (px, py) = (o.x + t * d.x - x, o.y + t * d.y - y);
                (px * px + py * py <= radius * radius).then_some(Hit::Darken(strength))
            }
        }
    }

    /// Distance from `o` used for painter's ordering (shadows are drawn first).
    pub fn depth(&self, o: &Vector3<f64>) -> f64 {
        match *self {
            Shape::Sphere { centre, .. } => (centre - o).norm(),
            Shape::Person { x, y, height, .. } => (Vector3::new(x, y, height / 2.0) - o).norm(),
            Shape::Shadow { .. } => f64::INFINITY,
        }
    }
}

/// The shapes of one instant, in drawing order (shadows, then far to near).
pub fn shapes(frame: &SceneFrame, origin: &Vector3<f64>) -> Vec<Shape> {
    let mut v = Vec::with_capacity(frame.people.len() * 2 + 2);
    for p in &frame.people {
        v.push(Shape::Shadow {
            x: p.x + 0.15,
            y: p.y + 0.2,
            radius: 0.35,
            strength: 0.35,
        });
    }
    let b = &frame.ball;
    v.push(Shape::Shadow {
        x: b.x + 0.3 * b.z,
        y: b.y + 0.4 * b.z,
        radius: BALL_RADIUS_M * 1.2,
        strength: (0.45 / (1.0 + b.z)) as f32,
    });
    for p in &frame.people {
        // Goalkeepers are the first player of each team (formation slot 0).
        let goalkeeper = p.role == Role::Player && p.id % 11 == 0;
        v.push(Shape::Person {
            x: p.x,
            y: p.y,
            radius: 0.25,
            height: p.height_m,
            kit: kit(p.team, p.role, goalkeeper),
        });
    }
    v.push(Shape::Sphere {
        centre: Vector3::new(b.x, b.y, b.z),
        radius: BALL_RADIUS_M,
        color: [0.97, 0.97, 0.95],
    });
    v.sort_by(|a, b| b.depth(origin).total_cmp(&a.depth(origin)));
    v
}

//! Players and referees: a formation that shifts with the ball, the nearest players chasing
//! it, referees following the play; speed and acceleration bounded like real people.

use super::BallPos;
use crate::geometry::PitchSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Top running speed, m/s.
pub const MAX_SPEED_MPS: f64 = 8.0;
/// Acceleration limit, m/s^2.
const MAX_ACCEL: f64 = 4.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    Home,
    Away,
    Officials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Player,
    Referee,
    Assistant,
}

/// One person on the pitch.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: u16,
    pub role: Role,
    pub team: Team,
    /// Position and velocity on the pitch, metres and m/s.
    pub x: f64,
    pub y: f64,
    pub vx: f64,
    pub vy: f64,
    /// Standing height, metres.
    pub height_m: f64,
    /// Formation position (fractions of the pitch, own half at kick-off).
    home: (f64, f64),
}

/// 4-4-2 formation for the team attacking towards +x, as fractions of the pitch.
const FORMATION: [(f64, f64); 11] = [
    (0.05, 0.50),
    (0.20, 0.15),
    (0.18, 0.38),
    (0.18, 0.62),
    (0.20, 0.85),
    (0.35, 0.15),
    (0.33, 0.40),
    (0.33, 0.60),
    (0.35, 0.85),
    (0.45, 0.40),
    (0.45, 0.60),
];

/// Everyone in position for a kick-off.
pub fn kick_off(pitch: &PitchSpec, _bx: f64, _by: f64, seed: u64) -> Vec<Person> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x00e0_b1e5);
    let mut people = Vec::new();
    let mut id = 0u16;
    for team in [Team::Home, Team::Away] {
        for &(fx, fy) in FORMATION.iter() {
            let (fx, fy) = if team == Team::Home {
                (fx, fy)
            } else {
                (1.0 - fx, 1.0 - fy)
            };
            people.push(Person {
                id,
                role: Role::Player,
                team,
                x: fx * pitch.length_m,
                y: fy * pitch.width_m,
                vx: 0.0,
                vy: 0.0,
                height_m: rng.gen_range(1.70..1.92),
                home: (fx, fy),
            });
            id += 1;
        }
    }
    let official = |id, role, x, y| Person {
        id,
        role,
        team: Team::Officials,
        x,
        y,
        vx: 0.0,
        vy: 0.0,
        height_m: 1.80,
        home: (0.0, 0.0),
    };
    people.push(official(
        id,
        Role::Referee,
        pitch.length_m / 2.0 - 8.0,
        pitch.width_m / 2.0 + 8.0,
    ));
    people.push(official(
        id + 1,
        Role::Assistant,
        pitch.length_m * 0.25,
        pitch.width_m + 1.0,
    ));
    people.push(official(
        id + 2,
        Role::Assistant,
        pitch.length_m * 0.75,
        -1.0,
    ));
    people
}

fn move_towards(p: &mut Person, tx: f64, ty: f64, urgency: f64, dt: f64) {
    let (dx, dy) = (tx - p.x, ty - p.y);
    let mut vx = dx * urgency;
    let mut vy = dy * urgency;
    let s = (vx * vx + vy * vy).sqrt();
    if s > MAX_SPEED_MPS {
        vx *= MAX_SPEED_MPS / s;
        vy *= MAX_SPEED_MPS / s;
    }
    let (ax, ay) = ((vx - p.vx) / dt, (vy - p.vy) / dt);
    let a = (ax * ax + ay * ay).sqrt();
    let k = if a > MAX_ACCEL { MAX_ACCEL / a } else { 1.0 };
    p.vx += ax * k * dt;
    p.vy += ay * k * dt;
    let s = (p.vx * p.vx + p.vy * p.vy).sqrt();
    if s > MAX_SPEED_MPS {
        p.vx *= MAX_SPEED_MPS / s;
        p.vy *= MAX_SPEED_MPS / s;
    }
    p.x += p.vx * dt;
    p.y += p.vy * dt;
}

/// Moves everyone by `dt` seconds towards where they want to be.
pub fn step(people: &mut [Person], pitch: &PitchSpec, ball: &BallPos, dt: f64) {
    let (l, w) = (pitch.length_m, pitch.width_m);
    let (bx, by) = (ball.x.clamp(0.0, l), ball.y.clamp(0.0, w));
    // The two players of each team nearest to the ball chase it.
    let mut chasers: Vec<u16> = Vec::new();
    for team in [Team::Home, Team::Away] {
        let mut d: Vec<(f64, u16)> = people
            .iter()
            .filter(|p| p.team == team && p.role == Role::Player)
            .map(|p| ((p.x - bx).powi(2) + (p.y - by).powi(2), p.id))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        chasers.extend(d.iter().take(2).map(|x| x.1));
    }
    for p in people.iter_mut() {
        let (tx, ty, urgency) = match p.role {
            Role::Player if chasers.contains(&p.id) => {
                // Stand off the ball a little; the angle turns slowly so that the ball is
                // sometimes hidden behind a body as seen from the cameras.
                let a = p.id as f64 * 1.7 + p.x * 0.05;
                (bx + 1.0 * a.cos(), by + 1.0 * a.sin(), 1.5)
            }
            Role::Player => {
                let attack = if p.team == Team::Home { 1.0 } else { -1.0 };
                let shift_x = (bx - l / 2.0) * 0.55 + attack * 4.0;
                let shift_y = (by - w / 2.0) * 0.35;
                (
                    (p.home.0 * l + shift_x).clamp(2.0, l - 2.0),
                    (p.home.1 * w + shift_y).clamp(2.0, w - 2.0),
                    0.6,
                )
            }
            Role::Referee => (
                (bx - 10.0).clamp(3.0, l - 3.0),
                (by + 8.0).clamp(3.0, w - 3.0),
                0.8,
            ),
            Role::Assistant => {
                let far = p.y > w / 2.0;
                let (lo, hi) = if far { (0.0, l / 2.0) } else { (l / 2.0, l) };
                (
                    bx.clamp(lo + 2.0, hi - 2.0),
                    if far { w + 1.0 } else { -1.0 },
                    1.0,
                )
            }
        };
        move_towards(p, tx, ty, urgency, dt);
    }
}

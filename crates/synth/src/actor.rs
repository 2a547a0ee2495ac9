//! Who stands in front of the camera: a person following the prompts, or an attack. Each actor
//! draws its next frame from the time and the prompt on screen, as a person (or an attacker
//! watching the screen) would.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::camera::{Camera, Vec3, background, normal};
use crate::head::{Head, Pose};
use crate::motion::{Move, Wobble, blink_profile, reaction_ms};
use crate::print::{Picture, Placement, bent, flat};
use crate::raster::Canvas;

/// What a prompt asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Turn the head to one's left.
    TurnLeft,
    /// Turn the head to one's right.
    TurnRight,
    /// Look up.
    LookUp,
    /// Look down.
    LookDown,
    /// Blink.
    Blink,
    /// Smile.
    Smile,
}

impl Action {
    /// All six.
    pub const ALL: [Action; 6] = [
        Action::TurnLeft,
        Action::TurnRight,
        Action::LookUp,
        Action::LookDown,
        Action::Blink,
        Action::Smile,
    ];

    /// (yaw sign, pitch sign) of a head movement; (0, 0) for the others.
    fn direction(self) -> (f32, f32) {
        match self {
            Action::TurnLeft => (1.0, 0.0),
            Action::TurnRight => (-1.0, 0.0),
            Action::LookUp => (0.0, 1.0),
            Action::LookDown => (0.0, -1.0),
            Action::Blink | Action::Smile => (0.0, 0.0),
        }
    }
}

/// The prompt on screen: what, and since when (ms from the start of the session).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prompt {
    /// What is asked.
    pub action: Action,
    /// When it appeared, ms.
    pub shown_ms: f32,
}

/// Something in front of the camera.
pub trait Actor {
    /// The frame at `t_ms` (ms from the session's start) while `prompt` is on screen, before
    /// the camera's degradations.
    fn frame(&mut self, t_ms: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas;
}

/// Where and how the scene is set: the camera, the background, and where the person stands.
#[derive(Clone, Debug)]
pub struct Scene {
    /// The camera.
    pub camera: Camera,
    /// What is behind.
    pub background: Canvas,
    /// The face's resting position, mm.
    pub position: Vec3,
}

impl Scene {
    /// A random kiosk scene: focal length 1.2–1.5 × the width, 45–70 cm away, a little off
    /// centre, a plain, gradient or busy background.
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        Self {
            camera: Camera::new(rng.gen_range(1.2..1.5) * 640.0),
            background: background(rng),
            position: [
                rng.gen_range(-40.0..40.0),
                rng.gen_range(-30.0..30.0),
                rng.gen_range(450.0..700.0),
            ],
        }
    }
}

/// The resting pose and the sway of a person.
#[derive(Clone, Debug)]
struct Body {
    yaw0: f32,
    pitch0: f32,
    roll0: f32,
    sway: [Wobble; 6],
}

impl Body {
    fn new(rng: &mut ChaCha8Rng) -> Self {
        Self {
            yaw0: 2.0 * normal(rng),
            pitch0: rng.gen_range(-6.0..6.0),
            roll0: rng.gen_range(-5.0..5.0),
            sway: [
                Wobble::new(rng, 1.0, 0.3, 2.5),
                Wobble::new(rng, 2.0, 0.3, 2.5),
                Wobble::new(rng, 1.5, 0.3, 2.5),
                Wobble::new(rng, 4.0, 0.3, 2.5),
                Wobble::new(rng, 3.0, 0.3, 2.5),
                Wobble::new(rng, 8.0, 0.3, 2.5),
            ],
        }
    }

    fn pose(&self, t: f32, yaw: f32, pitch: f32, position: Vec3) -> Pose {
        let s = &self.sway;
        Pose {
            yaw: self.yaw0 + yaw + s[0].at(t),
            // A slight nod while turning, as people do.
            pitch: self.pitch0 + pitch + s[1].at(t) + 0.08 * yaw.abs(),
            roll: self.roll0 + s[2].at(t),
            position: [
                position[0] + s[3].at(t),
                position[1] + s[4].at(t),
                position[2] + s[5].at(t),
            ],
            ..Pose::default()
        }
    }
}

/// What a person is doing about the prompt on screen.
#[derive(Clone, Debug)]
struct Response {
    prompt: Prompt,
    yaw: Move,
    pitch: Move,
    smile: Move,
    blink_at: Option<(f32, f32)>,
    released: Option<f32>,
}

/// A person following the prompts: a human reaction time, minimum-jerk movements of 22–35°
/// over 250–700 ms, blinks of 60–140 ms, a smile held while asked; spontaneous blinks (about
/// ten a minute) and sway throughout.
#[derive(Clone, Debug)]
pub struct Person {
    head: Head,
    scene: Scene,
    body: Body,
    response: Option<Response>,
    yaw: Move,
    pitch: Move,
    smile: Move,
    next_blink: f32,
    blinks: Vec<(f32, f32)>,
}

impl Person {
    /// A person with `head` in `scene`.
    pub fn new(head: Head, scene: Scene, rng: &mut ChaCha8Rng) -> Self {
        let next_blink = spontaneous_gap(rng);
        Self {
            head,
            scene,
            body: Body::new(rng),
            response: None,
            yaw: Move::hold(0.0),
            pitch: Move::hold(0.0),
            smile: Move::hold(0.0),
            next_blink,
            blinks: Vec::new(),
        }
    }

    /// The pose at `t` for the prompt on screen (the head is rendered by the caller).
    fn pose(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Pose {
        self.follow(t, prompt, rng);
        while t >= self.next_blink {
            let closed = rng.gen_range(60.0..140.0);
            self.blinks.push((self.next_blink, closed));
            self.next_blink += spontaneous_gap(rng);
        }
        let blink = self
            .blinks
            .iter()
            .chain(self.response.as_ref().and_then(|r| r.blink_at.as_ref()))
            .map(|&(s, c)| blink_profile(t, s, c))
            .fold(0.0, f32::max);
        let mut pose = self
            .body
            .pose(t, self.yaw.at(t), self.pitch.at(t), self.scene.position);
        pose.blink = blink;
        pose.smile = self.smile.at(t);
        pose
    }

    fn follow(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) {
        match (prompt, &mut self.response) {
            (Some(p), Some(r)) if r.prompt == p => {}
            (Some(p), _) => {
                let start = p.shown_ms + reaction_ms(rng);
                let (mut yaw, mut pitch, mut smile, mut blink_at) =
                    (self.yaw, self.pitch, self.smile, None);
                let (ys, ps) = p.action.direction();
                match p.action {
                    Action::TurnLeft | Action::TurnRight => {
                        yaw = Move {
                            start_ms: start,
                            duration_ms: rng.gen_range(250.0..700.0),
                            from: self.yaw.at(start),
                            to: ys * rng.gen_range(22.0..35.0),
                        };
                    }
                    Action::LookUp | Action::LookDown => {
                        pitch = Move {
                            start_ms: start,
                            duration_ms: rng.gen_range(300.0..700.0),
                            from: self.pitch.at(start),
                            to: ps * rng.gen_range(16.0..24.0),
                        };
                    }
                    Action::Blink => blink_at = Some((start, rng.gen_range(60.0..140.0))),
                    Action::Smile => {
                        smile = Move {
                            start_ms: start,
                            duration_ms: rng.gen_range(250.0..450.0),
                            from: 0.0,
                            to: rng.gen_range(1.45..1.7),
                        };
                    }
                }
                self.yaw = yaw;
                self.pitch = pitch;
                self.smile = smile;
                self.response = Some(Response {
                    prompt: p,
                    yaw,
                    pitch,
                    smile,
                    blink_at,
                    released: None,
                });
            }
            (None, Some(r)) if r.released.is_none() => {
                // The prompt went away: come back to the neutral pose.
                let back = t + rng.gen_range(150.0..400.0);
                r.released = Some(back);
                self.yaw = Move {
                    start_ms: back.max(r.yaw.start_ms + r.yaw.duration_ms),
                    duration_ms: rng.gen_range(300.0..600.0),
                    from: r.yaw.to,
                    to: 1.5 * normal(rng),
                };
                self.pitch = Move {
                    start_ms: back.max(r.pitch.start_ms + r.pitch.duration_ms),
                    duration_ms: rng.gen_range(300.0..600.0),
                    from: r.pitch.to,
                    to: 1.0 * normal(rng),
                };
                self.smile = Move {
                    start_ms: back,
                    duration_ms: 300.0,
                    from: r.smile.at(back),
                    to: 0.0,
                };
            }
            _ => {}
        }
    }
}

impl Actor for Person {
    fn frame(&mut self, t_ms: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas {
        let pose = self.pose(t_ms, prompt, rng);
        self.head
            .render(&self.scene.camera, &pose, &self.scene.background)
            .0
    }
}

/// About ten blinks a minute: gaps of 2–10 s, ms.
fn spontaneous_gap(rng: &mut ChaCha8Rng) -> f32 {
    rng.gen_range(2000.0..10_000.0)
}

/// An attacker who does every action, whatever the prompt: after a human reaction time, all
/// four in a random order, quickly, then back to neutral.
#[derive(Clone, Debug)]
pub struct Eager {
    head: Head,
    scene: Scene,
    body: Body,
    plan: Vec<(f32, Action)>,
    last_prompt: Option<Prompt>,
}

impl Eager {
    /// An eager attacker with `head` (a live person, or a rendered puppet).
    pub fn new(head: Head, scene: Scene, rng: &mut ChaCha8Rng) -> Self {
        Self {
            head,
            scene,
            body: Body::new(rng),
            plan: Vec::new(),
            last_prompt: None,
        }
    }
}

impl Actor for Eager {
    fn frame(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas {
        if let Some(p) = prompt
            && self.last_prompt != Some(p)
        {
            self.last_prompt = Some(p);
            let mut order = Action::ALL.to_vec();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.gen_range(0..=i));
            }
            let mut at = p.shown_ms + reaction_ms(rng);
            self.plan = order
                .into_iter()
                .map(|a| {
                    let s = at;
                    at += rng.gen_range(450.0..750.0);
                    (s, a)
                })
                .collect();
        }
        let (mut yaw, mut pitch) = (0.0, 0.0);
        let (mut blink, mut smile) = (0.0f32, 0.0f32);
        for &(s, a) in &self.plan {
            let d = t - s;
            if !(0.0..700.0).contains(&d) {
                continue;
            }
            // Out and back in 600 ms.
            let k = (std::f32::consts::PI * (d / 600.0).min(1.0)).sin();
            let (ys, ps) = a.direction();
            yaw += 28.0 * ys * k;
            pitch += 20.0 * ps * k;
            match a {
                Action::Blink => blink = blink_profile(t, s, 100.0),
                Action::Smile => smile = 1.6 * k,
                _ => {}
            }
        }
        let mut pose = self.body.pose(t, yaw, pitch, self.scene.position);
        pose.blink = blink;
        pose.smile = smile;
        self.head
            .render(&self.scene.camera, &pose, &self.scene.background)
            .0
    }
}

/// A clip of the head doing every action in a loop — neutral, then each action in a random
/// order with short returns to neutral between — played whatever the prompts (injected as a
/// video, or shown to the camera). Each trial draws its own order, timing and starting point.
#[derive(Clone, Debug)]
pub struct ReplayLoop {
    head: Head,
    scene: Scene,
    body: Body,
    /// (start, action) within one cycle, ms.
    script: Vec<(f32, Action)>,
    cycle_ms: f32,
    offset_ms: f32,
}

impl ReplayLoop {
    /// A loop with `head`.
    pub fn new(head: Head, scene: Scene, rng: &mut ChaCha8Rng) -> Self {
        let mut order = Action::ALL.to_vec();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.gen_range(0..=i));
        }
        let mut t = rng.gen_range(500.0..3500.0);
        let mut script = Vec::new();
        for a in order {
            script.push((t, a));
            t += 700.0 + rng.gen_range(200.0..2500.0);
        }
        let cycle_ms = t;
        Self {
            head,
            scene,
            body: Body::new(rng),
            script,
            cycle_ms,
            offset_ms: rng.gen_range(0.0..cycle_ms),
        }
    }
}

impl Actor for ReplayLoop {
    fn frame(&mut self, t: f32, _prompt: Option<Prompt>, _rng: &mut ChaCha8Rng) -> Canvas {
        let c = (t + self.offset_ms) % self.cycle_ms;
        let (mut yaw, mut pitch, mut blink, mut smile) = (0.0, 0.0, 0.0f32, 0.0f32);
        for &(s, a) in &self.script {
            let d = c - s;
            if !(0.0..700.0).contains(&d) {
                continue;
            }
            let k = (std::f32::consts::PI * (d / 700.0)).sin();
            let (ys, ps) = a.direction();
            yaw += 28.0 * ys * k;
            pitch += 20.0 * ps * k;
            match a {
                Action::Blink => blink = blink_profile(c, s, 100.0),
                Action::Smile => smile = 1.6 * k,
                _ => {}
            }
        }
        let mut pose = self.body.pose(t, yaw, pitch, self.scene.position);
        pose.blink = blink;
        pose.smile = smile;
        self.head
            .render(&self.scene.camera, &pose, &self.scene.background)
            .0
    }
}

/// How an attacker holds a print: a fixed tilt, hand tremor, distance changes.
#[derive(Clone, Debug)]
struct Hand {
    pitch0: f32,
    roll0: f32,
    base: Vec3,
    tremor: [Wobble; 5],
}

impl Hand {
    fn new(rng: &mut ChaCha8Rng) -> Self {
        Self {
            pitch0: rng.gen_range(-15.0..15.0),
            roll0: rng.gen_range(-10.0..10.0),
            base: [
                rng.gen_range(-40.0..40.0),
                rng.gen_range(-30.0..30.0),
                rng.gen_range(350.0..650.0),
            ],
            tremor: [
                Wobble::new(rng, 1.5, 0.3, 2.5),
                Wobble::new(rng, 2.0, 0.3, 2.5),
                Wobble::new(rng, 2.0, 0.3, 2.5),
                Wobble::new(rng, 5.0, 0.3, 2.5),
                Wobble::new(rng, 25.0, 0.2, 1.0),
            ],
        }
    }

    fn placement(&self, t: f32, yaw: f32, pitch: f32) -> Placement {
        let w = &self.tremor;
        Placement {
            yaw: yaw + w[0].at(t),
            pitch: self.pitch0 + pitch + w[1].at(t),
            roll: self.roll0 + w[2].at(t),
            position: [
                self.base[0] + w[3].at(t),
                self.base[1] + w[3].at(t + 777.0),
                self.base[2] + w[4].at(t),
            ],
        }
    }
}

/// An attacker turning or tilting a picture to follow the turn and nod prompts (up to ±35°);
/// for blinks and smiles there is nothing a picture can do.
#[derive(Clone, Debug)]
struct Follower {
    yaw: Move,
    pitch: Move,
    last: Option<Prompt>,
    released: bool,
}

impl Follower {
    fn new() -> Self {
        Self {
            yaw: Move::hold(0.0),
            pitch: Move::hold(0.0),
            last: None,
            released: true,
        }
    }

    /// (yaw, pitch) of the picture at `t`.
    fn angles(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> (f32, f32) {
        match prompt {
            Some(p) if self.last != Some(p) => {
                self.last = Some(p);
                self.released = false;
                let (ys, ps) = p.action.direction();
                let start = p.shown_ms + reaction_ms(rng);
                let duration = rng.gen_range(300.0..700.0);
                let amount = rng.gen_range(20.0..35.0);
                self.yaw = Move {
                    start_ms: start,
                    duration_ms: duration,
                    from: self.yaw.at(start),
                    to: ys * amount,
                };
                self.pitch = Move {
                    start_ms: start,
                    duration_ms: duration,
                    from: self.pitch.at(start),
                    to: ps * amount,
                };
            }
            None if !self.released => {
                self.released = true;
                let start = t + rng.gen_range(150.0..400.0);
                let duration = rng.gen_range(300.0..600.0);
                self.yaw = Move {
                    start_ms: start,
                    duration_ms: duration,
                    from: self.yaw.at(start),
                    to: 0.0,
                };
                self.pitch = Move {
                    start_ms: start,
                    duration_ms: duration,
                    from: self.pitch.at(start),
                    to: 0.0,
                };
            }
            _ => {}
        }
        (self.yaw.at(t), self.pitch.at(t))
    }
}

/// The frontal photo printed life-size (×0.7–1.1, with a paper margin) and turned by hand to
/// follow the turn prompts: a homography of the photo in every frame.
#[derive(Clone, Debug)]
pub struct PlanarPrint {
    head: Head,
    scene: Scene,
    hand: Hand,
    follow: Follower,
    mm_per_px: f32,
    margin: usize,
}

impl PlanarPrint {
    /// A print of `head`'s photo.
    pub fn new(head: Head, scene: Scene, rng: &mut ChaCha8Rng) -> Self {
        let mm_per_px = head.mm_per_px() * rng.gen_range(0.7..1.1);
        Self {
            head,
            scene,
            hand: Hand::new(rng),
            follow: Follower::new(),
            mm_per_px,
            margin: rng.gen_range(0..30),
        }
    }
}

impl Actor for PlanarPrint {
    fn frame(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas {
        let (yaw, pitch) = self.follow.angles(t, prompt, rng);
        let pic = Picture {
            image: self.head.photo(),
            mm_per_px: self.mm_per_px,
            anchor_px: self.head.centre_px(),
            border: (self.margin, [245.0, 245.0, 240.0]),
        };
        flat(
            &self.scene.camera,
            &pic,
            &self.hand.placement(t, yaw, pitch),
            &self.scene.background,
        )
    }
}

/// The photo printed and bent around a vertical cylinder (radius 80–150 mm, mostly convex),
/// turned by hand to follow the turn prompts: its landmarks move neither as a plane nor as a head.
#[derive(Clone, Debug)]
pub struct CurvedPrint {
    head: Head,
    scene: Scene,
    hand: Hand,
    follow: Follower,
    mm_per_px: f32,
    radius_mm: f32,
    convex: bool,
}

impl CurvedPrint {
    /// A bent print of `head`'s photo.
    pub fn new(head: Head, scene: Scene, rng: &mut ChaCha8Rng) -> Self {
        let mm_per_px = head.mm_per_px() * rng.gen_range(0.8..1.1);
        Self {
            head,
            scene,
            hand: Hand::new(rng),
            follow: Follower::new(),
            mm_per_px,
            radius_mm: rng.gen_range(80.0..150.0),
            convex: rng.gen_bool(0.8),
        }
    }
}

impl Actor for CurvedPrint {
    fn frame(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas {
        let (yaw, pitch) = self.follow.angles(t, prompt, rng);
        let pic = Picture {
            image: self.head.photo(),
            mm_per_px: self.mm_per_px,
            anchor_px: self.head.centre_px(),
            border: (0, [0.0; 3]),
        };
        bent(
            &self.scene.camera,
            &pic,
            self.radius_mm,
            self.convex,
            &self.hand.placement(t, yaw, pitch),
            &self.scene.background,
        )
    }
}

/// Prints of the person's head at a few poses and expressions — frontal, turned 24° either way
/// (and sometimes 12°), looking up and down 18°, eyes closed, smiling: photographs of the person
/// an attacker collected — swapped by hand to answer each prompt after a human reaction time.
/// Each print is held 0.2–0.5 s (hand tremor), the swap itself is instant.
#[derive(Clone, Debug)]
pub struct FlipBook {
    scene: Scene,
    hand: Hand,
    prints: Vec<(Shown, Canvas)>,
    mm_per_px: f32,
    anchor: [f32; 2],
    plan: Vec<(f32, Shown)>,
    last: Option<Prompt>,
    released: bool,
}

/// Which print is up.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shown {
    /// The head at (yaw, pitch).
    Pose(f32, f32),
    Closed,
    Smiling,
}

impl FlipBook {
    /// Prints of `head` (rendered at those poses, as photographs of the person would be).
    pub fn new(head: &Head, scene: Scene, rng: &mut ChaCha8Rng) -> Self {
        let cam = Camera::new(1.3 * 640.0);
        let plain = Canvas::filled(640, 480, [200.0, 200.0, 200.0]);
        let distance = 600.0;
        let mut shown = vec![
            Shown::Pose(0.0, 0.0),
            Shown::Pose(24.0, 0.0),
            Shown::Pose(-24.0, 0.0),
            Shown::Pose(0.0, 18.0),
            Shown::Pose(0.0, -18.0),
            Shown::Closed,
            Shown::Smiling,
        ];
        // Sometimes an intermediate print on one side.
        if rng.gen_bool(0.5) {
            shown.push(Shown::Pose(
                if rng.gen_bool(0.5) { 12.0 } else { -12.0 },
                0.0,
            ));
        }
        let prints = shown
            .iter()
            .map(|&s| {
                let base = Pose {
                    position: [0.0, 0.0, distance],
                    ..Pose::default()
                };
                let pose = match s {
                    Shown::Pose(yaw, pitch) => Pose { yaw, pitch, ..base },
                    Shown::Closed => Pose { blink: 1.0, ..base },
                    Shown::Smiling => Pose { smile: 1.6, ..base },
                };
                (s, head.render(&cam, &pose, &plain).0)
            })
            .collect();
        Self {
            scene,
            hand: Hand::new(rng),
            prints,
            mm_per_px: distance / cam.f * rng.gen_range(0.8..1.1),
            anchor: cam.centre(),
            plan: vec![(0.0, Shown::Pose(0.0, 0.0))],
            last: None,
            released: true,
        }
    }

    fn schedule(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) {
        match prompt {
            Some(p) if self.last != Some(p) => {
                self.last = Some(p);
                self.released = false;
                let mut at = p.shown_ms + reaction_ms(rng);
                let (ys, ps) = p.action.direction();
                let steps: Vec<Shown> = match p.action {
                    Action::Blink => vec![Shown::Closed, Shown::Pose(0.0, 0.0)],
                    Action::Smile => vec![Shown::Smiling],
                    _ => {
                        // The prints on that side, nearest to frontal first.
                        let mut v: Vec<(f32, Shown)> = self
                            .prints
                            .iter()
                            .filter_map(|(s, _)| match *s {
                                Shown::Pose(y, pi) if y * ys > 0.0 || pi * ps > 0.0 => {
                                    Some((y.abs() + pi.abs(), *s))
                                }
                                _ => None,
                            })
                            .collect();
                        v.sort_by(|a, b| a.0.total_cmp(&b.0));
                        v.into_iter().map(|(_, s)| s).collect()
                    }
                };
                for s in steps {
                    self.plan.push((at, s));
                    at += rng.gen_range(200.0..500.0);
                }
            }
            None if !self.released => {
                self.released = true;
                let at = t + rng.gen_range(150.0..400.0);
                self.plan.push((at, Shown::Pose(0.0, 0.0)));
            }
            _ => {}
        }
    }
}

impl Actor for FlipBook {
    fn frame(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas {
        self.schedule(t, prompt, rng);
        let shown = self
            .plan
            .iter()
            .rev()
            .find(|(s, _)| *s <= t)
            .map_or(Shown::Pose(0.0, 0.0), |(_, v)| *v);
        let image = self
            .prints
            .iter()
            .find(|(s, _)| *s == shown)
            .map_or(&self.prints[0].1, |(_, c)| c);
        let pic = Picture {
            image,
            mm_per_px: self.mm_per_px,
            anchor_px: self.anchor,
            border: (0, [0.0; 3]),
        };
        flat(
            &self.scene.camera,
            &pic,
            &self.hand.placement(t, 0.0, 0.0),
            &self.scene.background,
        )
    }
}

/// The person who was captured, then someone else: at the first prompt (the first capture is
/// over by then) another person's live head takes its place and does the challenges.
#[derive(Clone, Debug)]
pub struct Swap {
    first: Person,
    second: Person,
    swapped: bool,
}

impl Swap {
    /// `first` until the first prompt, then `second`.
    pub fn new(first: Person, second: Person) -> Self {
        Self {
            first,
            second,
            swapped: false,
        }
    }
}

impl Actor for Swap {
    fn frame(&mut self, t: f32, prompt: Option<Prompt>, rng: &mut ChaCha8Rng) -> Canvas {
        self.swapped |= prompt.is_some();
        if self.swapped {
            self.second.frame(t, prompt, rng)
        } else {
            self.first.frame(t, prompt, rng)
        }
    }
}

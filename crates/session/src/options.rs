//! What a session is asked to do (`SessionOptions`, from the API or the command line) and what
//! the kiosk allows (`SessionPolicy`, from its configuration).

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, OperationError};

/// How liveness is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LivenessMode {
    /// Random challenges (blink, turn left/right, smile) and the 3-D consistency check.
    #[default]
    Active,
    /// The operator-installed passive model, fused over several frames.
    Passive,
    /// Both.
    Both,
    /// No liveness check: staff watch the person. Only where the kiosk allows it; the result says so.
    Attended,
}

impl LivenessMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LivenessMode::Active => "active",
            LivenessMode::Passive => "passive",
            LivenessMode::Both => "both",
            LivenessMode::Attended => "attended",
        }
    }

    /// Whether challenges run.
    pub fn active(self) -> bool {
        matches!(self, LivenessMode::Active | LivenessMode::Both)
    }

    /// Whether the passive model decides too.
    pub fn passive(self) -> bool {
        matches!(self, LivenessMode::Passive | LivenessMode::Both)
    }
}

impl std::str::FromStr for LivenessMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "passive" => Ok(Self::Passive),
            "both" => Ok(Self::Both),
            "attended" => Ok(Self::Attended),
            other => Err(format!(
                "liveness `{other}` is not one of active, passive, both, attended"
            )),
        }
    }
}

/// A liveness challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChallengeKind {
    /// Blink once.
    Blink,
    /// Turn the head to one's own left.
    TurnLeft,
    /// Turn the head to one's own right.
    TurnRight,
    /// Tilt the head back: look up.
    LookUp,
    /// Tilt the head forward: look down.
    LookDown,
    /// Smile or open the mouth.
    Smile,
}

impl ChallengeKind {
    /// Every challenge.
    pub const ALL: [ChallengeKind; 6] = [
        ChallengeKind::Blink,
        ChallengeKind::TurnLeft,
        ChallengeKind::TurnRight,
        ChallengeKind::LookUp,
        ChallengeKind::LookDown,
        ChallengeKind::Smile,
    ];

    /// Whether this challenge turns the head left or right (the 3-D check's yaw parallax).
    pub fn is_turn(self) -> bool {
        matches!(self, ChallengeKind::TurnLeft | ChallengeKind::TurnRight)
    }

    /// Whether this challenge tilts the head up or down (the 3-D check's pitch parallax: a
    /// sheet of paper bends in one direction only, so it cannot show both).
    pub fn is_nod(self) -> bool {
        matches!(self, ChallengeKind::LookUp | ChallengeKind::LookDown)
    }

    /// Whether the head moves (a turn or a nod).
    pub fn moves_head(self) -> bool {
        self.is_turn() || self.is_nod()
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Blink => "BLINK",
            ChallengeKind::TurnLeft => "TURN_LEFT",
            ChallengeKind::TurnRight => "TURN_RIGHT",
            ChallengeKind::LookUp => "LOOK_UP",
            ChallengeKind::LookDown => "LOOK_DOWN",
            ChallengeKind::Smile => "SMILE",
        }
    }
}

/// How the audit-trail image hides the background.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Obfuscation {
    /// The whole frame as captured.
    #[default]
    None,
    /// The background blurred; only the face sharp.
    Blurred,
    /// The background filled black; only the face visible.
    Filled,
    /// The background filled white; only the face visible.
    FilledWhite,
}

/// The options of one face session (camelCase on the wire, as the API sends them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SessionOptions {
    /// The session id from the API (or the kiosk's own for a walk-in session).
    pub session_id: String,
    /// Failed attempts before the session is dropped; only 1–3 are honoured (others are clamped,
    /// with a warning trace). Default 3.
    pub max_attempts: i64,
    /// The match level (1–5) the comparison must reach. Default 3.
    pub minimum_match_level: i64,
    /// When the session is dropped after at least one failed attempt, put the partial signed
    /// result in the error's `data`. Default false.
    pub return_data_for_incomplete_session: bool,
    /// How liveness is checked. Default active.
    pub liveness: LivenessMode,
    /// The challenges to choose from (default: all six; a pool without a turn, without a nod or
    /// with fewer than 3 kinds is completed, with a warning trace).
    pub challenges: Vec<ChallengeKind>,
    /// How many challenges an attempt asks for (2 up to the pool's size, default 3; always at
    /// least one turn and one nod; fewer than 2 is raised to 2, with a warning trace).
    pub challenge_count: u8,
    /// A value from the integrator, echoed in the result.
    pub nonce: Option<String>,
    /// Ends the session when nobody is in front of the camera this long, ms. Default 30 000.
    pub inactivity_timeout_ms: u64,
    /// The session's deadline (unix ms, from the API's expiry).
    pub deadline: Option<u64>,
    /// Attach the selfie used for the decision to the result.
    pub audit_image: bool,
    /// How the audit image hides the background.
    pub audit_image_obfuscation: Obfuscation,
    /// The UI language.
    pub lang: String,
    /// A walk-in session (created by the kiosk, not the API).
    pub walk_in: bool,
    /// The staff member watching an `attended` session (required for it; put in the result).
    pub operator: Option<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            session_id: String::new(),
            max_attempts: 3,
            minimum_match_level: 3,
            return_data_for_incomplete_session: false,
            liveness: LivenessMode::Active,
            challenges: ChallengeKind::ALL.to_vec(),
            challenge_count: 3,
            nonce: None,
            inactivity_timeout_ms: 30_000,
            deadline: None,
            audit_image: false,
            audit_image_obfuscation: Obfuscation::None,
            lang: "en".to_owned(),
            walk_in: false,
            operator: None,
        }
    }
}

/// What the kiosk allows and how it times a session (the `[session]` configuration section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionPolicy {
    /// Allow `attended` sessions (no liveness check; staff watch). Default false.
    pub allow_attended: bool,
    /// A hint must hold this long before it is shown, ms (no flicker). Default 300.
    pub hint_hold_ms: u64,
    /// The "hold still" capture lasts at least this long, ms. Default 600.
    pub hold_still_ms: u64,
    /// …and collects at least this many good frames. Default 4.
    pub hold_still_frames: usize,
    /// Time for each challenge, ms, from its prompt (and for coming back to a neutral pose
    /// before the next one). Default 6000.
    pub challenge_timeout_ms: u64,
    /// Head turn that passes a turn challenge, degrees from the person's own frontal pose.
    /// Default 18.
    pub turn_degrees: f32,
    /// A turn this large, degrees, that was not asked for fails the challenge (an opposite
    /// turn, a turn during a blink or a smile, a turn before the prompt). Default 12.
    pub unrequested_turn_degrees: f32,
    /// Head tilt that passes a look-up or look-down challenge, degrees from the person's own
    /// frontal pose. Default 12.
    pub look_degrees: f32,
    /// A tilt this large, degrees, that was not asked for fails the challenge. Default 9.
    pub unrequested_look_degrees: f32,
    /// "Neutral" between challenges: the head within this many degrees of its frontal pose
    /// (yaw, and pitch within 3/4 of it), eyes open, mouth relaxed. Default 8.
    pub neutral_degrees: f32,
    /// How long the neutral pose must hold before the next prompt can come, ms. Default 400.
    pub neutral_hold_ms: u64,
    /// The prompt then comes after a random pause between these two, ms (a replayed video
    /// cannot know when). Defaults 300 and 1500.
    pub pause_min_ms: u64,
    /// See `pause_min_ms`.
    pub pause_max_ms: u64,
    /// A movement that starts sooner than this after the prompt fails: nobody reacts that fast,
    /// ms. Default 150.
    pub min_reaction_ms: u64,
    /// A movement must start within this time after the prompt, ms. Default 3000.
    pub max_reaction_ms: u64,
    /// Fastest head movement accepted, degrees per second: a larger change of yaw or pitch
    /// between two frames is a swapped picture (people turn at up to about 250°/s). Default 320.
    pub max_yaw_speed_deg_s: f32,
    /// Longest time between two frames during the challenges and the final capture, ms: a
    /// longer gap breaks the chain of frames and fails the attempt. Default 500.
    pub max_frame_gap_ms: u64,
    /// The best frames (by sharpness and pose) of each capture whose embeddings are fused for
    /// the match. Default 3.
    pub fused_frames: usize,
    /// A face missing this long during the challenges fails the attempt, ms. Default 1500.
    pub face_lost_ms: u64,
    /// Pause after a failed attempt before capture restarts by itself, ms. Default 2000.
    pub retry_pause_ms: u64,
    /// How long a lost camera may take to come back before the session ends, ms. Default 5000.
    pub camera_grace_ms: u64,
    /// How long a signed result stays valid, s. Default 30 days (results may wait offline).
    pub result_ttl_s: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            allow_attended: false,
            hint_hold_ms: 300,
            hold_still_ms: 600,
            hold_still_frames: 4,
            challenge_timeout_ms: 6000,
            turn_degrees: 18.0,
            unrequested_turn_degrees: 12.0,
            look_degrees: 12.0,
            unrequested_look_degrees: 9.0,
            neutral_degrees: 8.0,
            neutral_hold_ms: 400,
            pause_min_ms: 300,
            pause_max_ms: 1500,
            min_reaction_ms: 150,
            max_reaction_ms: 3000,
            max_yaw_speed_deg_s: 320.0,
            max_frame_gap_ms: 500,
            fused_frames: 3,
            face_lost_ms: 1500,
            retry_pause_ms: 2000,
            camera_grace_ms: 5000,
            result_ttl_s: 30 * 24 * 3600,
        }
    }
}

impl SessionPolicy {
    /// Checks the kiosk's settings: values that would make liveness trivial or a session
    /// impossible are refused.
    pub fn check(&self) -> Result<(), String> {
        let bad = |key: &str, v: String, range: &str| {
            Err(format!("session.{key} = {v} is outside {range}"))
        };
        if !(5.0..=60.0).contains(&self.turn_degrees) {
            return bad("turn_degrees", self.turn_degrees.to_string(), "5-60");
        }
        if self.hold_still_frames == 0 || self.hold_still_frames > 60 {
            return bad(
                "hold_still_frames",
                self.hold_still_frames.to_string(),
                "1-60",
            );
        }
        if !(1000..=60_000).contains(&self.challenge_timeout_ms) {
            return bad(
                "challenge_timeout_ms",
                self.challenge_timeout_ms.to_string(),
                "1000-60000",
            );
        }
        if self.hint_hold_ms > 5000 {
            return bad("hint_hold_ms", self.hint_hold_ms.to_string(), "0-5000");
        }
        if !(3.0..self.turn_degrees).contains(&self.unrequested_turn_degrees) {
            return bad(
                "unrequested_turn_degrees",
                self.unrequested_turn_degrees.to_string(),
                "3 up to (not including) turn_degrees",
            );
        }
        if !(5.0..=45.0).contains(&self.look_degrees) {
            return bad("look_degrees", self.look_degrees.to_string(), "5-45");
        }
        if !(3.0..self.look_degrees).contains(&self.unrequested_look_degrees) {
            return bad(
                "unrequested_look_degrees",
                self.unrequested_look_degrees.to_string(),
                "3 up to (not including) look_degrees",
            );
        }
        if !(1.0..self.unrequested_turn_degrees).contains(&self.neutral_degrees) {
            return bad(
                "neutral_degrees",
                self.neutral_degrees.to_string(),
                "1 up to (not including) unrequested_turn_degrees",
            );
        }
        if self.neutral_hold_ms > 5000 {
            return bad(
                "neutral_hold_ms",
                self.neutral_hold_ms.to_string(),
                "0-5000",
            );
        }
        if self.pause_min_ms > self.pause_max_ms || self.pause_max_ms > 10_000 {
            return bad(
                "pause_min_ms/pause_max_ms",
                format!("{}/{}", self.pause_min_ms, self.pause_max_ms),
                "0 <= min <= max <= 10000",
            );
        }
        if !(100..=1000).contains(&self.min_reaction_ms) {
            return bad(
                "min_reaction_ms",
                self.min_reaction_ms.to_string(),
                "100-1000 (below 100 ms no person reacts; this is what stops replays)",
            );
        }
        if self.max_reaction_ms <= self.min_reaction_ms
            || self.max_reaction_ms > self.challenge_timeout_ms
        {
            return bad(
                "max_reaction_ms",
                self.max_reaction_ms.to_string(),
                "above min_reaction_ms and at most challenge_timeout_ms",
            );
        }
        if !(60.0..=1000.0).contains(&self.max_yaw_speed_deg_s) {
            return bad(
                "max_yaw_speed_deg_s",
                self.max_yaw_speed_deg_s.to_string(),
                "60-1000",
            );
        }
        if !(100..=2000).contains(&self.max_frame_gap_ms) {
            return bad(
                "max_frame_gap_ms",
                self.max_frame_gap_ms.to_string(),
                "100-2000",
            );
        }
        if !(1..=10).contains(&self.fused_frames) {
            return bad("fused_frames", self.fused_frames.to_string(), "1-10");
        }
        if self.result_ttl_s < 60 {
            return bad("result_ttl_s", self.result_ttl_s.to_string(), "60 or more");
        }
        Ok(())
    }
}

/// The fewest kinds of challenge a session draws from, and the fewest it asks for: below these a
/// replayed clip or a fixed sequence passes too often.
pub const MIN_CHALLENGE_POOL: usize = 3;
/// See [`MIN_CHALLENGE_POOL`].
pub const MIN_CHALLENGE_COUNT: usize = 2;

/// The challenge pool (deduplicated, completed to [`MIN_CHALLENGE_POOL`] kinds) and count
/// (clamped to [`MIN_CHALLENGE_COUNT`]..=pool), with a warning for each adjustment.
fn challenge_settings(
    options: &SessionOptions,
    warnings: &mut Vec<String>,
) -> (Vec<ChallengeKind>, usize) {
    let mut pool: Vec<ChallengeKind> = Vec::new();
    for c in &options.challenges {
        if !pool.contains(c) {
            pool.push(*c);
        }
    }
    let given = pool.len();
    // The 3-D check needs a turn and a nod; then at least MIN_CHALLENGE_POOL kinds.
    let mut added = false;
    if !pool.iter().any(|c| c.is_turn()) {
        pool.push(ChallengeKind::TurnLeft);
        added = true;
    }
    if !pool.iter().any(|c| c.is_nod()) {
        pool.push(ChallengeKind::LookUp);
        added = true;
    }
    for c in ChallengeKind::ALL {
        if pool.len() >= MIN_CHALLENGE_POOL {
            break;
        }
        if !pool.contains(&c) {
            pool.push(c);
            added = true;
        }
    }
    if added {
        warnings.push(format!(
            "challenges: {given} kind(s) given; a turn, a nod and at least {MIN_CHALLENGE_POOL} kinds are used: {}",
            pool.iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let asked = usize::from(options.challenge_count);
    let count = asked.clamp(MIN_CHALLENGE_COUNT, pool.len());
    if count != asked {
        warnings.push(format!(
            "challengeCount {asked} is outside {MIN_CHALLENGE_COUNT}-{}; using {count}",
            pool.len()
        ));
    }
    (pool, count)
}

/// Options after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The options as given (for the result).
    pub options: SessionOptions,
    /// 1..=3.
    pub max_attempts: u8,
    /// 1..=5.
    pub minimum_level: facekiosk_face::matching::MatchLevel,
    /// The challenge pool, deduplicated.
    pub challenges: Vec<ChallengeKind>,
    /// 1..=pool size.
    pub challenge_count: usize,
}

/// Checks the options against the kiosk's policy and what the engine can do. Returns the
/// settings and the warnings to trace (values clamped), or the `INVALID_CONFIG` error.
pub fn validate(
    options: &SessionOptions,
    policy: &SessionPolicy,
    passive_model_installed: bool,
) -> Result<(Settings, Vec<String>), OperationError> {
    let invalid = |m: String| OperationError::new(ErrorCode::InvalidConfig, m);
    policy.check().map_err(invalid)?;
    let mut warnings = Vec::new();
    if options.session_id.trim().is_empty() {
        return Err(invalid("sessionId is required".to_owned()));
    }
    let max_attempts = options.max_attempts.clamp(1, 3) as u8;
    if i64::from(max_attempts) != options.max_attempts {
        warnings.push(format!(
            "maxAttempts {} is outside 1-3; using {max_attempts}",
            options.max_attempts
        ));
    }
    let minimum_level = u8::try_from(options.minimum_match_level)
        .ok()
        .and_then(facekiosk_face::matching::MatchLevel::new)
        .ok_or_else(|| {
            invalid(format!(
                "minimumMatchLevel must be 1 to 5, not {}",
                options.minimum_match_level
            ))
        })?;
    if options.liveness == LivenessMode::Attended && !policy.allow_attended {
        return Err(invalid(
            "liveness `attended` is not allowed on this kiosk (session.allow_attended = false)"
                .to_owned(),
        ));
    }
    if options.liveness.passive() && !passive_model_installed {
        return Err(invalid(format!(
            "liveness `{}` needs a passive liveness model, and none is installed (facekiosk models install)",
            options.liveness.as_str()
        )));
    }
    if options.liveness == LivenessMode::Attended
        && options
            .operator
            .as_deref()
            .is_none_or(|o| o.trim().is_empty())
    {
        return Err(invalid(
            "liveness `attended` needs the operator: the staff member who watches the person"
                .to_owned(),
        ));
    }
    let (challenges, challenge_count) = if options.liveness.active() {
        challenge_settings(options, &mut warnings)
    } else {
        (Vec::new(), 0)
    };
    if options.inactivity_timeout_ms < 1000 {
        return Err(invalid(
            "inactivityTimeoutMs must be at least 1000".to_owned(),
        ));
    }
    Ok((
        Settings {
            options: options.clone(),
            max_attempts,
            minimum_level,
            challenges,
            challenge_count,
        },
        warnings,
    ))
}

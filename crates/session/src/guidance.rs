//! What the person at the kiosk is told to do, and the hysteresis that keeps hints from
//! flickering: a hint shows only after it held for a while, and the most important one wins.

use facekiosk_face::quality::QualityIssue;
use serde::{Deserialize, Serialize};

/// A hint for the UI (texts/ has one text per hint and language).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Hint {
    /// Look at the camera (no face found).
    LookAtCamera,
    /// Only one person in view.
    OnePersonOnly,
    /// Centre the face in the frame.
    CenterYourFace,
    /// Come closer.
    MoveCloser,
    /// Step back.
    MoveBack,
    /// Look straight at the camera (head turned, nodded or tilted).
    LookStraight,
    /// Open the eyes.
    OpenYourEyes,
    /// Find more light.
    MoreLight,
    /// Less light on the face.
    LessLight,
    /// Light behind the person: turn away from the window or lamp.
    AvoidBacklight,
    /// Keep still (blurred image).
    HoldSteady,
    /// Capturing: stay still.
    HoldStill,
    /// Follow the challenge shown.
    FollowChallenge,
    /// Checking…
    Processing,
    /// The face did not match; try again.
    TryAgain,
    /// The liveness check failed; try again.
    LivenessTryAgain,
    /// The camera is not available.
    CameraUnavailable,
}

impl Hint {
    /// Every hint (the UI needs a text for each).
    pub const ALL: [Hint; 17] = [
        Hint::LookAtCamera,
        Hint::OnePersonOnly,
        Hint::CenterYourFace,
        Hint::MoveCloser,
        Hint::MoveBack,
        Hint::LookStraight,
        Hint::OpenYourEyes,
        Hint::MoreLight,
        Hint::LessLight,
        Hint::AvoidBacklight,
        Hint::HoldSteady,
        Hint::HoldStill,
        Hint::FollowChallenge,
        Hint::Processing,
        Hint::TryAgain,
        Hint::LivenessTryAgain,
        Hint::CameraUnavailable,
    ];

    /// The hint for a quality issue.
    pub fn for_issue(issue: QualityIssue) -> Hint {
        match issue {
            QualityIssue::NoFace | QualityIssue::FaceUnclear => Hint::LookAtCamera,
            QualityIssue::MultipleFaces => Hint::OnePersonOnly,
            QualityIssue::FaceCutOff | QualityIssue::FaceOffCenter => Hint::CenterYourFace,
            QualityIssue::FaceTooSmall => Hint::MoveCloser,
            QualityIssue::FaceTooLarge => Hint::MoveBack,
            QualityIssue::YawOutOfRange
            | QualityIssue::PitchOutOfRange
            | QualityIssue::RollOutOfRange => Hint::LookStraight,
            QualityIssue::EyesClosed => Hint::OpenYourEyes,
            QualityIssue::TooDark => Hint::MoreLight,
            QualityIssue::TooBright => Hint::LessLight,
            QualityIssue::Backlit => Hint::AvoidBacklight,
            QualityIssue::Blurry => Hint::HoldSteady,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// The hint on screen, changed only when a new one has held for `hold_ms`.
#[derive(Clone, Debug)]
pub struct HintTracker {
    hold_ms: u64,
    shown: Option<Hint>,
    candidate: Option<(Hint, u64)>,
}

impl HintTracker {
    /// A tracker showing nothing.
    pub fn new(hold_ms: u64) -> Self {
        Self {
            hold_ms,
            shown: None,
            candidate: None,
        }
    }

    /// The hint on screen.
    pub fn shown(&self) -> Option<Hint> {
        self.shown
    }

    /// Offers the hint this frame calls for at `now`; returns the new hint when the screen
    /// should change.
    pub fn offer(&mut self, now: u64, wanted: Hint) -> Option<Hint> {
        if self.shown == Some(wanted) {
            self.candidate = None;
            return None;
        }
        match self.candidate {
            Some((h, since)) if h == wanted => {
                if now.saturating_sub(since) >= self.hold_ms {
                    self.shown = Some(wanted);
                    self.candidate = None;
                    return Some(wanted);
                }
                None
            }
            _ => {
                self.candidate = Some((wanted, now));
                if self.hold_ms == 0 {
                    self.shown = Some(wanted);
                    self.candidate = None;
                    return Some(wanted);
                }
                None
            }
        }
    }

    /// Shows `hint` at once (session-level hints: hold still, processing, try again).
    pub fn force(&mut self, hint: Hint) -> Option<Hint> {
        self.candidate = None;
        if self.shown == Some(hint) {
            return None;
        }
        self.shown = Some(hint);
        Some(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_shows_only_after_it_held() {
        let mut t = HintTracker::new(300);
        assert_eq!(t.offer(0, Hint::MoveCloser), None);
        assert_eq!(t.offer(100, Hint::MoveCloser), None);
        assert_eq!(t.offer(300, Hint::MoveCloser), Some(Hint::MoveCloser));
        assert_eq!(t.offer(400, Hint::MoveCloser), None);
    }

    #[test]
    fn a_flicker_never_reaches_the_screen() {
        let mut t = HintTracker::new(300);
        t.offer(0, Hint::MoveCloser);
        t.offer(300, Hint::MoveCloser);
        // Alternating hints, each for less than the hold time: the screen keeps MOVE_CLOSER.
        for (i, h) in [
            Hint::MoreLight,
            Hint::MoveCloser,
            Hint::MoreLight,
            Hint::LookStraight,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(t.offer(400 + i as u64 * 100, h), None);
        }
        assert_eq!(t.shown(), Some(Hint::MoveCloser));
    }

    #[test]
    fn wire_names() {
        assert_eq!(Hint::MoveCloser.as_str(), "MOVE_CLOSER");
        assert_eq!(Hint::for_issue(QualityIssue::Backlit), Hint::AvoidBacklight);
    }
}

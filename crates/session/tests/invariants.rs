//! Whatever happens, a session ends with exactly one of success or error, then exactly one
//! finally, and says nothing after it (property test over random input sequences).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use facekiosk_face::quality::QualityIssue;
use facekiosk_session::options::LivenessMode;
use facekiosk_session::{ErrorCode, Event, Input, OperationError, SessionOptions, SessionPolicy};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Genuine,
    Impostor,
    Photo,
    Bad(u8),
    Empty,
    Cancel,
    Retry,
    Tick(u16),
    CameraLost,
    CameraBack,
    Skipped,
    Perform(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Genuine),
        3 => Just(Step::Impostor),
        2 => Just(Step::Photo),
        3 => (0u8..6).prop_map(Step::Bad),
        3 => Just(Step::Empty),
        1 => Just(Step::Cancel),
        1 => Just(Step::Retry),
        2 => (0u16..3000).prop_map(Step::Tick),
        1 => Just(Step::CameraLost),
        1 => Just(Step::CameraBack),
        1 => Just(Step::Skipped),
        4 => (1u8..40).prop_map(Step::Perform),
    ]
}

fn mode() -> impl Strategy<Value = LivenessMode> {
    prop_oneof![
        Just(LivenessMode::Active),
        Just(LivenessMode::Passive),
        Just(LivenessMode::Both),
        Just(LivenessMode::Attended)
    ]
}

const ISSUES: [QualityIssue; 6] = [
    QualityIssue::FaceTooSmall,
    QualityIssue::TooDark,
    QualityIssue::MultipleFaces,
    QualityIssue::Blurry,
    QualityIssue::FaceOffCenter,
    QualityIssue::Backlit,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn exactly_one_outcome_then_finally_then_silence(
        steps in proptest::collection::vec(step(), 1..120),
        liveness in mode(),
        max_attempts in -2i64..6,
        return_data in any::<bool>(),
        passive in any::<bool>(),
    ) {
        let policy = SessionPolicy { allow_attended: true, ..SessionPolicy::default() };
        let opts = SessionOptions { liveness, max_attempts, return_data_for_incomplete_session: return_data, ..options() };
        let mut s = Script::start(opts, context(policy, passive));
        let logit = Some(2.0);
        for st in steps {
            match st {
                Step::Genuine => s.feed(Face { passive_logit: logit, ..Face::genuine() }.frame()),
                Step::Impostor => s.feed(Face { passive_logit: logit, ..Face::impostor() }.frame()),
                Step::Photo => s.feed(Face { flat: true, passive_logit: Some(-3.0), ..Face::genuine() }.frame()),
                Step::Bad(i) => s.feed(Face { issue: Some(ISSUES[usize::from(i) % ISSUES.len()]), ..Face::genuine() }.frame()),
                Step::Empty => s.feed(empty()),
                Step::Cancel => s.feed(Input::Cancel),
                Step::Retry => s.feed(Input::Retry),
                Step::Tick(ms) => { s.now += u64::from(ms); s.feed(Input::Tick) }
                Step::CameraLost => s.feed(Input::CameraLost(OperationError::new(ErrorCode::MediaNotFoundError, "lost"))),
                Step::CameraBack => s.feed(Input::CameraBack),
                Step::Skipped => s.feed(Input::FrameSkipped("corrupt".into())),
                Step::Perform(n) => s.perform(Face { passive_logit: logit, ..Face::genuine() }, usize::from(n)),
            }
        }
        // Whatever state it is in, a cancel ends it.
        s.feed(Input::Cancel);
        let (successes, errors, finallys) = s.ends();
        prop_assert_eq!(successes + errors, 1, "{}", s.transcript());
        prop_assert_eq!(finallys, 1);
        prop_assert!(matches!(s.events.last(), Some((_, Event::Finally))));
        // Nothing after the end.
        let before = s.events.len();
        s.feed(Face::genuine().frame());
        s.feed(Input::Cancel);
        prop_assert_eq!(s.events.len(), before);
        // Every result verifies with the kiosk's key.
        let jwks = identity().jwks();
        for (_, e) in &s.events {
            let jws = match e {
                Event::Success(j) => Some(j),
                Event::Error(err) => err.data.as_ref(),
                _ => None,
            };
            if let Some(j) = jws {
                prop_assert!(facekiosk_identity::verify(j, &jwks, T0 / 1000 + 10).is_ok());
            }
        }
    }
}

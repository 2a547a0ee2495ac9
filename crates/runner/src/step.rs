//! One frame through the face engine and the session, without threads.

use std::sync::Arc;

use facekiosk_face::engine::{AnalyzeOptions, FaceEngine, FrameAnalysis};
use facekiosk_face::follow::FaceFollower;
use facekiosk_session::observation::{FrameNeeds, FrameObservation};
use facekiosk_session::{ErrorCode, Event, Input, OperationError, Session};
use image::RgbImage;

/// A session and the engine that analyses its frames.
#[derive(Debug)]
pub struct FrameStep<'a> {
    engine: &'a FaceEngine,
    session: Session,
    keep_image: bool,
    follower: FaceFollower,
}

impl<'a> FrameStep<'a> {
    /// Steps `session` with `engine`; `keep_image` keeps frames for the audit image.
    pub fn new(engine: &'a FaceEngine, session: Session, keep_image: bool) -> Self {
        Self {
            engine,
            session,
            keep_image,
            follower: FaceFollower::new(),
        }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The analysis options for what the session needs now.
    pub fn options(&self) -> AnalyzeOptions {
        analyze_options(self.engine, self.session.frame_needs())
    }

    /// Analyses `image`, taken at `now` (unix ms), and feeds it to the session. A model failure
    /// ends the session with `MODEL_ERROR`.
    pub fn frame(&mut self, now: u64, image: RgbImage) -> Vec<Event> {
        self.frame_inspect(now, image, |_| {})
    }

    /// [`FrameStep::frame`], showing the engine's analysis to `inspect` before the session
    /// takes it (evaluations measure what single frames would have given).
    pub fn frame_inspect(
        &mut self,
        now: u64,
        image: RgbImage,
        inspect: impl FnOnce(&FrameAnalysis),
    ) -> Vec<Event> {
        let options = self.options();
        let analysed = self
            .engine
            .analyze_stream(&image, &options, &mut self.follower);
        let input = match analysed {
            Ok(analysis) => {
                inspect(&analysis);
                let kept = self.keep_image.then(|| Arc::new(image));
                Input::Frame(Box::new(FrameObservation::from_analysis(analysis, kept)))
            }
            Err(e) => Input::Fail(OperationError::new(ErrorCode::ModelError, e.to_string())),
        };
        self.session.handle(now, input)
    }

    /// Feeds any other input. Anything but a tick breaks the stream (a dropped frame, a
    /// camera lost or back, a retry, a cancel): the detector looks at the next frame.
    pub fn input(&mut self, now: u64, input: Input) -> Vec<Event> {
        if !matches!(input, Input::Tick) {
            self.follower.reset();
        }
        self.session.handle(now, input)
    }
}

/// The face engine's options for what a session needs.
pub fn analyze_options(engine: &FaceEngine, needs: FrameNeeds) -> AnalyzeOptions {
    let mut o = engine.live_options();
    o.landmarks = needs.landmarks;
    o.embed = needs.embed;
    o.passive = needs.passive;
    o
}

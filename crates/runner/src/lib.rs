//! # facekiosk-runner — one face session, run on a frame source
//!
//! The loop both the `facekiosk` command and the kiosk app run: a capture thread reads frames
//! from the camera (or a file, or a folder), the analysis loop takes the latest frame only
//! (stale frames are dropped and counted), asks the session what it needs computed
//! ([`facekiosk_session::Session::frame_needs`]), runs the face engine, and feeds the session
//! with the time of a monotonic clock anchored to one wall-clock reading ([`SessionClock`]).
//! It also decides what signs the result ([`signer_for`]): the kiosk's key for a camera, an
//! ephemeral test key for files, folders and the demo.
//!
//! [`FrameStep`] is the same analysis and session step without threads, for callers that make
//! their own frames (the liveness evaluation renders frames that follow the session's prompts).
//!
//! ```no_run
//! # fn demo(engine: &facekiosk_face::engine::FaceEngine, identity: &facekiosk_identity::KioskIdentity,
//! #         reference: facekiosk_session::Reference) -> Result<(), facekiosk_runner::RunError> {
//! use facekiosk_runner::{Ending, NoReport, RunSetup, SourceSpec};
//! let setup = RunSetup::new(engine, identity, facekiosk_session::SessionOptions {
//!     session_id: "vs_1".into(),
//!     ..Default::default()
//! });
//! let source = SourceSpec::new("camera", facekiosk_capture::CaptureOptions::default());
//! match setup.run(reference, source, &mut NoReport)? {
//!     Ending::Success { jws, .. } => println!("{jws}"),
//!     Ending::Error { error, .. } => eprintln!("{error}"),
//! }
//! # Ok(()) }
//! ```
//!
//! **Never:** this crate holds no face or session logic of its own (it wires the face engine,
//! the capture and the session together), and never hides a failure of the source.

mod clock;
mod error;
mod provenance;
mod queue;
mod run;
mod signing;
mod step;

pub use clock::SessionClock;
pub use error::RunError;
pub use provenance::{media_error, provenance};
pub use run::{Control, Ending, FrameStats, NoReport, Preview, Reporter, RunSetup, SourceSpec};
pub use signing::{SessionSigner, TEST_KEY_TTL_S, session_seed, signer_for};
pub use step::FrameStep;

//! # facekiosk-session — the face-session engine
//!
//! The state machine of one face session ([`engine::Session`]): it takes frame observations
//! from the face engine, user actions (cancel, retry), camera events and the time, and returns
//! events — status, guidance, challenges, trace events, and at the end exactly one signed result
//! (`success`) or one [`OperationError`] (`error`), then `finally`. Options and semantics follow
//! uqudo's Face Session and FaceSign's session lifecycle (see docs/SESSION.md, which also
//! describes the liveness protocol an attacker faces).
//!
//! The modules follow the seams of a session: [`engine`] (the state machine), [`challenge`]
//! (the protocol of one challenge), [`track`] (the chain of frames from the first capture to the
//! last), [`capture`] (good frames and their fused embedding), [`attempt`] (one attempt's state),
//! [`claims`] (the result's payload) and `result` (assembling it), [`reference`] (the ID photo),
//! [`failure`] (what failed in a liveness check) and [`status`] (where a session stands).
//!
//! **Never:** this crate never sleeps, spawns threads, reads the clock, or touches files, the
//! network, SQLite or Tauri; time and randomness are passed in. It never puts an image, an
//! embedding or a secret into a trace event (the optional audit image goes only into the
//! signed result, when the session asks for it).

pub mod attempt;
pub mod audit;
pub mod capture;
pub mod challenge;
pub mod claims;
pub mod engine;
pub mod error;
pub mod failure;
pub mod guidance;
pub mod observation;
pub mod options;
pub mod path;
pub mod reference;
mod result;
pub mod status;
pub mod trace;
pub mod track;

pub use engine::{Event, Input, Provenance, Session, SessionContext, SessionSeed, SessionStatus};
pub use error::{ErrorCode, OperationError};
pub use options::{LivenessMode, SessionOptions, SessionPolicy};
pub use reference::Reference;
pub use result::extrapolated;

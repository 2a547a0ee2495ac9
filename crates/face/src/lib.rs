//! # facekiosk-face — the face engine
//!
//! Finds faces in an image, checks that a face is good enough to judge (size, centring, pose,
//! sharpness, light, one face only), measures liveness signals (blink, head turn, mouth, the 3-D
//! consistency of a turning head, an optional passive model), computes face embeddings and
//! compares them at calibrated match levels. Every model runs locally on ONNX Runtime through `ort`.
//!
//! **Never:** this crate knows nothing of sessions, users, networks or databases; it never writes
//! an image, an embedding or a person's score to a log ([`embed::Embedding`] cannot even be
//! printed); it never panics on input (images, model files, calibration files) — bad input is a
//! [`FaceError`].
//!
//! ```no_run
//! use facekiosk_face::{decode, engine::{FaceConfig, FaceEngine}, matching::MatchLevel};
//! let engine = FaceEngine::load(&Default::default(), &FaceConfig::default())?;
//! let photo = engine.photo_options();
//! let id = engine.analyze(&decode::decode_file("id.jpg".as_ref(), Default::default())?, &photo)?;
//! let selfie = engine.analyze(&decode::decode_file("selfie.jpg".as_ref(), Default::default())?, &photo)?;
//! let v = engine.verify(&id, &selfie, MatchLevel::DEFAULT)?;
//! println!("similarity {:.3}, level {:?}, match: {}", v.similarity, v.level, v.matched);
//! # Ok::<(), facekiosk_face::FaceError>(())
//! ```

pub mod calibrate;
pub mod decode;
pub mod detect;
pub mod embed;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod follow;
pub mod geometry;
pub mod landmarks;
pub mod liveness;
pub mod manifest;
pub mod matching;
pub mod model;
pub mod quality;
pub mod resample;
pub mod runtime;
pub mod stats;

pub use error::{FaceError, ImageError, Result};

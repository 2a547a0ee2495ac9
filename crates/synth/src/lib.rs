//! # facekiosk-synth — synthetic faces for evaluating liveness
//!
//! Renders, from one real frontal photo and the landmark model's 468 points with their depth,
//! a textured 3-D head that turns with real parallax, blinks and smiles ([`head::Head`]), and
//! the attacks a kiosk must refuse: the photo printed and held up, tilted, bent around a
//! cylinder, prints of the head swapped by hand, the head shown on a screen ([`print`]). Frames
//! go through a camera model (blur, noise, JPEG: [`camera::capture`]) before the face engine
//! sees them.
//!
//! It exists for `facekiosk eval-liveness`, which runs these frames through the real models and
//! session engine. What a synthetic head cannot show is written in docs/EVALUATION.md.
//!
//! **Never:** a synthetic frame is never passed off as a camera's: sessions on them are test
//! sessions, and the crate reads no file and opens no device.

pub mod actor;
pub mod camera;
pub mod demo;
pub mod head;
pub mod motion;
pub mod print;
pub mod raster;
pub mod topology;

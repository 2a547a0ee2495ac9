//! Walk-in sessions (PRODUCT.md): no API session — the branch is offline, or the customer
//! came without one — so staff hold the customer's ID photo up to the kiosk's camera, the
//! kiosk takes it once it passes the photo checks, and creates the session itself
//! ([`ClaimedVisit::walk_in`]). The result is signed and queued like any other, marked walk-in.
//!
//! The photo is taken from the camera's raw frame (not the mirrored preview) and kept in
//! memory only, for the visit.

use facekiosk_face::engine::FaceEngine;
use facekiosk_session::Reference;
use facekiosk_session::claims::ReferenceSource;
use facekiosk_session::guidance::Hint;

use crate::config::KioskConfig;
use crate::scan::{Watch, watch_camera};
use crate::visit::ClaimError;

/// Frames in a row that must pass the photo checks before the photo is taken (a card held
/// still, not one lucky frame of a moving one).
pub const STEADY_FRAMES: u32 = 3;

/// Looks at the kiosk camera's frames (shown on `watch.preview`) for an ID photo that passes
/// the reference photo's checks in [`STEADY_FRAMES`] frames in a row, and returns it as a
/// JPEG. `on_hint` gets what to change, each time it changes (`HOLD_STILL` once it passes).
/// Ends with `PHOTO_TIMEOUT` after `watch.timeout`, `SCAN_CANCELED` when `watch.stop` is set,
/// `MODEL_ERROR` when the engine fails, and the camera's own error codes.
pub fn capture_id_photo(
    config: &KioskConfig,
    engine: &FaceEngine,
    watch: &Watch<'_>,
    on_hint: &mut dyn FnMut(Hint),
) -> Result<Vec<u8>, ClaimError> {
    let options = engine.photo_options();
    let mut steady = 0;
    let mut shown: Option<Hint> = None;
    watch_camera(config, watch, |image| {
        let analysis = match engine.analyze(image, &options) {
            Ok(a) => a,
            Err(e) => {
                return Some(Err(ClaimError {
                    code: "MODEL_ERROR".to_owned(),
                    message: e.to_string(),
                }));
            }
        };
        let hint =
            if Reference::from_photo(&analysis, String::new(), ReferenceSource::WalkIn).is_ok() {
                steady += 1;
                Hint::HoldStill
            } else {
                steady = 0;
                analysis
                    .quality
                    .issues
                    .first()
                    .map_or(Hint::LookAtCamera, |i| Hint::for_issue(*i))
            };
        if shown != Some(hint) {
            shown = Some(hint);
            on_hint(hint);
        }
        if steady < STEADY_FRAMES {
            return None;
        }
        let mut jpeg = Vec::new();
        Some(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
                .encode_image(image)
                .map(|()| jpeg)
                .map_err(|e| ClaimError {
                    code: "UNEXPECTED_ERROR".to_owned(),
                    message: format!("cannot encode the ID photo: {e}"),
                }),
        )
    })
}

//! The optional passive liveness model (presentation-attack detection on one frame).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::detect::Detection;
use crate::error::{FaceError, Result};
use crate::geometry::Affine;
use crate::manifest::Interface;
use crate::model::Model;
use crate::resample::{Border, warp_affine_tensor};

/// The passive liveness verdict of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassiveScore {
    /// The model's real−spoof logit difference (positive: looks real).
    pub logit: f32,
    /// The same as a probability of a live face, 0..1.
    pub probability: f32,
    /// The verdict at the model's threshold.
    pub live: bool,
}

/// The optional passive liveness model (interface `minifas-128`).
#[derive(Debug)]
pub struct PassiveModel {
    model: Model,
    threshold: f32,
}

impl PassiveModel {
    /// Wraps a loaded model; the threshold comes from its manifest entry (default 0: p = 0.5).
    pub fn new(model: Model) -> Result<PassiveModel> {
        model.expect_interface(Interface::Minifas128, "a passive liveness model")?;
        model.expect_input(&[-1, 3, 128, 128])?;
        let threshold = model.entry().threshold.unwrap_or(0.0);
        Ok(PassiveModel { model, threshold })
    }

    /// The underlying model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The decision threshold on the logit difference.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Scores one face. The crop is the face box squared on its longer side, enlarged 1.5×, with
    /// out-of-image parts mirrored, resampled to 128×128, RGB in [0, 1], NCHW.
    pub fn score(&self, img: &RgbImage, face: &Detection) -> Result<PassiveScore> {
        let side = face.bbox.width.max(face.bbox.height) * 1.5;
        let s = 128.0 / f64::from(side.max(1.0));
        let c = face.bbox.center();
        let t = Affine {
            m: [
                [s, 0.0, 64.0 - s * f64::from(c.x) - 0.5 + 0.5 * s],
                [0.0, s, 64.0 - s * f64::from(c.y) - 0.5 + 0.5 * s],
            ],
        };
        let hwc = warp_affine_tensor(img, &t, 128, 128, Border::Reflect101, 1.0 / 255.0, 0.0);
        let mut chw = vec![0.0f32; hwc.len()];
        let plane = 128 * 128;
        for (i, px) in hwc.chunks_exact(3).enumerate() {
            chw[i] = px[0];
            chw[plane + i] = px[1];
            chw[2 * plane + i] = px[2];
        }
        let outputs = self.model.run(&[1, 3, 128, 128], &chw)?;
        let logits = outputs
            .first()
            .filter(|o| o.data.len() == 2)
            .ok_or_else(|| FaceError::Inference {
                role: self.model.role().key().to_owned(),
                reason: "expected one output with 2 logits (real, spoof)".to_owned(),
            })?;
        let logit = logits.data[0] - logits.data[1];
        Ok(PassiveScore {
            logit,
            probability: 1.0 / (1.0 + (-logit).exp()),
            live: logit >= self.threshold,
        })
    }
}

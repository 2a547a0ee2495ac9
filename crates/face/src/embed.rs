//! Face embeddings: alignment onto the ArcFace template and the embedder model.

use image::RgbImage;

use crate::error::{FaceError, Result};
use crate::geometry::{Affine, Point, umeyama};
use crate::manifest::Interface;
use crate::model::Model;
use crate::resample::{Border, warp_affine_image};

/// Side of the aligned face crop, px.
pub const ALIGNED_SIDE: u32 = 112;

/// The ArcFace 112×112 template: eye centres (image left, right), nose tip, mouth corners.
pub const ARCFACE_TEMPLATE: [Point; 5] = [
    Point::new(38.2946, 51.6963),
    Point::new(73.5318, 51.5014),
    Point::new(56.0252, 71.7366),
    Point::new(41.5493, 92.3655),
    Point::new(70.7299, 92.2041),
];

/// The template's four points for detectors with a single mouth point (the mean of the corners).
pub const ARCFACE_TEMPLATE_4: [Point; 4] = [
    ARCFACE_TEMPLATE[0],
    ARCFACE_TEMPLATE[1],
    ARCFACE_TEMPLATE[2],
    Point::new(56.1396, 92.2848),
];

/// The points a face is aligned by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlignmentPoints {
    /// Detector keypoints: eyes (image left, right), nose tip, mouth centre.
    Four([Point; 4]),
    /// Dense-landmark points: eye centres, nose tip, mouth corners.
    Five([Point; 5]),
}

impl AlignmentPoints {
    /// The similarity transform from the image onto the 112-px template.
    pub fn transform(&self) -> Option<Affine> {
        match self {
            AlignmentPoints::Four(p) => umeyama(p, &ARCFACE_TEMPLATE_4),
            AlignmentPoints::Five(p) => umeyama(p, &ARCFACE_TEMPLATE),
        }
    }
}

/// An L2-normalised face embedding.
///
/// Biometric data: it has no `Serialize` and its `Debug` shows only its length, so it cannot
/// reach a log or a JSON output by accident.
#[derive(Clone, PartialEq)]
pub struct Embedding(Vec<f32>);

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding({} dims)", self.0.len())
    }
}

impl Embedding {
    /// Normalises a raw vector; `None` when it is empty, zero or not finite.
    pub fn from_raw(mut v: Vec<f32>) -> Option<Embedding> {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if v.is_empty() || !norm.is_finite() || norm <= f32::EPSILON {
            return None;
        }
        for x in &mut v {
            *x /= norm;
        }
        Some(Embedding(v))
    }

    /// Cosine similarity, −1..1 (the dot product of unit vectors). Embeddings of different
    /// lengths (different models) are not comparable: −1.
    pub fn similarity(&self, other: &Embedding) -> f32 {
        if self.0.len() != other.0.len() {
            return -1.0;
        }
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| a * b)
            .sum::<f32>()
            .clamp(-1.0, 1.0)
    }

    /// The number of dimensions.
    pub fn dims(&self) -> usize {
        self.0.len()
    }

    /// The unit vector.
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }
}

/// The embedder model (interface `mobilefacenet-112`).
#[derive(Debug)]
pub struct Embedder {
    model: Model,
}

impl Embedder {
    /// Wraps a loaded model, checking its interface.
    pub fn new(model: Model) -> Result<Embedder> {
        model.expect_interface(Interface::Mobilefacenet112, "an embedder")?;
        model.expect_input(&[-1, 112, 112, 3])?;
        Ok(Embedder { model })
    }

    /// The underlying model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The embedding of a face aligned by `to_template`.
    pub fn embed(&self, img: &RgbImage, to_template: &Affine) -> Result<Embedding> {
        self.embed_input(&Self::input(img, to_template))
    }

    /// The model input for a face: the aligned 112-px crop, `(v − 127.5) / 128`, NHWC.
    pub fn input(img: &RgbImage, to_template: &Affine) -> Vec<f32> {
        Self::input_from_crop(&aligned_crop(img, to_template))
    }

    /// The model input from an aligned crop made by [`aligned_crop`] (the engine makes the crop
    /// once, for the quality measures and the embedding).
    pub fn input_from_crop(crop: &RgbImage) -> Vec<f32> {
        crop.as_raw()
            .iter()
            .map(|&v| (f32::from(v) - 127.5) / 128.0)
            .collect()
    }

    /// The embedding of an input made by [`Embedder::input`].
    pub fn embed_input(&self, input: &[f32]) -> Result<Embedding> {
        let s = i64::from(ALIGNED_SIDE);
        let outputs = self.model.run(&[1, s, s, 3], input)?;
        let raw = outputs
            .into_iter()
            .next()
            .map(|o| o.data)
            .unwrap_or_default();
        Embedding::from_raw(raw).ok_or_else(|| FaceError::Inference {
            role: self.model.role().key().to_owned(),
            reason: "the embedder returned an empty or non-finite vector".to_owned(),
        })
    }
}

/// The aligned 112-px face crop (for quality measures and audit images).
pub fn aligned_crop(img: &RgbImage, to_template: &Affine) -> RgbImage {
    warp_affine_image(img, to_template, ALIGNED_SIDE, ALIGNED_SIDE, Border::Zero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_unit_vectors() {
        let e = Embedding::from_raw(vec![3.0, 4.0]).unwrap();
        assert!((e.as_slice()[0] - 0.6).abs() < 1e-6);
        assert!((e.similarity(&e) - 1.0).abs() < 1e-6);
        assert!(Embedding::from_raw(vec![0.0, 0.0]).is_none());
        assert!(Embedding::from_raw(vec![f32::NAN]).is_none());
    }

    #[test]
    fn debug_hides_the_values() {
        let e = Embedding::from_raw(vec![0.123_456, 0.5]).unwrap();
        assert_eq!(format!("{e:?}"), "Embedding(2 dims)");
    }

    #[test]
    fn template_aligns_onto_itself() {
        let t = AlignmentPoints::Five(ARCFACE_TEMPLATE).transform().unwrap();
        let p = t.apply(ARCFACE_TEMPLATE[2]);
        assert!(p.distance(ARCFACE_TEMPLATE[2]) < 1e-3);
    }
}

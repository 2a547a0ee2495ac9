//! The reference face: the one face on the session's ID photo, good enough to match against.

use facekiosk_face::embed::Embedding;
use facekiosk_face::engine::FrameAnalysis;
use facekiosk_face::quality::QualityIssue;

use crate::claims::{ReferenceClaim, ReferenceSource};
use crate::error::{ErrorCode, OperationError};

/// The reference a session matches against: the embedding of the photo's face, and what the
/// result says about the photo (its sha256 and where it came from).
#[derive(Clone, Debug)]
pub struct Reference {
    /// The face's embedding.
    pub embedding: Embedding,
    /// The photo, for the result.
    pub claim: ReferenceClaim,
}

impl Reference {
    /// The reference from an ID photo's analysis (made with the engine's photo options): it
    /// must show exactly one face that passes the photo quality gates (size, sharpness, pose,
    /// open eyes, light), else the session refuses it with the reasons (`INVALID_CONFIG`).
    pub fn from_photo(
        analysis: &FrameAnalysis,
        photo_sha256: String,
        source: ReferenceSource,
    ) -> Result<Reference, OperationError> {
        let invalid = |m: String| OperationError::new(ErrorCode::InvalidConfig, m);
        if analysis.faces.is_empty() {
            return Err(invalid("the reference photo shows no face".to_owned()));
        }
        let issues = &analysis.quality.issues;
        if issues.contains(&QualityIssue::MultipleFaces) {
            return Err(invalid(
                "the reference photo shows more than one face; it must show only the person to verify"
                    .to_owned(),
            ));
        }
        if !issues.is_empty() {
            let list: Vec<&str> = issues.iter().map(|i| i.describe()).collect();
            return Err(invalid(format!(
                "the reference photo is not good enough to match against: {}",
                list.join("; ")
            )));
        }
        let embedding = analysis
            .face
            .as_ref()
            .and_then(|f| f.embedding.clone())
            .ok_or_else(|| invalid("the reference face could not be measured".to_owned()))?;
        Ok(Reference {
            embedding,
            claim: ReferenceClaim {
                sha256: photo_sha256,
                source,
            },
        })
    }
}

//! The result's claims, assembled from a finished session.

use base64::Engine as _;
use facekiosk_face::matching::MatchLevel;

use crate::claims::{AuditImageClaim, LivenessClaim, MatchClaim, PolicyClaim, ResultClaims};
use crate::engine::{Session, SessionStatus};
use crate::options::LivenessMode;

impl Session {
    /// The claims of the result at `now`: `status` complete or canceled, `verified` true only
    /// for a success.
    pub(crate) fn claims(&self, now: u64, status: SessionStatus, verified: bool) -> ResultClaims {
        let opts = &self.settings.options;
        let decided = self.decided.as_ref();
        let deciding = self.attempts.last();
        let min = self.settings.minimum_level;
        let level_info = self.ctx.calibration.levels.get(usize::from(min.get()) - 1);
        let best = decided.and_then(|a| a.last_capture().best());
        let mode = opts.liveness;
        let three_d = decided.and_then(|a| a.three_d_claim);
        let passive = decided.and_then(|a| a.passive);
        let detected = match mode {
            LivenessMode::Attended => None,
            _ => deciding.and_then(|a| a.liveness),
        };
        let audit_image = if opts.audit_image {
            best.and_then(|b| b.image.as_ref().map(|img| (img, b.bbox)))
                .and_then(|(img, bbox)| {
                    crate::audit::render(img, &bbox, opts.audit_image_obfuscation)
                })
                .map(|jpeg| AuditImageClaim {
                    media_type: "image/jpeg".to_owned(),
                    obfuscation: opts.audit_image_obfuscation,
                    data: base64::engine::general_purpose::STANDARD.encode(jpeg),
                })
        } else {
            None
        };
        let mut device = self.ctx.device.clone();
        device.kiosk = self.ctx.signer.kiosk_id().to_owned();
        let jti = uuid::Builder::from_random_bytes(self.result_id)
            .into_uuid()
            .to_string();
        let prov = &self.ctx.provenance;
        ResultClaims {
            jti,
            iss: self.ctx.signer.kiosk_id().to_owned(),
            sub: opts.session_id.clone(),
            session_id: opts.session_id.clone(),
            iat: now / 1000,
            exp: (now / 1000).saturating_add(self.ctx.policy.result_ttl_s),
            status,
            is_verified: verified,
            test: self.ctx.signer.is_test(),
            r#match: MatchClaim {
                score: deciding.and_then(|a| a.score),
                level: deciding.and_then(|a| a.level),
                minimum_level: min.get(),
                threshold: self.ctx.calibration.threshold(min),
                level_extrapolated: level_info.is_some_and(|l| l.extrapolated),
                captures: decided.map(|a| a.matches.clone()).unwrap_or_default(),
            },
            liveness: LivenessClaim {
                detected,
                method: mode,
                score: passive.map(|p| 1.0 / (1.0 + (-p.mean_logit).exp())),
                challenges: decided.map(|a| a.challenges.clone()).unwrap_or_default(),
                three_d,
                passive,
                note: (mode == LivenessMode::Attended).then(|| {
                    "attended session: no liveness check ran; the operator watched the person"
                        .to_owned()
                }),
            },
            attempts: self.attempts.clone(),
            quality: best.and_then(|b| b.metrics),
            device,
            capture: prov.capture.clone(),
            policy: PolicyClaim {
                allow_attended: self.ctx.policy.allow_attended,
                allow_virtual_camera: prov.allow_virtual_camera,
                liveness_mode: mode,
                challenge_count: self.settings.challenge_count,
            },
            models: prov.models.clone(),
            calibration: prov.calibration.clone(),
            reference: self.reference.claim.clone(),
            operator: (mode == LivenessMode::Attended)
                .then(|| opts.operator.clone())
                .flatten(),
            lang: opts.lang.clone(),
            started_at: self.started_at,
            finished_at: now,
            nonce: opts.nonce.clone(),
            walk_in: opts.walk_in,
            audit_image,
        }
    }
}

/// The level the calibration extrapolated rather than measured, for a warning.
pub fn extrapolated(
    calibration: &facekiosk_face::matching::Calibration,
    level: MatchLevel,
) -> bool {
    calibration
        .levels
        .get(usize::from(level.get()) - 1)
        .is_some_and(|l| l.extrapolated)
}

//! The face engine: every model loaded once, warmed up, and the per-frame pipeline
//! detect → rank → landmarks → quality → (liveness) → align → embed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::decode::DecodeLimits;
use crate::detect::{
    Detection, Detector, DetectorConfig, Keypoint, priority, rank_faces, weighted_nms,
};
use crate::embed::{AlignmentPoints, Embedder, Embedding, aligned_crop};
use crate::error::{FaceError, Result};
use crate::follow::{FaceFollower, Followed};
use crate::landmarks::{FaceLandmarks, LandmarkModel};
use crate::liveness::{LivenessSignals, PassiveModel, PassiveScore};
use crate::manifest::{ModelOrigin, ModelStore, Role};
use crate::matching::{Calibration, MatchLevel};
use crate::model::Model;
use crate::quality::{QualityConfig, QualityReport, assess, box_crop};
use crate::runtime::{Runtime, RuntimeConfig, RuntimeInfo};

/// The default of [`FaceConfig::redetect_every`]: at 15 frames/s the detector looks three
/// times a second.
pub const DEFAULT_REDETECT_EVERY: u32 = 5;

/// Which detector to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorRange {
    /// The short-range detector (faces within ~2 m, as at a kiosk) only.
    Short,
    /// The full-range detector only.
    Full,
    /// The short-range detector, and the full-range one when it finds nothing (the default).
    #[default]
    Auto,
}

/// Which points align a face for the embedder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlignmentSource {
    /// The dense landmarks when a landmark model is loaded, else the detector's points (the
    /// default: on the evaluation set the landmark points separated genuine from impostor pairs
    /// better, and a kiosk computes the landmarks for liveness anyway).
    #[default]
    Auto,
    /// The detector's eyes, nose tip and mouth centre.
    Detector,
    /// Eye centres, nose tip and mouth corners from the dense landmarks.
    Landmarks,
}

/// How the engine finds, aligns and judges faces (the `[face]` section of the kiosk's
/// configuration; ONNX Runtime has its own, [`RuntimeConfig`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaceConfig {
    /// A models directory whose `manifest.toml` replaces roles of the embedded models (the
    /// result of every session lists the roles replaced).
    pub models_dir: Option<PathBuf>,
    /// The kiosk's installed-models directory (set by the program, not the file): it may only
    /// add the optional passive-liveness model.
    #[serde(skip)]
    pub drop_in_models_dir: Option<PathBuf>,
    /// A calibration file; the embedded one by default.
    pub calibration: Option<PathBuf>,
    /// Detector thresholds.
    pub detector: DetectorConfig,
    /// Which detector runs.
    pub detector_range: DetectorRange,
    /// How faces are aligned for embedding.
    pub alignment: AlignmentSource,
    /// Limits on decoded images.
    pub decode: DecodeLimits,
    /// Quality thresholds for live camera frames.
    pub live_quality: QualityConfig,
    /// Quality thresholds for still photos (ID photos, uploaded selfies).
    pub photo_quality: QualityConfig,
    /// In a camera stream the detector runs at least every this many frames; in between, the
    /// face is followed by its landmarks ([`FaceEngine::analyze_stream`]). 1: every frame.
    pub redetect_every: u32,
}

impl Default for FaceConfig {
    fn default() -> Self {
        Self {
            models_dir: None,
            drop_in_models_dir: None,
            calibration: None,
            detector: DetectorConfig::default(),
            detector_range: DetectorRange::default(),
            alignment: AlignmentSource::default(),
            decode: DecodeLimits::default(),
            live_quality: QualityConfig::live(),
            photo_quality: QualityConfig::photo(),
            redetect_every: DEFAULT_REDETECT_EVERY,
        }
    }
}

/// Milliseconds spent per stage of one frame or photo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageTimings {
    /// Decoding the image (filled in by callers that decode).
    pub decode_ms: f64,
    /// Detection, including letterboxing and decoding the outputs.
    pub detect_ms: f64,
    /// Dense landmarks.
    pub landmarks_ms: f64,
    /// Alignment crop and quality measures.
    pub quality_ms: f64,
    /// Passive liveness model.
    pub passive_ms: f64,
    /// Embedding (alignment warp and model).
    pub embed_ms: f64,
}

impl StageTimings {
    /// The sum of the stages.
    pub fn total_ms(&self) -> f64 {
        self.decode_ms
            + self.detect_ms
            + self.landmarks_ms
            + self.quality_ms
            + self.passive_ms
            + self.embed_ms
    }
}

/// When to compute the embedding of the main face.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedWhen {
    /// Never (guidance frames).
    Never,
    /// Only when the quality verdict is good.
    IfGood,
    /// Whenever a face is found.
    Always,
}

/// Which face of an image is "the" face.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaceChoice {
    /// The most likely subject: large and central ([`rank_faces`]); the default.
    #[default]
    Ranked,
    /// The face whose centre is nearest the image centre (sets of photos cropped around their
    /// subject, such as LFW).
    Central,
}

impl std::str::FromStr for FaceChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ranked" => Ok(FaceChoice::Ranked),
            "central" => Ok(FaceChoice::Central),
            other => Err(format!(
                "face choice `{other}` is not `ranked` or `central`"
            )),
        }
    }
}

/// What to compute for a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnalyzeOptions {
    /// Quality thresholds.
    pub quality: QualityConfig,
    /// Compute dense landmarks (eyes closed, precise pose, liveness signals).
    pub landmarks: bool,
    /// When to embed.
    pub embed: EmbedWhen,
    /// Run the passive liveness model, when one is installed.
    pub passive: bool,
    /// Which face is the main one.
    pub choice: FaceChoice,
    /// Search a still photo thoroughly: look again at the best-ranked faces at the photo's own
    /// resolution ([`FaceEngine::refine`]) and, when no face the landmark model trusts is found
    /// in a photo of 640 px or more, search it in overlapping tiles with the full-range detector
    /// (4–9 more detector runs). For still photos, where a small face in a large picture is
    /// common; not for camera frames, where the kiosk's framing keeps the face large and every
    /// millisecond counts.
    pub thorough: bool,
}

/// The engine's findings about the main face of a frame.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAnalysis {
    /// Its detection.
    pub detection: Detection,
    /// Its dense landmarks, when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<FaceLandmarks>,
    /// Liveness measures from the landmarks.
    pub signals: Option<LivenessSignals>,
    /// The passive liveness score, when a model is installed and it ran.
    pub passive: Option<PassiveScore>,
    /// The embedding, when computed (never serialised).
    #[serde(skip)]
    pub embedding: Option<Embedding>,
}

/// The engine's findings about one frame or photo.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameAnalysis {
    /// Image width, px.
    pub width: u32,
    /// Image height, px.
    pub height: u32,
    /// Every face found, the main one first.
    pub faces: Vec<Detection>,
    /// The main face.
    pub face: Option<FaceAnalysis>,
    /// The quality verdict of the main face.
    pub quality: QualityReport,
    /// Time per stage.
    pub timings: StageTimings,
    /// The main face was followed from the frame before, without the detector
    /// ([`FaceEngine::analyze_stream`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub followed: bool,
}

/// The outcome of comparing two photos.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Cosine similarity of the two faces, −1..1.
    pub similarity: f32,
    /// The highest match level reached.
    pub level: Option<MatchLevel>,
    /// The level required.
    pub minimum_level: MatchLevel,
    /// The similarity the required level needs.
    pub threshold: f32,
    /// True when the required level is reached.
    pub matched: bool,
    /// The passive liveness of the probe, when a model is installed.
    pub probe_liveness: Option<PassiveScore>,
}

/// The face engine. Create once ([`FaceEngine::load`]); share across threads.
pub struct FaceEngine {
    runtime: Runtime,
    detector: Detector,
    detector_full: Option<Detector>,
    landmarks: Option<LandmarkModel>,
    embedder: Embedder,
    passive: Option<PassiveModel>,
    calibration: Calibration,
    calibration_origin: PathBuf,
    replaced: Vec<Role>,
    config: FaceConfig,
    load_ms: f64,
}

impl std::fmt::Debug for FaceEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceEngine")
            .field("runtime", &self.runtime)
            .field("load_ms", &self.load_ms)
            .finish_non_exhaustive()
    }
}

/// A loaded model as reported by [`FaceEngine::models`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedModel {
    /// Its role.
    pub role: Role,
    /// Its file name.
    pub file: String,
    /// Its interface.
    pub interface: String,
    /// Its sha256 (verified at load).
    pub sha256: String,
    /// Embedded or a file path.
    pub origin: ModelOrigin,
}

impl FaceEngine {
    /// Loads ONNX Runtime, every model of the manifest (checking each sha256), and the
    /// calibration; then runs each model once so the first real frame is not slow.
    pub fn load(runtime: &RuntimeConfig, config: &FaceConfig) -> Result<FaceEngine> {
        let started = Instant::now();
        let runtime = Runtime::load(runtime)?;
        let mut store = match &config.models_dir {
            Some(dir) => ModelStore::with_dir(dir)?,
            None => ModelStore::embedded()?,
        };
        if let Some(dir) = &config.drop_in_models_dir {
            store = store.with_drop_in(dir)?;
        }
        let replaced = store.replaced_roles();
        let load = |role: Role| -> Result<Option<Model>> {
            store
                .load(role)?
                .map(|bytes| Model::load(&runtime, &bytes))
                .transpose()
        };
        let required = |role: Role| -> Result<Model> {
            load(role)?.ok_or_else(|| FaceError::Manifest {
                path: store
                    .dir()
                    .map_or_else(|| PathBuf::from("<embedded>"), Path::to_path_buf),
                reason: format!("no model for the required role `{role}`"),
            })
        };
        let detector = Detector::new(required(Role::Detector)?)?;
        let detector_full = load(Role::DetectorFullRange)?
            .map(Detector::new)
            .transpose()?;
        let landmarks = load(Role::Landmarks)?.map(LandmarkModel::new).transpose()?;
        let embedder = Embedder::new(required(Role::Embedder)?)?;
        let passive = load(Role::PassiveLiveness)?
            .map(PassiveModel::new)
            .transpose()?;
        let (calibration, calibration_origin) = load_calibration(config.calibration.as_deref())?;
        calibration.check_embedder(&embedder.model().entry().sha256, &calibration_origin)?;
        if config.detector_range == DetectorRange::Full && detector_full.is_none() {
            return Err(FaceError::Config(
                "detector_range = \"full\" needs a `detector_full_range` model in the manifest"
                    .to_owned(),
            ));
        }
        if config.alignment == AlignmentSource::Landmarks && landmarks.is_none() {
            return Err(FaceError::Config(
                "alignment = \"landmarks\" needs a `landmarks` model in the manifest".to_owned(),
            ));
        }
        let mut engine = FaceEngine {
            runtime,
            detector,
            detector_full,
            landmarks,
            embedder,
            passive,
            calibration,
            calibration_origin,
            replaced,
            config: config.clone(),
            load_ms: 0.0,
        };
        engine.warm_up()?;
        engine.load_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(
            load_ms = engine.load_ms,
            provider = %engine.runtime.provider(),
            passive_liveness = engine.passive.is_some(),
            "face engine ready"
        );
        Ok(engine)
    }

    /// Runs every session of every model once on zeros (session initialisation, memory arenas),
    /// so the first real frame is not slow.
    fn warm_up(&self) -> Result<()> {
        let mut models = vec![self.detector.model(), self.embedder.model()];
        models.extend(self.detector_full.as_ref().map(Detector::model));
        models.extend(self.landmarks.as_ref().map(LandmarkModel::model));
        models.extend(self.passive.as_ref().map(PassiveModel::model));
        for m in models {
            let shape: Vec<i64> = m.input_shape().iter().map(|&d| d.max(1)).collect();
            let len = shape.iter().product::<i64>().max(0) as usize;
            m.warm_up(&shape, &vec![0.0; len])?;
        }
        Ok(())
    }

    /// Analyses two images at once, each on its own thread (the two photos of a verification):
    /// with a session pool of two, every model serves both.
    pub fn analyze_pair(
        &self,
        a: &RgbImage,
        b: &RgbImage,
        options: &AnalyzeOptions,
    ) -> (Result<FrameAnalysis>, Result<FrameAnalysis>) {
        std::thread::scope(|scope| {
            let second = scope.spawn(|| self.analyze(b, options));
            let first = self.analyze(a, options);
            let second = second.join().unwrap_or_else(|_| {
                Err(FaceError::Inference {
                    role: "engine".to_owned(),
                    reason: "the analysis thread stopped unexpectedly".to_owned(),
                })
            });
            (first, second)
        })
    }

    /// Milliseconds spent in [`FaceEngine::load`] (models, calibration, warm-up).
    pub fn load_ms(&self) -> f64 {
        self.load_ms
    }

    /// How many images can be analysed at once (the sessions per model).
    pub fn parallelism(&self) -> usize {
        self.runtime.sessions_per_model()
    }

    /// ONNX Runtime's report.
    pub fn runtime_info(&self) -> RuntimeInfo {
        self.runtime.info()
    }

    /// The configuration in use.
    pub fn config(&self) -> &FaceConfig {
        &self.config
    }

    /// What to compute for a still photo to match (reference or probe).
    pub fn photo_options(&self) -> AnalyzeOptions {
        AnalyzeOptions {
            quality: self.config.photo_quality,
            landmarks: true,
            embed: EmbedWhen::Always,
            passive: true,
            choice: FaceChoice::Ranked,
            thorough: true,
        }
    }

    /// What to compute for a live camera frame: everything, embedding only for good frames.
    pub fn live_options(&self) -> AnalyzeOptions {
        AnalyzeOptions {
            quality: self.config.live_quality,
            landmarks: true,
            embed: EmbedWhen::IfGood,
            passive: true,
            choice: FaceChoice::Ranked,
            thorough: false,
        }
    }

    /// The shipped models' roles that the configured models directory replaced.
    pub fn replaced_roles(&self) -> &[Role] {
        &self.replaced
    }

    /// The calibration in use and where it came from.
    pub fn calibration(&self) -> (&Calibration, &Path) {
        (&self.calibration, &self.calibration_origin)
    }

    /// The near-range detector (for benchmarks and tools that time single stages).
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The dense landmark model, when loaded.
    pub fn landmark_model(&self) -> Option<&LandmarkModel> {
        self.landmarks.as_ref()
    }

    /// The embedder.
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// The alignment transform the engine uses for a face (see [`AlignmentSource`]).
    pub fn alignment(
        &self,
        face: &Detection,
        landmarks: Option<&FaceLandmarks>,
    ) -> Option<crate::geometry::Affine> {
        self.alignment_transform(face, landmarks)
    }

    /// True when a passive liveness model is installed.
    pub fn has_passive_liveness(&self) -> bool {
        self.passive.is_some()
    }

    /// The passive liveness model's threshold (on the real−spoof logit), when one is installed.
    pub fn passive_liveness_threshold(&self) -> Option<f32> {
        self.passive.as_ref().map(PassiveModel::threshold)
    }

    /// True when a dense landmark model is loaded.
    pub fn has_landmarks(&self) -> bool {
        self.landmarks.is_some()
    }

    /// The models loaded.
    pub fn models(&self) -> Vec<LoadedModel> {
        let mut out = vec![self.detector.model()];
        out.extend(self.detector_full.as_ref().map(Detector::model));
        out.extend(self.landmarks.as_ref().map(LandmarkModel::model));
        out.push(self.embedder.model());
        out.extend(self.passive.as_ref().map(PassiveModel::model));
        out.into_iter()
            .map(|m| LoadedModel {
                role: m.role(),
                file: m.entry().file.clone(),
                interface: m.entry().interface.name().to_owned(),
                sha256: m.entry().sha256.clone(),
                origin: m.origin().clone(),
            })
            .collect()
    }

    /// The faces in an image, the most likely subject first (large and central, see
    /// [`rank_faces`]), from one pass of the detector over the whole image.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        let cfg = &self.config.detector;
        let mut faces = match (self.config.detector_range, &self.detector_full) {
            (DetectorRange::Full, Some(full)) => full.detect(img, cfg)?,
            (DetectorRange::Auto, Some(full)) => {
                let near = self.detector.detect(img, cfg)?;
                if near.is_empty() {
                    full.detect(img, cfg)?
                } else {
                    near
                }
            }
            _ => self.detector.detect(img, cfg)?,
        };
        rank_faces(&mut faces, img.width(), img.height());
        Ok(faces)
    }

    /// [`FaceEngine::detect`], then the best-ranked faces looked at again at a finer scale
    /// ([`FaceEngine::refine`]): for still photos.
    pub fn detect_thoroughly(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        let faces = self.detect(img)?;
        self.refine(img, faces, REFINE_MAX_LOOKS)
    }

    /// Ranks `faces` and looks again at the best-ranked ones: the short-range detector runs on
    /// a square of twice the face's side around each, at the photo's own resolution, when that
    /// magnifies the face at least [`REFINE_MIN_GAIN`] times over the whole-frame pass. A face
    /// 60 px wide in a 2000-px photo is 4 px in the 128-px whole-frame input: its box and
    /// keypoints are too coarse to place the landmark crop, and the 5 alignment points come out
    /// wrong. The finer box replaces the coarse one when they overlap (IoU ≥ [`REFINE_MIN_IOU`]).
    /// A detection the closer look does not find again is most likely a pattern in the
    /// background: it goes after the confirmed ones. Faces are looked at in rank order until
    /// [`REFINE_CANDIDATES`] are confirmed or `max_looks` were looked at (each look is one
    /// detector run); then they are ranked again (confirmed first) and duplicates merged.
    pub fn refine(
        &self,
        img: &RgbImage,
        mut faces: Vec<Detection>,
        max_looks: usize,
    ) -> Result<Vec<Detection>> {
        let (w, h) = img.dimensions();
        rank_faces(&mut faces, w, h);
        let long = w.max(h) as f32;
        let cfg = &self.config.detector;
        let mut confirmed = vec![true; faces.len()];
        let (mut looks, mut good) = (0, 0);
        for (face, ok) in faces.iter_mut().zip(confirmed.iter_mut()) {
            if good == REFINE_CANDIDATES || looks == max_looks {
                break;
            }
            let side = 2.0 * face.bbox.width.max(face.bbox.height);
            if side.is_nan() || side <= 0.0 || long / side < REFINE_MIN_GAIN {
                good += 1;
                continue;
            }
            looks += 1;
            let c = face.bbox.center();
            let origin = crate::geometry::Point::new(c.x - side / 2.0, c.y - side / 2.0);
            let found = self.detector.detect_square(img, origin, side, cfg)?;
            let best = found
                .into_iter()
                .map(|d| (d.bbox.iou(&face.bbox), d))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            match best {
                Some((iou, d)) if iou >= REFINE_MIN_IOU => {
                    *face = Detection {
                        score: face.score.max(d.score),
                        ..d
                    };
                    good += 1;
                }
                _ => *ok = false,
            }
        }
        let mut paired: Vec<(bool, Detection)> = confirmed.into_iter().zip(faces).collect();
        paired.sort_by(|(ca, a), (cb, b)| {
            cb.cmp(ca)
                .then_with(|| priority(b, w, h).total_cmp(&priority(a, w, h)))
        });
        let mut kept: Vec<Detection> = Vec::with_capacity(paired.len());
        for (_, f) in paired {
            if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= cfg.nms_iou) {
                kept.push(f);
            }
        }
        Ok(kept)
    }

    /// The faces the full-range detector finds in overlapping tiles of `img` of side
    /// `⌈long side / parts⌉` (see [`crate::detect::tiles`]), merged, refined and ranked; empty
    /// without a full-range model.
    pub fn detect_in_tiles(&self, img: &RgbImage, parts: u32) -> Result<Vec<Detection>> {
        let Some(full) = &self.detector_full else {
            return Ok(Vec::new());
        };
        let cfg = &self.config.detector;
        let (origins, side) = crate::detect::tiles(img.width(), img.height(), parts);
        let mut all = Vec::new();
        for origin in origins {
            all.extend(full.detect_square(img, origin, side, cfg)?);
        }
        let mut merged = weighted_nms(all, cfg.nms_iou);
        merged.truncate(cfg.max_faces);
        self.refine(img, merged, REFINE_MAX_LOOKS)
    }

    /// How finely a photo is tiled at each level of the tiled search: halves, then quarters
    /// when those are still at least [`TILE_MIN_SIDE`]/2 px (up to 9, then up to 49 detector
    /// runs).
    fn tile_levels(img: &RgbImage) -> impl Iterator<Item = u32> {
        let long = img.width().max(img.height());
        [2u32, 4]
            .into_iter()
            .filter(move |&parts| long >= TILE_MIN_SIDE && long / parts >= TILE_MIN_SIDE / 2)
    }

    /// Analyses a frame or photo: faces, the main face's landmarks, quality, liveness signals,
    /// passive score and embedding, as `options` ask.
    ///
    /// The main face is the first in `options.choice`'s order that the landmark model is
    /// confident is a face (presence ≥ the quality's `min_landmark_presence`; among the first
    /// [`REFINE_CANDIDATES`]), so a face-like patch of background does not displace a real face;
    /// the faces tried before it are dropped from the report.
    /// When none is, the best faces of a camera frame are looked at again at full resolution
    /// ([`FaceEngine::refine`], already done for a photo searched `thorough`ly), and a large
    /// photo is searched again in tiles. When
    /// still none is, the first face is kept and the quality verdict says `FACE_UNCLEAR`.
    pub fn analyze(&self, img: &RgbImage, options: &AnalyzeOptions) -> Result<FrameAnalysis> {
        let mut timings = StageTimings::default();
        let t = Instant::now();
        let mut faces = if options.thorough {
            self.detect_thoroughly(img)?
        } else {
            self.detect(img)?
        };
        choose(&mut faces, options.choice, img);
        timings.detect_ms = ms_since(t);
        let mut levels = Self::tile_levels(img).filter(|_| options.thorough);
        while faces.is_empty() {
            let Some(parts) = levels.next() else { break };
            let t = Instant::now();
            faces = self.detect_in_tiles(img, parts)?;
            choose(&mut faces, options.choice, img);
            timings.detect_ms += ms_since(t);
        }
        if faces.is_empty() {
            return self.finish(img, faces, None, options, timings);
        }
        let t = Instant::now();
        let needs_for_alignment = options.embed != EmbedWhen::Never && self.aligns_by_landmarks();
        let mut landmarks = None;
        if let Some(model) = &self.landmarks
            && (options.landmarks || needs_for_alignment)
        {
            let min = options.quality.min_landmark_presence;
            let (mut clear, first) = first_clear(model, img, &faces, min)?;
            landmarks = first;
            if clear.is_none() && !options.thorough {
                // A camera frame's coarse box can misplace the landmark crop (a head turned
                // 40° reads as no face): look again at full resolution, at the faces just tried
                // only, so that a face-like pattern in view costs a frame at most 3 more
                // detector and landmark runs.
                let t = Instant::now();
                let mut refined = self.refine(img, faces.clone(), REFINE_CANDIDATES)?;
                choose(&mut refined, options.choice, img);
                timings.detect_ms += ms_since(t);
                if let (Some(i), l) = first_clear(model, img, &refined, min)? {
                    faces = refined;
                    clear = Some(i);
                    landmarks = l;
                }
            }
            if let Some(i) = clear {
                // The faces before it are not faces to the landmark model.
                faces.drain(..i);
            } else {
                for parts in levels {
                    let t = Instant::now();
                    let mut tiled = self.detect_in_tiles(img, parts)?;
                    choose(&mut tiled, options.choice, img);
                    timings.detect_ms += ms_since(t);
                    if let (Some(i), l) = first_clear(model, img, &tiled, min)? {
                        tiled.drain(..i);
                        faces = tiled;
                        landmarks = l;
                        break;
                    }
                }
            }
        }
        let min = options.quality.min_landmark_presence;
        if let (Some(model), Some(l)) = (&self.landmarks, &landmarks)
            && l.presence >= min
        {
            drop_unclear_others(model, img, &mut faces, &options.quality)?;
        }
        timings.landmarks_ms = ms_since(t);
        self.finish(img, faces, landmarks, options, timings)
    }

    /// Analyses a camera frame of a stream, following the main face from the frame before
    /// when `follower` allows it ([`FaceFollower`]): the landmark crop is placed where the face
    /// was, the detector does not run, and the face box moves as the landmarks moved. The
    /// detector runs — [`FaceEngine::analyze`] — on the first frame, at least every
    /// `face.redetect_every` frames (a second person stepping in is seen then), whenever the
    /// frame before showed no face, several faces or an unclear one, and whenever the landmark
    /// model loses the face it followed.
    pub fn analyze_stream(
        &self,
        img: &RgbImage,
        options: &AnalyzeOptions,
        follower: &mut FaceFollower,
    ) -> Result<FrameAnalysis> {
        if let Some(analysis) = self.follow(img, options, follower)? {
            return Ok(analysis);
        }
        let analysis = self.analyze(img, options)?;
        follower.detected(followable(&analysis, options.quality.min_landmark_presence));
        Ok(analysis)
    }

    /// The frame analysed with the face followed, or `None` when the detector must look.
    fn follow(
        &self,
        img: &RgbImage,
        options: &AnalyzeOptions,
        follower: &mut FaceFollower,
    ) -> Result<Option<FrameAnalysis>> {
        let (Some(model), Some(before)) = (
            &self.landmarks,
            follower.to_follow(
                img.dimensions(),
                options.landmarks && !options.thorough,
                self.config.redetect_every,
            ),
        ) else {
            return Ok(None);
        };
        let t = Instant::now();
        let landmarks = model.landmarks(img, &before.detection)?;
        let points = landmarks.points_2d();
        let moved = (landmarks.presence >= options.quality.min_landmark_presence)
            .then(|| before.moved_to(&points))
            .flatten()
            .filter(|d| {
                d.bbox
                    .fraction_inside(img.width() as f32, img.height() as f32)
                    >= 0.5
            });
        let Some(detection) = moved else {
            follower.lost();
            return Ok(None);
        };
        let timings = StageTimings {
            landmarks_ms: ms_since(t),
            ..StageTimings::default()
        };
        let next = Followed::new(detection, points, img.dimensions());
        let mut analysis = self.finish(img, vec![detection], Some(landmarks), options, timings)?;
        analysis.followed = true;
        follower.followed(next);
        Ok(Some(analysis))
    }

    /// Quality, passive liveness and embedding of `faces[0]`, with its landmarks (no face: the
    /// `NO_FACE` verdict).
    fn finish(
        &self,
        img: &RgbImage,
        faces: Vec<Detection>,
        landmarks: Option<FaceLandmarks>,
        options: &AnalyzeOptions,
        mut timings: StageTimings,
    ) -> Result<FrameAnalysis> {
        let Some(&main) = faces.first() else {
            return Ok(FrameAnalysis {
                width: img.width(),
                height: img.height(),
                faces,
                face: None,
                quality: QualityReport::no_face(),
                timings,
                followed: false,
            });
        };
        let t = Instant::now();
        let alignment = self.alignment_transform(&main, landmarks.as_ref());
        let crop = match &alignment {
            Some(a) => aligned_crop(img, a),
            None => box_crop(img, &main),
        };
        let quality = assess(img, &faces, landmarks.as_ref(), &crop, &options.quality);
        timings.quality_ms = ms_since(t);

        let t = Instant::now();
        let passive = match (&self.passive, options.passive) {
            (Some(model), true) => Some(model.score(img, &main)?),
            _ => None,
        };
        timings.passive_ms = ms_since(t);

        let t = Instant::now();
        let wanted = match options.embed {
            EmbedWhen::Never => false,
            EmbedWhen::IfGood => quality.is_good(),
            EmbedWhen::Always => true,
        };
        let embedding = match (&alignment, wanted) {
            (Some(_), true) => Some(
                self.embedder
                    .embed_input(&Embedder::input_from_crop(&crop))?,
            ),
            _ => None,
        };
        timings.embed_ms = ms_since(t);

        Ok(FrameAnalysis {
            width: img.width(),
            height: img.height(),
            face: Some(FaceAnalysis {
                detection: main,
                signals: landmarks.as_ref().map(LivenessSignals::from_landmarks),
                landmarks,
                passive,
                embedding,
            }),
            faces,
            quality,
            timings,
            followed: false,
        })
    }

    /// True when faces are aligned by their dense landmarks (which must then be computed).
    pub fn aligns_by_landmarks(&self) -> bool {
        match self.config.alignment {
            AlignmentSource::Auto => self.landmarks.is_some(),
            AlignmentSource::Detector => false,
            AlignmentSource::Landmarks => true,
        }
    }

    fn alignment_transform(
        &self,
        face: &Detection,
        landmarks: Option<&FaceLandmarks>,
    ) -> Option<crate::geometry::Affine> {
        match landmarks {
            Some(l) if self.aligns_by_landmarks() => {
                AlignmentPoints::Five(l.alignment_points()).transform()
            }
            _ => AlignmentPoints::Four(four_points(face)).transform(),
        }
    }

    /// Compares two embeddings at a minimum match level.
    pub fn compare(
        &self,
        reference: &Embedding,
        probe: &Embedding,
        minimum: MatchLevel,
    ) -> Verification {
        let similarity = reference.similarity(probe);
        let level = self.calibration.level_of(similarity);
        Verification {
            similarity,
            level,
            minimum_level: minimum,
            threshold: self.calibration.threshold(minimum),
            matched: level.is_some_and(|l| l >= minimum),
            probe_liveness: None,
        }
    }

    /// Verifies a probe photo against a reference photo. Both are analysed as photos; each must
    /// hold a face ([`FaceError::NoFace`] otherwise, naming which photo).
    pub fn verify(
        &self,
        reference: &FrameAnalysis,
        probe: &FrameAnalysis,
        minimum: MatchLevel,
    ) -> Result<Verification> {
        let emb = |a: &FrameAnalysis, which: &str| -> Result<Embedding> {
            a.face
                .as_ref()
                .and_then(|f| f.embedding.clone())
                .ok_or_else(|| no_face_error(which))
        };
        let r = emb(reference, "reference")?;
        let p = emb(probe, "probe")?;
        let mut v = self.compare(&r, &p, minimum);
        v.probe_liveness = probe.face.as_ref().and_then(|f| f.passive);
        Ok(v)
    }
}

/// How many of the best-ranked faces are looked at again at a finer scale, and tried in turn
/// for one the landmark model is confident of.
pub const REFINE_CANDIDATES: usize = 3;
/// At most this many faces of a photo are looked at again.
pub const REFINE_MAX_LOOKS: usize = 8;
/// A face is looked at again when that magnifies it at least this much.
pub const REFINE_MIN_GAIN: f32 = 1.5;
/// The finer detection replaces the coarse one when their boxes overlap at least this much.
pub const REFINE_MIN_IOU: f32 = 0.2;
/// Photos with a long side under this are not searched in tiles.
pub const TILE_MIN_SIDE: u32 = 640;

/// Puts the main face first by `choice` (the detector's ranking already serves `Ranked`).
fn choose(faces: &mut [Detection], choice: FaceChoice, img: &RgbImage) {
    if choice != FaceChoice::Central {
        return;
    }
    let c = crate::geometry::Point::new(img.width() as f32 / 2.0, img.height() as f32 / 2.0);
    if let Some(i) = (0..faces.len()).min_by(|&a, &b| {
        faces[a]
            .bbox
            .center()
            .distance(c)
            .total_cmp(&faces[b].bbox.center().distance(c))
    }) {
        faces[..=i].rotate_right(1);
    }
}

/// Landmarks of the first [`REFINE_CANDIDATES`] faces in turn until one has a presence of at
/// least `min`: that face's index and landmarks, or no index and the first face's landmarks.
fn first_clear(
    model: &LandmarkModel,
    img: &RgbImage,
    faces: &[Detection],
    min: f32,
) -> Result<(Option<usize>, Option<FaceLandmarks>)> {
    let mut first = None;
    for (i, face) in faces.iter().take(REFINE_CANDIDATES).enumerate() {
        let l = model.landmarks(img, face)?;
        if l.presence >= min {
            return Ok((Some(i), Some(l)));
        }
        if i == 0 {
            first = Some(l);
        }
    }
    Ok((None, first))
}

/// Removes, from the faces after the main one that are large enough to count as another person
/// in view (the quality's `other_face_min_ratio`), those the landmark model does not take for a
/// face (presence under `min_landmark_presence`): a pattern in the background must not make a
/// photo "more than one face". At most [`REFINE_CANDIDATES`] are checked; any further ones stay.
fn drop_unclear_others(
    model: &LandmarkModel,
    img: &RgbImage,
    faces: &mut Vec<Detection>,
    quality: &QualityConfig,
) -> Result<()> {
    let Some(main_area) = faces.first().map(|f| f.bbox.area()) else {
        return Ok(());
    };
    let mut checked = 0;
    let mut keep = vec![true; faces.len()];
    for (i, face) in faces.iter().enumerate().skip(1) {
        if checked == REFINE_CANDIDATES {
            break;
        }
        if face.bbox.area() < main_area * quality.other_face_min_ratio {
            continue;
        }
        checked += 1;
        keep[i] = model.landmarks(img, face)?.presence >= quality.min_landmark_presence;
    }
    let mut k = keep.into_iter();
    faces.retain(|_| k.next().unwrap_or(true));
    Ok(())
}

/// The main face of an analysis to follow into the next frame: only when it is the only face
/// and the landmark model is sure of it (presence ≥ `min_presence`).
fn followable(analysis: &FrameAnalysis, min_presence: f32) -> Option<Followed> {
    if analysis.faces.len() != 1 {
        return None;
    }
    let face = analysis.face.as_ref()?;
    let landmarks = face.landmarks.as_ref()?;
    (landmarks.presence >= min_presence).then(|| {
        Followed::new(
            face.detection,
            landmarks.points_2d(),
            (analysis.width, analysis.height),
        )
    })
}

fn no_face_error(which: &str) -> FaceError {
    FaceError::NoFace(which.to_owned())
}

fn load_calibration(path: Option<&Path>) -> Result<(Calibration, PathBuf)> {
    match path {
        Some(p) => Ok((Calibration::read(p)?, p.to_path_buf())),
        None => {
            #[cfg(feature = "embedded-models")]
            {
                Ok((
                    Calibration::embedded()?,
                    PathBuf::from("<embedded>/calibration.json"),
                ))
            }
            #[cfg(not(feature = "embedded-models"))]
            Err(FaceError::Config(
                "no calibration file given and none is embedded in this build".to_owned(),
            ))
        }
    }
}

/// The detector's alignment points: eyes, nose tip, mouth.
pub fn four_points(face: &Detection) -> [crate::geometry::Point; 4] {
    [
        face.keypoint(Keypoint::RightEye),
        face.keypoint(Keypoint::LeftEye),
        face.keypoint(Keypoint::NoseTip),
        face.keypoint(Keypoint::Mouth),
    ]
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

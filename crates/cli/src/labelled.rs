//! Labelled image sets for `eval` and `calibrate`: a directory of images and a CSV
//! (`file,identity` for matching, `file,label` with live/attack for liveness).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use facekiosk_face::decode::decode_file;
use facekiosk_face::embed::Embedding;
use facekiosk_face::engine::{AnalyzeOptions, EmbedWhen, FaceChoice, FaceEngine, FrameAnalysis};

use crate::progress::Progress;

/// One labelled image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledImage {
    /// File name inside the set's directory.
    pub file: String,
    /// Identity (matching) or live/attack (liveness).
    pub label: String,
}

/// Reads `file,label` rows (a header line starting with `file` is skipped; blank lines and
/// `#` comments too). Errors name the line.
pub fn read_labels(path: &Path) -> anyhow::Result<Vec<LabelledImage>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the labels {}", path.display()))?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || (n == 0 && line.to_ascii_lowercase().starts_with("file"))
        {
            continue;
        }
        let mut parts = line.split(',').map(str::trim);
        let (Some(file), Some(label), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!(
                "{}:{}: expected `file,label`, found `{line}`",
                path.display(),
                n + 1
            );
        };
        if file.is_empty() || label.is_empty() {
            bail!("{}:{}: empty file name or label", path.display(), n + 1);
        }
        if !Path::new(file)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            bail!(
                "{}:{}: `{file}` must be a path inside the set's directory (no `..`, not absolute)",
                path.display(),
                n + 1
            );
        }
        if !seen.insert(file.to_owned()) {
            bail!("{}:{}: `{file}` is listed twice", path.display(), n + 1);
        }
        out.push(LabelledImage {
            file: file.to_owned(),
            label: label.to_owned(),
        });
    }
    if out.is_empty() {
        bail!("{} lists no image", path.display());
    }
    Ok(out)
}

/// The labels file of a set: `--labels`, else `DIR/labels.csv`.
pub fn labels_path(dir: &Path, explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let p = explicit.map_or_else(|| dir.join("labels.csv"), Path::to_path_buf);
    if !p.is_file() {
        bail!(
            "no labels file {} (give one with --labels; lines `file,identity`)",
            p.display()
        );
    }
    Ok(p)
}

/// What the engine made of one image of a set.
pub struct Analysed {
    /// The labelled image.
    pub image: LabelledImage,
    /// The analysis, or why the image could not be read.
    pub analysis: Result<FrameAnalysis, String>,
}

impl Analysed {
    /// The main face's embedding, when a face was found.
    pub fn embedding(&self) -> Option<&Embedding> {
        self.analysis
            .as_ref()
            .ok()?
            .face
            .as_ref()?
            .embedding
            .as_ref()
    }
}

/// Where a labelled file is: `DIR/FILE`, or `DIR/images/FILE` for sets that keep their labels
/// beside an `images/` folder.
pub fn image_path(dir: &Path, file: &str) -> PathBuf {
    let direct = dir.join(file);
    if direct.is_file() {
        return direct;
    }
    let nested = dir.join("images").join(file);
    if nested.is_file() { nested } else { direct }
}

/// Analyses every image of the set, on as many threads as the engine has sessions per model
/// (a progress bar on a terminal). Unreadable images are kept with their error, so the report
/// can count them.
pub fn analyse_set(
    engine: &FaceEngine,
    dir: &Path,
    images: &[LabelledImage],
    options: &AnalyzeOptions,
    what: &str,
) -> Vec<Analysed> {
    let progress = Progress::new(images.len() as u64, what);
    let workers = engine.parallelism().clamp(1, 8);
    let chunk = images.len().div_ceil(workers).max(1);
    let analyse = |image: &LabelledImage| {
        let path = image_path(dir, &image.file);
        let analysis = decode_file(&path, engine.config().decode)
            .and_then(|img| engine.analyze(&img, options))
            .map_err(|e| e.to_string());
        progress.inc();
        Analysed {
            image: image.clone(),
            analysis,
        }
    };
    let out = std::thread::scope(|scope| {
        let handles: Vec<_> = images
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(analyse).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            // A worker that panicked loses its images from the report; never the run.
            .flat_map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
    });
    progress.finish();
    out
}

/// Options for embedding a set's photos: photo quality, embedding always, no passive model,
/// landmarks only when the alignment needs them (the engine decides), and `choice` of face.
pub fn embedding_options(engine: &FaceEngine, choice: FaceChoice) -> AnalyzeOptions {
    let mut o = engine.photo_options();
    o.embed = EmbedWhen::Always;
    o.passive = false;
    o.landmarks = false;
    o.choice = choice;
    o
}

/// Embeds every image of a labelled set and scores every pair: (the analysed set, genuine
/// scores, impostor scores).
pub fn embed_and_pair(
    engine: &FaceEngine,
    dir: &Path,
    labels: &[LabelledImage],
    choice: FaceChoice,
) -> (Vec<Analysed>, Vec<f32>, Vec<f32>) {
    let set = analyse_set(
        engine,
        dir,
        labels,
        &embedding_options(engine, choice),
        "embedding",
    );
    let (genuine, impostor) = pair_scores(&set);
    (set, genuine, impostor)
}

/// Genuine and impostor scores over every pair of embedded images.
pub fn pair_scores(set: &[Analysed]) -> (Vec<f32>, Vec<f32>) {
    let embedded: Vec<(&str, &Embedding)> = set
        .iter()
        .filter_map(|a| a.embedding().map(|e| (a.image.label.as_str(), e)))
        .collect();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (i, (la, ea)) in embedded.iter().enumerate() {
        for (lb, eb) in &embedded[i + 1..] {
            let s = ea.similarity(eb);
            if la == lb {
                genuine.push(s);
            } else {
                impostor.push(s);
            }
        }
    }
    (genuine, impostor)
}

/// The number of distinct labels among the embedded images.
pub fn identities(set: &[Analysed]) -> usize {
    set.iter()
        .filter(|a| a.embedding().is_some())
        .map(|a| a.image.label.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str) -> anyhow::Result<Vec<LabelledImage>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("labels.csv");
        std::fs::write(&p, text)?;
        read_labels(&p)
    }

    #[test]
    fn header_comments_and_blank_lines_are_skipped() {
        let l = labels("file,identity\n# a comment\n\na.jpg,id1\nb.jpg, id2\n").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].label, "id2");
    }

    #[test]
    fn malformed_lines_are_named() {
        let err = labels("file,identity\na.jpg\n").unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
        assert!(
            labels("a.jpg,x\na.jpg,y\n")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(labels("../a.jpg,x\n").is_err());
        assert!(labels("/etc/a.jpg,x\n").is_err());
        assert!(labels("people/a.jpg,x\n").is_ok());
        assert!(labels("file,identity\n").is_err());
    }
}

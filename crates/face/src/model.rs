//! One loaded model: its ONNX Runtime sessions, created once, checked against its interface.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ort::session::Session;
use ort::value::TensorRef;

use crate::error::{FaceError, Result};
use crate::manifest::{ModelBytes, ModelEntry, ModelOrigin, Role};
use crate::runtime::Runtime;

/// A model's output tensor, copied out of ONNX Runtime.
#[derive(Clone, Debug)]
pub struct Output {
    /// The output's name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<i64>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

/// A model ready to run. `Session::run` needs exclusive access, so a model holds a small pool
/// of sessions ([`crate::runtime::RuntimeConfig::sessions_per_model`]): callers on several
/// threads (the two photos of a verification, consecutive camera frames) run at once, and wait
/// only when every session is busy.
pub struct Model {
    role: Role,
    entry: ModelEntry,
    origin: ModelOrigin,
    input_name: String,
    input_shape: Vec<i64>,
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("role", &self.role)
            .field("origin", &self.origin)
            .field("input", &self.input_name)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Creates the sessions for verified model bytes.
    pub fn load(runtime: &Runtime, model: &ModelBytes) -> Result<Model> {
        let path = match &model.origin {
            ModelOrigin::File(p) => p.clone(),
            ModelOrigin::Embedded => model.entry.file.clone().into(),
        };
        let bad = |reason: String| FaceError::Model {
            role: model.role.key().to_owned(),
            path: path.clone(),
            reason,
        };
        let mut sessions = Vec::new();
        let threads = runtime.threads_for(model.role);
        for _ in 0..runtime.sessions_per_model() {
            let session = runtime
                .session(&model.bytes, threads)
                .map_err(|reason| bad(format!("ONNX Runtime cannot load it: {reason}")))?;
            sessions.push(session);
        }
        let first = sessions
            .first()
            .ok_or_else(|| bad("no session".to_owned()))?;
        let input = first
            .inputs()
            .first()
            .ok_or_else(|| bad("the model has no input".to_owned()))?;
        let input_name = input.name().to_owned();
        let input_shape: Vec<i64> = input
            .dtype()
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        Ok(Model {
            role: model.role,
            entry: model.entry.clone(),
            origin: model.origin.clone(),
            input_name,
            input_shape,
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// Runs every session of the pool once (the first run of a session is slow).
    pub fn warm_up(&self, shape: &[i64], data: &[f32]) -> Result<()> {
        for session in &self.sessions {
            let mut guard = session.lock().map_err(|_| self.poisoned())?;
            self.run_on(&mut guard, shape, data)?;
        }
        Ok(())
    }

    fn poisoned(&self) -> FaceError {
        FaceError::Inference {
            role: self.role.key().to_owned(),
            reason: "a previous run panicked".to_owned(),
        }
    }

    /// The role this model plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Its manifest entry.
    pub fn entry(&self) -> &ModelEntry {
        &self.entry
    }

    /// Where it was loaded from.
    pub fn origin(&self) -> &ModelOrigin {
        &self.origin
    }

    /// The declared input shape (−1 for dynamic dimensions).
    pub fn input_shape(&self) -> &[i64] {
        &self.input_shape
    }

    /// Checks that the manifest gives this model the interface a role's code expects (`what`
    /// names that code in the error: "an embedder").
    pub fn expect_interface(
        &self,
        interface: crate::manifest::Interface,
        what: &str,
    ) -> Result<()> {
        if self.entry.interface == interface {
            Ok(())
        } else {
            Err(FaceError::Model {
                role: self.role.key().to_owned(),
                path: self.origin.to_string().into(),
                reason: format!("interface `{}` is not {what}", self.entry.interface.name()),
            })
        }
    }

    /// Checks that the declared input matches `expected` (−1 in either matches anything);
    /// used at load to refuse a model whose interface is not the one its manifest claims.
    pub fn expect_input(&self, expected: &[i64]) -> Result<()> {
        let ok = self.input_shape.len() == expected.len()
            && self
                .input_shape
                .iter()
                .zip(expected)
                .all(|(&a, &b)| a == b || a < 0 || b < 0);
        if ok {
            Ok(())
        } else {
            Err(FaceError::Model {
                role: self.role.key().to_owned(),
                path: self.origin.to_string().into(),
                reason: format!(
                    "input `{}` has shape {:?}, interface `{}` needs {:?}",
                    self.input_name,
                    self.input_shape,
                    self.entry.interface.name(),
                    expected
                ),
            })
        }
    }

    /// Runs the model on one float tensor and returns every output. Takes the first free
    /// session of the pool, or waits for one. First free, not round-robin: one caller at a
    /// time keeps using the same session, whose caches are warm and whose operator threads
    /// (with `embedder_threads` > 1) are still spinning; alternating sessions made a two-thread
    /// embedder slower than a one-thread one, their idle pools competing for the cores.
    pub fn run(&self, shape: &[i64], data: &[f32]) -> Result<Vec<Output>> {
        let n = self.sessions.len();
        for session in &self.sessions {
            if let Ok(mut guard) = session.try_lock() {
                return self.run_on(&mut guard, shape, data);
            }
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        let mut guard = self.sessions[start].lock().map_err(|_| self.poisoned())?;
        self.run_on(&mut guard, shape, data)
    }

    fn run_on(&self, session: &mut Session, shape: &[i64], data: &[f32]) -> Result<Vec<Output>> {
        let err = |reason: String| FaceError::Inference {
            role: self.role.key().to_owned(),
            reason,
        };
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(0))
            .collect();
        let tensor = TensorRef::from_array_view((dims, data)).map_err(|e| err(e.to_string()))?;
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| err(e.to_string()))?;
        let mut out = Vec::with_capacity(outputs.len());
        for (name, value) in outputs.iter() {
            let (shape, values) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| err(format!("output `{name}`: {e}")))?;
            out.push(Output {
                name: name.to_owned(),
                shape: shape.iter().copied().collect(),
                data: values.to_vec(),
            });
        }
        Ok(out)
    }
}

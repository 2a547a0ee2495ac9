//! One loaded model: an ONNX Runtime session created once, checked against its interface.

use std::sync::Mutex;

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

/// A model ready to run. `Session::run` needs exclusive access, hence the mutex: callers on
/// several threads take turns per model, and different models run in parallel.
pub struct Model {
    role: Role,
    entry: ModelEntry,
    origin: ModelOrigin,
    input_name: String,
    input_shape: Vec<i64>,
    session: Mutex<Session>,
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
    /// Creates the session for verified model bytes.
    pub fn load(runtime: &Runtime, model: &ModelBytes) -> Result<Model> {
        let path = match &model.origin {
            ModelOrigin::File(p) => p.clone(),
            ModelOrigin::Embedded => model.entry.file.clone().into(),
        };
        let session = runtime
            .session(&model.bytes)
            .map_err(|reason| FaceError::Model {
                role: model.role.key().to_owned(),
                path: path.clone(),
                reason: format!("ONNX Runtime cannot load it: {reason}"),
            })?;
        let input = session.inputs().first().ok_or_else(|| FaceError::Model {
            role: model.role.key().to_owned(),
            path: path.clone(),
            reason: "the model has no input".to_owned(),
        })?;
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
            session: Mutex::new(session),
        })
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

    /// Runs the model on one float tensor and returns every output.
    pub fn run(&self, shape: &[i64], data: &[f32]) -> Result<Vec<Output>> {
        let err = |reason: String| FaceError::Inference {
            role: self.role.key().to_owned(),
            reason,
        };
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(0))
            .collect();
        let tensor = TensorRef::from_array_view((dims, data)).map_err(|e| err(e.to_string()))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| err("a previous run panicked".to_owned()))?;
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

//! Printing results: text for people, JSON for machines (`--json`), and errors for both.

use serde::Serialize;

/// How a command ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// Exit code 1: the command worked and the answer is no (no match, liveness failed).
    Negative,
    /// Exit code 2: an error, already reported by the command (a session's configuration or
    /// camera error).
    Failed,
}

/// Where results go.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Text output, or JSON when `json`.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// True in `--json` mode.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Prints `value` as JSON in `--json` mode, else the text `human` builds.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let text = human();
            if text.ends_with('\n') {
                print!("{text}");
            } else {
                println!("{text}");
            }
        }
        Ok(())
    }

    /// Reports an error: on stderr as text, or on stdout as `{"error": {...}}` in `--json` mode.
    pub fn error(&self, e: &anyhow::Error) {
        let code = e
            .downcast_ref::<facekiosk_face::FaceError>()
            .map_or("ERROR", facekiosk_face::FaceError::code);
        if self.json {
            let v = serde_json::json!({ "error": { "code": code, "message": format!("{e:#}") } });
            println!("{v:#}");
        } else {
            eprintln!("error: {e:#}");
        }
    }
}

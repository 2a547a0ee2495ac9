//! `facekiosk session`: a whole face session, headless.

use anyhow::Context as _;
use facekiosk_face::decode::decode_file;
use facekiosk_face::engine::FaceEngine;
use facekiosk_session::engine::reference_from_analysis;
use facekiosk_session::options::Obfuscation;
use facekiosk_session::{ErrorCode, Event, OperationError, SessionOptions};
use serde_json::json;

use crate::args::SessionArgs;
use crate::config::KioskConfig;
use crate::driver::{Ending, Reporter, Run, media_error, unix_ms};
use crate::output::{Outcome, Output};

/// Prints a session's events as they come: text lines, and trace events as JSON lines.
pub struct Printer {
    /// Print trace events (JSON lines).
    pub trace: bool,
    /// `--json` mode: only trace lines during the run.
    pub json: bool,
}

impl Reporter for Printer {
    fn event(&mut self, at_ms: u64, event: &Event) {
        let t = at_ms as f64 / 1000.0;
        match event {
            Event::Trace(tr) if self.trace => {
                println!("{}", json!({ "trace": tr }));
            }
            _ if self.json => {}
            Event::Status(s) => println!("{t:7.2} s  status {}", s.as_str()),
            Event::Guidance(h) => println!("{t:7.2} s  hint {}", h.as_str()),
            Event::Challenge(c) => println!(
                "{t:7.2} s  challenge {}/{}: {}",
                c.index,
                c.count,
                c.kind.as_str()
            ),
            _ => {}
        }
    }
}

/// Exit code for a session error: 1 when the session ran and said no, 2 when it could not run.
fn outcome_for(code: ErrorCode) -> Outcome {
    match code {
        ErrorCode::InvalidConfig
        | ErrorCode::MediaNotFoundError
        | ErrorCode::MediaNotAllowedError
        | ErrorCode::MediaVirtualCameraDetected
        | ErrorCode::ModelError
        | ErrorCode::UnexpectedError => Outcome::Failed,
        _ => Outcome::Negative,
    }
}

/// Prints how the session ended and returns the exit outcome.
pub fn print_ending(ending: &Ending, out: &Output) -> anyhow::Result<Outcome> {
    match ending {
        Ending::Success { jws, verified } => {
            let c = &verified.claims;
            out.print(&json!({ "outcome": "success", "jws": jws, "claims": c }), || {
                format!(
                    "{}: session {}, match score {} (level {}, required {}), liveness {} ({})\n\nresult (JWS, signed by {}):\n{}\n\nclaims:\n{}",
                    if c["isVerified"] == true { "VERIFIED" } else { "NOT VERIFIED" },
                    c["sessionId"].as_str().unwrap_or("?"),
                    c["match"]["score"],
                    c["match"]["level"],
                    c["match"]["minimumLevel"],
                    c["liveness"]["detected"],
                    c["liveness"]["method"].as_str().unwrap_or("?"),
                    verified.kid,
                    jws,
                    serde_json::to_string_pretty(&redacted(c)).unwrap_or_default()
                )
            })?;
            Ok(if c["isVerified"] == true {
                Outcome::Success
            } else {
                Outcome::Negative
            })
        }
        Ending::Error { error, partial } => {
            print_error(error, partial.as_ref().map(|p| &p.claims), out)?;
            Ok(outcome_for(error.code))
        }
    }
}

fn print_error(
    error: &OperationError,
    partial: Option<&serde_json::Value>,
    out: &Output,
) -> anyhow::Result<()> {
    out.print(
        &json!({ "outcome": "error", "error": error, "partialClaims": partial }),
        || {
            let mut s = format!(
                "NOT VERIFIED: {}: {}",
                error.code.as_str(),
                error.message.as_deref().unwrap_or("")
            );
            if let Some(p) = partial {
                s.push_str(&format!(
                    "\n\npartial result (signed, in the error's data):\n{}",
                    serde_json::to_string_pretty(&redacted(p)).unwrap_or_default()
                ));
            }
            s
        },
    )
}

/// The claims without the audit image's bytes (too long for a terminal).
fn redacted(c: &serde_json::Value) -> serde_json::Value {
    let mut c = c.clone();
    if let Some(d) = c.get_mut("auditImage").and_then(|a| a.get_mut("data")) {
        let len = d.as_str().map_or(0, str::len);
        *d = json!(format!("<{len} base64 characters of JPEG>"));
    }
    c
}

/// Checks the reference photo: exactly one face, measurable. Errors are `INVALID_CONFIG`.
pub fn reference(
    engine: &FaceEngine,
    config: &KioskConfig,
    path: &std::path::Path,
) -> Result<facekiosk_face::embed::Embedding, OperationError> {
    let img = decode_file(path, config.face.decode).map_err(|e| {
        OperationError::new(
            ErrorCode::InvalidConfig,
            format!("reference {}: {e}", path.display()),
        )
    })?;
    let analysis = engine
        .analyze(&img, &engine.photo_options())
        .map_err(|e| OperationError::new(ErrorCode::ModelError, e.to_string()))?;
    reference_from_analysis(&analysis).map_err(|mut e| {
        e.message = Some(format!(
            "reference {}: {}",
            path.display(),
            e.message.unwrap_or_default()
        ));
        e
    })
}

fn obfuscation(s: &str) -> anyhow::Result<Obfuscation> {
    Ok(match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "none" => Obfuscation::None,
        "blurred" => Obfuscation::Blurred,
        "filled" => Obfuscation::Filled,
        "filled_white" => Obfuscation::FilledWhite,
        other => {
            anyhow::bail!("--audit-image `{other}`: expected none, blurred, filled or filled-white")
        }
    })
}

/// Runs `session`.
pub fn run(config: &KioskConfig, args: &SessionArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = crate::cmd::engine(config)?;
    let (identity, _) = crate::cmd::keys::identity(config)?;
    let reference = match reference(&engine, config, &args.reference) {
        Ok(r) => r,
        Err(e) => {
            print_error(&e, None, out)?;
            return Ok(outcome_for(e.code));
        }
    };
    let liveness = args
        .liveness
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let walk_in = args.session_id.is_none();
    let options = SessionOptions {
        session_id: args
            .session_id
            .clone()
            .unwrap_or_else(|| format!("walkin-{}-{}", identity.kiosk_id(), unix_ms())),
        max_attempts: args.max_attempts,
        minimum_match_level: args.minimum_match_level,
        return_data_for_incomplete_session: args.return_data_for_incomplete_session,
        liveness,
        nonce: args.nonce.clone(),
        audit_image: args.audit_image.is_some(),
        audit_image_obfuscation: args
            .audit_image
            .as_deref()
            .map(obfuscation)
            .transpose()?
            .unwrap_or_default(),
        walk_in,
        ..SessionOptions::default()
    };
    let mut source = match facekiosk_capture::open(&args.source, &config.capture) {
        Ok(s) => s,
        Err(e) => {
            let err = media_error(&e);
            print_error(&err, None, out)?;
            return Ok(outcome_for(err.code));
        }
    };
    let run = Run {
        engine: &engine,
        identity: &identity,
        policy: config.session.clone(),
        options,
        realtime: args.realtime,
    };
    let mut printer = Printer {
        trace: args.trace,
        json: out.json(),
    };
    let ending = run
        .run(reference, source.as_mut(), &mut printer)
        .context("the session failed")?;
    print_ending(&ending, out)
}

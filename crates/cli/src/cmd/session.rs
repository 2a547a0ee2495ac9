//! `facekiosk session`: a whole face session, headless.

use anyhow::Context as _;
use facekiosk_face::decode::{decode, read_file};
use facekiosk_face::engine::FaceEngine;
use facekiosk_face::manifest::sha256_hex;
use facekiosk_runner::{Ending, FrameStats, Reporter, RunSetup, SessionSigner, SourceSpec};
use facekiosk_session::claims::ReferenceSource;
use facekiosk_session::options::Obfuscation;
use facekiosk_session::{ErrorCode, Event, OperationError, Reference, SessionOptions};
use serde_json::json;

use crate::args::SessionArgs;
use crate::cmd::unix_ms;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// Prints a session's events as they come: text lines, and trace events as JSON lines.
pub struct Printer {
    /// Print trace events (JSON lines).
    pub trace: bool,
    /// `--json` mode: only trace lines during the run.
    pub json: bool,
    /// Every trace event of the session (queued with its result).
    pub traces: Vec<serde_json::Value>,
}

impl Reporter for Printer {
    fn started(&mut self, source: &facekiosk_capture::SourceInfo, signer: &SessionSigner) {
        if self.json {
            return;
        }
        match &signer.test_jwks {
            Some(path) => println!(
                "source {}: not a camera, so the result is a TEST result, signed with the test key {} \
                 (verify it with --jwks {})",
                source.name,
                signer.signer.kid(),
                path.display()
            ),
            None => println!(
                "camera {}: signed with the kiosk's key {}",
                source.name,
                signer.signer.kid()
            ),
        }
    }

    fn event(&mut self, at_ms: u64, event: &Event) {
        let t = at_ms as f64 / 1000.0;
        if let Event::Trace(tr) = event
            && let Ok(v) = serde_json::to_value(tr)
        {
            self.traces.push(v);
        }
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

    fn frame_done(&mut self, _stats: FrameStats) {}
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
        Ending::Success {
            jws,
            verified,
            test_jwks,
        } => {
            let c = &verified.claims;
            out.print(
                &json!({ "outcome": "success", "jws": jws, "claims": c, "testJwks": test_jwks }),
                || {
                    let mut s = format!(
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
                    );
                    if let Some(p) = test_jwks {
                        s.push_str(&format!(
                            "\n\nTEST RESULT (test: true): signed with a test key, not the kiosk's. \
                             Its public key is in {}:\n  facekiosk verify-result RESULT --jwks {}",
                            p.display(),
                            p.display()
                        ));
                    }
                    s
                },
            )?;
            Ok(if c["isVerified"] == true {
                Outcome::Success
            } else {
                Outcome::Negative
            })
        }
        Ending::Error {
            error,
            partial,
            test_jwks,
        } => {
            print_error(
                error,
                partial.as_ref().map(|p| &p.claims),
                test_jwks.as_deref(),
                out,
            )?;
            Ok(outcome_for(error.code))
        }
    }
}

fn print_error(
    error: &OperationError,
    partial: Option<&serde_json::Value>,
    test_jwks: Option<&std::path::Path>,
    out: &Output,
) -> anyhow::Result<()> {
    out.print(
        &json!({ "outcome": "error", "error": error, "partialClaims": partial, "testJwks": test_jwks }),
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

/// The reference from a photo file: exactly one face that passes the photo quality gates.
/// Errors are `INVALID_CONFIG` (or `MODEL_ERROR`).
pub fn reference(
    engine: &FaceEngine,
    config: &KioskConfig,
    path: &std::path::Path,
    source: ReferenceSource,
) -> Result<Reference, OperationError> {
    let invalid = |e: String| {
        OperationError::new(
            ErrorCode::InvalidConfig,
            format!("reference {}: {e}", path.display()),
        )
    };
    let bytes = read_file(path, config.face.decode).map_err(|e| invalid(e.to_string()))?;
    let img = decode(&bytes, config.face.decode).map_err(|e| invalid(e.to_string()))?;
    let analysis = engine
        .analyze(&img, &engine.photo_options())
        .map_err(|e| OperationError::new(ErrorCode::ModelError, e.to_string()))?;
    Reference::from_photo(&analysis, sha256_hex(&bytes), source).map_err(|mut e| {
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
    let walk_in = args.session_id.is_none();
    let source = if walk_in {
        ReferenceSource::WalkIn
    } else {
        ReferenceSource::Api
    };
    let reference = match reference(&engine, config, &args.reference, source) {
        Ok(r) => r,
        Err(e) => {
            print_error(&e, None, None, out)?;
            return Ok(outcome_for(e.code));
        }
    };
    if let Some(level) = facekiosk_face::matching::MatchLevel::new(
        u8::try_from(args.minimum_match_level).unwrap_or(0),
    ) && facekiosk_session::extrapolated(engine.calibration().0, level)
    {
        eprintln!(
            "facekiosk: warning: match level {level} is extrapolated in the calibration in use, not \
             measured: its false-match rate is an estimate (see docs/EVALUATION.md)"
        );
    }
    let liveness = args
        .liveness
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let options = SessionOptions {
        session_id: args
            .session_id
            .clone()
            .unwrap_or_else(|| facekiosk_kiosk::visit::walk_in_id(identity.kiosk_id(), unix_ms())),
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
        operator: args.operator.clone(),
        ..SessionOptions::default()
    };
    crate::cmd::sync::check_outbox(config)?;
    let mut setup = RunSetup::new(&engine, &identity, options);
    setup.policy = config.session.clone();
    setup.realtime = args.realtime;
    setup.test_jwks = crate::cmd::keys::test_jwks(config)?;
    let mut printer = Printer {
        trace: args.trace,
        json: out.json(),
        traces: Vec::new(),
    };
    let ending = setup
        .run(
            reference,
            SourceSpec::new(args.source.clone(), config.capture.clone()),
            &mut printer,
        )
        .context("the session failed")?;
    // Queued before the outcome is shown: a registered kiosk never shows an outcome it lost.
    crate::cmd::sync::queue_ending(config, &ending, &printer.traces)?;
    print_ending(&ending, out)
}

//! Starting a visit from the session's QR code, held up to the kiosk's camera: the code is the
//! session's `clientSecret.url` (`…/s/{sessionId}#clientSecret={secret}`), which the integrator
//! showed the customer. The camera's frames are shown as a preview while the QR codes in them
//! are read; the first session code found ends the scan, and the caller claims the session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use facekiosk_capture::CaptureError;
use facekiosk_runner::{Preview, media_error};
use image::RgbImage;

use crate::config::KioskConfig;
use crate::visit::ClaimError;

/// A session's id and client secret, read from its QR code.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCode {
    /// The session.
    pub session_id: String,
    /// Its client secret (a credential: never logged).
    pub client_secret: String,
}

impl std::fmt::Debug for SessionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCode")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// The session code in a QR code's text: the `clientSecret.url` form
/// (`https://host/s/{id}#clientSecret={secret}`), or `{"sessionId": …, "clientSecret": …}`.
pub fn parse_session_code(text: &str) -> Option<SessionCode> {
    let text = text.trim();
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 200
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if text.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let (id, secret) = (v["sessionId"].as_str()?, v["clientSecret"].as_str()?);
        return (ok(id) && ok(secret)).then(|| SessionCode {
            session_id: id.to_owned(),
            client_secret: secret.to_owned(),
        });
    }
    if !(text.starts_with("https://") || text.starts_with("http://")) {
        return None;
    }
    let (path, fragment) = text.split_once('#')?;
    let secret = fragment.strip_prefix("clientSecret=")?;
    let id = path.rsplit_once("/s/")?.1.trim_end_matches('/');
    (ok(id) && ok(secret)).then(|| SessionCode {
        session_id: id.to_owned(),
        client_secret: secret.to_owned(),
    })
}

/// The texts of the QR codes in a frame.
pub fn read_qr_codes(img: &RgbImage) -> Vec<String> {
    let (w, h) = img.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            let p = img.get_pixel(x as u32, y as u32);
            // Rec. 601 luma, integer.
            ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8
        });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

/// Why a scan ended without a session code.
fn scan_error(code: &str, message: impl Into<String>) -> ClaimError {
    ClaimError {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// How often a lost camera is asked to come back.
const RECONNECT: Duration = Duration::from_millis(500);

/// Reads frames from the kiosk's camera (`kiosk.camera`), shows each on `preview`, and returns
/// the first session code found. Ends with `SCAN_TIMEOUT` after `timeout` (or when a clip
/// ends), `SCAN_CANCELED` when `stop` is set, `INVALID_QR` for a QR code that is not a
/// session's, and the camera's error code (`MEDIA_NOT_FOUND_ERROR`, …) when it cannot be used.
pub fn scan_for_session(
    config: &KioskConfig,
    preview: Option<&Preview>,
    stop: &AtomicBool,
    timeout: Duration,
) -> Result<SessionCode, ClaimError> {
    let watch = Watch {
        preview,
        stop,
        timeout,
        timeout_code: "SCAN_TIMEOUT",
        what: "a session QR code",
    };
    watch_camera(config, &watch, |image| {
        let texts = read_qr_codes(image);
        if let Some(code) = texts.iter().find_map(|t| parse_session_code(t)) {
            return Some(Ok(code));
        }
        (!texts.is_empty()).then(|| {
            Err(scan_error(
                "INVALID_QR",
                "the QR code is not a FaceKiosk session's",
            ))
        })
    })
}

/// How a camera is watched for something ([`watch_camera`]).
pub struct Watch<'a> {
    /// Where each frame is shown.
    pub preview: Option<&'a Preview>,
    /// Set to end the watch (`SCAN_CANCELED`).
    pub stop: &'a AtomicBool,
    /// How long to look.
    pub timeout: Duration,
    /// The code when nothing was found in time (or the clip ended).
    pub timeout_code: &'static str,
    /// What was looked for, in words (for the timeout's message).
    pub what: &'static str,
}

/// Shows the kiosk camera's frames on `watch.preview` and gives each to `look` until it
/// answers. A camera unplugged meanwhile is waited for (within the time); the camera's own
/// failures end it with their code (`MEDIA_NOT_FOUND_ERROR`, …).
pub fn watch_camera<T>(
    config: &KioskConfig,
    watch: &Watch<'_>,
    mut look: impl FnMut(&RgbImage) -> Option<Result<T, ClaimError>>,
) -> Result<T, ClaimError> {
    let camera_error = |e: &CaptureError| {
        let err = media_error(e);
        scan_error(err.code.as_str(), err.message.unwrap_or_default())
    };
    let mut source = facekiosk_capture::open(&config.kiosk.camera, &config.capture)
        .map_err(|e| camera_error(&e))?;
    let started = Instant::now();
    let stopped = || watch.stop.load(Ordering::SeqCst);
    loop {
        if stopped() {
            return Err(scan_error("SCAN_CANCELED", "canceled"));
        }
        if started.elapsed() > watch.timeout {
            return Err(scan_error(
                watch.timeout_code,
                format!("no {} in {} s", watch.what, watch.timeout.as_secs()),
            ));
        }
        match source.next_frame() {
            Ok(Some(frame)) => {
                if let Some(show) = watch.preview {
                    show(&frame.image);
                }
                if let Some(answer) = look(&frame.image) {
                    return answer;
                }
            }
            Ok(None) => {
                return Err(scan_error(
                    watch.timeout_code,
                    format!("the clip ended without {}", watch.what),
                ));
            }
            Err(CaptureError::CorruptFrame { .. }) => {}
            Err(CaptureError::Disconnected(_)) => {
                // Unplugged: wait for it to come back, within the time.
                while !stopped() && started.elapsed() <= watch.timeout {
                    std::thread::sleep(RECONNECT);
                    match source.reconnect() {
                        Ok(()) => break,
                        Err(e @ (CaptureError::VirtualCamera(_) | CaptureError::Invalid(_))) => {
                            return Err(camera_error(&e));
                        }
                        Err(_) => {}
                    }
                }
            }
            Err(e) => return Err(camera_error(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_codes_are_read_from_the_client_secret_url_or_json_and_nothing_else() {
        let want = Some(SessionCode {
            session_id: "ses_01ab".to_owned(),
            client_secret: "fkcs_Zz-9".to_owned(),
        });
        assert_eq!(
            parse_session_code("https://verify.bank.example/s/ses_01ab#clientSecret=fkcs_Zz-9"),
            want
        );
        assert_eq!(
            parse_session_code(" http://127.0.0.1:8080/s/ses_01ab#clientSecret=fkcs_Zz-9\n"),
            want
        );
        assert_eq!(
            parse_session_code(r#"{"sessionId":"ses_01ab","clientSecret":"fkcs_Zz-9"}"#),
            want
        );
        for bad in [
            "",
            "hello",
            "https://verify.bank.example/s/ses_01ab",
            "https://verify.bank.example/s/#clientSecret=x",
            "https://verify.bank.example/s/ses_01ab#clientSecret=",
            "https://verify.bank.example/s/ses 01#clientSecret=x",
            "https://verify.bank.example/s/ses_01ab#clientSecret=a\"b",
            "ftp://x/s/ses_1#clientSecret=y",
            r#"{"sessionId":"ses_1"}"#,
        ] {
            assert_eq!(parse_session_code(bad), None, "{bad:?}");
        }
    }
}

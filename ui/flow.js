// The kiosk's screens as a pure state machine: `next(state, event)` returns the new state and the
// effects the caller must carry out (invoke a command, load texts). It never touches the DOM, a
// clock or the bridge: every event carries `now` (ms, monotonic), so timeouts are plain deadlines
// that a `tick` event checks. main.js feeds it; tests can drive it directly.

/** Digits in a session code. */
export const CODE_LENGTH = 6;

/** How long to wait for the session's outcome after a cancel before giving up on it (ms). */
export const CANCEL_WAIT_MS = 10000;

/** Screens that end a visit: each returns to attract after `outcomeSeconds`, or on "Done". */
export const OUTCOME_SCREENS = [
  "success", "failure", "canceled", "timeout", "seeStaff", "cameraError", "offline", "error",
];

/** Screens on which nobody touching the screen for `idleSeconds` means the customer left. */
const IDLE_SCREENS = ["keypad", "scan", "consent", "attemptFailed"];

/** Screens of a running face session (its events are taken only there). */
const SESSION_SCREENS = ["capture", "processing", "attemptFailed"];

/** Session outcomes (event `outcome.outcome`) → the screen that shows them. */
const OUTCOME_TO_SCREEN = {
  success: "success",
  failure: "failure",
  canceled: "canceled",
  timeout: "timeout",
  seeStaff: "seeStaff",
  cameraError: "cameraError",
  error: "error",
};

/** Error codes that mean the camera failed, whatever outcome they came with. */
const CAMERA_CODES = ["MEDIA_NOT_FOUND_ERROR", "MEDIA_NOT_ALLOWED_ERROR", "MEDIA_VIRTUAL_CAMERA_DETECTED"];

/** Claim errors the customer can fix by typing the code again (→ the text shown). */
const RETYPE_ERRORS = {
  INVALID_DIGIT_STRING: "screen.keypad.invalid",
  SESSION_EXPIRED_OR_NOT_FOUND: "screen.keypad.expired",
  SESSION_ENDED: "screen.keypad.ended",
  SESSION_ALREADY_CLAIMED: "screen.keypad.inUse",
};

/** Scan errors that send the customer back to the keypad, to type the code or scan again (→ the text shown). */
const SCAN_RETYPE_ERRORS = {
  SCAN_TIMEOUT: "screen.scan.timeout",
  INVALID_QR: "screen.scan.invalidQr",
  SESSION_EXPIRED_OR_NOT_FOUND: "screen.scan.expired",
  CLIENT_SECRET_EXPIRED: "screen.scan.expired",
  INVALID_CLIENT_SECRET: "screen.scan.invalidSecret",
  SESSION_ENDED: "screen.keypad.ended",
  SESSION_ALREADY_CLAIMED: "screen.keypad.inUse",
};

const DEFAULT_INFO = {
  ready: false,
  problem: null,
  registered: false,
  kioskId: "",
  languages: ["en"],
  defaultLang: "en",
  outcomeSeconds: 8,
  idleSeconds: 60,
  attemptsAllowed: 3,
};

/** What the capture screen shows before the first event of an attempt. */
function freshCapture() {
  return {
    opening: true,
    hint: "LOOK_AT_CAMERA",
    face: null,
    progress: null,
    challenge: null,
    cameraLost: false,
  };
}

/** The state before kiosk_info answered. */
export function initialState() {
  return {
    screen: "boot",
    info: { ...DEFAULT_INFO },
    lang: "en",
    problem: null,
    digits: "",
    codeError: null,
    claiming: false,
    // The QR scan under way (`scan` screen): `opening` until its first frame. `scanSeq` numbers
    // the scans, so the answer of one that was canceled or left is ignored.
    scan: null,
    scanSeq: 0,
    session: null,
    sessionSeq: 0,
    capture: freshCapture(),
    confirmCancel: false,
    canceling: false,
    attempt: null,
    outcome: null,
    idleDeadline: null,
    outcomeDeadline: null,
    cancelDeadline: null,
    now: 0,
  };
}

/** Whole seconds left until the outcome screen returns to attract (for its countdown). */
export function secondsLeft(state) {
  if (state.outcomeDeadline == null) return 0;
  return Math.max(0, Math.ceil((state.outcomeDeadline - state.now) / 1000));
}

function isOutcome(screen) {
  return OUTCOME_SCREENS.includes(screen);
}

/** Moves to `screen`, arming the idle or outcome deadline it needs. */
function go(state, screen) {
  const s = { ...state, screen, confirmCancel: false };
  s.idleDeadline = IDLE_SCREENS.includes(screen) ? state.now + state.info.idleSeconds * 1000 : null;
  s.outcomeDeadline = isOutcome(screen) ? state.now + state.info.outcomeSeconds * 1000 : null;
  if (!SESSION_SCREENS.includes(screen)) s.cancelDeadline = null;
  return s;
}

/** Back to the welcome screen, forgetting everything about the last customer. */
function toAttract(state) {
  const effects = [];
  const s = go(
    {
      ...state,
      digits: "",
      codeError: null,
      claiming: false,
      scan: null,
      scanSeq: state.scanSeq + 1,
      session: null,
      // A new sequence number: events of the last session's channels are ignored from now on.
      sessionSeq: state.sessionSeq + 1,
      capture: freshCapture(),
      canceling: false,
      attempt: null,
      outcome: null,
    },
    "attract",
  );
  if (state.lang !== state.info.defaultLang) {
    s.lang = state.info.defaultLang;
    effects.push({ type: "loadTexts", lang: s.lang });
  }
  return { state: s, effects };
}

/** Ends the visit on an outcome screen. */
function toOutcome(state, screen, code = null, queued = false) {
  return go({ ...state, canceling: false, outcome: { screen, code, queued } }, screen);
}

/** The outcome screen for an error that ended the flow before or during a session. */
function screenForError(code) {
  if (code === "NETWORK_ERROR") return "offline";
  if (CAMERA_CODES.includes(code)) return "cameraError";
  if (code === "INACTIVITY_TIMEOUT") return "timeout";
  if (code === "USER_CANCEL") return "canceled";
  if (
    ["NOT_REGISTERED", "UNAUTHORIZED", "FORBIDDEN", "INVALID_CONFIG", "SESSION_EXPIRED_OR_NOT_FOUND"].includes(code)
  ) {
    return "seeStaff";
  }
  return "error";
}

function codeOf(error) {
  return error && typeof error === "object" && typeof error.code === "string" ? error.code : null;
}

function messageOf(error) {
  if (error && typeof error === "object" && typeof error.message === "string") return error.message;
  return error == null ? null : String(error);
}

/**
 * The next state and the effects to carry out, for one event.
 *
 * Events (each with `now`, ms): `info`, `infoFailed`, `language`, `start`, `digit`, `backspace`,
 * `submit`, `claimed`, `claimFailed`, `scan`, `scanFirstFrame`, `scanned`, `scanFailed`,
 * `scanCancel` (the scan events with the `seq` of their scan), `agree`, `decline`, `startFailed`,
 * `session` (an event of the session's channel, with the `seq` of the session it belongs to),
 * `firstFrame`, `cancel`, `cancelDismiss`, `cancelConfirm`, `cancelFailed`, `retry`, `stop`,
 * `done`, `touch`, `tick`.
 *
 * Effects: `loadTexts {lang}`, `claim {digits}`, `startScan {seq}`, `cancelScan`,
 * `startSession {seq, sessionId, lang}`, `cancelSession`, `retrySession`.
 */
export function next(prev, event) {
  const state = { ...prev, now: event.now ?? prev.now };
  const same = { state, effects: [] };
  const screen = state.screen;

  switch (event.type) {
    case "info": {
      // Asked at boot, and again while out of service; never in the middle of a visit.
      if (screen !== "boot" && screen !== "outOfService") return same;
      const info = { ...DEFAULT_INFO, ...event.info };
      const lang = info.languages.includes(info.defaultLang) ? info.defaultLang : info.languages[0] || "en";
      const s = { ...state, info: { ...info, defaultLang: lang }, lang };
      const effects = [{ type: "loadTexts", lang }];
      if (!info.ready) return { state: go({ ...s, problem: info.problem }, "outOfService"), effects };
      if (!info.registered) return { state: go({ ...s, problem: null }, "outOfService"), effects };
      return { state: go(s, "attract"), effects };
    }

    case "infoFailed":
      if (screen !== "boot" && screen !== "outOfService") return same;
      return {
        state: go({ ...state, problem: messageOf(event.error) }, "outOfService"),
        effects: [{ type: "loadTexts", lang: state.lang }],
      };

    case "language":
      if (screen !== "attract" || !state.info.languages.includes(event.lang)) return same;
      if (event.lang === state.lang) return same;
      return { state: { ...state, lang: event.lang }, effects: [{ type: "loadTexts", lang: event.lang }] };

    case "start":
      if (screen !== "attract") return same;
      return { state: go({ ...state, digits: "", codeError: null }, "keypad"), effects: [] };

    case "digit": {
      if (screen !== "keypad" || state.claiming) return same;
      if (!/^[0-9]$/.test(String(event.digit))) return same;
      const s = touched(state);
      if (s.digits.length >= CODE_LENGTH) return { state: s, effects: [] };
      return { state: { ...s, digits: s.digits + event.digit, codeError: null }, effects: [] };
    }

    case "backspace":
      if (screen !== "keypad" || state.claiming) return same;
      return { state: { ...touched(state), digits: state.digits.slice(0, -1), codeError: null }, effects: [] };

    case "submit":
      if (screen !== "keypad" || state.claiming || state.digits.length !== CODE_LENGTH) return same;
      return {
        state: { ...touched(state), claiming: true, codeError: null },
        effects: [{ type: "claim", digits: state.digits }],
      };

    case "claimed":
      if (screen !== "keypad" || !state.claiming) return same;
      return {
        state: go(
          { ...state, claiming: false, digits: "", session: { id: event.sessionId, test: !!event.test } },
          "consent",
        ),
        effects: [],
      };

    case "claimFailed": {
      if (screen !== "keypad" || !state.claiming) return same;
      const code = codeOf(event.error);
      if (RETYPE_ERRORS[code]) {
        return {
          state: { ...touched(state), claiming: false, digits: "", codeError: RETYPE_ERRORS[code] },
          effects: [],
        };
      }
      return { state: toOutcome({ ...state, claiming: false, digits: "" }, screenForError(code), code), effects: [] };
    }

    case "scan": {
      // "Scan the QR code instead": the code typed so far and any message are dropped.
      if (screen !== "keypad" || state.claiming) return same;
      const seq = state.scanSeq + 1;
      return {
        state: go({ ...state, digits: "", codeError: null, scanSeq: seq, scan: { opening: true } }, "scan"),
        effects: [{ type: "startScan", seq }],
      };
    }

    case "scanFirstFrame":
      if (event.seq !== state.scanSeq || screen !== "scan" || !state.scan.opening) return same;
      return { state: { ...state, scan: { ...state.scan, opening: false } }, effects: [] };

    case "scanned":
      // A scan that was canceled or left (a new one, the idle timeout) has no say any more.
      if (event.seq !== state.scanSeq || screen !== "scan") return same;
      if (typeof event.sessionId !== "string" || event.sessionId === "") {
        return { state: toOutcome({ ...state, scan: null }, "error", "UNEXPECTED_ERROR"), effects: [] };
      }
      return {
        state: go({ ...state, scan: null, digits: "", session: { id: event.sessionId, test: !!event.test } }, "consent"),
        effects: [],
      };

    case "scanFailed": {
      if (event.seq !== state.scanSeq || screen !== "scan") return same;
      const code = codeOf(event.error);
      // Canceled by the app itself (the UI's own cancel has left this screen already): back, quietly.
      if (code === "SCAN_CANCELED") return { state: go({ ...state, scan: null }, "keypad"), effects: [] };
      if (SCAN_RETYPE_ERRORS[code]) {
        return { state: go({ ...state, scan: null, codeError: SCAN_RETYPE_ERRORS[code] }, "keypad"), effects: [] };
      }
      return { state: toOutcome({ ...state, scan: null }, screenForError(code), code), effects: [] };
    }

    case "scanCancel":
      if (screen !== "scan") return same;
      return { state: go({ ...state, scan: null, codeError: null }, "keypad"), effects: [{ type: "cancelScan" }] };

    case "agree": {
      if (screen !== "consent" || !state.session) return same;
      const seq = state.sessionSeq + 1;
      return {
        state: go({ ...state, sessionSeq: seq, capture: freshCapture(), attempt: null, canceling: false }, "capture"),
        effects: [{ type: "startSession", seq, sessionId: state.session.id, lang: state.lang }],
      };
    }

    case "decline":
      if (screen !== "consent" && screen !== "keypad") return same;
      if (screen === "keypad" && state.claiming) return same;
      return toAttract(state);

    case "startFailed":
      if (event.seq !== state.sessionSeq || !SESSION_SCREENS.includes(screen)) return same;
      return { state: toOutcome(state, screenForError(codeOf(event.error)), codeOf(event.error)), effects: [] };

    case "firstFrame":
      if (event.seq !== state.sessionSeq || screen !== "capture") return same;
      return { state: { ...state, capture: { ...state.capture, opening: false } }, effects: [] };

    case "session":
      if (event.seq !== state.sessionSeq || !SESSION_SCREENS.includes(screen)) return same;
      return onSessionEvent(state, event.event || {});

    case "cancel":
      if (screen !== "capture" || state.canceling) return same;
      return { state: { ...state, confirmCancel: true }, effects: [] };

    case "cancelDismiss":
      if (!state.confirmCancel) return same;
      return { state: { ...state, confirmCancel: false }, effects: [] };

    case "cancelConfirm":
      if (screen !== "capture" || !state.confirmCancel) return same;
      return startCancel(state);

    case "stop":
      if (screen !== "attemptFailed" || state.canceling) return same;
      return startCancel(state);

    case "cancelFailed":
      if (event.seq !== state.sessionSeq || !state.canceling) return same;
      return { state: toOutcome(state, "canceled", "USER_CANCEL"), effects: [] };

    case "retry":
      if (screen !== "attemptFailed" || state.canceling) return same;
      return {
        state: go({ ...state, capture: { ...freshCapture(), opening: false }, attempt: null }, "capture"),
        effects: [{ type: "retrySession" }],
      };

    case "done":
      if (!isOutcome(screen)) return same;
      return toAttract(state);

    case "touch":
      if (!IDLE_SCREENS.includes(screen)) return same;
      return { state: touched(state), effects: [] };

    case "tick":
      return onTick(state);

    default:
      return same;
  }
}

/** Someone touched the screen: the idle deadline starts again. */
function touched(state) {
  if (state.idleDeadline == null) return state;
  return { ...state, idleDeadline: state.now + state.info.idleSeconds * 1000 };
}

function startCancel(state) {
  return {
    state: { ...state, confirmCancel: false, canceling: true, cancelDeadline: state.now + CANCEL_WAIT_MS },
    effects: [{ type: "cancelSession", seq: state.sessionSeq }],
  };
}

function onTick(state) {
  const now = state.now;
  if (state.outcomeDeadline != null && now >= state.outcomeDeadline) return toAttract(state);
  if (state.idleDeadline != null && now >= state.idleDeadline) {
    if (state.screen === "attemptFailed") {
      // The customer walked away after a failed attempt: end the session for them.
      if (state.canceling) return { state, effects: [] };
      return startCancel({ ...state, idleDeadline: null });
    }
    const back = toAttract(state);
    // Walked away in front of the scanner: the camera stops too.
    if (state.screen === "scan") back.effects.unshift({ type: "cancelScan" });
    return back;
  }
  if (state.cancelDeadline != null && now >= state.cancelDeadline && state.canceling) {
    // The session never confirmed the cancel: do not keep the customer waiting on it.
    return { state: toOutcome(state, "canceled", "USER_CANCEL"), effects: [] };
  }
  return { state, effects: [] };
}

/** One event of the session's channel (the protocol with the app: tests/ui/README.md). */
function onSessionEvent(prev, e) {
  // After a failed attempt the app may start the next one by itself (after a pause) instead of
  // waiting for "Try again": a challenge or a hold-still progress means capture is under way
  // again, so the capture screen comes back rather than hiding it.
  let state = prev;
  if (prev.screen === "attemptFailed" && (e.kind === "challenge" || e.kind === "progress") && !prev.canceling) {
    state = go({ ...prev, capture: { ...freshCapture(), opening: false }, attempt: null }, "capture");
  }
  const same = { state, effects: [] };
  const capture = state.capture;
  switch (e.kind) {
    case "status":
      if (e.status === "opening") return { state: { ...state, capture: { ...capture, opening: true } }, effects: [] };
      if (e.status === "requiresInput") {
        return { state: { ...state, capture: { ...capture, opening: false } }, effects: [] };
      }
      if (e.status === "processing" && state.screen === "capture") {
        return { state: go({ ...state, capture: { ...capture, opening: false, challenge: null } }, "processing"), effects: [] };
      }
      return same;

    case "hint":
      if (typeof e.hint !== "string") return same;
      // Only `camera` events show or hide the camera-lost overlay; a hint is a hint.
      return { state: { ...state, capture: { ...capture, hint: e.hint, opening: false } }, effects: [] };

    case "face":
      return { state: { ...state, capture: { ...capture, face: validBox(e.box) } }, effects: [] };

    case "progress": {
      const v = Number(e.value);
      if (!Number.isFinite(v)) return same;
      const value = Math.min(1, Math.max(0, v));
      // Holding still comes before and after the challenges: a progress means none is asked now.
      return { state: { ...state, capture: { ...capture, progress: value, challenge: null, opening: false } }, effects: [] };
    }

    case "challenge":
      if (e.challenge == null) return { state: { ...state, capture: { ...capture, challenge: null } }, effects: [] };
      return {
        state: {
          ...state,
          capture: {
            ...capture,
            opening: false,
            progress: null,
            challenge: { kind: String(e.challenge), index: Number(e.index) || 1, count: Number(e.count) || 1 },
          },
        },
        effects: [],
      };

    case "camera":
      if (e.state === "lost") return { state: { ...state, capture: { ...capture, cameraLost: true } }, effects: [] };
      if (e.state === "back") {
        return {
          state: {
            ...state,
            capture: {
              ...capture,
              cameraLost: false,
              hint: capture.hint === "CAMERA_UNAVAILABLE" ? "LOOK_AT_CAMERA" : capture.hint,
            },
          },
          effects: [],
        };
      }
      return same;

    case "attemptFailed": {
      const left = Math.max(0, Number(e.attemptsLeft) || 0);
      const hint = e.hint === "LIVENESS_TRY_AGAIN" ? "LIVENESS_TRY_AGAIN" : "TRY_AGAIN";
      return {
        state: go({ ...state, attempt: { hint, attemptsLeft: left }, capture: freshCapture(), canceling: false }, "attemptFailed"),
        effects: [],
      };
    }

    case "outcome": {
      const code = typeof e.code === "string" ? e.code : null;
      let target = OUTCOME_TO_SCREEN[e.outcome] || "error";
      if (target === "error" && code) target = screenForError(code);
      if (target === "seeStaff" && CAMERA_CODES.includes(code)) target = "cameraError";
      return { state: toOutcome(state, target, code, !!e.queued), effects: [] };
    }

    default:
      return same;
  }
}

function validBox(box) {
  if (!box || typeof box !== "object") return null;
  const b = { x: Number(box.x), y: Number(box.y), w: Number(box.w), h: Number(box.h) };
  return Object.values(b).every(Number.isFinite) && b.w > 0 && b.h > 0 ? b : null;
}

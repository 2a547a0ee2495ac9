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

/** How long staff hold the logo (welcome, out of service) to open the staff sign-in (ms). */
export const STAFF_HOLD_MS = 3000;

/** Digits in a staff PIN. */
export const PIN_MIN = 4;
export const PIN_MAX = 12;

/**
 * Staff screens: a staff session may be open on each, so leaving them for the start locks it; a
 * walk-in that the app accepted, or a waiting session it took for staff, are the ways out into a
 * visit (the app ended the session then).
 */
export const STAFF_SCREENS = ["staffPin", "staffMenu", "staffWaiting", "walkIn", "cameraTest"];

/** Screens that show the camera without a face session: their frames and answers carry `scanSeq`. */
const CAMERA_SCREENS = ["scan", "walkIn", "cameraTest"];

/**
 * Screens on which nobody touching the screen for `idleSeconds` means the customer left (or the
 * member of staff walked away from an open staff panel).
 */
const IDLE_SCREENS = ["keypad", "scan", "consent", "attemptFailed", ...STAFF_SCREENS];

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

/** Staff answers that end on the PIN screen: the staff session is over (ended by the app, or idle there). */
const STAFF_REQUIRED = "STAFF_REQUIRED";

/** Pick errors that mean the session is no longer there to take: said on the list, which is loaded again. */
const PICK_GONE = {
  SESSION_ALREADY_CLAIMED: "screen.staffWaiting.claimed",
  SESSION_ENDED: "screen.staffWaiting.ended",
  SESSION_EXPIRED_OR_NOT_FOUND: "screen.staffWaiting.expired",
};

/** How long a lockout lasts when the app does not say (s). */
const DEFAULT_LOCK_S = 30;

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

/** A camera stream without a session (scan, walk-in, camera test): `opening` until its first frame. */
function freshCamera() {
  return { opening: true, hint: null, error: null };
}

/**
 * The staff screens' own state, new for every sign-in: nothing of the last member of staff (their
 * PIN, their overview) is kept once they leave.
 */
function freshStaff(intent, notice = null) {
  return {
    // Where a right PIN leads: `menu`, or `walkIn` (the offline screen's button skips the menu).
    intent,
    pin: "",
    checking: false,
    // While the app refuses PINs after too many wrong ones: until this `now`.
    lockedUntil: null,
    operator: null,
    overview: null,
    loading: false,
    // A message on the staff screen: `{ key, n?, vars? }` (n: a counted text).
    notice,
    confirmExit: false,
    exiting: false,
    // The kiosk cannot reach the service in this sign-in: it came from the offline screen, or a
    // staff command said NETWORK_ERROR (a list loaded since says it is back). A walk-in made
    // meanwhile is an offline visit (its outcome says the result will be sent later).
    offline: intent === "walkIn",
    // The day's waiting sessions (`staffWaiting`): null until loaded, then as normalizeWaiting made them.
    waiting: null,
    waitingLoading: false,
    // The session tapped on the list, asked about before it is taken; `picking` while the app takes it.
    confirmPick: null,
    picking: false,
    // The camera test's list of cameras (`staff_cameras`): null until it came, then
    // normalizeCameras's; `camerasSeq` numbers the requests. `usingCamera` while the app switches.
    cameras: null,
    camerasSeq: 0,
    usingCamera: false,
  };
}

/**
 * `staff_cameras`'s answer as the camera test shows it: `{ configured, current, choosable,
 * devices: [{ camera: "camera:N", name, description, virtual }], problem }`; `{ failed: code }`
 * when it could not be asked.
 */
export function normalizeCameras(answer) {
  const a = answer && typeof answer === "object" ? answer : {};
  const str = (v) => (typeof v === "string" ? v : "");
  const devices = (Array.isArray(a.devices) ? a.devices : [])
    .filter((d) => d && Number.isInteger(d.index) && d.index >= 0)
    .map((d) => ({
      camera: `camera:${d.index}`,
      name: str(d.name) || `camera:${d.index}`,
      description: str(d.description),
      virtual: !!(d.is_virtual ?? d.isVirtual),
    }));
  return {
    configured: str(a.configured),
    current: str(a.current),
    choosable: !!a.choosable,
    devices,
    problem: typeof a.problem === "string" && a.problem ? a.problem : null,
  };
}

/**
 * The listed camera that `spec` opens (`camera`: the first; `camera:N` by index; `camera:NAME`
 * by name), or null.
 */
export function cameraOf(cameras, spec) {
  if (!cameras || !Array.isArray(cameras.devices) || typeof spec !== "string") return null;
  if (spec === "camera") return cameras.devices[0] || null;
  const which = spec.startsWith("camera:") ? spec.slice("camera:".length) : null;
  if (which == null) return null;
  return cameras.devices.find((d) => d.camera === spec || d.name === which) || null;
}

/** The camera the test shows: the one staff picked, else the one in use. */
export function testedCamera(state) {
  const scan = state.scan || {};
  if (typeof scan.camera === "string") return scan.camera;
  return state.staff && state.staff.cameras ? state.staff.cameras.current || null : null;
}

/** A new camera test of `camera` (null: the one in use), after the last one ended. */
function startTest(state, camera) {
  const seq = state.scanSeq + 1;
  return {
    state: { ...state, scanSeq: seq, scan: { ...freshCamera(), camera } },
    effects: [{ type: "startCameraTest", seq, camera }],
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
    // The camera stream under way without a session (the QR `scan`, a staff `walkIn` or
    // `cameraTest`): `opening` until its first frame, the walk-in's `hint`, the camera test's
    // `error`. `scanSeq` numbers them, so frames and answers of one that was canceled or left are
    // ignored.
    scan: null,
    scanSeq: 0,
    staff: null,
    // Numbers the overview requests: an answer for an earlier one (even of another sign-in) is ignored.
    overviewSeq: 0,
    // The same for the waiting list's requests (and the pick made from the list they drew).
    waitingSeq: 0,
    // A press on the logo that opens the staff sign-in if held until then.
    pressDeadline: null,
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

/** Whole seconds left of a staff PIN lockout (0: none). */
export function staffLockSeconds(state) {
  if (!state.staff || state.staff.lockedUntil == null) return 0;
  return Math.max(0, Math.ceil((state.staff.lockedUntil - state.now) / 1000));
}

/**
 * Whether the outcome screen says the result waits on this kiosk for the network. Every result is
 * queued first (the queue is how results are sent), so `queued` alone says nothing: only a visit
 * made while the kiosk was offline (a walk-in from the offline screen) gets the note.
 */
export function showsQueuedNote(state) {
  return !!(state.outcome && state.outcome.queued && state.session && state.session.offline);
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
  if (screen !== state.screen) s.pressDeadline = null;
  return s;
}

/** A session's customization as the screens use it: `{ texts, colors }` (objects), or null. */
function customizationOf(c) {
  if (!c || typeof c !== "object") return null;
  const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
  const out = { texts: obj(c.texts), colors: obj(c.colors) };
  return Object.keys(out.texts).length || Object.keys(out.colors).length ? out : null;
}

/**
 * The languages a visit offers: the session's `langs` that the kiosk has texts for, in the
 * session's order; the kiosk's languages when the session names none of them (or none at all).
 */
export function visitLanguages(state) {
  const kiosk = state.info.languages;
  const wanted = state.session && Array.isArray(state.session.langs) ? state.session.langs : [];
  const both = wanted.filter((l) => kiosk.includes(l));
  return both.length ? both : kiosk;
}

/**
 * A claimed session (typed code, QR code, staff's pick) begins its visit on the consent screen, in
 * its language and with its customization. The language a customer chose on the welcome screen
 * stands when the session offers it; otherwise the session's `lang` (the integrator's
 * `defaultLang`), else the current one, else the first the session offers.
 */
function toVisit(state, event, changes = {}) {
  const session = {
    id: event.sessionId,
    test: !!event.test,
    langs: Array.isArray(event.langs) ? event.langs.filter((l) => typeof l === "string") : [],
    customization: customizationOf(event.customization),
  };
  const s = go({ ...state, ...changes, session }, "consent");
  const offered = visitLanguages(s);
  const chose = state.lang !== state.info.defaultLang && offered.includes(state.lang);
  if (!chose) {
    if (typeof event.lang === "string" && offered.includes(event.lang)) s.lang = event.lang;
    else if (!offered.includes(state.lang)) s.lang = offered[0] || state.lang;
  }
  const effects = [];
  if (session.customization) effects.push({ type: "customize", customization: session.customization });
  if (s.lang !== state.lang || session.customization) effects.push({ type: "loadTexts", lang: s.lang });
  return { state: s, effects };
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
      staff: null,
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
  // The last session's texts and colours go with it (loadTexts draws the screen without them).
  const customized = !!(state.session && state.session.customization);
  if (customized) effects.push({ type: "customize", customization: null });
  if (state.lang !== state.info.defaultLang || customized) {
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
 * Staff: `logoDown`, `logoUp`, `staffOpen`, `pinDigit`, `pinBackspace`, `pinSubmit`, `staffBack`,
 * `staffUnlocked`, `staffUnlockFailed`, `overviewLoaded`, `overviewFailed` (with the `seq` of
 * their request), `staffRefresh`, `staffWalkIn`, `walkInHint`, `walkInDone`, `walkInFailed`,
 * `walkInCancel`, `staffCameraTest`, `cameraTestDone`, `cameraTestFailed`, `cameraTestBack` (the
 * camera ones with the `seq` of their stream, `scanFirstFrame` too), `camerasLoaded`,
 * `camerasFailed` (with the `seq` of their request), `cameraTestPick` (with the `camera` tapped),
 * `cameraUse`, `cameraUseConfigured`, `cameraUsed`, `cameraUseFailed`, `lock`, `exit`,
 * `exitDismiss`, `exitConfirm`, `exitFailed`, `staffWaiting`, `waitingLoaded`, `waitingFailed`,
 * `waitingRefresh`, `waitingBack`, `waitingPick` (with the `sessionId` tapped), `pickDismiss`,
 * `pickConfirm`, `picked`, `pickFailed` (the list's and the pick's answers with the `seq` of
 * their list).
 *
 * `claimed`, `scanned` and `picked` carry the session's `lang`, `langs` and `customization`.
 *
 * Effects: `loadTexts {lang}`, `customize {customization}` (null: the theme's own again; a
 * `loadTexts` follows it), `claim {digits}`, `startScan {seq}`, `cancelScan`,
 * `startSession {seq, sessionId, lang}`, `cancelSession`, `retrySession`, `staffUnlock {pin}`,
 * `staffLock`, `staffOverview {seq}`, `staffWaitingSessions {seq}`, `staffPick {seq, sessionId}`,
 * `startWalkIn {seq}`, `startCameraTest {seq, camera}`, `staffCameras {seq}`, `staffUseCamera {camera}`,
 * `staffExit`.
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

    case "language": {
      // On the welcome screen, the kiosk's languages; on the consent screen, the visit's.
      const offered = screen === "attract" ? state.info.languages : screen === "consent" ? visitLanguages(state) : [];
      if (!offered.includes(event.lang) || event.lang === state.lang) return same;
      const s = screen === "consent" ? touched(state) : state;
      return { state: { ...s, lang: event.lang }, effects: [{ type: "loadTexts", lang: event.lang }] };
    }

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
      return toVisit(state, event, { claiming: false, digits: "" });

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
        state: go({ ...state, digits: "", codeError: null, scanSeq: seq, scan: freshCamera() }, "scan"),
        effects: [{ type: "startScan", seq }],
      };
    }

    case "scanFirstFrame":
      if (event.seq !== state.scanSeq || !CAMERA_SCREENS.includes(screen) || !state.scan || !state.scan.opening) {
        return same;
      }
      return { state: { ...state, scan: { ...state.scan, opening: false } }, effects: [] };

    case "scanned":
      // A scan that was canceled or left (a new one, the idle timeout) has no say any more.
      if (event.seq !== state.scanSeq || screen !== "scan") return same;
      if (typeof event.sessionId !== "string" || event.sessionId === "") {
        return { state: toOutcome({ ...state, scan: null }, "error", "UNEXPECTED_ERROR"), effects: [] };
      }
      return toVisit(state, event, { scan: null, digits: "" });

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
      return onStaffEvent(state, event);
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
    const back = STAFF_SCREENS.includes(state.screen) ? leaveStaff(state) : toAttract(state);
    // Walked away in front of the camera: it stops too.
    if (CAMERA_SCREENS.includes(state.screen)) back.effects.unshift({ type: "cancelScan" });
    return back;
  }
  if (state.pressDeadline != null && now >= state.pressDeadline) {
    return { state: toPin({ ...state, pressDeadline: null }, "menu"), effects: [] };
  }
  if (state.staff && state.staff.lockedUntil != null && now >= state.staff.lockedUntil) {
    return { state: { ...state, staff: { ...state.staff, lockedUntil: null } }, effects: [] };
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

    case "hint": {
      if (typeof e.hint !== "string") return same;
      // A new hint on the capture screen sounds (main.js spaces hint sounds out).
      const effects = state.screen === "capture" && e.hint !== capture.hint ? [sound("hint")] : [];
      // Only `camera` events show or hide the camera-lost overlay; a hint is a hint.
      return { state: { ...state, capture: { ...capture, hint: e.hint, opening: false } }, effects };
    }

    case "face":
      return { state: { ...state, capture: { ...capture, face: validBox(e.box) } }, effects: [] };

    case "progress": {
      const v = Number(e.value);
      if (!Number.isFinite(v)) return same;
      const value = Math.min(1, Math.max(0, v));
      // Holding still comes before and after the challenges: a progress means none is asked now.
      return { state: { ...state, capture: { ...capture, progress: value, challenge: null, opening: false } }, effects: [] };
    }

    case "challenge": {
      if (e.challenge == null) return { state: { ...state, capture: { ...capture, challenge: null } }, effects: [] };
      const challenge = { kind: String(e.challenge), index: Number(e.index) || 1, count: Number(e.count) || 1 };
      const was = capture.challenge;
      const fresh = !was || was.kind !== challenge.kind || was.index !== challenge.index;
      return {
        state: { ...state, capture: { ...capture, opening: false, progress: null, challenge } },
        // A new prompt sounds; the same one sent again does not.
        effects: fresh && state.screen === "capture" ? [sound("challenge")] : [],
      };
    }

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
        effects: [sound("failure")],
      };
    }

    case "outcome": {
      const code = typeof e.code === "string" ? e.code : null;
      let target = OUTCOME_TO_SCREEN[e.outcome] || "error";
      if (target === "error" && code) target = screenForError(code);
      if (target === "seeStaff" && CAMERA_CODES.includes(code)) target = "cameraError";
      const effects = OUTCOME_SOUNDS[target] ? [sound(OUTCOME_SOUNDS[target])] : [];
      return { state: toOutcome(state, target, code, !!e.queued), effects };
    }

    default:
      return same;
  }
}

/** The outcome screens that sound (the theme's `success` and `failure` sounds). */
const OUTCOME_SOUNDS = { success: "success", failure: "failure" };

/** A theme sound to play (main.js: ui/theme.js `makeSounds`); `name` is one of its moments. */
function sound(name) {
  return { type: "sound", sound: name };
}

function validBox(box) {
  if (!box || typeof box !== "object") return null;
  const b = { x: Number(box.x), y: Number(box.y), w: Number(box.w), h: Number(box.h) };
  return Object.values(b).every(Number.isFinite) && b.w > 0 && b.h > 0 ? b : null;
}

// ---------------------------------------------------------------------------------------------
// The staff screens (the protocol with the app: tests/ui/README.md)

/** Screens staff can sign in from, and where a right PIN leads from each. */
const STAFF_ENTRIES = { attract: "menu", outOfService: "menu", offline: "walkIn" };

/** The PIN screen, for a new sign-in (`notice`: why it shows, if not by choice). */
function toPin(state, intent, notice = null) {
  return go({ ...state, scan: null, outcome: null, staff: freshStaff(intent, notice) }, "staffPin");
}

/** The staff menu, asking the app for a fresh overview on the way. */
function toMenu(state, notice = null) {
  const seq = state.overviewSeq + 1;
  const staff = { ...state.staff, notice, loading: true, confirmExit: false, exiting: false };
  return {
    state: go({ ...state, scan: null, overviewSeq: seq, staff }, "staffMenu"),
    effects: [{ type: "staffOverview", seq }],
  };
}

/**
 * The waiting list, asking the app for it on the way (Refresh, or after a pick that found its
 * session gone: the list drawn stays until the new one comes).
 */
function toWaiting(state, notice = null) {
  const seq = state.waitingSeq + 1;
  const staff = { ...state.staff, notice, waitingLoading: true, confirmPick: null, picking: false };
  return {
    state: go({ ...state, waitingSeq: seq, staff }, "staffWaiting"),
    effects: [{ type: "staffWaitingSessions", seq }],
  };
}

/** The staff session is over (the app said STAFF_REQUIRED): sign in again. */
function toPinAgain(state) {
  return { state: toPin(state, "menu", { key: "screen.staffPin.ended" }), effects: [] };
}

/**
 * Off the staff screens, back to the start (out of service if the kiosk cannot take customers),
 * locking the staff session on the way: sent even if none is open, which the app takes calmly.
 */
function leaveStaff(state) {
  const back = state.info.ready && state.info.registered
    ? toAttract(state)
    : { state: go({ ...state, scan: null, scanSeq: state.scanSeq + 1, staff: null }, "outOfService"), effects: [] };
  back.effects.unshift({ type: "staffLock" });
  return back;
}

/** The camera looks for the walk-in customer's ID photo. */
function startWalkIn(state) {
  const seq = state.scanSeq + 1;
  return {
    state: go({ ...state, scanSeq: seq, scan: freshCamera(), staff: { ...state.staff, notice: null } }, "walkIn"),
    effects: [{ type: "startWalkIn", seq }],
  };
}

/** A whole number ≥ 0 from an answer's field (0 when it is not one). */
function count(value) {
  const n = Math.floor(Number(value));
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The overview as the menu draws it: every field there, of the type it needs, whatever came. */
function normalizeOverview(o) {
  const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
  const list = (v) => (Array.isArray(v) ? v.map(obj) : []);
  const str = (v) => (v == null ? "" : String(v));
  const time = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const data = obj(o);
  const queue = obj(data.queue);
  return {
    operator: str(data.operator),
    kioskId: str(data.kioskId),
    registered: !!data.registered,
    queue: {
      pending: count(queue.pending),
      inFlight: count(queue.inFlight),
      dead: count(queue.dead),
      acknowledged: count(queue.acknowledged),
      expired: count(queue.expired),
      lastSuccessfulSync: time(queue.lastSuccessfulSync),
    },
    dead: list(data.dead).map((d) => ({ sessionId: str(d.sessionId), reason: str(d.reason), at: time(d.at) })),
    recent: list(data.recent).map((r) => ({
      sessionId: str(r.sessionId),
      at: time(r.at),
      outcome: str(r.outcome),
      walkIn: !!r.walkIn,
      delivery: r.delivery == null ? null : str(r.delivery),
    })),
    settings: list(data.settings).map((x) => ({ key: str(x.key), value: str(x.value) })),
    warnings: (Array.isArray(data.warnings) ? data.warnings : []).filter((w) => typeof w === "string" && w !== ""),
  };
}

/**
 * The waiting list as the screen draws it: only sessions with an id, every field of its type
 * (times in ms: the app says unix seconds), in the app's order (newest first).
 */
function normalizeWaiting(answer) {
  const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
  const data = Array.isArray(answer) ? answer : obj(answer).data;
  const ms = (v) => (typeof v === "number" && Number.isFinite(v) ? v * 1000 : null);
  return (Array.isArray(data) ? data : []).map(obj).map((w) => ({
    sessionId: w.sessionId == null ? "" : String(w.sessionId),
    reference: typeof w.clientReferenceId === "string" && w.clientReferenceId.trim() ? w.clientReferenceId.trim() : null,
    test: !!w.test,
    created: ms(w.createdAt),
    expires: ms(w.expiresAt),
  })).filter((w) => w.sessionId !== "");
}

/** The staff events (and anything else: unknown events change nothing). */
function onStaffEvent(state, event) {
  const same = { state, effects: [] };
  const screen = state.screen;
  const staff = state.staff;

  switch (event.type) {
    case "logoDown":
      // The hidden way in: the logo held for STAFF_HOLD_MS (a short tap still starts a visit).
      if (screen !== "attract" && screen !== "outOfService") return same;
      return { state: { ...state, pressDeadline: state.now + STAFF_HOLD_MS }, effects: [] };

    case "logoUp":
      if (state.pressDeadline == null) return same;
      return { state: { ...state, pressDeadline: null }, effects: [] };

    case "staffOpen":
      // Ctrl+Alt+S on the welcome and out-of-service screens; the offline screen's button.
      if (!STAFF_ENTRIES[screen]) return same;
      return { state: toPin(state, STAFF_ENTRIES[screen]), effects: [] };

    case "pinDigit": {
      if (screen !== "staffPin" || staff.checking || !/^[0-9]$/.test(String(event.digit))) return same;
      const s = touched(state);
      if (staff.pin.length >= PIN_MAX) return { state: s, effects: [] };
      // Typing again clears the last answer's message (a lockout's shows until it ends).
      return { state: { ...s, staff: { ...staff, pin: staff.pin + event.digit, notice: null } }, effects: [] };
    }

    case "pinBackspace":
      if (screen !== "staffPin" || staff.checking) return same;
      return { state: { ...touched(state), staff: { ...staff, pin: staff.pin.slice(0, -1), notice: null } }, effects: [] };

    case "pinSubmit":
      if (screen !== "staffPin" || staff.checking || staff.pin.length < PIN_MIN || staffLockSeconds(state) > 0) {
        return same;
      }
      return {
        state: { ...touched(state), staff: { ...staff, checking: true, notice: null } },
        effects: [{ type: "staffUnlock", pin: staff.pin }],
      };

    case "staffBack":
      if (screen !== "staffPin" || staff.checking) return same;
      return leaveStaff(state);

    case "staffUnlocked": {
      // A PIN screen left while the app checked (idle): the session it opened must not stay open.
      if (screen !== "staffPin" || !staff.checking) return { state, effects: [{ type: "staffLock" }] };
      const s = { ...state, staff: { ...staff, pin: "", checking: false, operator: String(event.operator || "") } };
      return staff.intent === "walkIn" ? startWalkIn(s) : toMenu(s);
    }

    case "staffUnlockFailed": {
      if (screen !== "staffPin" || !staff.checking) return same;
      const error = event.error || {};
      const code = codeOf(error);
      const s = { ...staff, pin: "", checking: false, notice: null };
      if (code === "STAFF_PIN_WRONG") s.notice = { key: "screen.staffPin.wrong", n: count(error.attemptsLeft) };
      else if (code === "STAFF_LOCKED") s.lockedUntil = state.now + (count(error.retryAfterS) || DEFAULT_LOCK_S) * 1000;
      else if (code === "STAFF_NOT_CONFIGURED") s.notice = { key: "screen.staffPin.notConfigured" };
      else s.notice = { key: "screen.staffPin.failed", vars: { code: code || "UNEXPECTED_ERROR" } };
      return { state: { ...touched(state), staff: s }, effects: [] };
    }

    case "overviewLoaded": {
      if (screen !== "staffMenu" || event.seq !== state.overviewSeq) return same;
      const overview = normalizeOverview(event.overview);
      const operator = overview.operator || staff.operator;
      return { state: { ...state, staff: { ...staff, overview, operator, loading: false } }, effects: [] };
    }

    case "overviewFailed": {
      if (screen !== "staffMenu" || event.seq !== state.overviewSeq) return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      const notice = { key: "screen.staffMenu.overviewFailed", vars: { code: code || "UNEXPECTED_ERROR" } };
      return { state: { ...state, staff: { ...staff, loading: false, notice } }, effects: [] };
    }

    case "staffRefresh":
      if (screen !== "staffMenu" || staff.loading || staff.exiting) return same;
      return toMenu(state);

    case "staffWalkIn":
      // From the menu; from the waiting list too while it says the service cannot be reached.
      if (screen === "staffWaiting" && staff.offline && !staff.picking) return startWalkIn(state);
      if (screen !== "staffMenu" || staff.exiting) return same;
      return startWalkIn(state);

    case "walkInHint":
      if (event.seq !== state.scanSeq || screen !== "walkIn" || typeof event.hint !== "string") return same;
      // As on the capture screen: a hint means the camera runs.
      return { state: { ...state, scan: { ...state.scan, hint: event.hint, opening: false } }, effects: [] };

    case "walkInDone":
      if (event.seq !== state.scanSeq || screen !== "walkIn") return same;
      if (typeof event.sessionId !== "string" || event.sessionId === "") {
        const broken = toOutcome({ ...state, scan: null, staff: null }, "error", "UNEXPECTED_ERROR");
        return { state: broken, effects: [{ type: "staffLock" }] };
      }
      // The app ended the staff session itself: from here on it is the customer's visit (an
      // offline one if the kiosk could not reach the service when staff started it).
      return {
        state: go(
          {
            ...state,
            scan: null,
            staff: null,
            digits: "",
            session: { id: event.sessionId, test: !!event.test, walkIn: true, offline: !!staff.offline },
          },
          "consent",
        ),
        effects: [],
      };

    case "walkInFailed": {
      if (event.seq !== state.scanSeq || screen !== "walkIn") return same;
      const code = codeOf(event.error);
      if (code === "SCAN_CANCELED") return toMenu(state);
      if (code === "PHOTO_TIMEOUT") return toMenu(state, { key: "screen.walkIn.timeout" });
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      const target = CAMERA_CODES.includes(code) ? "cameraError" : "error";
      return { state: toOutcome({ ...state, scan: null, staff: null }, target, code), effects: [{ type: "staffLock" }] };
    }

    case "walkInCancel": {
      if (screen !== "walkIn") return same;
      const back = toMenu(state);
      back.effects.unshift({ type: "cancelScan" });
      return back;
    }

    case "staffCameraTest": {
      if (screen !== "staffMenu" || staff.exiting) return same;
      const seq = state.scanSeq + 1;
      const camerasSeq = staff.camerasSeq + 1;
      const s = { ...state, scanSeq: seq, scan: { ...freshCamera(), camera: null } };
      s.staff = { ...staff, notice: null, cameras: null, camerasSeq, usingCamera: false };
      return {
        state: go(s, "cameraTest"),
        effects: [{ type: "startCameraTest", seq, camera: null }, { type: "staffCameras", seq: camerasSeq }],
      };
    }

    case "camerasLoaded":
      if (screen !== "cameraTest" || event.seq !== staff.camerasSeq) return same;
      return { state: { ...state, staff: { ...staff, cameras: normalizeCameras(event.cameras) } }, effects: [] };

    case "camerasFailed": {
      if (screen !== "cameraTest" || event.seq !== staff.camerasSeq) return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      return { state: { ...state, staff: { ...staff, cameras: { failed: code || "UNEXPECTED_ERROR" } } }, effects: [] };
    }

    case "cameraTestPick": {
      // Another camera in the test: the one shown ends first (one camera, one stream), then it starts.
      const cameras = staff && staff.cameras;
      if (screen !== "cameraTest" || !cameras || !cameras.choosable || staff.usingCamera) return same;
      if (!cameras.devices.some((d) => d.camera === event.camera)) return same;
      const s = touched(state);
      if (s.scan.switchTo !== undefined) return { state: { ...s, scan: { ...s.scan, switchTo: event.camera } }, effects: [] };
      const shown = cameraOf(cameras, testedCamera(s));
      if (shown && shown.camera === event.camera && !s.scan.error) return { state: s, effects: [] };
      if (s.scan.error) return startTest(s, event.camera);
      return { state: { ...s, scan: { ...s.scan, switchTo: event.camera } }, effects: [{ type: "cancelScan" }] };
    }

    case "cameraUse":
    case "cameraUseConfigured": {
      const cameras = staff && staff.cameras;
      if (screen !== "cameraTest" || !cameras || !cameras.choosable || staff.usingCamera) return same;
      const camera = event.type === "cameraUse" ? testedCamera(state) : null;
      if (event.type === "cameraUse") {
        const shown = cameraOf(cameras, camera);
        const inUse = cameraOf(cameras, cameras.current);
        if (!shown || (inUse && inUse.camera === shown.camera)) return same;
      }
      return {
        state: { ...touched(state), staff: { ...staff, usingCamera: true, notice: null } },
        effects: [{ type: "staffUseCamera", camera }],
      };
    }

    case "cameraUsed": {
      if (screen !== "cameraTest" || !staff.usingCamera) return same;
      const current = typeof event.current === "string" ? event.current : staff.cameras.current;
      const device = cameraOf(staff.cameras, current);
      const s = { ...staff, usingCamera: false, cameras: { ...staff.cameras, current } };
      s.notice = { key: "screen.cameraTest.using", vars: { camera: device ? device.name : current } };
      return { state: { ...state, staff: s }, effects: [] };
    }

    case "cameraUseFailed": {
      if (screen !== "cameraTest" || !staff.usingCamera) return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      const notice = { key: "screen.cameraTest.useFailed", vars: { code: code || "UNEXPECTED_ERROR" } };
      return { state: { ...state, staff: { ...staff, usingCamera: false, notice } }, effects: [] };
    }

    case "cameraTestDone": {
      if (event.seq !== state.scanSeq || (screen !== "cameraTest" && screen !== "staffMenu")) return same;
      // Ended for another camera: that one's test starts.
      if (screen === "cameraTest" && state.scan.switchTo !== undefined) return startTest(state, state.scan.switchTo);
      // It ends after the UI's own cancel_scan, when the menu shows again: it says how it went there.
      const notice = Number.isFinite(Number(event.frames)) ? { key: "screen.cameraTest.result", n: count(event.frames) } : null;
      if (screen === "cameraTest") return toMenu(state, notice);
      return notice ? { state: { ...state, staff: { ...staff, notice } }, effects: [] } : same;
    }

    case "cameraTestFailed": {
      if (event.seq !== state.scanSeq || screen !== "cameraTest") return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      if (state.scan.switchTo !== undefined) return startTest(state, state.scan.switchTo);
      if (code === "SCAN_CANCELED") return toMenu(state);
      // What the test is for: the camera's fault shows here, for staff, not on a customer's screen.
      return {
        state: { ...state, scan: { ...state.scan, opening: false, error: code || "UNEXPECTED_ERROR" } },
        effects: [],
      };
    }

    case "cameraTestBack": {
      if (screen !== "cameraTest") return same;
      const back = toMenu(state);
      if (!state.scan.error) back.effects.unshift({ type: "cancelScan" });
      return back;
    }

    case "staffWaiting":
      // A new look at the list: the one drawn on an earlier visit to it is not shown meanwhile.
      if (screen !== "staffMenu" || staff.exiting) return same;
      return toWaiting({ ...state, staff: { ...staff, waiting: null } });

    case "waitingLoaded": {
      if (screen !== "staffWaiting" || event.seq !== state.waitingSeq) return same;
      // A list that came means the service is reached: no walk-in offered instead any more.
      const waiting = normalizeWaiting(event.sessions);
      return { state: { ...state, staff: { ...staff, waiting, waitingLoading: false, offline: false } }, effects: [] };
    }

    case "waitingFailed": {
      if (screen !== "staffWaiting" || event.seq !== state.waitingSeq) return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      // No list, rather than one that may be out of date (the screen says it could not be loaded).
      const s = { ...staff, waiting: null, waitingLoading: false };
      if (code === "NETWORK_ERROR") {
        s.offline = true;
        s.notice = { key: "screen.staffWaiting.offline" };
      } else if (code === "NOT_REGISTERED") {
        s.notice = { key: "screen.staffWaiting.notRegistered" };
      } else {
        s.notice = { key: "screen.staffWaiting.loadFailed", vars: { code: code || "UNEXPECTED_ERROR" } };
      }
      return { state: { ...state, staff: s }, effects: [] };
    }

    case "waitingRefresh":
      if (screen !== "staffWaiting" || staff.waitingLoading || staff.picking) return same;
      return toWaiting(state);

    case "waitingBack":
      if (screen !== "staffWaiting" || staff.picking) return same;
      return toMenu(state);

    case "waitingPick": {
      // A session tapped: asked about first (staff vouch for the customer in front of them).
      if (screen !== "staffWaiting" || staff.picking || !staff.waiting) return same;
      const pick = staff.waiting.find((w) => w.sessionId === event.sessionId);
      if (!pick) return same;
      return { state: { ...touched(state), staff: { ...staff, confirmPick: pick } }, effects: [] };
    }

    case "pickDismiss":
      if (screen !== "staffWaiting" || !staff.confirmPick || staff.picking) return same;
      return { state: { ...touched(state), staff: { ...staff, confirmPick: null } }, effects: [] };

    case "pickConfirm":
      if (screen !== "staffWaiting" || !staff.confirmPick || staff.picking) return same;
      return {
        state: { ...touched(state), staff: { ...staff, picking: true, notice: null } },
        effects: [{ type: "staffPick", seq: state.waitingSeq, sessionId: staff.confirmPick.sessionId }],
      };

    case "picked":
      if (screen !== "staffWaiting" || !staff.picking || event.seq !== state.waitingSeq) return same;
      if (typeof event.sessionId !== "string" || event.sessionId === "") {
        const broken = toOutcome({ ...state, staff: null }, "error", "UNEXPECTED_ERROR");
        return { state: broken, effects: [{ type: "staffLock" }] };
      }
      // The app took the session in the staff member's name and ended the staff session: from
      // here on it is the customer's visit, as after a claim.
      return toVisit(state, event, { staff: null, digits: "" });

    case "pickFailed": {
      if (screen !== "staffWaiting" || !staff.picking || event.seq !== state.waitingSeq) return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      const s = { ...staff, picking: false, confirmPick: null };
      // Taken, ended or gone meanwhile: said, and the list is asked for again.
      if (PICK_GONE[code]) return toWaiting({ ...state, staff: s }, { key: PICK_GONE[code] });
      if (code === "NETWORK_ERROR") {
        s.offline = true;
        s.notice = { key: "screen.staffWaiting.pickOffline" };
      } else {
        s.notice = { key: "screen.staffWaiting.pickFailed", vars: { code: code || "UNEXPECTED_ERROR" } };
      }
      return { state: { ...touched(state), staff: s }, effects: [] };
    }

    case "lock":
      if (screen !== "staffMenu" || staff.exiting) return same;
      return leaveStaff(state);

    case "exit":
      if (screen !== "staffMenu" || staff.exiting) return same;
      return { state: { ...state, staff: { ...staff, confirmExit: true } }, effects: [] };

    case "exitDismiss":
      if (screen !== "staffMenu" || !staff.confirmExit || staff.exiting) return same;
      return { state: { ...state, staff: { ...staff, confirmExit: false } }, effects: [] };

    case "exitConfirm":
      if (screen !== "staffMenu" || !staff.confirmExit || staff.exiting) return same;
      return { state: { ...state, staff: { ...staff, exiting: true } }, effects: [{ type: "staffExit" }] };

    case "exitFailed": {
      if (screen !== "staffMenu" || !staff.exiting) return same;
      const code = codeOf(event.error);
      if (code === STAFF_REQUIRED) return toPinAgain(state);
      const notice = { key: "screen.staffMenu.exitFailed", vars: { code: code || "UNEXPECTED_ERROR" } };
      return { state: { ...state, staff: { ...staff, exiting: false, confirmExit: false, notice } }, effects: [] };
    }

    default:
      return same;
  }
}

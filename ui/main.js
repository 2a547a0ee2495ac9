// Wires the kiosk's screens together: input (touch, keyboard) and the app's answers become events
// for flow.js; its new state is drawn by view.js; its effects are carried out here, through
// bridge.js (the only module that talks to the app). The protocol with the app: tests/ui/README.md.

import * as bridge from "./bridge.js";
import { initialState, next } from "./flow.js";
import { setTexts, setEnglish, setOverlay } from "./texts.js";
import { setupView, applyLanguage, render } from "./view.js";
import { showFrame, clearPreview, SCAN, WALK_IN, CAMERA_TEST } from "./preview.js";
import { frameBytes } from "./geometry.js";
import { installLockdown } from "./lockdown.js";
import { applyTheme, applySessionColors, makeSounds } from "./theme.js";

/** How often deadlines (idle, outcome countdown) are checked (ms). */
const TICK_MS = 200;
/** How often an out-of-service kiosk asks the app again whether it is ready (ms). */
const RECHECK_MS = 30000;

/** How long the first screen waits for the app's theme (ms); without it, style.css's look. */
const THEME_WAIT_MS = 2000;

/** Screens that show the camera: leaving them for any other forgets the last frame. */
const PREVIEW_SCREENS = ["scan", "capture", "processing", "attemptFailed", "walkIn", "cameraTest"];

let state = initialState();
let textsRequest = 0;
let loadedLang = null;
let englishLoaded = false;
/** The theme's sounds (none until the theme came). */
let sounds = makeSounds({});
/** Puts back the theme's colours after a session's own (none while no session brought any). */
let restoreColors = null;
/** Settles once the theme is applied, or failed, or took too long. */
let themeReady = Promise.resolve();

/** Feeds one event to the state machine, draws the result and runs its effects. */
function dispatch(event) {
  const prev = state;
  const result = next(state, { ...event, now: performance.now() });
  state = result.state;
  if (state !== prev) {
    if (PREVIEW_SCREENS.includes(prev.screen) && !PREVIEW_SCREENS.includes(state.screen)) clearPreview();
    render(state, prev);
  }
  for (const effect of result.effects) run(effect);
}

function run(effect) {
  switch (effect.type) {
    case "loadTexts":
      loadTexts(effect.lang);
      break;
    case "customize":
      customize(effect.customization);
      break;
    case "claim":
      bridge.invoke("claim_session", { digits: effect.digits }).then(
        (r) => dispatch({ type: "claimed", ...visitOf(r) }),
        (error) => dispatch({ type: "claimFailed", error }),
      );
      break;
    case "startScan":
      startScan(effect);
      break;
    case "cancelScan":
      // The screen has moved on already; scan_session then rejects with SCAN_CANCELED (ignored).
      bridge.invoke("cancel_scan").catch(() => {});
      break;
    case "startSession":
      startSession(effect);
      break;
    case "cancelSession":
      bridge.invoke("cancel_session").catch((error) => dispatch({ type: "cancelFailed", seq: effect.seq, error }));
      break;
    case "retrySession": {
      const seq = state.sessionSeq;
      bridge.invoke("retry_session").catch((error) => dispatch({ type: "startFailed", seq, error }));
      break;
    }
    case "staffUnlock":
      bridge.invoke("staff_unlock", { pin: effect.pin }).then(
        (r) => dispatch({ type: "staffUnlocked", operator: r && r.operator }),
        (error) => dispatch({ type: "staffUnlockFailed", error }),
      );
      break;
    case "staffLock":
      // The screen has moved on already; the app also ends an idle staff session by itself.
      bridge.invoke("staff_lock").catch(() => {});
      break;
    case "staffOverview":
      bridge.invoke("staff_overview").then(
        (overview) => dispatch({ type: "overviewLoaded", seq: effect.seq, overview }),
        (error) => dispatch({ type: "overviewFailed", seq: effect.seq, error }),
      );
      break;
    case "staffWaitingSessions":
      bridge.invoke("staff_waiting_sessions").then(
        (answer) => dispatch({ type: "waitingLoaded", seq: effect.seq, sessions: answer }),
        (error) => dispatch({ type: "waitingFailed", seq: effect.seq, error }),
      );
      break;
    case "staffPick":
      bridge.invoke("staff_pick_session", { sessionId: effect.sessionId }).then(
        (r) => dispatch({ type: "picked", seq: effect.seq, ...visitOf(r) }),
        (error) => dispatch({ type: "pickFailed", seq: effect.seq, error }),
      );
      break;
    case "startWalkIn":
      startWalkIn(effect);
      break;
    case "startCameraTest":
      startCameraTest(effect);
      break;
    case "staffCameras":
      bridge.invoke("staff_cameras").then(
        (cameras) => dispatch({ type: "camerasLoaded", seq: effect.seq, cameras }),
        (error) => dispatch({ type: "camerasFailed", seq: effect.seq, error }),
      );
      break;
    case "staffUseCamera":
      bridge.invoke("staff_use_camera", { camera: effect.camera }).then(
        (r) => dispatch({ type: "cameraUsed", current: r && r.current }),
        (error) => dispatch({ type: "cameraUseFailed", error }),
      );
      break;
    case "sound":
      sounds.play(effect.sound);
      break;
    case "staffExit":
      // On success the app exits: nothing comes back.
      bridge.invoke("staff_exit").catch((error) => dispatch({ type: "exitFailed", error }));
      break;
  }
}

/** What a claim's answer (claim_session, scan_session, staff_pick_session) tells the flow. */
function visitOf(r) {
  const a = r && typeof r === "object" ? r : {};
  return { sessionId: a.sessionId, test: !!a.test, lang: a.lang, langs: a.langs, customization: a.customization };
}

/**
 * A session's own texts and colours for its visit; null puts the kiosk's back. The flow follows
 * it with `loadTexts`, which draws the screen with them.
 */
function customize(customization) {
  if (restoreColors) {
    restoreColors();
    restoreColors = null;
  }
  setOverlay(customization ? customization.texts : null);
  if (customization && customization.colors) restoreColors = applySessionColors(customization.colors);
}

/**
 * A channel for the frames of a camera stream without a session (scan, walk-in, camera test),
 * shown in preview `target` while `screen` shows that stream; the first one ends the spinner.
 */
function cameraFrames(seq, screen, target) {
  let firstFrame = true;
  return bridge.channel((data) => {
    // Frames of a stream that was canceled or left are dropped.
    if (seq !== state.scanSeq || state.screen !== screen) return;
    const bytes = frameBytes(data);
    if (!bytes || bytes.length === 0) return;
    showFrame(bytes, target);
    if (firstFrame) {
      firstFrame = false;
      dispatch({ type: "scanFirstFrame", seq });
    }
  });
}

/** A channel message as an object: the app may send objects or JSON strings (null if neither). */
function messageObject(message) {
  if (typeof message !== "string") return message && typeof message === "object" ? message : null;
  try {
    const parsed = JSON.parse(message);
    return parsed && typeof parsed === "object" ? parsed : null;
  } catch {
    return null;
  }
}

/** Starts the camera to read a session's QR code; its frames show in the scan screen's preview. */
function startScan({ seq }) {
  const onFrame = cameraFrames(seq, "scan", SCAN);
  bridge.invoke("scan_session", { onFrame }).then(
    (r) => dispatch({ type: "scanned", seq, ...visitOf(r) }),
    (error) => dispatch({ type: "scanFailed", seq, error }),
  );
}

/** Starts the camera to take a walk-in customer's ID photo, with the app's hints for staff. */
function startWalkIn({ seq }) {
  const onFrame = cameraFrames(seq, "walkIn", WALK_IN);
  const onHint = bridge.channel((message) => {
    const m = messageObject(message);
    if (m) dispatch({ type: "walkInHint", seq, hint: m.hint });
  });
  bridge.invoke("staff_walk_in", { onFrame, onHint }).then(
    (r) => dispatch({ type: "walkInDone", seq, sessionId: r && r.sessionId, test: !!(r && r.test) }),
    (error) => dispatch({ type: "walkInFailed", seq, error }),
  );
}

/** Starts the camera for staff to see what it sees, until Back (cancel_scan). */
function startCameraTest({ seq, camera }) {
  const onFrame = cameraFrames(seq, "cameraTest", CAMERA_TEST);
  // No camera named: the one in use.
  const args = typeof camera === "string" ? { onFrame, camera } : { onFrame };
  bridge.invoke("staff_camera_test", args).then(
    (r) => dispatch({ type: "cameraTestDone", seq, frames: r && r.frames }),
    (error) => dispatch({ type: "cameraTestFailed", seq, error }),
  );
}

function startSession({ seq, sessionId, lang }) {
  let firstFrame = true;
  const onEvent = bridge.channel((message) => {
    const event = messageObject(message);
    if (event) dispatch({ type: "session", seq, event });
  });
  const onFrame = bridge.channel((data) => {
    // Frames of an earlier session, or while no preview shows, are dropped.
    if (seq !== state.sessionSeq || state.screen !== "capture") return;
    const bytes = frameBytes(data);
    if (!bytes || bytes.length === 0) return;
    showFrame(bytes);
    if (firstFrame) {
      firstFrame = false;
      dispatch({ type: "firstFrame", seq });
    }
  });
  bridge
    .invoke("start_session", { sessionId, lang, onEvent, onFrame })
    .catch((error) => dispatch({ type: "startFailed", seq, error }));
}

/**
 * Asks the app for its theme and applies it (colours, radii, text size, logo, the welcome
 * screen's picture, sounds). A theme that fails, or is late, leaves style.css's default look.
 */
function loadTheme() {
  const asked = bridge.invoke("theme").then(
    (theme) => {
      const style = applyTheme(theme);
      sounds = makeSounds(style.sounds);
      if (style.ignored.length) console.warn(`theme: left out ${style.ignored.join(", ")}`);
    },
    () => {},
  );
  const late = new Promise((resolve) => setTimeout(resolve, THEME_WAIT_MS));
  return Promise.race([asked, late]);
}

/** Loads the texts of `lang` (and English, the fallback for missing keys), then redraws. */
async function loadTexts(lang) {
  const request = ++textsRequest;
  if (lang !== loadedLang) {
    const load = (l) => bridge.invoke("texts", { lang: l }).catch(() => null);
    const [own, english] = await Promise.all([load(lang), lang === "en" || englishLoaded ? null : load("en")]);
    if (request !== textsRequest) return;
    if (english) {
      setEnglish(english);
      englishLoaded = true;
    }
    setTexts(lang, own || {});
    if (lang === "en" && own) englishLoaded = true;
    // A language whose texts did not come is asked again next time.
    loadedLang = own ? lang : null;
  }
  applyLanguage(state);
}

async function askKioskInfo() {
  let info;
  try {
    info = await bridge.invoke("kiosk_info");
  } catch (error) {
    dispatch({ type: "infoFailed", error });
    return;
  }
  // The first screen shows with its texts and its theme, never with keys while they load.
  if (info && typeof info.defaultLang === "string") await loadTexts(info.defaultLang);
  await themeReady;
  dispatch({ type: "info", info });
}

function onClick(e) {
  const target = e.target instanceof Element ? e.target.closest("[data-action]") : null;
  if (target) {
    if (target.disabled) return;
    const { action, digit, lang, session, camera } = target.dataset;
    dispatch({ type: action, digit, lang, sessionId: session, camera });
    return;
  }
  // The whole welcome screen is one big start button.
  if (state.screen === "attract" && e.target instanceof Element && e.target.closest("#screen-attract")) {
    dispatch({ type: "start" });
  }
}

/** Ctrl+Alt+S: the staff sign-in, for a kiosk with a keyboard (the logo held does it by touch). */
function isStaffKey(e) {
  return e.ctrlKey && e.altKey && (e.code === "KeyS" || e.key.toLowerCase() === "s");
}

function onKey(e) {
  dispatch({ type: "touch" });
  const button = e.target instanceof Element ? e.target.closest("button") : null;
  // A key of a keypad keeps focus after a tap; Enter then means OK, not "press that digit again".
  const onButton = button && !(button.closest(".keys") && !button.classList.contains("key-ok"));
  if ((state.screen === "attract" || state.screen === "outOfService") && isStaffKey(e)) {
    dispatch({ type: "staffOpen" });
    e.preventDefault();
  } else if (state.screen === "keypad") {
    if (/^[0-9]$/.test(e.key)) {
      dispatch({ type: "digit", digit: e.key });
      e.preventDefault();
    } else if (e.key === "Backspace" || e.key === "Delete") {
      dispatch({ type: "backspace" });
      e.preventDefault();
    } else if (e.key === "Enter" && !onButton) {
      dispatch({ type: "submit" });
      e.preventDefault();
    } else if (e.key === "Escape") {
      dispatch({ type: "decline" });
    }
  } else if (state.screen === "attract" && /^[0-9]$/.test(e.key)) {
    // Typing the code straight away starts with it.
    dispatch({ type: "start" });
    dispatch({ type: "digit", digit: e.key });
    e.preventDefault();
  } else if (state.screen === "attract" && (e.key === "Enter" || e.key === " ") && !onButton) {
    dispatch({ type: "start" });
    e.preventDefault();
  } else if (state.screen === "scan" && e.key === "Escape") {
    dispatch({ type: "scanCancel" });
  } else if (state.screen === "capture" && e.key === "Escape") {
    dispatch({ type: state.confirmCancel ? "cancelDismiss" : "cancel" });
  } else if (state.screen === "staffPin") {
    onPinKey(e, onButton);
  } else if (state.screen === "staffMenu" && e.key === "Escape" && state.staff.confirmExit) {
    dispatch({ type: "exitDismiss" });
  } else if (state.screen === "staffWaiting" && e.key === "Escape") {
    // Closes the question first; then back to the menu.
    dispatch({ type: state.staff.confirmPick ? "pickDismiss" : "waitingBack" });
  } else if (state.screen === "walkIn" && e.key === "Escape") {
    dispatch({ type: "walkInCancel" });
  } else if (state.screen === "cameraTest" && e.key === "Escape") {
    dispatch({ type: "cameraTestBack" });
  }
}

/** The staff PIN typed on a keyboard, as on the customer's keypad. */
function onPinKey(e, onButton) {
  if (/^[0-9]$/.test(e.key)) {
    dispatch({ type: "pinDigit", digit: e.key });
    e.preventDefault();
  } else if (e.key === "Backspace" || e.key === "Delete") {
    dispatch({ type: "pinBackspace" });
    e.preventDefault();
  } else if (e.key === "Enter" && !onButton) {
    dispatch({ type: "pinSubmit" });
    e.preventDefault();
  } else if (e.key === "Escape") {
    dispatch({ type: "staffBack" });
  }
}

/** The logo let go of, or slid off: no staff sign-in. */
function onLogoUp() {
  if (state.pressDeadline != null) dispatch({ type: "logoUp" });
}

function boot() {
  installLockdown();
  setupView();
  render(state, null);
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", (e) => {
    dispatch({ type: "touch" });
    // The hidden way in for staff: the logo held (flow.js times it).
    if (e.target instanceof Element && e.target.closest("[data-hold=staff]")) dispatch({ type: "logoDown" });
  }, { passive: true });
  // Scrolling a staff list with a mouse wheel is someone at the screen too.
  document.addEventListener("wheel", () => dispatch({ type: "touch" }), { passive: true });
  document.addEventListener("pointerup", onLogoUp, { passive: true });
  document.addEventListener("pointercancel", onLogoUp, { passive: true });
  for (const logo of document.querySelectorAll("[data-hold=staff]")) logo.addEventListener("pointerleave", onLogoUp);
  // A kiosk: no long-press menu, no dragging the page's pictures around.
  document.addEventListener("contextmenu", (e) => e.preventDefault());
  document.addEventListener("dragstart", (e) => e.preventDefault());
  setInterval(() => {
    const staffLocked = state.staff && state.staff.lockedUntil != null;
    if (
      state.idleDeadline != null || state.outcomeDeadline != null || state.cancelDeadline != null ||
      state.pressDeadline != null || staffLocked
    ) {
      dispatch({ type: "tick" });
    }
  }, TICK_MS);
  setInterval(() => {
    if (state.screen === "outOfService") askKioskInfo();
  }, RECHECK_MS);
  themeReady = loadTheme();
  askKioskInfo();
}

boot();

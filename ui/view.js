// Draws a state of flow.js into the page: which section shows, and the texts, numbers and
// pictures that change. Only touches what changed, so CSS animations and screen readers are not
// disturbed by a re-render.

import { t, plural, firstOf, has, applyTexts } from "./texts.js";
import { hintIcon, applyIcons } from "./icons.js";
import { secondsLeft, CODE_LENGTH, OUTCOME_SCREENS } from "./flow.js";
import { faceInOval } from "./geometry.js";
import { frameSize } from "./preview.js";

const $ = (id) => document.getElementById(id);

/** Screens with the step bar at the top, and the step each one is at. */
const STEP_OF = {
  keypad: "code",
  scan: "code",
  consent: "consent",
  capture: "face",
  processing: "face",
  attemptFailed: "face",
};
const STEPS = ["code", "consent", "face", "result"];

/** Sets an element's text only when it changed (a live region re-announces any write). */
function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

function show(el, visible) {
  if (el && el.hidden === visible) el.hidden = !visible;
}

/** One-time setup: the shared footer of outcome screens, and every icon. */
export function setupView() {
  const template = $("result-footer");
  for (const footer of document.querySelectorAll(".result-footer")) {
    footer.append(template.content.cloneNode(true));
  }
  applyIcons(document);
}

/** After texts are loaded: language, direction, every `data-t`, and the language buttons. */
export function applyLanguage(state) {
  const root = document.documentElement;
  root.lang = state.lang;
  root.dir = t("screen.dir") === "rtl" ? "rtl" : "ltr";
  document.title = t("screen.appName");
  applyTexts(document);
  buildLanguages(state);
  render(state, null);
}

function buildLanguages(state) {
  const nav = $("languages");
  nav.replaceChildren();
  for (const code of state.info.languages) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-lang";
    b.dataset.action = "language";
    b.dataset.lang = code;
    b.lang = code;
    // Each language's name as its own speakers write it; the code when no text names it.
    b.textContent = has(`screen.language.${code}`) ? t(`screen.language.${code}`) : code.toUpperCase();
    nav.append(b);
  }
  show(nav, state.info.languages.length > 0);
}

/** Draws `state`; `prev` is the state drawn before (null to redraw everything). */
export function render(state, prev) {
  const app = $("app");
  const changedScreen = !prev || prev.screen !== state.screen;
  if (changedScreen) {
    app.dataset.screen = state.screen;
    for (const section of document.querySelectorAll("section.screen")) {
      show(section, section.dataset.screen === state.screen);
    }
    app.style.setProperty("--outcome-ms", `${state.info.outcomeSeconds * 1000}ms`);
  }

  renderTopbar(state);
  for (const b of document.querySelectorAll("#languages [data-lang]")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  }

  switch (state.screen) {
    case "outOfService":
      renderOutOfService(state);
      break;
    case "keypad":
      renderKeypad(state);
      break;
    case "scan":
      renderScan(state);
      break;
    case "capture":
      renderCapture(state);
      break;
    case "attemptFailed":
      renderAttemptFailed(state);
      break;
    default:
      if (OUTCOME_SCREENS.includes(state.screen)) renderOutcome(state);
  }
  show($("cancel-dialog"), state.screen === "capture" && state.confirmCancel);

  if (changedScreen && prev) focusHeading(state.screen);
  if (state.confirmCancel && !(prev && prev.confirmCancel)) $("cancel-title").focus({ preventScroll: true });
}

/** A screen reader reads the new screen from its title. */
function focusHeading(screen) {
  const section = document.querySelector(`section[data-screen="${screen}"]`);
  const h1 = section && section.querySelector("h1");
  if (h1) h1.focus({ preventScroll: true });
}

function renderTopbar(state) {
  const outcome = OUTCOME_SCREENS.includes(state.screen);
  const current = STEP_OF[state.screen];
  show($("topbar"), outcome || !!current);
  // The steps guide a visit under way; an outcome ends it, and ticks on it would suggest a pass.
  show(document.querySelector(".steps"), !!current);
  if (!current) return;
  const at = STEPS.indexOf(current);
  for (const li of document.querySelectorAll(".steps li")) {
    const i = STEPS.indexOf(li.dataset.step);
    li.dataset.state = i < at ? "done" : i === at ? "current" : "todo";
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  const inSession = ["consent", "capture", "processing", "attemptFailed"].includes(state.screen);
  show($("test-badge"), inSession && !!(state.session && state.session.test));
}

function renderOutOfService(state) {
  let problem = state.problem;
  if (!problem) {
    problem = state.info.ready && !state.info.registered
      ? t("screen.outOfService.notRegistered")
      : t("screen.outOfService.unknownProblem");
  }
  setText($("oos-problem"), problem);
  const kiosk = $("oos-kiosk");
  show(kiosk, !!state.info.kioskId);
  if (state.info.kioskId) setText(kiosk, t("screen.common.kiosk", { kioskId: state.info.kioskId }));
}

function renderKeypad(state) {
  const cells = document.querySelectorAll("#code .code-cell");
  cells.forEach((cell, i) => {
    setText(cell, state.digits[i] || "");
    cell.classList.toggle("filled", i < state.digits.length);
    cell.classList.toggle("current", i === state.digits.length && !state.claiming);
  });
  setText(
    $("code-status"),
    state.claiming ? t("screen.keypad.checking") : plural("screen.keypad.digitsEntered", state.digits.length),
  );
  $("code").classList.toggle("checking", state.claiming);
  show($("code-error"), !!state.codeError);
  if (state.codeError) setText($("code-error-text"), t(state.codeError));
  for (const key of document.querySelectorAll("#keys .key")) key.disabled = state.claiming;
  $("key-ok").disabled = state.claiming || state.digits.length !== CODE_LENGTH;
  $("scan-instead").disabled = state.claiming;
}

function renderScan(state) {
  const opening = !!(state.scan && state.scan.opening);
  show($("scan-opening"), opening);
  $("scan-preview").classList.toggle("scanning", !opening);
}

function renderCapture(state) {
  const c = state.capture;
  const hintEl = $("hint");
  if (hintEl.dataset.hint !== c.hint) {
    hintEl.dataset.hint = c.hint;
    $("hint-icon").innerHTML = hintIcon(c.hint);
  }
  setText($("hint-text"), t(`hint.${c.hint}`));

  show($("preview-opening"), c.opening && !c.cameraLost);
  show($("preview-lost"), c.cameraLost);

  const preview = $("preview");
  const [fw, fh] = frameSize();
  let face = "none";
  if (c.face) {
    face = faceInOval(c.face, fw || 4, fh || 3, preview.clientWidth, preview.clientHeight) ? "in" : "out";
  }
  preview.dataset.face = face;

  const progress = c.progress;
  const meter = $("progress-meter");
  show(meter, progress != null);
  preview.classList.toggle("holding", progress != null);
  if (progress != null) {
    const pct = Math.round(progress * 100);
    meter.setAttribute("aria-valuenow", String(pct));
    $("progress-fill").style.setProperty("--value", String(progress));
    $("oval-progress").style.strokeDashoffset = String(100 - pct);
  } else {
    $("oval-progress").style.strokeDashoffset = "100";
  }

  const ch = c.challenge;
  show($("challenge"), !!ch);
  show($("capture-tips"), !ch);
  if (ch) {
    const head = $("head");
    if (head.dataset.challenge !== ch.kind || head.dataset.index !== String(ch.index)) {
      // A new prompt: restart its animation from the first frame.
      head.dataset.challenge = "";
      void head.getBoundingClientRect();
      head.dataset.challenge = ch.kind;
      head.dataset.index = String(ch.index);
    }
    setText($("challenge-step"), t("screen.capture.challengeStep", { index: ch.index, count: ch.count }));
    setText($("challenge-text"), t(`challenge.${ch.kind}`));
  }
  $("capture-cancel").disabled = state.canceling;
}

function renderAttemptFailed(state) {
  const a = state.attempt || { hint: "TRY_AGAIN", attemptsLeft: 0 };
  setText($("attempt-title"), t(`hint.${a.hint}`));
  const left = $("attempt-left");
  show(left, a.attemptsLeft > 0);
  setText(left, plural("screen.attemptFailed.attemptsLeft", a.attemptsLeft));
  const list = $("attempt-tips");
  if (list.dataset.hint !== a.hint) {
    list.dataset.hint = a.hint;
    list.replaceChildren();
    for (let i = 1; i <= 6 && has(`screen.attemptFailed.tips.${a.hint}.${i}`); i++) {
      const li = document.createElement("li");
      li.textContent = t(`screen.attemptFailed.tips.${a.hint}.${i}`);
      list.append(li);
    }
  }
  for (const b of document.querySelectorAll("#screen-attemptFailed button")) b.disabled = state.canceling;
}

function renderOutcome(state) {
  const section = document.querySelector(`section[data-screen="${state.screen}"]`);
  const code = state.outcome && state.outcome.code;
  for (const el of section.querySelectorAll(".code-text")) {
    setText(el, code ? firstOf([`error.${code}`, el.dataset.fallback]) : t(el.dataset.fallback));
  }
  for (const el of section.querySelectorAll(".staff-hint")) {
    const own = state.screen === "cameraError" ? `screen.cameraError.staff.${code}` : `screen.seeStaff.staffFor.${code}`;
    setText(el, code ? firstOf([own, el.dataset.fallback]) : t(el.dataset.fallback));
  }
  for (const el of section.querySelectorAll(".staff-code")) {
    show(el, !!code);
    if (code) setText(el, t("screen.common.code", { code }));
  }
  for (const el of section.querySelectorAll(".queued-note")) show(el, !!(state.outcome && state.outcome.queued));
  setText(section.querySelector(".countdown-text"), plural("screen.common.returning", secondsLeft(state)));
}

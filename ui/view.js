// Draws a state of flow.js into the page: which section shows, and the texts, numbers and
// pictures that change. Only touches what changed, so CSS animations and screen readers are not
// disturbed by a re-render.

import { t, plural, firstOf, has, applyTexts, numberingSystem, formatNumber, formatDigits, dateTimeFormat } from "./texts.js";
import { icon, hintIcon, applyIcons } from "./icons.js";
import {
  secondsLeft, staffLockSeconds, showsQueuedNote, CODE_LENGTH, PIN_MIN, OUTCOME_SCREENS, visitLanguages, testedCamera, cameraOf,
} from "./flow.js";
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
  // The texts' digits (`screen.digits`: style.css numbers the steps with them too).
  root.dataset.digits = numberingSystem();
  document.title = t("screen.appName");
  applyTexts(document);
  // The keypads' captions in those digits; what a key types stays its ASCII `data-digit`.
  for (const key of document.querySelectorAll(".key[data-digit]")) setText(key, formatDigits(key.dataset.digit));
  buildLanguages(state);
  render(state, null);
}

function buildLanguages(state) {
  // The welcome screen always says which language it speaks; a visit only when it offers more.
  fillLanguages($("languages"), state.info.languages, 1);
  fillLanguages($("visit-languages"), visitLanguages(state), 2);
}

/** A row of language buttons (`data-action="language"`), shown with at least `shownFrom` of them. */
function fillLanguages(nav, codes, shownFrom) {
  nav.replaceChildren();
  for (const code of codes) {
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
  show(nav, codes.length >= shownFrom);
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
  // A visit's languages are the session's: drawn again for each new visit.
  if (changedScreen && state.screen === "consent") fillLanguages($("visit-languages"), visitLanguages(state), 2);
  for (const b of document.querySelectorAll("#languages [data-lang], #visit-languages [data-lang]")) {
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
    case "staffPin":
      renderStaffPin(state);
      break;
    case "staffMenu":
      renderStaffMenu(state, prev);
      break;
    case "staffWaiting":
      renderStaffWaiting(state, prev);
      break;
    case "walkIn":
      renderWalkIn(state);
      break;
    case "cameraTest":
      renderCameraTest(state, prev);
      break;
    default:
      if (OUTCOME_SCREENS.includes(state.screen)) renderOutcome(state);
  }
  showDialog($("cancel-dialog"), state.screen === "capture" && state.confirmCancel);
  const confirmExit = state.screen === "staffMenu" && state.staff.confirmExit;
  showDialog($("exit-dialog"), confirmExit);
  const confirmPick = state.screen === "staffWaiting" && !!state.staff.confirmPick;
  showDialog($("pick-dialog"), confirmPick);
  if (changedScreen) setText($("announce"), announcement(state));
  focusableScrollers(state.screen);

  if (changedScreen && prev) focusHeading(state.screen);
  if (state.confirmCancel && !(prev && prev.confirmCancel)) $("cancel-title").focus({ preventScroll: true });
  const wasConfirming = prev && prev.screen === "staffMenu" && prev.staff && prev.staff.confirmExit;
  if (confirmExit && !wasConfirming) $("exit-title").focus({ preventScroll: true });
  const wasAsking = prev && prev.screen === "staffWaiting" && prev.staff && prev.staff.confirmPick;
  if (confirmPick && !wasAsking) $("pick-title").focus({ preventScroll: true });
}

/**
 * A list that scrolls inside its panel (`.scroll`), or a panel or an outcome's card that scrolls
 * (with large text: style.css), takes the focus, so that the keyboard can scroll it (arrow keys,
 * Page Down); one that fits does not (no stop for nothing on the way round).
 */
function focusableScrollers(screen) {
  for (const el of document.querySelectorAll(`section[data-screen="${screen}"] :is(.scroll, .panel-card, .result-card)`)) {
    const scrolls = el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== "visible";
    // A list of buttons is reached through them.
    if (scrolls && !el.querySelector("button")) {
      if (el.tabIndex !== 0) el.tabIndex = 0;
    } else if (el.hasAttribute("tabindex")) {
      el.removeAttribute("tabindex");
    }
  }
}

/** What opened the dialog that shows (focus goes back to it when the dialog closes). */
let dialogOpener = null;

/**
 * Shows or hides a dialog (its backdrop): while it shows, everything else on the page is inert,
 * so Tab and taps stay in it; closed, focus goes back where it was (the button that opened it).
 */
function showDialog(backdrop, open) {
  if (backdrop.hidden !== open) return;
  show(backdrop, open);
  const section = backdrop.closest("section");
  for (const el of [$("topbar"), ...section.children]) if (el !== backdrop) el.inert = open;
  if (open) {
    dialogOpener = document.activeElement;
  } else {
    const opener = dialogOpener;
    dialogOpener = null;
    // Only on the same screen, to a button still there to press.
    if (!section.hidden && opener instanceof HTMLElement && section.contains(opener) && !opener.disabled) {
      opener.focus({ preventScroll: true });
    }
  }
}

/**
 * What the live region says when a screen shows: an outcome's message, a failed attempt's
 * attempts left (the title is read as focus moves to it); nothing on other screens.
 */
function announcement(state) {
  const section = document.querySelector(`section[data-screen="${state.screen}"]`);
  if (state.screen === "attemptFailed") {
    const left = $("attempt-left");
    return left.hidden ? "" : left.textContent;
  }
  if (!OUTCOME_SCREENS.includes(state.screen) || !section) return "";
  const lead = section.querySelector(".lead");
  return lead ? lead.textContent : "";
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
  show($("walkin-badge"), inSession && !!(state.session && state.session.walkIn));
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
    setText(cell, formatDigits(state.digits[i] || ""));
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
  // Only for a visit made offline: every result is queued first, which online means "sent soon".
  for (const el of section.querySelectorAll(".queued-note")) show(el, showsQueuedNote(state));
  setText(section.querySelector(".countdown-text"), plural("screen.common.returning", secondsLeft(state)));
}

// ---------------------------------------------------------------------------------------------
// Staff screens

/** A staff screen's message (flow.js: `{ key, n?, vars? }`; `n` makes it a counted text). */
function noticeText(notice) {
  return notice.n != null ? plural(notice.key, notice.n, notice.vars) : t(notice.key, notice.vars);
}

function renderStaffPin(state) {
  const st = state.staff;
  setText($("pin-lead"), t(st.intent === "walkIn" ? "screen.staffPin.leadWalkIn" : "screen.staffPin.lead"));
  // One dot per digit: the PIN itself is never in the page.
  const dots = $("pin-dots");
  while (dots.childElementCount < st.pin.length) {
    const dot = document.createElement("span");
    dot.className = "pin-dot";
    dots.append(dot);
  }
  while (dots.childElementCount > st.pin.length) dots.lastElementChild.remove();
  $("pin-field").classList.toggle("checking", st.checking);
  setText($("pin-status"), st.checking ? t("screen.staffPin.checking") : plural("screen.staffPin.digitsEntered", st.pin.length));

  // A lockout's countdown shows until it ends, whatever else was said.
  const locked = staffLockSeconds(state);
  const notice = locked > 0 ? { key: "screen.staffPin.locked", n: locked } : st.notice;
  show($("pin-error"), !!notice);
  if (notice) setText($("pin-error-text"), noticeText(notice));
  for (const key of document.querySelectorAll("#pin-keys .key")) key.disabled = st.checking;
  $("pin-ok").disabled = st.checking || locked > 0 || st.pin.length < PIN_MIN;
  $("pin-back").disabled = st.checking;
}

function renderStaffMenu(state, prev) {
  const st = state.staff;
  const o = st.overview;
  setText($("staff-operator"), t("screen.staffMenu.operator", { operator: st.operator || "–" }));
  const kioskId = (o && o.kioskId) || state.info.kioskId;
  const kiosk = $("staff-kiosk");
  show(kiosk, !!kioskId);
  if (kioskId) setText(kiosk, t("screen.common.kiosk", { kioskId }));
  const registered = $("staff-registered");
  show(registered, !!o);
  if (o) setText(registered, t(o.registered ? "screen.staffMenu.registered" : "screen.staffMenu.notRegistered"));

  show($("staff-notice"), !!st.notice);
  if (st.notice) setText($("staff-notice"), noticeText(st.notice));
  $("staff-refresh").disabled = st.loading || st.exiting;
  for (const id of ["staff-lock", "staff-waiting", "staff-walkin", "staff-camera", "staff-exit"]) $(id).disabled = st.exiting;
  show($("exit-status"), st.exiting);
  for (const b of document.querySelectorAll("#exit-dialog button")) b.disabled = st.exiting;

  // The lists are drawn again only for a new overview (or a new language: `prev` is null then).
  const drawn = prev && prev.screen === "staffMenu" && prev.staff && prev.staff.overview === o;
  if (!drawn) drawOverview(o, state.lang);
}

/** A time (unix ms) in the UI's language and digits: date and time, short. */
function formatTime(ms, lang) {
  return dateTimeFormat({ dateStyle: "short", timeStyle: "short" }, lang).format(new Date(ms));
}

/** A session id's end, enough to tell sessions apart (their start is the same for a while). */
function shortId(id) {
  return id.length > 10 ? t("screen.staffMenu.shortId", { id: id.slice(-8) }) : id;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = text;
  return el;
}

/** A list's single line when it has nothing to show (or the overview has not come yet). */
function emptyItem(tag, key) {
  return element(tag, "staff-empty", t(key));
}

function drawOverview(o, lang) {
  const q = o ? o.queue : null;
  for (const name of ["pending", "inFlight", "dead", "acknowledged", "expired"]) {
    setText($(`queue-${name}`), q ? formatNumber(q[name]) : "–");
  }
  const sync = !q ? t("screen.staffMenu.loading")
    : t("screen.staffMenu.lastSync", {
      time: q.lastSuccessfulSync == null ? t("screen.staffMenu.never") : formatTime(q.lastSuccessfulSync, lang),
    });
  setText($("staff-sync"), sync);

  const dead = $("staff-dead");
  dead.replaceChildren();
  if (!o) dead.append(emptyItem("li", "screen.staffMenu.loading"));
  else if (o.dead.length === 0) dead.append(emptyItem("li", "screen.staffMenu.noDead"));
  for (const d of o ? o.dead : []) {
    const li = element("li", "staff-row dead-row");
    const head = element("span", "row-head");
    head.append(element("span", "row-id", d.sessionId));
    if (d.at != null) head.append(element("span", "row-time", formatTime(d.at, lang)));
    li.append(head, element("span", "row-reason", d.reason));
    dead.append(li);
  }

  const recent = $("staff-recent");
  recent.replaceChildren();
  if (!o) recent.append(emptyItem("li", "screen.staffMenu.loading"));
  else if (o.recent.length === 0) recent.append(emptyItem("li", "screen.staffMenu.noRecent"));
  for (const r of o ? o.recent : []) {
    const li = element("li", "staff-row recent-row");
    const head = element("span", "row-head");
    const word = firstOf([`screen.staffMenu.outcome.${r.outcome}`, "screen.staffMenu.outcome.unknown"]);
    const outcome = element("span", "pill", word);
    outcome.dataset.outcome = r.outcome;
    head.append(outcome);
    if (r.walkIn) head.append(element("span", "pill pill-walkin", t("screen.common.walkIn")));
    if (r.at != null) head.append(element("span", "row-time", formatTime(r.at, lang)));
    const delivery = r.delivery == null ? "screen.staffMenu.delivery.none" : `screen.staffMenu.delivery.${r.delivery}`;
    const foot = element("span", "row-foot");
    foot.append(
      element("span", "row-id", shortId(r.sessionId)),
      element("span", "row-delivery", firstOf([delivery, "screen.staffMenu.delivery.unknown"])),
    );
    li.append(head, foot);
    recent.append(li);
  }

  const settings = $("staff-settings");
  settings.replaceChildren();
  if (!o) settings.append(emptyItem("li", "screen.staffMenu.loading"));
  else if (o.settings.length === 0 && o.warnings.length === 0) settings.append(emptyItem("li", "screen.staffMenu.noSettings"));
  // What the kiosk fell back from at start (a theme's missing logo…) comes first: staff fix it.
  for (const w of o ? o.warnings : []) {
    const li = element("li", "setting setting-warning");
    li.append(element("span", "setting-key", t("screen.staffMenu.warning")), element("span", "setting-value", w));
    settings.append(li);
  }
  for (const x of o ? o.settings : []) {
    const li = element("li", "setting");
    li.append(element("span", "setting-key", x.key), element("span", "setting-value", x.value));
    settings.append(li);
  }
}

function renderStaffWaiting(state, prev) {
  const st = state.staff;
  show($("waiting-notice"), !!st.notice);
  if (st.notice) setText($("waiting-notice"), noticeText(st.notice));
  $("waiting-refresh").disabled = st.waitingLoading || st.picking;
  $("waiting-back").disabled = st.picking;
  // Offered instead while the service cannot be reached.
  const walkIn = $("waiting-walkin");
  show(walkIn, st.offline && !st.waitingLoading);
  walkIn.disabled = st.picking;

  const list = st.waiting;
  let count;
  if (list) count = plural("screen.staffWaiting.count", list.length);
  else count = t(st.waitingLoading ? "screen.staffMenu.loading" : "screen.staffWaiting.unavailable");
  setText($("waiting-count"), count);
  // The list is drawn again only for a new one (or a new language: `prev` is null then).
  const drawn = prev && prev.screen === "staffWaiting" && prev.staff && prev.staff.waiting === list;
  if (!drawn) drawWaiting(list, state.lang);
  for (const b of document.querySelectorAll("#waiting-list button")) b.disabled = st.picking;

  const pick = st.confirmPick;
  if (pick) {
    setText($("pick-ref"), waitingName(pick));
    const time = $("pick-time");
    show(time, pick.created != null);
    if (pick.created != null) setText(time, t("screen.staffWaiting.created", { time: formatTime(pick.created, state.lang) }));
  }
  show($("pick-status"), st.picking);
  for (const b of document.querySelectorAll("#pick-dialog button")) b.disabled = st.picking;
}

/** A waiting session as staff know it: the bank's reference for the customer, else its id's end. */
function waitingName(w) {
  return w.reference || shortId(w.sessionId);
}

/** The waiting sessions as big buttons: the name, when it was made, a tag for a test session. */
function drawWaiting(list, lang) {
  const ul = $("waiting-list");
  ul.replaceChildren();
  if (list && list.length === 0) ul.append(emptyItem("li", "screen.staffWaiting.empty"));
  for (const w of list || []) {
    const b = element("button", "waiting-item");
    b.type = "button";
    b.dataset.action = "waitingPick";
    b.dataset.session = w.sessionId;
    const head = element("span", "waiting-head");
    const name = element("span", "waiting-ref", waitingName(w));
    // A reference may be in any script: it sets its own direction, apart from the text around it.
    name.dir = "auto";
    head.append(name);
    if (w.test) head.append(element("span", "pill pill-test", t("screen.staffWaiting.test")));
    b.append(head);
    if (w.created != null) {
      b.append(element("span", "waiting-time", t("screen.staffWaiting.created", { time: formatTime(w.created, lang) })));
    }
    const li = element("li", "waiting-row");
    li.append(b);
    ul.append(li);
  }
}

function renderWalkIn(state) {
  const scan = state.scan || { opening: false, hint: null };
  show($("walkin-opening"), scan.opening);
  const hint = $("walkin-hint");
  const code = scan.hint || "";
  if (hint.dataset.hint !== code) {
    hint.dataset.hint = code;
    // Before the app's first hint: what staff do, with the card's icon.
    $("walkin-hint-icon").innerHTML = code ? hintIcon(code) : icon("idCard");
  }
  setText($("walkin-hint-text"), code ? firstOf([`hint.${code}`, "screen.walkIn.aim"]) : t("screen.walkIn.aim"));
}

function renderCameraTest(state, prev) {
  renderCameraChoice(state, prev);
  const scan = state.scan || { opening: false, error: null };
  show($("camtest-opening"), scan.opening && !scan.error);
  show($("camtest-error"), !!scan.error);
  if (scan.error) {
    setText($("camtest-error-text"), firstOf([`screen.cameraError.staff.${scan.error}`, "screen.cameraError.staff.default"]));
    setText($("camtest-error-code"), t("screen.common.code", { code: scan.error }));
  }
}

/**
 * The camera test's list of cameras: each one a button that shows it in the test, "in use" and
 * "virtual" tags, "Use this camera" for the one shown when it is not the one in use, "Back to the
 * configured camera" once staff chose another; a note instead when there is no choice to make.
 */
function renderCameraChoice(state, prev) {
  const st = state.staff || {};
  const cameras = st.cameras;
  const list = $("camtest-devices");
  const note = $("camtest-cameras-note");
  const choosing = !!(cameras && !cameras.failed && cameras.choosable && cameras.devices.length > 0);
  // Where staff could choose but nothing is listed, the reason; a clip or folder camera (set in
  // facekiosk.toml) offers no choice and keeps the tips, as does the wait for the list.
  let noteText = null;
  if (cameras && cameras.failed) noteText = t("screen.cameraTest.listFailed", { problem: cameras.failed });
  else if (cameras && cameras.choosable && cameras.problem) noteText = t("screen.cameraTest.listFailed", { problem: cameras.problem });
  else if (cameras && cameras.choosable && cameras.devices.length === 0) noteText = t("screen.cameraTest.noCameras");
  show($("camtest-tips"), !choosing && noteText == null);
  show($("camtest-cameras-title"), choosing || noteText != null);
  show(list, choosing);
  $("screen-cameraTest").classList.toggle("choosing", choosing);
  show(note, noteText != null);
  if (noteText != null) setText(note, noteText);

  const tested = testedCamera(state);
  const inUse = cameras && !cameras.failed ? cameraOf(cameras, cameras.current) : null;
  const testedDevice = choosing ? cameraOf(cameras, tested) : null;
  // Drawn again only for a new list (or a new language: `prev` is null then); the marks each time.
  if (choosing && (!prev || !prev.staff || prev.staff.cameras !== cameras || list.childElementCount === 0)) {
    list.replaceChildren();
    for (const d of cameras.devices) {
      const li = element("li");
      const b = element("button", "btn btn-secondary camtest-device");
      b.type = "button";
      b.dataset.action = "cameraTestPick";
      b.dataset.camera = d.camera;
      const name = element("span", "device-name", d.name);
      const tags = element("span", "device-tags");
      tags.append(element("span", "pill device-in-use", t("screen.cameraTest.inUse")));
      if (d.virtual) tags.append(element("span", "pill pill-walkin", t("screen.cameraTest.virtual")));
      b.append(name, tags);
      li.append(b);
      list.append(li);
    }
  }
  for (const b of list.querySelectorAll("[data-camera]")) {
    b.setAttribute("aria-pressed", String(!!testedDevice && b.dataset.camera === testedDevice.camera));
    const d = cameras && cameras.devices ? cameras.devices.find((x) => x.camera === b.dataset.camera) : null;
    show(b.querySelector(".device-in-use"), !!(d && inUse && d.camera === inUse.camera));
    b.disabled = !!st.usingCamera;
  }
  const use = $("camtest-use");
  show(use, choosing && !!testedDevice && (!inUse || testedDevice.camera !== inUse.camera));
  use.disabled = !!st.usingCamera;
  const configured = $("camtest-configured");
  show(configured, choosing && cameras.current !== cameras.configured);
  configured.disabled = !!st.usingCamera;
  const notice = $("camtest-notice");
  show(notice, !!st.notice);
  if (st.notice) setText(notice, noticeText(st.notice));
}

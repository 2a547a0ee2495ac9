// Browser tests of the kiosk's screens: headless Chromium (Debian's, through playwright-core)
// loads ui/index.html with a fake app bridge, walks every scenario a customer (or a member of
// staff) can meet, checks what each screen says and shows, and saves a screenshot of each screen
// (to $UI_SHOTS: scripts/ui-test puts them under the build dir, and in docs/screenshots/ with
// --update-screenshots). Exits non-zero on the first failure, with what went wrong.
//
//   node tests/ui/run.mjs            (scripts/ui-test installs what this needs, then runs it)
//   CHROMIUM=/path/to/chrome node tests/ui/run.mjs
//   UI_TEST_ONLY="happy path" node tests/ui/run.mjs    (the scenarios whose name contains it)

import { chromium } from "playwright-core";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, fakeApp, loadTheme, decodePng, imageStats } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = process.env.UI_SHOTS
  ? path.resolve(process.env.UI_SHOTS)
  : path.join(os.tmpdir(), "facekiosk-ui-screenshots");
const VIEWPORT = { width: 1280, height: 800 };
/** axe-core (npm, tests only: never in ui/), run in the page by `audit`. */
/** A typeface a deployment's theme could bring (here the bundled Arabic one, under another name). */
const BRAND_FONT = `data:font/woff2;base64,${(await fs.readFile(path.join(ROOT, "ui/fonts/noto-sans-arabic-arabic-400-normal.woff2"))).toString("base64")}`;
const AXE_SOURCE = await fs.readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** The axe impacts that fail a screen. */
const AXE_FAILS = ["serious", "critical"];
const CODE = "123456";
/** The waiting session staff pick from the day's list (staff_pick_session). */
const PICKED_ID = "ses_0195b7c8d9e0f1a2b3c4d5e6";

// ---------------------------------------------------------------------------------------------
// Scripted sessions (events as the Rust side sends them on the onEvent channel)

const ev = {
  status: (status) => ({ event: { kind: "status", status } }),
  hint: (hint, delay = 0) => ({ delay, event: { kind: "hint", hint } }),
  face: (box) => ({ event: { kind: "face", box } }),
  progress: (value, delay = 0) => ({ delay, event: { kind: "progress", value } }),
  challenge: (challenge, index, count) => ({ event: { kind: "challenge", challenge, index, count } }),
  outcome: (outcome, code = null, queued = false, delay = 0) => ({
    delay,
    event: { kind: "outcome", outcome, code, queued },
  }),
};
const FACE_IN = { x: 0.36, y: 0.2, w: 0.28, h: 0.5 };

/** The start of every session: the camera opens, frames come, the engine waits for a face. */
const opening = [ev.status("opening"), { delay: 350, frames: true }, ev.status("requiresInput")];

const SESSIONS = {
  happy: [
    ...opening,
    ev.hint("MOVE_CLOSER"),
    ev.face(FACE_IN),
    { gate: "capture" },
    ev.hint("HOLD_STILL"),
    ev.progress(0.3),
    ev.progress(0.6, 60),
    { gate: "progress" },
    ev.progress(1),
    ev.hint("FOLLOW_CHALLENGE"),
    ev.challenge("TURN_LEFT", 1, 2),
    { gate: "challenge1" },
    ev.challenge("BLINK", 2, 2),
    { gate: "challenge2" },
    ev.hint("HOLD_STILL"),
    ev.progress(0.5),
    ev.progress(1, 60),
    ev.status("processing"),
    ev.hint("PROCESSING"),
    { frames: false },
    { gate: "processing" },
    ev.status("complete"),
    // Every result goes through the queue: queued, though the kiosk is online.
    ev.outcome("success", null, true),
  ],
  fails: [
    ...opening,
    ev.hint("LOOK_STRAIGHT"),
    ev.face({ x: 0.05, y: 0.1, w: 0.2, h: 0.3 }),
    ev.progress(1, 100),
    ev.challenge("SMILE", 1, 2),
    { gate: "smile" },
    ev.status("processing"),
    { delay: 100, event: { kind: "attemptFailed", hint: "TRY_AGAIN", attemptsLeft: 2 } },
  ],
  camera: [
    ...opening,
    ev.hint("CENTER_YOUR_FACE"),
    { delay: 100, event: { kind: "camera", state: "lost" } },
    { frames: false },
    { gate: "lost" },
    ev.status("canceled"),
    ev.outcome("cameraError", "MEDIA_NOT_FOUND_ERROR"),
  ],
  timeout: [...opening, ev.hint("LOOK_AT_CAMERA"), { gate: "t" }, ev.outcome("timeout", "INACTIVITY_TIMEOUT")],
  staff: [...opening, { gate: "s" }, ev.outcome("seeStaff", "SESSION_EXPIRED_OR_NOT_FOUND")],
  final: [
    ...opening,
    { gate: "f" },
    ev.status("complete"),
    ev.outcome("failure", "SESSION_INVALIDATED_FACE_RECOGNITION_TOO_MANY_ATTEMPTS", true),
  ],
  broken: [...opening, { gate: "e" }, ev.outcome("error", "MODEL_ERROR")],
  walkin: [...opening, ev.hint("LOOK_AT_CAMERA"), { gate: "w" }, ev.status("complete"), ev.outcome("success", null, true)],
  [PICKED_ID]: [...opening, ev.hint("LOOK_AT_CAMERA"), { gate: "p" }, ev.status("complete"), ev.outcome("success", null, true)],
};

const CLAIMS = {
  [CODE]: { sessionId: "happy" },
  "222222": { sessionId: "fails", test: true },
  "333333": { sessionId: "camera" },
  "444444": { sessionId: "timeout" },
  "555555": { sessionId: "staff" },
  "666666": { sessionId: "final" },
  "777777": { sessionId: "broken" },
  "888888": { error: { code: "NETWORK_ERROR", message: "the API cannot be reached" } },
  "111111": { error: { code: "SESSION_EXPIRED_OR_NOT_FOUND", message: "expired" } },
};

function scenario(extra = {}) {
  return { claims: CLAIMS, sessions: SESSIONS, claimDelayMs: 60, ...extra };
}

/**
 * How a scan_session of the fake app ends (harness.mjs: `scans`): once the test opens `gate`
 * (`endScan`), so the scan screen is always seen first; a gate never opened reads nothing.
 */
const scanEnds = {
  claimed: (gate, sessionId, extra = {}) => ({ gate, sessionId, ...extra }),
  error: (gate, code) => ({ gate, error: { code, message: `fake ${code}` } }),
};

// ---------------------------------------------------------------------------------------------
// The staff panel (the fake app's `staff`: harness.mjs)

const STAFF_PIN = "2468";
const STAFF_PINS = {
  [STAFF_PIN]: { operator: "Dana Reyes" },
  "1111": { error: { code: "STAFF_PIN_WRONG", message: "wrong PIN", attemptsLeft: 2 } },
  "0000": { error: { code: "STAFF_LOCKED", message: "too many wrong PINs", retryAfterS: 3 } },
  "9999": { error: { code: "STAFF_NOT_CONFIGURED", message: "no staff PIN in facekiosk.toml" } },
};

/** The time of the overview below (unix ms). */
const T0 = Date.UTC(2025, 2, 14, 10, 30);
const RECENT_OUTCOMES = ["success", "failure", "success", "canceled", "timeout", "seeStaff", "cameraError", "error"];
const RECENT_DELIVERIES = ["acknowledged", "dead", "pending", "inFlight", null, "expired", "acknowledged", null];

/** What staff_overview says: enough recent sessions and settings that their lists must scroll. */
const OVERVIEW = {
  kioskId: "kiosk-0a1b2c3d4e5f",
  registered: true,
  queue: { pending: 2, inFlight: 1, dead: 1, acknowledged: 148, expired: 3, lastSuccessfulSync: T0 - 4 * 60000 },
  dead: [
    {
      sessionId: "ses_0195a3c4d5e6f7a8b9c0d1e2",
      reason: "The service refused the result: the session was deleted (HTTP 404)",
      at: T0 - 3600000,
    },
  ],
  recent: Array.from({ length: 14 }, (_, i) => ({
    sessionId: `ses_0195a3c4d5e6${(0xa1b2c3d4 + i * 7919).toString(16)}`,
    at: T0 - i * 11 * 60000,
    outcome: RECENT_OUTCOMES[i % RECENT_OUTCOMES.length],
    walkIn: i % 5 === 2,
    delivery: RECENT_DELIVERIES[i % RECENT_DELIVERIES.length],
  })),
  settings: [
    ["kiosk.id", "kiosk-0a1b2c3d4e5f"],
    ["api.url", "https://verify.example-bank.test"],
    ["kiosk.languages", "en"],
    ["camera.device", "/dev/video0"],
    ["camera.resolution", "1280x720"],
    ["camera.mirror", "true"],
    ["session.idle_seconds", "60"],
    ["session.outcome_seconds", "8"],
    ["session.attempts", "3"],
    ["liveness.challenges", "2"],
    ["queue.path", "/var/lib/facekiosk/queue.sqlite"],
    ["queue.retry_hours", "72"],
    ["staff.idle_seconds", "120"],
    ["staff.pin", "set"],
    ["log.level", "info"],
  ].map(([key, value]) => ({ key, value })),
};

/**
 * What staff_waiting_sessions says (times in unix s): enough sessions that the list must scroll;
 * the second is PICKED_ID, the third a test session, the fourth has no client reference.
 */
const WAITING = Array.from({ length: 14 }, (_, i) => ({
  sessionId: i === 1 ? PICKED_ID : `ses_0195b7c8d9e0${(0xc0ffee01 + i * 104729).toString(16)}`,
  clientReferenceId: i === 3 ? null : `CUST-${88421 - i * 379}`,
  test: i === 2,
  createdAt: (T0 - i * 17 * 60000) / 1000,
  expiresAt: (T0 + 24 * 3600000 - i * 17 * 60000) / 1000,
}));

function staffScenario(extra = {}, staff = {}) {
  return scenario({ ...extra, staff: { pins: STAFF_PINS, overview: OVERVIEW, ...staff } });
}

// ---------------------------------------------------------------------------------------------
// Helpers

class TestFailure extends Error {}

function fail(message) {
  throw new TestFailure(message);
}

function expect(cond, message) {
  if (!cond) fail(message);
}

async function screenOf(page) {
  return page.evaluate(() => document.getElementById("app").dataset.screen);
}

/** Waits until `screen` is the one shown (its section visible, every other hidden). */
async function expectScreen(page, screen, timeout = 5000) {
  const shows = (s) => {
    const app = document.getElementById("app");
    const shown = [...document.querySelectorAll("section.screen")].filter((x) => !x.hidden);
    return app.dataset.screen === s && shown.length === 1 && shown[0].dataset.screen === s;
  };
  try {
    // Checked at once first: a short timeout must not expire before the first poll on a busy machine.
    if (!(await page.evaluate(shows, screen))) await page.waitForFunction(shows, screen, { timeout });
  } catch {
    fail(`expected the "${screen}" screen, but "${await screenOf(page)}" shows`);
  }
  await noteVisit(page, screen);
}

/**
 * Every screen a scenario showed (by screen, language and theme), and those axe checked there:
 * main() fails when one was shown but never checked.
 */
const visited = new Map();
const audited = new Set();

async function screenKey(page, screen) {
  return page.evaluate((s) => {
    const root = document.documentElement;
    // Without a theme the screens look as with the default one (the themes scenario checks it).
    return `${s} in ${root.lang}, theme ${root.dataset.theme || "default"}`;
  }, screen);
}

async function noteVisit(page, screen) {
  const key = await screenKey(page, screen);
  if (!visited.has(key)) visited.set(key, page.scenarioName);
}

/**
 * axe-core's check of the screen shown (every rule axe runs by default: WCAG 2.x A and AA, and its
 * best practices): fails on any violation of impact serious or critical, each said with the
 * elements and what is wrong with them. axe.min.js comes from node_modules, not ui/: the page's
 * CSP (script-src 'self') refuses an injected <script> (inline, as `page.addScriptTag({ content })`
 * makes it, or from elsewhere), but `page.evaluate(source)` runs it through the DevTools protocol
 * (Runtime.evaluate), which the page's CSP does not govern, as `addInitScript` runs the fake app.
 */
async function audit(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async (impacts) => {
    // Also the touch targets (axe's WCAG 2.2 rule, off by default), and WCAG AAA contrast in the
    // high-contrast theme, which promises it.
    const aaa = document.documentElement.dataset.theme === "high-contrast";
    const result = await window.axe.run(document, {
      resultTypes: ["violations"],
      rules: { "target-size": { enabled: true }, "color-contrast-enhanced": { enabled: aaa } },
    });
    return result.violations
      .filter((v) => impacts.includes(v.impact))
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${(n.failureSummary || "").replace(/\s+/g, " ").trim()}`),
      }));
  }, AXE_FAILS);
  audited.add(await screenKey(page, await screenOf(page)));
  if (found.length) {
    const said = found.map((v) => `axe ${v.id} (${v.impact}): ${v.help}\n       ${v.nodes.join("\n       ")}`);
    fail(`${label}: ${said.join("\n     ")}`);
  }
}

async function textOf(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

async function expectText(page, selector, expected, timeout = 4000) {
  try {
    await page.waitForFunction(
      ([sel, want]) => {
        const el = document.querySelector(sel);
        return el && !el.closest("[hidden]") && el.textContent.includes(want);
      },
      [selector, expected],
      { timeout },
    );
  } catch {
    const el = page.locator(selector).first();
    const got = (await el.count()) ? await el.textContent() : "(no such element)";
    fail(`expected ${selector} to show "${expected}", got "${got}"`);
  }
}

async function waitGate(page, name) {
  await page.waitForFunction((n) => window.__fake.reached(n), name, { timeout: 5000 }).catch(() => {
    fail(`the scripted session never reached gate "${name}"`);
  });
}

async function openGate(page, name) {
  await waitGate(page, name);
  await page.evaluate((n) => window.__fake.open(n), name);
}

async function calls(page, cmd) {
  return page.evaluate((c) => window.__fake.calls.filter((x) => x.cmd === c), cmd);
}

/** Types a code on the on-screen keypad (or the physical keyboard for the digits in `byKeyboard`). */
async function typeCode(page, code, byKeyboard = "") {
  for (const d of code) {
    if (byKeyboard.includes(d)) await page.keyboard.press(d);
    else await page.click(`#keys [data-digit="${d}"]`);
  }
}

/** From attract to the consent screen with `code`. */
async function toConsent(page, code) {
  await page.click("#screen-attract [data-action=start]");
  await expectScreen(page, "keypad");
  await typeCode(page, code);
  await page.click("#key-ok");
  await expectScreen(page, "consent");
}

/** From attract to the capture screen of the session behind `code`. */
async function toCapture(page, code) {
  await toConsent(page, code);
  await page.click("#screen-consent [data-action=agree]");
  await expectScreen(page, "capture");
}

/** From attract to the scan screen, through the keypad's "Scan the QR code instead". */
async function toScan(page) {
  if ((await screenOf(page)) === "attract") {
    await page.click("#screen-attract [data-action=start]");
    await expectScreen(page, "keypad");
  }
  await page.click("#scan-instead");
  await expectScreen(page, "scan");
}

/** From attract (or the keypad) to the scan screen, then lets its scan end as planned at `gate`. */
async function scanAndEnd(page, gate) {
  await toScan(page);
  await openGate(page, gate);
}

/** Waits until the preview `img` (an id) shows a camera frame; `what` names it in a failure. */
async function expectFrames(page, img, what) {
  await page.waitForFunction((id) => {
    const el = document.getElementById(id);
    return !el.hidden && el.src.startsWith("blob:") && el.naturalWidth === 640;
  }, img, { timeout: 4000 }).catch(() => fail(`${what} shows no camera frame`));
}

/** Waits until the scan screen's preview shows a camera frame. */
async function expectScanFrames(page) {
  await expectFrames(page, "scan-preview-img", "the scan screen's preview");
}

/**
 * True when the preview `img` (the scan screen's by default) holds no picture any more: hidden at
 * once, and its address gone once a frame that was still loading has settled.
 */
async function scanPreviewCleared(page, img = "scan-preview-img") {
  if (!(await page.evaluate((id) => document.getElementById(id).hidden, img))) return false;
  return page.waitForFunction((id) => !document.getElementById(id).getAttribute("src"), img, { timeout: 1000 })
    .then(() => true, () => false);
}

/** Types a staff PIN on the PIN screen's keypad. */
async function typePin(page, pin) {
  for (const d of pin) await page.click(`#pin-keys [data-digit="${d}"]`);
}

async function pinDots(page) {
  return page.locator("#pin-dots .pin-dot").count();
}

/** From attract (Ctrl+Alt+S) to the staff menu, signed in with `pin`. */
async function signIn(page, pin = STAFF_PIN) {
  await page.keyboard.press("Control+Alt+KeyS");
  await expectScreen(page, "staffPin");
  await typePin(page, pin);
  await page.click("#pin-ok");
  await expectScreen(page, "staffMenu");
  await expectText(page, "#queue-acknowledged", "148");
}

/** Waits until the fake app's staff_walk_in / staff_camera_test number `n` (from 1) has ended. */
async function staffJobEnded(page, n) {
  await page.waitForFunction((i) => window.__fake.staffJobs.length >= i, n, { timeout: 5000 })
    .catch(() => fail(`staff camera job number ${n} never ended`));
  return page.evaluate((i) => window.__fake.staffJobs[i - 1], n);
}

async function staffOpen(page) {
  return page.evaluate(() => window.__fake.staff().open);
}

/** Waits until no staff session is open in the fake app (staff_lock takes a moment to answer). */
async function expectStaffClosed(page, why) {
  await page.waitForFunction(() => !window.__fake.staff().open, null, { timeout: 2000 }).catch(() => fail(why));
}

/** Waits until the fake app's scan_session number `n` (from 1) has ended; resolves to how. */
async function scanEnded(page, n) {
  await page.waitForFunction((i) => window.__fake.scans.length >= i, n, { timeout: 5000 })
    .catch(() => fail(`scan_session number ${n} never ended`));
  return page.evaluate((i) => window.__fake.scans[i - 1], n);
}

/**
 * Check 7 on the screen shown: every visible text is filled in (no blank where a text belongs, no
 * raw key such as "screen.attract.title", no unfilled {placeholder}, no "undefined"), every
 * button has a name, and nothing sticks out of the 1280 × 800 screen.
 */
async function checkScreen(page, label) {
  // Let entrance animations end first (they move things by a few pixels); loops and countdowns go on.
  await page.evaluate(() =>
    Promise.all(
      document.getAnimations()
        .filter((a) => a.effect && a.effect.getComputedTiming().endTime <= 1000)
        .map((a) => a.finished.catch(() => {})),
    ),
  );
  const problems = await page.evaluate((panelsMayScroll) => {
    const out = [];
    const visible = (el) => {
      if (el.closest("[hidden]")) return false;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden" || style.display === "none") return false;
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    };
    const rawKey = /\b(screen|hint|challenge|error)\.[A-Za-z0-9_.]+/;
    // The boxes whose content must fit them (flex items that may shrink: min-height 0).
    const BOXES = ".panel-card, .result-card, .keypad-layout, .capture-layout, .scan-layout, .staff-panels, .consent-points";
    // Inside a list that scrolls in its panel, an item may lie beyond the screen until scrolled to;
    // the list itself must be on the screen (it is checked as an element of its own).
    const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowY);
    const inScroller = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) if (scrolls(p)) return true;
      return false;
    };
    const describe = (el) =>
      el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.dataset.t ? `[data-t=${el.dataset.t}]` : "");
    const all = [...document.querySelectorAll("body *")].filter(visible);
    for (const el of all) {
      const own = [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent)
        .join("")
        .trim();
      if (own && rawKey.test(own)) out.push(`raw text key shown in ${describe(el)}: "${own}"`);
      if (own && /\{\w+\}|undefined|null|NaN|\[object/.test(own)) out.push(`unfilled text in ${describe(el)}: "${own}"`);
      const wantsText =
        el.hasAttribute("data-t") || ["H1", "H2", "P", "LI"].includes(el.tagName) || el.classList.contains("staff-text");
      if (wantsText && !el.textContent.trim()) out.push(`empty text in ${describe(el)}`);
      if (el.tagName === "BUTTON") {
        const name = (el.getAttribute("aria-label") || el.textContent || "").trim();
        if (!name) out.push(`button without a name: ${describe(el)}`);
        if (rawKey.test(name)) out.push(`raw key as a button name: ${describe(el)}: "${name}"`);
        const r = el.getBoundingClientRect();
        if (r.height < 64 || r.width < 64) out.push(`touch target under 64 px: ${describe(el)} (${r.width}×${r.height})`);
      }
      for (const attr of ["aria-label"]) {
        const v = el.getAttribute(attr);
        if (v !== null && (!v.trim() || rawKey.test(v))) out.push(`bad ${attr} on ${describe(el)}: "${v}"`);
      }
      if (el.closest(".visually-hidden")) continue; // for screen readers only: no layout to check
      const r = el.getBoundingClientRect();
      const off = r.left < -1 || r.top < -1 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1;
      if (off && !inScroller(el)) {
        out.push(`off screen: ${describe(el)} at ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}`);
      }
      // A panel's (or a screen's main box's) content must fit it: what does not fit spills over
      // its neighbours (centred content, out of both ends). With text 1.3 times its size, a panel
      // may scroll instead (style.css: large text); a list that scrolls is made to.
      if (el.matches(BOXES)) {
        const scrolls = getComputedStyle(el).overflowY === "auto" &&
          (el.classList.contains("scroll") || panelsMayScroll || !el.matches(".panel-card, .result-card"));
        const box = el.getBoundingClientRect();
        const out1 = [...el.children].some((c) => {
          const cr = c.getBoundingClientRect();
          return cr.height > 0 && (cr.top < box.top - 1 || cr.bottom > box.bottom + 1);
        });
        if ((el.scrollHeight > el.clientHeight + 1 || out1) && !scrolls) {
          out.push(`content spills out of ${describe(el)} (${el.scrollHeight} > ${el.clientHeight} px)`);
        }
      }
      if (own && el.scrollWidth > el.clientWidth + 2 && getComputedStyle(el).overflow !== "visible") {
        out.push(`text cut off in ${describe(el)}`);
      }
    }
    const doc = document.scrollingElement;
    if (doc.scrollHeight > innerHeight + 1 || doc.scrollWidth > innerWidth + 1) out.push("the page scrolls");
    return out;
  }, !!page.panelsMayScroll);
  if (problems.length) fail(`${label}: ${problems.join("; ")}`);
  await audit(page, label);
}

const shots = [];

/**
 * Checks the screen shown, saves its screenshot as docs/screenshots/<file>.png and checks it is not
 * blank; <file> is the scenario's `shotName(name)` (`name` by default; a theme's variant renames
 * them, and saves none when it says null: the screen is checked all the same).
 */
async function shoot(page, name) {
  await page.evaluate(() => document.fonts.ready);
  await checkScreen(page, name); // waits for the entrance animations too
  const file = page.shotName(name);
  if (!file) return;
  name = file;
  const buf = await page.screenshot({ type: "png" });
  const png = decodePng(buf);
  expect(png.width === VIEWPORT.width && png.height === VIEWPORT.height, `${name}: screenshot is ${png.width}×${png.height}`);
  const stats = imageStats(png);
  expect(
    buf.length > 15000 && stats.colours >= 12 && stats.stddev > 12,
    `${name}: the screenshot looks blank (${buf.length} bytes, ${stats.colours} colours, σ ${stats.stddev.toFixed(1)})`,
  );
  await fs.writeFile(path.join(SHOTS, `${name}.png`), buf);
  shots.push(name);
}

async function codeCells(page) {
  return page.evaluate(() => [...document.querySelectorAll("#code .code-cell")].map((c) => c.textContent).join(""));
}

// ---------------------------------------------------------------------------------------------
// Languages: the texts files (read here, in Node), and the screens in French and Arabic

/** The languages texts/ ships; a scenario offers them with `info: { languages: LANGUAGES }`. */
const LANGUAGES = ["en", "fr", "ar"];
const PLURAL_FORMS = ["zero", "one", "two", "few", "many", "other"];

async function readTextsFile(lang) {
  return JSON.parse(await fs.readFile(path.join(ROOT, "texts", `${lang}.json`), "utf8"));
}

/** The text at a dotted `key` of a texts file's JSON (undefined if there is none). */
function textAt(json, key) {
  let node = json;
  for (const part of key.split(".")) node = node == null ? undefined : node[part];
  return node;
}

/** `key`'s text in `lang` as the screens show it: `{name}`s filled from `vars`, `n` picks the form. */
function textIn(json, lang, key, vars = {}) {
  let text = textAt(json, key);
  if (text && typeof text === "object" && "n" in vars) {
    const rule = new Intl.PluralRules(lang).select(vars.n);
    text = vars.n === 0 && text.zero ? text.zero : text[rule] ?? text.other;
  }
  if (typeof text !== "string") fail(`texts/${lang}.json has no text at ${key}`);
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** A counted text: an object whose keys are plural forms, "other" among them. */
function isPluralGroup(node) {
  return node && typeof node === "object" && "other" in node && Object.keys(node).every((k) => PLURAL_FORMS.includes(k));
}

const placeholdersOf = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");

/**
 * What is wrong with the texts `json` of `lang` next to English's `en`: keys English has that it
 * lacks, keys English does not have, blank texts, other placeholders. A counted text has the forms
 * the language's plural rules name (Intl.PluralRules: French one/many/other, Arabic all six), plus
 * `zero` where English has it (texts.js uses it for 0); each form's placeholders are among English's
 * `other`'s, and its `other` has all of them (Arabic says "two seconds" without {n}).
 */
function textsProblems(lang, json, en) {
  const missing = [];
  const extra = [];
  const wrong = [];
  const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
  const walk = (want, got, at) => {
    for (const key of Object.keys(got)) if (!(key in want)) extra.push(at + key);
    for (const [key, ref] of Object.entries(want)) {
      const where = at + key;
      const node = got[key];
      if (node === undefined) {
        missing.push(where);
      } else if (isPluralGroup(ref)) {
        if (!isPluralGroup(node)) {
          wrong.push(`${where} is not a counted text`);
          continue;
        }
        const forms = new Set([...categories, "other", ...("zero" in ref ? ["zero"] : [])]);
        for (const form of forms) if (!(form in node)) missing.push(`${where}.${form}`);
        for (const form of Object.keys(node)) if (!forms.has(form)) extra.push(`${where}.${form}`);
        const allowed = placeholdersOf(ref.other).split(",").filter(Boolean);
        for (const [form, text] of Object.entries(node)) {
          if (typeof text !== "string" || !text.trim()) {
            wrong.push(`${where}.${form} is blank`);
            continue;
          }
          const own = placeholdersOf(text).split(",").filter(Boolean);
          const stray = own.filter((p) => !allowed.includes(p));
          if (stray.length) wrong.push(`${where}.${form} has {${stray.join("}, {")}}, which English does not`);
        }
        if (typeof node.other === "string" && placeholdersOf(node.other) !== placeholdersOf(ref.other)) {
          wrong.push(`${where}.other has placeholders {${placeholdersOf(node.other)}}, English {${placeholdersOf(ref.other)}}`);
        }
      } else if (ref && typeof ref === "object") {
        if (!node || typeof node !== "object") wrong.push(`${where} should hold keys, not a text`);
        else walk(ref, node, `${where}.`);
      } else if (typeof node !== "string" || !node.trim()) {
        wrong.push(`${where} is blank or not a text`);
      } else if (placeholdersOf(node) !== placeholdersOf(ref)) {
        wrong.push(`${where} has placeholders {${placeholdersOf(node)}}, English {${placeholdersOf(ref)}}`);
      }
    }
  };
  walk(en, json, "");
  const out = [];
  if (missing.length) out.push(`texts/${lang}.json lacks ${missing.join(", ")}`);
  if (extra.length) out.push(`texts/${lang}.json has keys English does not: ${extra.join(", ")}`);
  if (wrong.length) out.push(`texts/${lang}.json: ${wrong.join("; ")}`);
  return out;
}

/**
 * The fonts Chromium drew the text of the first element `selector` matches with (DevTools
 * protocol): `[{ familyName, isCustomFont, glyphCount }]`; isCustomFont: an @font-face of ui/.
 */
async function fontsOf(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("DOM.enable");
    await cdp.send("CSS.enable");
    const { root } = await cdp.send("DOM.getDocument", { depth: -1 });
    const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    if (!nodeId) fail(`no element ${selector} to ask for its fonts`);
    return (await cdp.send("CSS.getPlatformFontsForNode", { nodeId })).fonts;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Checks that `selector`'s text is drawn with ui/fonts only, `family` among them. */
async function expectDrawnWith(page, selector, family) {
  const fonts = await fontsOf(page, selector);
  const names = fonts.map((f) => `${f.familyName}${f.isCustomFont ? "" : " (the machine's)"} ×${f.glyphCount}`).join(", ");
  expect(fonts.length > 0 && fonts.every((f) => f.isCustomFont), `${selector} is drawn with a font of the machine: ${names}`);
  expect(fonts.some((f) => f.familyName === family && f.glyphCount > 0), `${selector} is not drawn with ${family}: ${names}`);
}

/** Waits until the countdown at `selector` says `textFor(n)` for some n of the seconds left (≤ 30). */
async function expectCountdown(page, selector, textFor) {
  const all = Array.from({ length: 31 }, (_, n) => textFor(n));
  await page.waitForFunction(([sel, texts]) => texts.includes(document.querySelector(sel).textContent), [selector, all],
    { timeout: 4000 }).catch(async () => fail(`the countdown says "${await textOf(page, selector)}", not "${all[8]}" or so`));
}

/** Picks `lang` with its button on the welcome screen; waits until its texts show. */
async function chooseLanguage(page, lang, json) {
  await expectScreen(page, "attract");
  await page.click(`#languages [data-lang="${lang}"]`);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang, { timeout: 4000 })
    .catch(() => fail(`<html lang> did not become ${lang}`));
  await expectText(page, "#attract-title", textIn(json, lang, "screen.attract.title"));
  expect((await page.getAttribute(`#languages [data-lang="${lang}"]`, "aria-pressed")) === "true",
    `the ${lang} button is not shown as chosen`);
}

/** Checks that `a` (a selector) lies on the start side of `b`: its right in rtl, its left in ltr. */
async function expectBefore(page, a, b, rtl, what) {
  const boxA = await page.locator(a).first().boundingBox();
  const boxB = await page.locator(b).first().boundingBox();
  expect(boxA && boxB, `${what}: ${a} or ${b} is not shown`);
  const before = rtl ? boxA.x > boxB.x : boxA.x < boxB.x;
  const side = rtl ? "right" : "left";
  expect(before, `${what}: ${a} (x ${Math.round(boxA.x)}) should be to the ${side} of ${b} (x ${Math.round(boxB.x)})`);
}

/**
 * A visit in `lang`, chosen on the welcome screen, through the customer's main screens (welcome,
 * keypad, scan, consent, capture, challenge, processing, success, and a failed attempt on a
 * second visit), each checked against texts/<lang>.json, laid out for its direction and saved
 * as `<screen>-<lang>.png`. The scenario's session must be `scenario({ info: { languages },
 * scans: [scanEnds.claimed("never", "happy")] })`.
 */
async function visitInLanguage(page, lang) {
  const json = await readTextsFile(lang);
  const rtl = textAt(json, "screen.dir") === "rtl";
  const say = (key, vars) => textIn(json, lang, key, vars);

  // The welcome screen: the language buttons sit at its end (right in English, left in Arabic).
  const before = await page.locator("#languages").boundingBox();
  expect(before.x > VIEWPORT.width / 2, "in English the language buttons are on the right");
  await chooseLanguage(page, lang, json);
  const dir = await page.evaluate(() => document.documentElement.dir);
  expect(dir === (rtl ? "rtl" : "ltr"), `<html dir> is "${dir}" in ${lang}`);
  const after = await page.locator("#languages").boundingBox();
  if (rtl) expect(after.x + after.width < VIEWPORT.width / 2, "the language buttons move to the left");
  else expect(after.x > VIEWPORT.width / 2, "the language buttons stay on the right");
  const names = await page.locator("#languages .btn-lang").allInnerTexts();
  expect(names.join("|") === "English|Français|العربية", `the language buttons say ${names.join(", ")}`);
  await shoot(page, `attract-${lang}`);

  await page.click("#screen-attract [data-action=start]");
  await expectScreen(page, "keypad");
  await expectText(page, "#keypad-title", say("screen.keypad.title"));
  await typeCode(page, "12");
  await expectText(page, "#code-status", say("screen.keypad.digitsEntered", { n: 2 }));
  await expectBefore(page, "#screen-keypad .keypad-main", "#keys", rtl, "the code before the keypad");
  await expectBefore(page, "#screen-keypad [data-action=decline]", "#scan-instead", rtl, "Back before Scan");
  const cells = await page.locator("#code .code-cell").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().x));
  expect(cells[0] < cells[5], "the code reads left to right in every language");
  await shoot(page, `keypad-${lang}`);

  await page.click("#scan-instead");
  await expectScreen(page, "scan");
  await expectText(page, "#scan-title", say("screen.scan.title"));
  await expectScanFrames(page);
  await expectBefore(page, "#scan-preview", "#screen-scan .scan-panel", rtl, "the scan's preview before its panel");
  await shoot(page, `scan-${lang}`);
  await page.click("#scan-cancel");
  await expectScreen(page, "keypad");

  await typeCode(page, CODE);
  await page.click("#key-ok");
  await expectScreen(page, "consent");
  await expectText(page, "#consent-title", say("screen.consent.title"));
  await expectBefore(page, "#screen-consent [data-action=decline]", "#screen-consent [data-action=agree]", rtl,
    "Cancel before I agree");
  await shoot(page, `consent-${lang}`);

  await page.click("#screen-consent [data-action=agree]");
  await expectScreen(page, "capture");
  const start = (await calls(page, "start_session"))[0];
  expect(start && start.args.lang === lang, `start_session got ${JSON.stringify(start)}`);
  await expectText(page, "#hint-text", say("hint.MOVE_CLOSER"));
  await expectFrames(page, "preview-img", "the capture screen's preview");
  await page.waitForFunction(() => document.getElementById("preview").dataset.face === "in", null, { timeout: 2000 })
    .catch(() => fail("the oval does not turn green with a face in it"));
  await expectBefore(page, "#preview", ".capture-panel", rtl, "the preview before the side panel");
  await shoot(page, `capture-${lang}`);

  await openGate(page, "capture");
  await openGate(page, "progress");
  await expectText(page, "#challenge-step", say("screen.capture.challengeStep", { index: 1, count: 2 }));
  await expectText(page, "#challenge-text", say("challenge.TURN_LEFT"));
  // The drawn head turns to the customer's left on the screen in every language.
  const anim = await page.evaluate(() => getComputedStyle(document.querySelector("#head .head-features")).animationName);
  expect(anim === "turn-left", `the head's animation is "${anim}"`);
  await shoot(page, `challenge-${lang}`);
  await openGate(page, "challenge1");
  await openGate(page, "challenge2");
  await expectScreen(page, "processing");
  await expectText(page, "#screen-processing h1", say("screen.processing.title"));
  await shoot(page, `processing-${lang}`);
  await openGate(page, "processing");
  await expectScreen(page, "success");
  await expectText(page, "#screen-success h1", say("screen.success.title"));
  await expectCountdown(page, "#screen-success .countdown-text", (n) => say("screen.common.returning", { n }));
  await shoot(page, `success-${lang}`);
  await page.click("#screen-success [data-action=done]");
  await expectScreen(page, "attract");
  await page.waitForFunction(() => document.documentElement.lang === "en", null, { timeout: 4000 })
    .catch(() => fail("the next customer does not start in English"));

  // A second visit: a failed attempt, with its attempts left in the language's plural form.
  await chooseLanguage(page, lang, json);
  await toCapture(page, "222222");
  await openGate(page, "smile");
  await expectScreen(page, "attemptFailed");
  await expectText(page, "#attempt-title", say("hint.TRY_AGAIN"));
  await expectText(page, "#attempt-left", say("screen.attemptFailed.attemptsLeft", { n: 2 }));
  await expectText(page, "#attempt-tips li", say("screen.attemptFailed.tips.TRY_AGAIN.1"));
  await shoot(page, `failure-${lang}`);
  return json;
}

// ---------------------------------------------------------------------------------------------
// Every screen in every language and theme

/**
 * One screen of a tour: checked as `shoot` checks (not blank, nothing cut off, axe), kept in
 * memory for the tour's contact sheet, not saved on its own.
 */
async function tourShot(page, tour, name) {
  await page.evaluate(() => document.fonts.ready);
  await checkScreen(page, `${name} (${tour.label})`);
  const buf = await page.screenshot({ type: "png" });
  const stats = imageStats(decodePng(buf));
  expect(buf.length > 15000 && stats.colours >= 12 && stats.stddev > 12, `${name} (${tour.label}): the screenshot looks blank`);
  tour.shots.push({ name, png: buf });
}

/**
 * The tour's screens on one contact sheet (five a row, a third of their size, each named), made
 * by the browser and saved as `<file>.jpg` beside the screenshots.
 */
async function contactSheet(page, tour, file) {
  const name = page.shotName(file);
  if (!name) return;
  const W = 426;
  const H = 266;
  const COLS = 5;
  const rows = Math.ceil(tour.shots.length / COLS);
  const sheet = await page.context().newPage();
  try {
    await sheet.setViewportSize({ width: COLS * (W + 12) + 12, height: rows * (H + 40) + 12 });
    const cells = tour.shots.map((x) =>
      `<figure><img src="data:image/png;base64,${x.png.toString("base64")}"><figcaption>${x.name}</figcaption></figure>`).join("");
    await sheet.setContent(`<!doctype html><style>
      body { margin: 0; padding: 6px; background: #222; display: grid; grid-template-columns: repeat(${COLS}, ${W + 12}px); }
      figure { margin: 0; padding: 6px; } img { width: ${W}px; height: ${H}px; display: block; }
      figcaption { color: #eee; font: 16px "DejaVu Sans", sans-serif; height: 28px; line-height: 28px; }
    </style>${cells}`);
    await sheet.evaluate(() => Promise.all([...document.images].map((i) => i.decode())));
    await fs.writeFile(path.join(SHOTS, `${name}.jpg`), await sheet.screenshot({ type: "jpeg", quality: 82, fullPage: true }));
    shots.push(name);
  } finally {
    await sheet.close();
  }
}

/**
 * Every screen a customer or staff can see, in `lang`: each visit starts from the welcome
 * screen in that language (the kiosk's default is English, as it would be).
 */
async function tourOf(page, lang) {
  const json = await readTextsFile(lang);
  const theme = await page.evaluate(() => document.documentElement.dataset.theme || "default");
  const tour = { label: `${lang}, ${theme}`, shots: [] };
  const shot = (name) => tourShot(page, tour, name);
  const visit = async (code) => {
    await chooseLanguage(page, lang, json);
    await toCapture(page, code);
  };

  await chooseLanguage(page, lang, json);
  await shot("attract");
  await page.click("#screen-attract [data-action=start]");
  await expectScreen(page, "keypad");
  await typeCode(page, "99");
  await shot("keypad");
  await typeCode(page, "9999");
  await page.click("#key-ok");
  await page.waitForSelector("#code-error", { state: "visible", timeout: 4000 }).catch(() => fail("no message for a wrong code"));
  await shot("keypad-error");
  await page.click("#scan-instead");
  await expectScreen(page, "scan");
  await expectScanFrames(page);
  await shot("scan");
  await page.click("#scan-cancel");
  await expectScreen(page, "keypad");
  await typeCode(page, CODE);
  await page.click("#key-ok");
  await expectScreen(page, "consent");
  await shot("consent");
  await page.click("#screen-consent [data-action=agree]");
  await expectScreen(page, "capture");
  await expectFrames(page, "preview-img", "the capture screen's preview");
  await page.waitForFunction(() => document.getElementById("preview").dataset.face === "in", null, { timeout: 2000 });
  await shot("capture");
  await openGate(page, "capture");
  await openGate(page, "progress");
  await page.waitForSelector("#challenge-text", { state: "visible", timeout: 4000 });
  await shot("challenge");
  await page.click("#capture-cancel");
  await page.waitForSelector("#cancel-dialog", { state: "visible", timeout: 2000 });
  await shot("cancel-confirm");
  await page.click("#cancel-dialog [data-action=cancelDismiss]");
  await openGate(page, "challenge1");
  await openGate(page, "challenge2");
  await expectScreen(page, "processing");
  await shot("processing");
  await openGate(page, "processing");
  await expectScreen(page, "success");
  await shot("success");
  await page.click("#screen-success [data-action=done]");
  await expectScreen(page, "attract");

  await visit("222222");
  await openGate(page, "smile");
  await expectScreen(page, "attemptFailed");
  await shot("failure");
  await page.click("#screen-attemptFailed [data-action=stop]");
  await expectScreen(page, "canceled");
  await shot("canceled");
  await page.click("#screen-canceled [data-action=done]");
  await expectScreen(page, "attract");

  await visit("333333");
  await page.waitForSelector("#preview-lost", { state: "visible", timeout: 4000 });
  await shot("camera-lost");
  await openGate(page, "lost");
  await expectScreen(page, "cameraError");
  await shot("camera-error");
  await page.click("#screen-cameraError [data-action=done]");
  await expectScreen(page, "attract");

  for (const [code, gate, screen, name] of [
    ["444444", "t", "timeout", "timeout"],
    ["555555", "s", "seeStaff", "see-staff"],
    ["666666", "f", "failure", "failure-final"],
    ["777777", "e", "error", "error"],
  ]) {
    await visit(code);
    await openGate(page, gate);
    await expectScreen(page, screen);
    await shot(name);
    await page.click(`#screen-${screen} [data-action=done]`);
    await expectScreen(page, "attract");
  }

  await chooseLanguage(page, lang, json);
  await page.click("#screen-attract [data-action=start]");
  await expectScreen(page, "keypad");
  await typeCode(page, "888888");
  await page.click("#key-ok");
  await expectScreen(page, "offline");
  await shot("offline");
  await page.click("#screen-offline [data-action=done]");
  await expectScreen(page, "attract");

  // The staff panel, in the language the welcome screen was left in.
  await chooseLanguage(page, lang, json);
  await page.keyboard.press("Control+Alt+KeyS");
  await expectScreen(page, "staffPin");
  await typePin(page, "12");
  await shot("staff-pin");
  await typePin(page, "34");
  await page.click("#pin-back");
  await expectScreen(page, "attract");
  await chooseLanguage(page, lang, json);
  await page.keyboard.press("Control+Alt+KeyS");
  await expectScreen(page, "staffPin");
  await typePin(page, "0000");
  await page.click("#pin-ok");
  await page.waitForSelector("#pin-error", { state: "visible", timeout: 4000 });
  await shot("staff-pin-locked");
  await page.waitForFunction(() => document.getElementById("pin-error").hidden, null, { timeout: 6000 })
    .catch(() => fail("the lockout does not end"));
  await typePin(page, STAFF_PIN);
  await page.click("#pin-ok");
  await expectScreen(page, "staffMenu");
  await page.waitForFunction(() => document.getElementById("queue-acknowledged").textContent.trim() !== "–", null, { timeout: 4000 });
  await shot("staff-menu");
  await page.click("#staff-exit");
  await page.waitForSelector("#exit-dialog", { state: "visible", timeout: 2000 });
  await shot("staff-exit-confirm");
  await page.click("#exit-dialog [data-action=exitDismiss]");

  await page.click("#staff-waiting");
  await expectScreen(page, "staffWaiting");
  await page.waitForSelector(`#waiting-list [data-session="${PICKED_ID}"]`, { timeout: 4000 });
  await shot("staff-waiting");
  await page.click(`#waiting-list [data-session="${PICKED_ID}"]`);
  await page.waitForSelector("#pick-dialog", { state: "visible", timeout: 2000 });
  await shot("staff-waiting-confirm");
  await page.click("#pick-dialog [data-action=pickDismiss]");
  await page.click("#waiting-back");
  await expectScreen(page, "staffMenu");

  await page.click("#staff-camera");
  await expectScreen(page, "cameraTest");
  await page.waitForSelector("#camtest-devices [data-camera]", { timeout: 4000 });
  await expectFrames(page, "camtest-preview-img", "the camera test's preview");
  await shot("camera-test");
  await page.click("#camtest-back");
  await expectScreen(page, "staffMenu");

  await page.click("#staff-walkin");
  await expectScreen(page, "walkIn");
  await expectFrames(page, "walkin-preview-img", "the walk-in's preview");
  await shot("walk-in");
  await page.click("#walkin-cancel");
  await expectScreen(page, "staffMenu");
  await page.click("#staff-lock");
  await expectScreen(page, "attract");
  return tour;
}

/** A scenario that tours every screen in `lang` and makes its contact sheet `every-screen-<lang>`. */
function tourScenario(lang) {
  return {
    name: `every screen in ${lang}`,
    scenario: staffScenario({ info: { languages: LANGUAGES, outcomeSeconds: 30 }, scans: [scanEnds.claimed("never", "happy")] }, {
      waiting: [{ data: WAITING.slice(0, 6) }],
      walkIns: [{ gate: "never", sessionId: "walkin" }],
      cameras: {
        configured: "camera",
        devices: [
          { index: 0, name: "Integrated Camera", description: "uvcvideo", is_virtual: false },
          { index: 2, name: "Logitech BRIO", description: "uvcvideo", is_virtual: false },
        ],
      },
    }),
    async run(page) {
      const tour = await tourOf(page, lang);
      expect(tour.shots.length === 27, `the tour saw ${tour.shots.length} screens: ${tour.shots.map((x) => x.name)}`);
      await contactSheet(page, tour, `every-screen-${lang}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Themes, keyboard and motion

/** A picture for a theme's welcome screen (images.attract): a made-up pattern, as a data: URL. */
const ATTRACT_PICTURE = "data:image/svg+xml;base64," + Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 40"><rect width="64" height="40" fill="#d9a441"/>' +
  '<circle cx="16" cy="14" r="9" fill="#f6e7b0"/><path d="M0 40L22 18L40 34L52 24L64 36V40Z" fill="#5b7f3a"/></svg>',
).toString("base64");

/**
 * A variant of scenario `sc`: `label` added to its name, `extra` merged into its fake app's
 * scenario (a theme, a text size), its screenshots named by `shotName` (null: checked, not saved).
 */
function variant(sc, label, extra, shotName) {
  return { ...sc, name: `${sc.name} (${label})`, scenario: { ...sc.scenario, ...extra }, shotName };
}

/**
 * The high-contrast theme's variant of `sc`: its screenshots `<name>-hc` (`keypad-ar` →
 * `keypad-hc-ar`), only those in `keep` when it is given.
 */
function highContrast(sc, keep = null) {
  return variant(sc, "high contrast", { theme: "high-contrast" }, (name) => {
    const [, base, lang = ""] = /^(.*?)((?:-(?:en|fr|ar))(?:-arab)?)?$/.exec(name);
    const file = `${base}-hc${lang}`;
    return !keep || keep.includes(file) ? file : null;
  });
}

/** The variant of `sc` with every text 1.3 times its size (the theme's fontScale); no screenshots. */
function largeText(sc) {
  return { ...variant(sc, "text × 1.3", { themePatch: { fontScale: 1.3 } }, () => null), panelsMayScroll: true };
}

/** A #rrggbb colour's channels. */
const rgbOf = (hex) => hex.replace("#", "").match(/../g).map((h) => parseInt(h, 16));

/** `fg` at `opacity` over `bg` (#rrggbb), as #rrggbb. */
function blend(fg, bg, opacity) {
  const [f, b] = [rgbOf(fg), rgbOf(bg)];
  return "#" + f.map((v, i) => Math.round(v * opacity + b[i] * (1 - opacity)).toString(16).padStart(2, "0")).join("");
}

/** The WCAG contrast ratio of two #rrggbb colours. */
function contrast(a, b) {
  const lum = (hex) => {
    const [r, g, bl] = rgbOf(hex).map((v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** The focused element, as describe() says it; "(body)" when none has the focus. */
function describeFocus() {
  const el = document.activeElement;
  if (!el || el === document.body) return "(body)";
  return el.id || `${el.dataset.action || el.tagName.toLowerCase()}${el.dataset.digit || el.dataset.lang || ""}` +
    (el.dataset.session ? `:${el.dataset.session.slice(-6)}` : "");
}

/**
 * Tab once round the screen shown: the elements it reaches, in order, must be every visible
 * control that is not disabled or inert (behind a dialog), in the page's order, each with a focus
 * ring of at least 3 px whose colour stands out 3:1 from what is around it (WCAG 1.4.11).
 * Returns the round (as describeFocus says them).
 */
async function expectTabRound(page, label) {
  const want = await page.evaluate(() => {
    const sel = "button, [href], input, select, textarea, [tabindex]";
    const shown = (el) => {
      if (el.closest("[hidden], [inert]") || el.disabled || el.tabIndex < 0) return false;
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
    };
    return [...document.querySelectorAll(sel)].filter(shown).map((el) =>
      el.id || `${el.dataset.action || el.tagName.toLowerCase()}${el.dataset.digit || el.dataset.lang || ""}` +
        (el.dataset.session ? `:${el.dataset.session.slice(-6)}` : ""));
  });
  // Tab round from wherever the focus is, until it comes back to the first control it reached
  // (after the last control it may leave the page for a moment: <body> has the focus then).
  const round = [];
  for (let i = 0; i < 2 * want.length + 4; i++) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate(describeFocus);
    if (at === "(body)") continue;
    if (at === round[0]) break;
    round.push(at);
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => {
        const f = (v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      // What the ring is drawn on: the first ancestor with a colour; a gradient (the welcome
      // screen's) counts as both ends, the brand colours.
      const around = [];
      for (let p = el.parentElement; p && !around.length; p = p.parentElement) {
        const ps = getComputedStyle(p);
        if (ps.backgroundImage.includes("gradient")) {
          around.push(ps.getPropertyValue("--brand"), ps.getPropertyValue("--brand-strong"));
        } else if (rgb(ps.backgroundColor).length === 3 || rgb(ps.backgroundColor)[3] === 1) {
          around.push(ps.backgroundColor);
        }
      }
      if (!around.length) around.push(getComputedStyle(document.body).backgroundColor);
      const probe = document.createElement("span");
      document.body.append(probe);
      const ratios = around.map((c) => {
        probe.style.color = c.trim();
        const [a, b] = [lum(rgb(getComputedStyle(probe).color)), lum(rgb(style.outlineColor))].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
      });
      probe.remove();
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth), contrast: Math.min(...ratios) };
    });
    expect(ring.style !== "none" && ring.width >= 3 && ring.contrast >= 3,
      `${label}: ${at} has no clear focus ring (${ring.style} ${ring.width} px, contrast ${ring.contrast.toFixed(2)})`);
  }
  // The round as from the page's first control.
  const first = round.indexOf(want[0]);
  if (first > 0) round.push(...round.splice(0, first));
  expect(round.join(" ") === want.join(" "), `${label}: Tab goes ${round.join(" → ")}; expected ${want.join(" → ")}`);
  return round;
}

/** The animations running on the page that move something (change more than its opacity). */
async function movingAnimations(page) {
  return page.evaluate(() => document.getAnimations()
    .filter((a) => a.playState === "running")
    .filter((a) => a.effect.getKeyframes().some((k) =>
      Object.keys(k).some((p) => !["offset", "computedOffset", "easing", "composite", "opacity"].includes(p))))
    .map((a) => `${a.animationName || a.transitionProperty || "?"} on ${a.effect.target.getAttribute("class")}`));
}

/** Under reduced motion: nothing on the screen shown moves (a spinner may fade). */
async function expectStill(page, label) {
  const moving = await movingAnimations(page);
  expect(moving.length === 0, `${label}: under reduced motion these still move: ${moving.join(", ")}`);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const SCENARIOS = [
  {
    name: "happy path",
    scenario: scenario({ info: { outcomeSeconds: 2 } }),
    async run(page) {
      await shoot(page, "attract");
      expect((await textOf(page, "#screen-attract .btn-lang")) === "English", "the language button says English");
      await page.click("#screen-attract h1"); // anywhere on the welcome screen starts
      await expectScreen(page, "keypad");
      await typeCode(page, "12");
      await typeCode(page, "3", "3"); // a physical keyboard works too
      expect((await codeCells(page)) === "123", `the code shows "${await codeCells(page)}" after 3 digits`);
      expect(await page.locator("#key-ok").isDisabled(), "OK is disabled before 6 digits");
      await shoot(page, "keypad");
      await page.click('[data-action="backspace"]');
      expect((await codeCells(page)) === "12", "backspace removes the last digit");
      await typeCode(page, "3456", "56");
      await typeCode(page, "9"); // a 7th digit is ignored
      expect((await codeCells(page)) === CODE, `the code shows "${await codeCells(page)}"`);
      await page.keyboard.press("Enter");
      await expectScreen(page, "consent");
      const claim = await calls(page, "claim_session");
      expect(claim.length === 1 && claim[0].args.digits === CODE, `claim_session got ${JSON.stringify(claim)}`);
      await shoot(page, "consent");

      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      const start = (await calls(page, "start_session"))[0];
      expect(
        start && start.args.sessionId === "happy" && start.args.lang === "en" &&
          /^Channel#/.test(start.args.onEvent) && /^Channel#/.test(start.args.onFrame),
        `start_session got ${JSON.stringify(start)}`,
      );
      await expectText(page, "#hint-text", "Come a little closer");
      await page.waitForFunction(() => {
        const img = document.getElementById("preview-img");
        return !img.hidden && img.src.startsWith("blob:") && img.naturalWidth === 640;
      }, null, { timeout: 4000 }).catch(() => fail("the preview shows no camera frame"));
      await page.waitForFunction(() => document.getElementById("preview").dataset.face === "in", null, { timeout: 2000 })
        .catch(() => fail("the oval does not turn green with a face in it"));
      expect(await page.locator("#preview-opening").isHidden(), "the camera spinner is gone once frames come");
      await shoot(page, "capture");

      await openGate(page, "capture");
      await expectText(page, "#hint-text", "Hold still");
      await page.waitForFunction(() => document.getElementById("progress-meter").getAttribute("aria-valuenow") === "60",
        null, { timeout: 3000 }).catch(() => fail("the progress does not reach 60 %"));
      const ring = await page.evaluate(() => document.getElementById("oval-progress").style.strokeDashoffset);
      expect(parseFloat(ring) === 40, `the progress ring's offset is ${ring}, not 40`);
      await openGate(page, "progress");
      await expectText(page, "#challenge-step", "1 of 2");
      await expectText(page, "#challenge-text", "Turn your head to your left");
      expect((await page.getAttribute("#head", "data-challenge")) === "TURN_LEFT", "the head acts out TURN_LEFT");
      const anim = await page.evaluate(() => getComputedStyle(document.querySelector("#head .head-features")).animationName);
      expect(anim === "turn-left", `the head's animation is "${anim}"`);
      expect(await page.locator("#capture-tips").isHidden(), "the tips give way to the challenge");
      await shoot(page, "challenge");
      await openGate(page, "challenge1");
      await expectText(page, "#challenge-step", "2 of 2");
      await expectText(page, "#challenge-text", "Blink");
      await openGate(page, "challenge2");
      await expectScreen(page, "processing");
      await shoot(page, "processing");
      await openGate(page, "processing");
      await expectScreen(page, "success");
      expect(await page.locator("#screen-success .queued-note").isHidden(),
        "no network note on an online visit, though its result is queued (as every result is)");
      await expectText(page, "#screen-success .countdown-text", "Back to the start in");
      await shoot(page, "success");
      // The theme's sounds: a new hint, each new challenge, the success; hints spaced out.
      const played = await page.evaluate(() => window.__fake.sounds);
      const names = played.map((x) => x.name);
      expect(names[0] === "hint" && names.filter((n) => n === "challenge").length === 2 &&
        names[names.length - 1] === "success" && !names.includes("failure"), `the sounds played: ${names.join(", ")}`);
      const hints = played.filter((x) => x.name === "hint");
      expect(hints.every((h, i) => i === 0 || h.at - hints[i - 1].at >= 1500), "a hint sound at most every 1.5 s");

      const stats = await page.evaluate(() => ({ frames: window.__fake.frames, urls: window.__fake.urls }));
      expect(stats.frames.arraybuffer > 0 && stats.frames.uint8array > 0 && stats.frames.array > 0,
        `frames of every kind were sent: ${JSON.stringify(stats.frames)}`);
      await expectScreen(page, "attract", 4000); // outcomeSeconds: 2
      const urls = await page.evaluate(() => window.__fake.urls);
      expect(urls.created > 3 && urls.created === urls.revoked,
        `every preview blob URL is revoked (${urls.revoked} of ${urls.created})`);
      expect(await page.evaluate(() => !document.getElementById("preview-img").getAttribute("src")),
        "the last customer's picture is gone");
    },
  },
  {
    name: "wrong code lets the customer retype",
    scenario: scenario(),
    async run(page) {
      await page.keyboard.press("0"); // typing on the welcome screen starts with that digit
      await expectScreen(page, "keypad");
      expect((await codeCells(page)) === "0", "the first digit typed on the welcome screen counts");
      await typeCode(page, "00000");
      await page.click("#key-ok");
      await expectText(page, "#code-error-text", "That code is not right");
      await expectScreen(page, "keypad");
      expect((await codeCells(page)) === "", "the wrong code is cleared");
      await shoot(page, "keypad-error");
      await typeCode(page, "1");
      expect(await page.locator("#code-error").isHidden(), "the error goes once they type again");
      await typeCode(page, "11111");
      await page.click("#key-ok");
      await expectText(page, "#code-error-text", "could not find this code");
      await typeCode(page, CODE);
      await page.click("#key-ok");
      await expectScreen(page, "consent");
      await page.click("#screen-consent [data-action=decline]");
      await expectScreen(page, "attract");
      expect((await calls(page, "start_session")).length === 0, "declining consent starts no session");
    },
  },
  {
    name: "offline claim",
    scenario: scenario(),
    async run(page) {
      await page.click("#screen-attract [data-action=start]");
      await typeCode(page, "888888");
      await page.click("#key-ok");
      await expectScreen(page, "offline");
      await expectText(page, "#screen-offline h1", "We cannot reach the service");
      await expectText(page, "#offline-walkin", "Staff: start a walk-in session");
      await shoot(page, "offline");
      await page.click("#screen-offline [data-action=done]");
      await expectScreen(page, "attract");
    },
  },
  {
    name: "failed match, try again, then cancel",
    scenario: scenario({
      afterRetry: { fails: [ev.status("requiresInput"), ev.hint("LOOK_AT_CAMERA")] },
    }),
    async run(page) {
      await toConsent(page, "222222");
      expect(await page.locator("#test-badge").isVisible(), "a test session says so");
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      await expectText(page, "#challenge-text", "Smile");
      expect((await page.getAttribute("#preview", "data-face")) === "out", "a face outside the oval leaves it neutral");
      await openGate(page, "smile");
      await expectScreen(page, "attemptFailed");
      await expectText(page, "#attempt-title", "That did not work");
      await expectText(page, "#attempt-left", "You can try 2 more times");
      expect((await page.locator("#attempt-tips li").count()) >= 2, "the failure screen says what to change");
      const sounds = (await page.evaluate(() => window.__fake.sounds)).map((x) => x.name);
      expect(sounds[sounds.length - 1] === "failure", `a failed attempt sounds "failure": ${sounds.join(", ")}`);
      await shoot(page, "failure");
      await page.click("#retry");
      await expectScreen(page, "capture");
      expect((await calls(page, "retry_session")).length === 1, "Try again calls retry_session");
      await expectText(page, "#hint-text", "Look at the camera");
      expect(await page.locator("#challenge").isHidden(), "the old challenge is gone after a retry");

      await page.click("#capture-cancel");
      expect(await page.locator("#cancel-dialog").isVisible(), "Cancel asks first");
      await shoot(page, "cancel-confirm");
      await page.click("#cancel-dialog [data-action=cancelDismiss]");
      expect(await page.locator("#cancel-dialog").isHidden(), "No, continue closes the question");
      expect((await calls(page, "cancel_session")).length === 0, "and cancels nothing");
      await page.click("#capture-cancel");
      await page.click("#cancel-dialog [data-action=cancelConfirm]");
      await expectScreen(page, "canceled");
      expect((await calls(page, "cancel_session")).length === 1, "Yes, stop calls cancel_session");
      await shoot(page, "canceled");
      await page.click("#screen-canceled [data-action=done]");
      await expectScreen(page, "attract");
    },
  },
  {
    name: "camera lost, then camera error",
    scenario: scenario(),
    async run(page) {
      await toCapture(page, "333333");
      await page.waitForSelector("#preview-lost", { state: "visible", timeout: 4000 })
        .catch(() => fail("no message while the camera is lost"));
      await shoot(page, "camera-lost");
      await openGate(page, "lost");
      await expectScreen(page, "cameraError");
      await expectText(page, "#screen-cameraError .code-text", "No camera was found");
      await expectText(page, "#screen-cameraError .staff-hint", "Check the cable");
      await shoot(page, "camera-error");
    },
  },
  {
    name: "idle keypad goes back to attract and forgets the code",
    scenario: scenario({ info: { idleSeconds: 2 } }),
    async run(page) {
      await page.click("#screen-attract [data-action=start]");
      await typeCode(page, "123");
      await page.waitForTimeout(1200);
      await typeCode(page, "4"); // a touch restarts the idle time
      await page.waitForTimeout(1200);
      await expectScreen(page, "keypad", 100);
      await expectScreen(page, "attract", 3000);
      await page.click("#screen-attract [data-action=start]");
      await expectScreen(page, "keypad");
      expect((await codeCells(page)) === "", `the code was not cleared: "${await codeCells(page)}"`);
      // The consent screen times out the same way.
      await typeCode(page, CODE);
      await page.click("#key-ok");
      await expectScreen(page, "consent");
      await expectScreen(page, "attract", 3000);
    },
  },
  {
    name: "every other outcome",
    scenario: scenario({ info: { outcomeSeconds: 30 } }),
    async run(page) {
      const cases = [
        ["444444", "t", "timeout", "timeout", "Nobody was in front of the camera"],
        ["555555", "s", "seeStaff", "see-staff", "This session has expired"],
        ["666666", "f", "failure", "failure-final", "We could not confirm your identity"],
        ["777777", "e", "error", "error", "Something went wrong"],
      ];
      for (const [code, gate, screen, shot, text] of cases) {
        await toCapture(page, code);
        await openGate(page, gate);
        await expectScreen(page, screen);
        await expectText(page, `#screen-${screen} .result-card`, text);
        if (screen === "failure") {
          // Queued, as every result is; the kiosk is online, so nothing is said about the network.
          expect(await page.locator("#screen-failure .queued-note").isHidden(),
            "a queued result of an online visit says nothing about the network");
        }
        await expectText(page, `#screen-${screen} .countdown-text`, "Back to the start in");
        await shoot(page, shot);
        await page.click(`#screen-${screen} [data-action=done]`);
        await expectScreen(page, "attract");
      }
    },
  },
  {
    name: "scan a QR code: keypad, scan screen with the preview, then consent",
    scenario: scenario({ scans: [scanEnds.claimed("qr", "happy")] }),
    async run(page) {
      await page.click("#screen-attract [data-action=start]");
      await expectScreen(page, "keypad");
      await expectText(page, "#scan-instead", "Scan the QR code instead");
      await typeCode(page, "12");
      await page.click("#scan-instead");
      await expectScreen(page, "scan");
      const scan = await calls(page, "scan_session");
      expect(scan.length === 1 && /^Channel#/.test(scan[0].args.onFrame), `scan_session got ${JSON.stringify(scan)}`);
      await expectText(page, "#scan-title", "Hold your QR code up to the camera");
      await expectScanFrames(page);
      await page.waitForSelector("#scan-opening", { state: "hidden", timeout: 2000 })
        .catch(() => fail("the camera spinner stays after frames came"));
      expect(await page.locator("#scan-preview").evaluate((e) => e.classList.contains("scanning")),
        "the square shows it is looking once frames come");
      expect((await page.getAttribute('.steps li[data-step="code"]', "data-state")) === "current",
        "the scan is the code step");
      expect(await page.locator("#preview-img").isHidden(), "the capture screen's preview stays empty");
      await shoot(page, "scan");

      await openGate(page, "qr");
      await expectScreen(page, "consent");
      expect((await calls(page, "claim_session")).length === 0, "a scanned code claims no digits");
      expect(await page.locator("#test-badge").isHidden(), "not a test session");
      expect(await scanPreviewCleared(page), "the scan's picture is gone once the code is read");
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      const start = (await calls(page, "start_session"))[0];
      expect(start && start.args.sessionId === "happy", `start_session got ${JSON.stringify(start)}`);
      expect((await calls(page, "cancel_scan")).length === 0, "a scan that read a code is not canceled");
      // The digits typed before the scan were dropped.
      await page.click("#capture-cancel");
      await page.click("#cancel-dialog [data-action=cancelConfirm]");
      await expectScreen(page, "canceled");
      await page.click("#screen-canceled [data-action=done]");
      await expectScreen(page, "attract");
      await page.click("#screen-attract [data-action=start]");
      expect((await codeCells(page)) === "", `the code typed before the scan is gone: "${await codeCells(page)}"`);
    },
  },
  {
    name: "scan timeout: back on the keypad with a message, then scan again",
    scenario: scenario({
      scans: [scanEnds.error("timeout", "SCAN_TIMEOUT"), scanEnds.claimed("again", "fails", { test: true })],
    }),
    async run(page) {
      await scanAndEnd(page, "timeout");
      await expectScreen(page, "keypad");
      await expectText(page, "#code-error-text", "We could not find a QR code");
      await checkScreen(page, "keypad after a scan timeout");
      expect(!(await page.locator("#scan-instead").isDisabled()), "they can scan again");
      await scanAndEnd(page, "again");
      await expectScreen(page, "consent");
      expect(await page.locator("#test-badge").isVisible(), "a scanned test session says so");
      expect((await calls(page, "scan_session")).length === 2, "Scan again calls scan_session again");
      expect((await calls(page, "cancel_scan")).length === 0, "a scan that ended is not canceled");
      await page.click("#screen-consent [data-action=decline]");
      await expectScreen(page, "attract");
      await page.click("#screen-attract [data-action=start]");
      expect(await page.locator("#code-error").isHidden(), "the scan's message is gone on the next visit");
    },
  },
  {
    name: "scan canceled: cancel_scan, the keypad, and the late SCAN_CANCELED shows nothing",
    scenario: scenario({ scans: [scanEnds.claimed("never", "happy")], scanCancelDelayMs: 400 }),
    async run(page) {
      await toScan(page);
      await expectScanFrames(page);
      await page.click("#scan-cancel");
      await expectScreen(page, "keypad", 1000);
      expect((await calls(page, "cancel_scan")).length === 1, "Cancel calls cancel_scan");
      expect(await scanPreviewCleared(page), "the scan's picture is gone after a cancel");
      const end = await scanEnded(page, 1);
      expect(end.rejected === "SCAN_CANCELED", `the scan ended with ${JSON.stringify(end)}`);
      await page.waitForTimeout(150);
      await expectScreen(page, "keypad", 100);
      expect(await page.locator("#code-error").isHidden(), "a canceled scan shows no message");

      // Escape cancels too; then the code can still be typed.
      await toScan(page);
      await page.keyboard.press("Escape");
      await expectScreen(page, "keypad", 1000);
      expect((await calls(page, "cancel_scan")).length === 2, "Escape calls cancel_scan");
      await scanEnded(page, 2);
      await typeCode(page, CODE);
      await page.click("#key-ok");
      await expectScreen(page, "consent");
      const frames = await page.evaluate(() => window.__fake.frames);
      const before = frames.arraybuffer + frames.uint8array + frames.array;
      await page.waitForTimeout(300);
      const after = await page.evaluate(() => window.__fake.frames);
      expect(after.arraybuffer + after.uint8array + after.array === before, "no frames after the scan ended");
    },
  },
  {
    name: "scan of a QR code that is not a session, or no longer valid",
    scenario: scenario({
      scans: [
        scanEnds.error("qr", "INVALID_QR"),
        scanEnds.error("expired", "SESSION_EXPIRED_OR_NOT_FOUND"),
        scanEnds.error("secret", "INVALID_CLIENT_SECRET"),
      ],
    }),
    async run(page) {
      await scanAndEnd(page, "qr");
      await expectScreen(page, "keypad");
      await expectText(page, "#code-error-text", "This QR code is not a session code");
      await checkScreen(page, "keypad after an invalid QR code");
      await scanAndEnd(page, "expired");
      await expectScreen(page, "keypad");
      await expectText(page, "#code-error-text", "We could not find this session, or it has expired");
      await scanAndEnd(page, "secret");
      await expectScreen(page, "keypad");
      await expectText(page, "#code-error-text", "This QR code is not valid for its session");
      await typeCode(page, "1");
      expect(await page.locator("#code-error").isHidden(), "the message goes once they type");
    },
  },
  {
    name: "scan with a broken camera shows the camera error",
    scenario: scenario({
      scans: [scanEnds.error("found", "MEDIA_NOT_FOUND_ERROR"), scanEnds.error("virtual", "MEDIA_VIRTUAL_CAMERA_DETECTED")],
    }),
    async run(page) {
      await scanAndEnd(page, "found");
      await expectScreen(page, "cameraError");
      await expectText(page, "#screen-cameraError .code-text", "No camera was found");
      await expectText(page, "#screen-cameraError .staff-hint", "Check the cable");
      await checkScreen(page, "camera error after a scan");
      await page.click("#screen-cameraError [data-action=done]");
      await expectScreen(page, "attract");
      await scanAndEnd(page, "virtual");
      await expectScreen(page, "cameraError");
      await expectText(page, "#screen-cameraError .staff-hint", "A virtual camera was selected");
    },
  },
  {
    name: "scan while offline, or with the kiosk not registered",
    scenario: scenario({ scans: [scanEnds.error("network", "NETWORK_ERROR"), scanEnds.error("registered", "NOT_REGISTERED")] }),
    async run(page) {
      await scanAndEnd(page, "network");
      await expectScreen(page, "offline");
      await expectText(page, "#screen-offline h1", "We cannot reach the service");
      await page.click("#screen-offline [data-action=done]");
      await expectScreen(page, "attract");
      await scanAndEnd(page, "registered");
      await expectScreen(page, "seeStaff");
      await expectText(page, "#screen-seeStaff .staff-hint", "not registered");
      expect(await scanPreviewCleared(page), "no picture is kept after the scan");
    },
  },
  {
    name: "idle scan screen cancels the scan and goes back to attract",
    scenario: scenario({ info: { idleSeconds: 4 }, scans: [scanEnds.claimed("never", "happy")] }),
    async run(page) {
      await toScan(page);
      await expectScanFrames(page);
      expect((await calls(page, "cancel_scan")).length === 0, "no cancel_scan before the idle time");
      await expectScreen(page, "attract", 6000);
      expect((await calls(page, "cancel_scan")).length === 1, "walking away calls cancel_scan");
      expect(await scanPreviewCleared(page), "the last customer's picture is gone");
      const end = await scanEnded(page, 1);
      expect(end.rejected === "SCAN_CANCELED", `the scan ended with ${JSON.stringify(end)}`);
      await page.waitForTimeout(150);
      await expectScreen(page, "attract", 100);
      const urls = await page.evaluate(() => window.__fake.urls);
      expect(urls.created > 0 && urls.created === urls.revoked,
        `every scan preview blob URL is revoked (${urls.revoked} of ${urls.created})`);
    },
  },
  {
    name: "start_session fails",
    scenario: scenario({ startError: { code: "MEDIA_NOT_ALLOWED_ERROR", message: "busy" } }),
    async run(page) {
      await toConsent(page, CODE);
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "cameraError");
      await expectText(page, "#screen-cameraError .code-text", "The camera is busy");
    },
  },
  {
    name: "out of service",
    scenario: scenario({ info: { ready: false, problem: "ONNX Runtime could not be loaded: libonnxruntime.so.1 not found" } }),
    first: "outOfService",
    async run(page) {
      await expectText(page, "#oos-problem", "libonnxruntime.so.1");
      await expectText(page, "#oos-kiosk", "kiosk-0a1b2c3d4e5f");
      await shoot(page, "out-of-service");
      await page.click("#screen-outOfService h1");
      await expectScreen(page, "outOfService", 100);
    },
  },
  {
    name: "not registered",
    scenario: scenario({ info: { registered: false } }),
    first: "outOfService",
    async run(page) {
      await expectText(page, "#oos-problem", "not registered");
      await checkScreen(page, "not registered");
    },
  },
  {
    name: "texts: every language has English's keys, plural forms and placeholders",
    scenario: scenario(),
    async run() {
      const en = await readTextsFile("en");
      const langs = (await fs.readdir(path.join(ROOT, "texts"))).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
      expect(LANGUAGES.every((l) => langs.includes(l)), `texts/ has ${langs.join(", ")}, not all of ${LANGUAGES.join(", ")}`);
      const problems = [];
      for (const lang of langs) {
        let json;
        try {
          json = await readTextsFile(lang);
        } catch (e) {
          problems.push(`texts/${lang}.json cannot be read: ${e.message}`);
          continue;
        }
        problems.push(...textsProblems(lang, json, en));
        const dir = textAt(json, "screen.dir");
        const digits = textAt(json, "screen.digits");
        if (!["ltr", "rtl"].includes(dir)) problems.push(`texts/${lang}.json: screen.dir is "${dir}"`);
        if (!["latn", "arab"].includes(digits)) problems.push(`texts/${lang}.json: screen.digits is "${digits}"`);
        if (typeof textAt(en, `screen.language.${lang}`) !== "string") problems.push(`en.json names no language "${lang}"`);
      }
      expect(textAt(await readTextsFile("ar"), "screen.dir") === "rtl", "Arabic is written right to left");
      expect(problems.length === 0, problems.join("\n     "));

      // The check itself finds what it should: a key missing, one too many, a form missing,
      // a placeholder lost or renamed.
      const fr = await readTextsFile("fr");
      const broken = structuredClone(fr);
      delete broken.hint.MOVE_BACK;
      broken.hint.MOVE_SIDEWAYS = "Décalez-vous";
      delete broken.screen.common.returning.many;
      broken.screen.capture.challengeStep = "Étape {index}";
      broken.screen.staffPin.wrong.other = "Code PIN erroné. Il reste {count} essais.";
      const found = textsProblems("fr", broken, en).join(" | ");
      for (const want of ["hint.MOVE_BACK", "hint.MOVE_SIDEWAYS", "screen.common.returning.many",
        "screen.capture.challengeStep", "screen.staffPin.wrong.other"]) {
        expect(found.includes(want), `the texts check does not notice ${want}: ${found}`);
      }
    },
  },
  {
    name: "Arabic: the main screens right to left, in Arabic and its font",
    scenario: scenario({ info: { languages: LANGUAGES }, scans: [scanEnds.claimed("never", "happy")] }),
    async run(page) {
      // visitInLanguage checks the mirrored layout (language buttons, keypad, scan, consent, capture).
      await visitInLanguage(page, "ar");
      // Arabic is drawn with the bundled Noto Sans Arabic (bold and regular), Latin with DejaVu Sans.
      await page.click("#screen-attemptFailed [data-action=stop]");
      await expectScreen(page, "canceled");
      await checkScreen(page, "canceled in Arabic");
      await page.click("#screen-canceled [data-action=done]");
      await expectScreen(page, "attract");
      await chooseLanguage(page, "ar", await readTextsFile("ar"));
      await page.evaluate(() => document.fonts.ready);
      const loaded = await page.evaluate(() => ({
        check: document.fonts.check('700 58px "Noto Sans Arabic"', "العربية"),
        faces: [...document.fonts].filter((f) => f.family.replace(/"/g, "") === "Noto Sans Arabic" && f.status === "loaded")
          .map((f) => f.weight),
      }));
      expect(loaded.check && loaded.faces.includes("700") && loaded.faces.includes("400"),
        `Noto Sans Arabic is not loaded: ${JSON.stringify(loaded)}`);
      await expectDrawnWith(page, "#attract-title", "Noto Sans Arabic");
      await expectDrawnWith(page, ".attract-touch", "Noto Sans Arabic");
      await expectDrawnWith(page, '#languages [data-lang="fr"]', "DejaVu Sans");
    },
  },
  {
    name: "French: the main screens in French, nothing cut off",
    scenario: scenario({ info: { languages: LANGUAGES }, scans: [scanEnds.claimed("never", "happy")] }),
    async run(page) {
      await visitInLanguage(page, "fr");
      await page.click("#screen-attemptFailed [data-action=stop]");
      await expectScreen(page, "canceled");
      await checkScreen(page, "canceled in French");
      await expectDrawnWith(page, "#screen-canceled h1", "DejaVu Sans");
      // Arabic's font is fetched only when Arabic is on the page: the language button here.
      expect(await page.evaluate(() => document.fonts.check('16px "DejaVu Sans"', "é")), "DejaVu Sans is not loaded");
    },
  },
  {
    name: "a session's language, languages and customization hold for its visit only",
    scenario: scenario({
      info: { languages: LANGUAGES },
      claims: {
        ...CLAIMS,
        [CODE]: {
          sessionId: "happy",
          lang: "fr",
          // "de" has no texts on this kiosk: it is not offered.
          langs: ["fr", "en", "de"],
          customization: {
            texts: {
              fr: { screen: { consent: { title: "Vérification pour Banque Exemple" } } },
              en: { screen: { consent: { title: "Verification for Example Bank" } } },
            },
            // Unknown names and values that are not colours are left out.
            colors: { brandStrong: "#5a1040", bogus: "red", danger: "url(x)" },
          },
        },
      },
    }),
    async run(page) {
      const en = await readTextsFile("en");
      const fr = await readTextsFile("fr");
      const colors = () => page.evaluate(() => {
        const css = getComputedStyle(document.documentElement);
        return { brandStrong: css.getPropertyValue("--brand-strong").trim(), danger: css.getPropertyValue("--danger").trim() };
      });
      const theme = await colors();
      const visitLangs = () => page.locator("#visit-languages .btn-lang").evaluateAll((bs) => bs.map((b) => b.dataset.lang));

      // The session speaks French with its own title and colour; it offers French and English.
      await toConsent(page, CODE);
      await page.waitForFunction(() => document.documentElement.lang === "fr", null, { timeout: 4000 })
        .catch(() => fail("the session's language (fr) is not the visit's"));
      await expectText(page, "#consent-title", "Vérification pour Banque Exemple");
      await expectText(page, '[data-t="screen.consent.agree"]', textIn(fr, "fr", "screen.consent.agree"));
      expect((await visitLangs()).join() === "fr,en", `the visit offers ${await visitLangs()}`);
      expect((await page.getAttribute('#visit-languages [data-lang="fr"]', "aria-pressed")) === "true",
        "French is not shown as the visit's language");
      const custom = await colors();
      expect(custom.brandStrong === "#5a1040", `--brand-strong is ${custom.brandStrong} in the visit`);
      expect(custom.danger === theme.danger, `--danger became ${custom.danger}: a bad colour was used`);
      await checkScreen(page, "consent with a session's customization");
      await shoot(page, "consent-custom");

      // The customer switches to English: the session's English title.
      await page.click('#visit-languages [data-lang="en"]');
      await page.waitForFunction(() => document.documentElement.lang === "en", null, { timeout: 4000 })
        .catch(() => fail("the visit's language buttons do not switch to English"));
      await expectText(page, "#consent-title", "Verification for Example Bank");

      // Declined: the kiosk's own language, texts and colours again.
      await page.click("#screen-consent [data-action=decline]");
      await expectScreen(page, "attract");
      await page.waitForFunction(() => document.documentElement.lang === "en", null, { timeout: 4000 });
      expect(JSON.stringify(await colors()) === JSON.stringify(theme), `the colours stay the session's: ${JSON.stringify(await colors())}`);
      // The next session has no customization: the kiosk's title and all its languages.
      await toConsent(page, "222222");
      await expectText(page, "#consent-title", textIn(en, "en", "screen.consent.title"));
      expect((await visitLangs()).join() === LANGUAGES.join(), `a session without languages offers ${await visitLangs()}`);
      await page.click("#screen-consent [data-action=decline]");
      await expectScreen(page, "attract");

      // A customer who chose Arabic, which the session does not offer: the session's French.
      await chooseLanguage(page, "ar", await readTextsFile("ar"));
      await toConsent(page, CODE);
      await page.waitForFunction(() => document.documentElement.lang === "fr" && document.documentElement.dir === "ltr",
        null, { timeout: 4000 }).catch(() => fail("a language the session does not offer stays"));
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      const start = (await calls(page, "start_session")).at(-1);
      expect(start && start.args.lang === "fr", `start_session got ${JSON.stringify(start)}`);
    },
  },
  {
    name: "a theme's own typeface draws the text, the bundled fonts what it lacks",
    scenario: scenario({
      info: { languages: LANGUAGES, defaultLang: "ar" },
      themePatch: { font: { family: "Brand Test", regular: BRAND_FONT, bold: "data:font/woff2;base64,bm90IGEgZm9udA==" } },
    }),
    async run(page) {
      await expectScreen(page, "attract");
      await page.evaluate(() => document.fonts.ready);
      const used = await page.evaluate(() => ({
        family: getComputedStyle(document.getElementById("attract-title")).fontFamily,
        faces: [...document.fonts].filter((f) => f.family.replace(/"/g, "") === "Brand Test").map((f) => `${f.weight} ${f.status}`),
      }));
      expect(used.family.startsWith('"Brand Test"') && used.family.includes("DejaVu Sans"),
        `the title's font-family is ${used.family}`);
      expect(used.faces.includes("400 loaded"), `the theme's faces: ${used.faces}`);
      await expectDrawnWith(page, "#attract-title", "Noto Sans Arabic");
      // Latin letters the theme's font lacks (this one is Arabic only) come from the bundled fonts.
      await expectDrawnWith(page, '#languages [data-lang="en"]', "DejaVu Sans");
      await checkScreen(page, "welcome with a theme's typeface");
    },
  },
  {
    name: "Arabic-Indic digits: screen.digits arab numbers the countdown, the keypad, steps and the staff panel",
    scenario: staffScenario({
      info: { languages: LANGUAGES, defaultLang: "ar", outcomeSeconds: 9 },
      textsPatch: { screen: { digits: "arab" } },
    }, { waiting: [{ data: WAITING.slice(0, 3) }] }),
    async run(page) {
      const ar = await readTextsFile("ar");
      const arabic = (s) => /[٠-٩]/.test(s) && !/[0-9]/.test(s);
      const arab = (s) => s.replace(/[0-9]/g, (d) => "٠١٢٣٤٥٦٧٨٩"[d]);
      expect((await page.evaluate(() => document.documentElement.dataset.digits)) === "arab", "<html data-digits> is not arab");
      const point = await textOf(page, "#screen-attract .attract-points li:last-child");
      expect(arabic(point), `the welcome screen's "6-digit code" is written "${point}"`);

      await page.click("#screen-attract [data-action=start]");
      await expectScreen(page, "keypad");
      const captions = await page.locator("#keys .key[data-digit]").allInnerTexts();
      expect(captions.join("") === "١٢٣٤٥٦٧٨٩٠", `the keypad's captions are ${captions.join("")}`);
      await typeCode(page, "12");
      await typeCode(page, "3", "3");
      expect((await codeCells(page)) === "١٢٣", `the code shows "${await codeCells(page)}"`);
      await expectText(page, "#code-status", arab(textIn(ar, "ar", "screen.keypad.digitsEntered", { n: 3 })));
      const dot = await page.evaluate(() => getComputedStyle(document.querySelector(".steps .step-dot"), "::before").content);
      expect(/arabic-indic/.test(dot), `the steps are numbered with ${dot}`);
      await shoot(page, "keypad-ar-arab");
      await typeCode(page, "456");
      await page.click("#key-ok");
      await expectScreen(page, "consent");
      const claim = await calls(page, "claim_session");
      expect(claim.length === 1 && claim[0].args.digits === CODE,
        `the code is claimed in ASCII digits: ${JSON.stringify(claim)}`);

      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      await openGate(page, "capture");
      await openGate(page, "progress");
      await expectText(page, "#challenge-step", "الخطوة ١ من ٢");
      await openGate(page, "challenge1");
      await openGate(page, "challenge2");
      await openGate(page, "processing");
      await expectScreen(page, "success");
      const returning = (n) => arab(textIn(ar, "ar", "screen.common.returning", { n }));
      await expectCountdown(page, "#screen-success .countdown-text", returning);
      const countdown = await textOf(page, "#screen-success .countdown-text");
      expect(arabic(countdown), `the countdown says "${countdown}"`);
      await shoot(page, "success-ar-arab");
      await page.click("#screen-success [data-action=done]");
      await expectScreen(page, "attract");

      // The staff panel: counts and times in the same digits.
      await page.keyboard.press("Control+Alt+KeyS");
      await expectScreen(page, "staffPin");
      await checkScreen(page, "the staff PIN in Arabic with Arabic-Indic digits");
      const pinKeys = await page.locator("#pin-keys .key[data-digit]").allInnerTexts();
      expect(pinKeys[0] === "١", `the PIN keypad's first key says ${pinKeys[0]}`);
      await typePin(page, STAFF_PIN);
      await page.click("#pin-ok");
      await expectScreen(page, "staffMenu");
      await expectText(page, "#queue-acknowledged", "١٤٨");
      const time = await textOf(page, "#staff-recent .row-time");
      expect(arabic(time), `a recent session's time is written "${time}"`);
      await checkScreen(page, "the staff panel in Arabic with Arabic-Indic digits");
      // The waiting list: its count and times too; a client reference stays as it is.
      await page.click("#staff-waiting");
      await expectScreen(page, "staffWaiting");
      await expectText(page, "#waiting-count", arab(textIn(ar, "ar", "screen.staffWaiting.count", { n: 3 })));
      const created = await textOf(page, "#waiting-list .waiting-time");
      expect(/[٠-٩]/.test(created) && !/[0-9]/.test(created), `a waiting session's time is written "${created}"`);
      await expectText(page, "#waiting-list .waiting-ref", "CUST-88421");
      await checkScreen(page, "the waiting list in Arabic with Arabic-Indic digits");
    },
  },
  {
    name: "reduced motion: nothing moves on any screen, the head holds the pose",
    scenario: scenario({ scans: [scanEnds.claimed("never", "happy")], sessions: { ...SESSIONS, happy: [
      ev.status("opening"), { gate: "open" }, ...SESSIONS.happy.slice(1)] } }),
    reducedMotion: "reduce",
    async run(page) {
      await expectStill(page, "the welcome screen");
      await page.click("#screen-attract [data-action=start]");
      await expectScreen(page, "keypad");
      await typeCode(page, "12");
      await expectStill(page, "the keypad");
      await page.click("#scan-instead");
      await expectScreen(page, "scan");
      await expectScanFrames(page);
      await expectStill(page, "the scan screen");
      await page.click("#scan-cancel");
      await expectScreen(page, "keypad");
      await typeCode(page, CODE);
      await page.click("#key-ok");
      await expectScreen(page, "consent");
      await expectStill(page, "the consent screen");
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      // The camera opening: its spinner fades, without turning.
      await waitGate(page, "open");
      expect(await page.locator("#preview-opening").isVisible(), "the camera's spinner shows while it opens");
      await expectStill(page, "the camera opening");
      const spin = await page.evaluate(() => getComputedStyle(document.querySelector("#preview-opening .spinner")).animationName);
      expect(spin === "pulse", `the spinner keeps a sign of life (${spin})`);
      await openGate(page, "open");
      await openGate(page, "capture");
      await openGate(page, "progress");
      await expectText(page, "#challenge-text", "Turn your head to your left");
      const s = await page.evaluate(() => {
        const f = getComputedStyle(document.querySelector("#head .head-features"));
        const a = getComputedStyle(document.querySelector("#head .head-arrow-left"));
        return { anim: f.animationName, transform: f.transform, arrow: a.opacity };
      });
      expect(s.anim === "none", `no animation under reduced motion (${s.anim})`);
      expect(s.transform.includes("-22"), `the head shows the turn still (${s.transform})`);
      expect(s.arrow === "1", "the arrow shows still");
      await expectStill(page, "a challenge");
      await openGate(page, "challenge1");
      await openGate(page, "challenge2");
      await expectScreen(page, "processing");
      await expectStill(page, "the processing screen");
      await openGate(page, "processing");
      await expectScreen(page, "success");
      await expectStill(page, "the success screen");
      expect(await page.locator("#screen-success .countdown-bar").isHidden(), "no shrinking bar: the countdown is said in words");
    },
  },
  {
    name: "keyboard: Tab reaches every control in order with a focus ring; dialogs hold the focus",
    scenario: staffScenario({ info: { languages: LANGUAGES } }, { waiting: [{ data: WAITING.slice(0, 4) }] }),
    async run(page) {
      const round = await expectTabRound(page, "the welcome screen");
      expect(round.join(" ") === "languageen languagefr languagear start", `the welcome screen's Tab order: ${round}`);
      for (let i = 0; i < 6 && (await page.evaluate(describeFocus)) !== "start"; i++) await page.keyboard.press("Tab");
      expect((await page.evaluate(describeFocus)) === "start", "Tab reaches Start");
      await page.keyboard.press("Enter");
      await expectScreen(page, "keypad");
      expect((await page.evaluate(describeFocus)) === "keypad-title", "the new screen's title has the focus");
      await expectTabRound(page, "the keypad");
      for (const d of CODE) await page.keyboard.press(d);
      await expectTabRound(page, "the keypad with a code"); // OK joins once the code is whole
      await page.keyboard.press("Enter");
      await expectScreen(page, "consent");
      await expectTabRound(page, "the consent screen");
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      await expectTabRound(page, "the capture screen");
      await page.focus("#capture-cancel");
      await page.keyboard.press("Enter");
      expect(await page.locator("#cancel-dialog").isVisible(), "Cancel asks first");
      expect((await page.evaluate(describeFocus)) === "cancel-title", "the question has the focus");
      expect(await page.evaluate(() => document.querySelector("#cancel-dialog [role=alertdialog]").getAttribute("aria-modal") === "true"),
        "the question is a modal dialog");
      const inDialog = await expectTabRound(page, "the cancel question");
      expect(inDialog.join(" ") === "cancelConfirm cancelDismiss", `Tab stays in the question: ${inDialog}`);
      await page.keyboard.press("Escape");
      expect(await page.locator("#cancel-dialog").isHidden(), "Escape closes the question");
      expect((await page.evaluate(describeFocus)) === "capture-cancel", "focus goes back to Cancel");
      await openGate(page, "capture");
      await openGate(page, "progress");
      await openGate(page, "challenge1");
      await openGate(page, "challenge2");
      await openGate(page, "processing");
      await expectScreen(page, "success");
      await expectTabRound(page, "the success screen");
      await page.click("#screen-success [data-action=done]");
      await expectScreen(page, "attract");

      // The staff screens, by keyboard too.
      await page.keyboard.press("Control+Alt+KeyS");
      await expectScreen(page, "staffPin");
      await expectTabRound(page, "the staff PIN");
      for (const d of STAFF_PIN) await page.keyboard.press(d);
      await page.keyboard.press("Enter");
      await expectScreen(page, "staffMenu");
      await expectText(page, "#queue-acknowledged", "148");
      const menu = await expectTabRound(page, "the staff menu");
      // A list that scrolls takes the focus, to scroll it by keyboard (expectTabRound: one that
      // fits does not).
      expect(menu.includes("staff-recent") && menu.includes("staff-settings"),
        `the menu's scrolling lists take the focus: ${menu.join(", ")}`);
      await page.focus("#staff-recent");
      const before = await page.evaluate(() => document.getElementById("staff-recent").scrollTop);
      await page.keyboard.press("PageDown");
      await page.waitForFunction((b) => document.getElementById("staff-recent").scrollTop > b, before, { timeout: 2000 })
        .catch(() => fail("Page Down does not scroll the recent sessions"));
      await page.focus("#staff-exit");
      await page.keyboard.press("Enter");
      expect((await page.evaluate(describeFocus)) === "exit-title", "the exit question has the focus");
      await expectTabRound(page, "the exit question");
      await page.keyboard.press("Escape");
      expect((await page.evaluate(describeFocus)) === "staff-exit", "focus goes back to Exit");
      await page.focus("#staff-waiting");
      await page.keyboard.press("Enter");
      await expectScreen(page, "staffWaiting");
      await expectText(page, "#waiting-list .waiting-ref", "CUST-");
      await expectTabRound(page, "the waiting list");
      await page.focus("#waiting-list [data-action=waitingPick]");
      await page.keyboard.press("Enter");
      expect((await page.evaluate(describeFocus)) === "pick-title", "the pick question has the focus");
      const pick = await expectTabRound(page, "the pick question");
      expect(pick.join(" ") === "pickDismiss pickConfirm", `Tab stays in the pick question: ${pick}`);
      await page.keyboard.press("Escape");
      expect(await page.locator("#pick-dialog").isHidden(), "Escape closes the pick question");
      expect((await page.evaluate(() => document.activeElement.dataset.action)) === "waitingPick",
        "focus goes back to the session");
    },
  },
  {
    name: "themes: the default theme is style.css's look; its colours, radii, text size and logo on the page",
    scenario: scenario(),
    async run(page) {
      // style.css's :root (the look without a theme) is the default theme's, value for value.
      const css = await fs.readFile(path.join(ROOT, "ui", "style.css"), "utf8");
      const rootVars = Object.fromEntries([.../:root\s*{([^}]*)}/.exec(css)[1].matchAll(/(--[\w-]+):\s*([^;]+);/g)]
        .map((m) => [m[1], m[2].trim()]));
      const def = await loadTheme(ROOT, "default");
      const kebab = (k) => "--" + k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
      const differ = Object.entries(def.colors).filter(([k, v]) => (rootVars[kebab(k)] || "").toLowerCase() !== v.toLowerCase())
        .map(([k, v]) => `${kebab(k)}: style.css ${rootVars[kebab(k)]}, theme.json ${v}`);
      if (rootVars["--radius"] !== `${def.radius}px`) differ.push(`--radius ${rootVars["--radius"]}, theme.json ${def.radius}`);
      if (rootVars["--radius-lg"] !== `${def.radiusLarge}px`) differ.push(`--radius-lg ${rootVars["--radius-lg"]}, theme.json ${def.radiusLarge}`);
      if (Number(rootVars["--font-scale"]) !== def.fontScale) differ.push(`--font-scale ${rootVars["--font-scale"]}, theme.json ${def.fontScale}`);
      expect(differ.length === 0, `style.css's :root is not the default theme: ${differ.join("; ")}`);
      const logos = await Promise.all(["ui/logo.svg", "assets/themes/default/logo.svg"].map((f) => fs.readFile(path.join(ROOT, f))));
      expect(logos[0].equals(logos[1]), "ui/logo.svg is not the default theme's logo");

      // axe cannot judge text on the welcome screen's gradient (it says "incomplete", not a
      // violation): its texts (brandContrast; the subtitle at 92 %, the touch line at 80 %
      // opacity) must stand out 4.5:1 from both ends of it (brand, brandStrong) in each theme.
      for (const name of ["default", "high-contrast"]) {
        const c = (await loadTheme(ROOT, name)).colors;
        for (const end of ["brand", "brandStrong"]) {
          for (const [what, opacity] of [["title", 1], ["subtitle", 0.92], ["touch line", 0.8]]) {
            const ratio = contrast(blend(c.brandContrast, c[end], opacity), c[end]);
            expect(ratio >= 4.5, `${name}: the welcome screen's ${what} on ${end}: ${ratio.toFixed(2)}:1`);
          }
        }
      }

      // On the page: theme asked once, each value on :root, the logo in every logo <img>.
      expect((await calls(page, "theme")).length === 1, "the theme is asked for once");
      const onPage = await page.evaluate(() => {
        const root = document.documentElement;
        return {
          vars: Object.fromEntries([...root.style].map((p) => [p, root.style.getPropertyValue(p)])),
          theme: root.dataset.theme,
          logos: [...document.querySelectorAll("img[data-logo]")].map((img) => img.src.slice(0, 26)),
          body: getComputedStyle(document.body).fontSize,
        };
      });
      const missing = Object.entries(def.colors).filter(([k, v]) => onPage.vars[kebab(k)] !== v).map(([k]) => kebab(k));
      expect(missing.length === 0, `colours not set on :root: ${missing.join(", ")}`);
      expect(onPage.vars["--radius"] === "20px" && onPage.vars["--radius-lg"] === "32px" && onPage.vars["--font-scale"] === "1",
        `radii and text size on :root: ${JSON.stringify(onPage.vars)}`);
      expect(onPage.theme === "default", `<html data-theme> is ${onPage.theme}`);
      expect(onPage.logos.length === 4 && onPage.logos.every((l) => l === "data:image/svg+xml;base64,"),
        `the logos show ${onPage.logos.join(", ")}`);
      expect(onPage.body === "24px", `the text size is ${onPage.body}`);
    },
  },
  {
    name: "themes: high contrast sets its colours and text size; without a theme, style.css's look",
    scenario: scenario({ theme: "high-contrast" }),
    async run(page) {
      const look = () => page.evaluate(() => {
        const root = getComputedStyle(document.documentElement);
        return {
          brand: root.getPropertyValue("--brand").trim(),
          muted: root.getPropertyValue("--muted").trim(),
          radius: root.getPropertyValue("--radius").trim(),
          body: getComputedStyle(document.body).fontSize,
          h1: getComputedStyle(document.getElementById("attract-title")).fontSize,
          logo: document.querySelector(".attract-logo").getAttribute("src").slice(0, 10),
        };
      });
      const hc = await look();
      expect(hc.brand === "#000000" && hc.muted === "#1a1a1a" && hc.radius === "8px",
        `the high-contrast colours: ${JSON.stringify(hc)}`);
      // fontScale 1.1: every size 1.1 times the default.
      expect(hc.body === "26.4px" && Math.abs(parseFloat(hc.h1) - 58 * 1.1) < 0.01, `the text × 1.1: ${JSON.stringify(hc)}`);
      expect(hc.logo === "data:image", "the default's logo, which high-contrast does not replace");
    },
  },
  {
    name: "themes: the theme command fails: the screens keep style.css's look, the logo and no sounds",
    scenario: scenario({ theme: null }),
    async run(page) {
      const s = await page.evaluate(() => ({
        inline: document.documentElement.getAttribute("style"),
        brand: getComputedStyle(document.documentElement).getPropertyValue("--brand").trim(),
        logos: [...document.querySelectorAll("img[data-logo]")].map((img) => img.getAttribute("src")),
        theme: document.documentElement.dataset.theme,
      }));
      expect(!s.inline && s.brand === "#0b6e4f" && s.theme === undefined, `without a theme: ${JSON.stringify(s)}`);
      expect(s.logos.every((l) => l === "logo.svg"), `the logos: ${s.logos.join(", ")}`);
      await checkScreen(page, "the welcome screen without a theme");
      await toCapture(page, CODE);
      await openGate(page, "capture");
      await openGate(page, "progress");
      await expectText(page, "#challenge-text", "Turn your head to your left");
      expect((await page.evaluate(() => window.__fake.sounds)).length === 0, "no theme, no sounds");
    },
  },
  {
    name: "themes: a picture behind the welcome screen; colours and sizes out of range are left out",
    scenario: scenario({
      themePatch: {
        images: { attract: ATTRACT_PICTURE },
        colors: { brand: "red; background: url(x)", text: "#12", surface: 7 },
        radius: 400,
        fontScale: "big",
        sounds: { hint: "http://example.test/hint.wav" },
      },
    }),
    async run(page) {
      const s = await page.evaluate(() => {
        const root = document.documentElement;
        const attract = document.getElementById("screen-attract");
        return {
          inline: [...root.style].join(" "),
          brand: getComputedStyle(root).getPropertyValue("--brand").trim(),
          picture: attract.classList.contains("with-image") && getComputedStyle(attract).backgroundImage,
        };
      });
      expect(s.picture && s.picture.includes("data:image/svg+xml;base64,"), `the welcome screen's picture: ${s.picture}`);
      for (const left of ["--brand", "--text", "--surface", "--radius", "--font-scale"]) {
        expect(!s.inline.split(" ").includes(left), `${left} out of range was set: ${s.inline}`);
      }
      expect(s.inline.includes("--brand-strong") && s.brand === "#0b6e4f", `the rest of the theme applies: ${JSON.stringify(s)}`);
      await shoot(page, "attract-picture");
      await toCapture(page, CODE);
      const sounds = (await page.evaluate(() => window.__fake.sounds)).map((x) => x.name);
      expect(!sounds.includes("hint"), `a sound that is not a data: URL is not played: ${sounds.join(", ")}`);
    },
  },
  {
    name: "staff: the logo held or Ctrl+Alt+S, wrong and locked PINs, the menu, Lock",
    scenario: staffScenario(),
    async run(page) {
      // Held for 3 s, the logo opens the staff sign-in (a tap still starts a visit).
      const logo = await page.locator(".attract-logo").boundingBox();
      await page.mouse.move(logo.x + logo.width / 2, logo.y + logo.height / 2);
      await page.mouse.down();
      await page.waitForTimeout(2000);
      await expectScreen(page, "attract", 100);
      await expectScreen(page, "staffPin", 3000);
      await page.mouse.up();
      await page.waitForTimeout(150);
      await expectScreen(page, "staffPin", 100);
      await expectText(page, "#pin-lead", "Enter your staff PIN.");
      await page.click("#pin-back");
      await expectScreen(page, "attract");
      expect((await calls(page, "staff_lock")).length === 1, "leaving the PIN screen sends staff_lock");

      // Ctrl+Alt+S does the same on a kiosk with a keyboard.
      await page.keyboard.press("Control+Alt+KeyS");
      await expectScreen(page, "staffPin");
      await typePin(page, "111");
      expect((await pinDots(page)) === 3, "each digit shows as a dot");
      expect(await page.locator("#pin-ok").isDisabled(), "OK is disabled before 4 digits");
      expect(!(await page.locator("#screen-staffPin").innerText()).includes("111"), "the PIN itself never shows");
      await expectText(page, "#pin-status", "3 digits entered");
      await shoot(page, "staff-pin");
      await typePin(page, "1");
      await page.click("#pin-ok");
      await expectText(page, "#pin-error-text", "Wrong PIN. 2 tries left.");
      expect((await pinDots(page)) === 0, "a wrong PIN is cleared");
      const tried = await calls(page, "staff_unlock");
      expect(tried.length === 1 && tried[0].args.pin === "1111", `staff_unlock got ${JSON.stringify(tried)}`);

      // Locked out: OK stays disabled, whatever is typed, with a countdown until the time is up.
      await typePin(page, "0000");
      await page.click("#pin-ok");
      await expectText(page, "#pin-error-text", "Too many wrong PINs. Try again in 3 seconds.");
      await typePin(page, STAFF_PIN);
      expect(await page.locator("#pin-ok").isDisabled(), "OK is disabled during a lockout");
      await shoot(page, "staff-pin-locked");
      await expectText(page, "#pin-error-text", "Try again in 1 second.", 4000);
      await page.waitForFunction(() => !document.getElementById("pin-ok").disabled, null, { timeout: 4000 })
        .catch(() => fail("OK stays disabled after the lockout"));
      expect(await page.locator("#pin-error").isHidden(), "the lockout's message goes when it ends");
      await page.keyboard.press("Enter");
      await expectScreen(page, "staffMenu");
      const unlock = (await calls(page, "staff_unlock")).at(-1);
      expect(unlock.args.pin === STAFF_PIN && (await calls(page, "staff_unlock")).length === 3,
        `the right PIN was sent once: ${JSON.stringify(await calls(page, "staff_unlock"))}`);

      // The overview: queue, last sync, a result that cannot be delivered, recent sessions, settings.
      await expectText(page, "#staff-operator", "Signed in: Dana Reyes");
      await expectText(page, "#staff-kiosk", "kiosk-0a1b2c3d4e5f");
      await expectText(page, "#staff-registered", "Registered with the service");
      const queue = await page.evaluate(() =>
        ["pending", "inFlight", "dead", "acknowledged", "expired"].map((k) => document.getElementById(`queue-${k}`).textContent));
      expect(queue.join(",") === "2,1,1,148,3", `the queue counts show ${queue}`);
      await expectText(page, "#staff-sync", "Last sync: 3/14/25, 10:26");
      await expectText(page, "#staff-dead", "ses_0195a3c4d5e6f7a8b9c0d1e2");
      await expectText(page, "#staff-dead", "the session was deleted (HTTP 404)");
      const recent = await page.locator("#staff-recent li").allInnerTexts();
      expect(recent.length === 14, `${recent.length} recent sessions shown`);
      expect(/Verified/.test(recent[0]) && /Delivered/.test(recent[0]) && /10:30/.test(recent[0]),
        `the first recent session reads "${recent[0]}"`);
      expect(/Not verified/.test(recent[1]) && /Failed for good/.test(recent[1]), `the second reads "${recent[1]}"`);
      expect(/Walk-in/.test(recent[2]) && !/Walk-in/.test(recent[0]), "walk-ins are marked, and only they");
      expect(/Nothing to send/.test(recent[4]), `a session without a result to send says so: "${recent[4]}"`);
      expect(recent.every((r) => r.includes("…") && !r.includes("ses_0195")), "session ids are shortened");
      await expectText(page, "#staff-settings", "camera.device");
      await expectText(page, "#staff-settings", "/dev/video0");
      const lists = await page.evaluate(() => ["staff-recent", "staff-settings"].map((id) => {
        const el = document.getElementById(id);
        return { id, scrolls: el.scrollHeight > el.clientHeight + 10, bottom: el.getBoundingClientRect().bottom };
      }));
      for (const l of lists) {
        expect(l.scrolls && l.bottom <= 800, `#${l.id} scrolls inside its panel (${JSON.stringify(l)})`);
      }
      await shoot(page, "staff-menu");
      await page.locator("#staff-recent").evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await checkScreen(page, "the staff menu, scrolled");

      await page.click("#staff-refresh");
      await page.waitForFunction(() => !document.getElementById("staff-refresh").disabled, null, { timeout: 3000 });
      expect((await calls(page, "staff_overview")).length === 2, "Refresh asks for the overview again");
      await page.click("#staff-lock");
      await expectScreen(page, "attract");
      expect((await calls(page, "staff_lock")).length === 2, "Lock sends staff_lock");
      await expectStaffClosed(page, "a staff session is left open");
    },
  },
  {
    name: "staff walk-in from the offline screen: PIN, ID photo, consent, the customer's session",
    scenario: staffScenario(
      { info: { outcomeSeconds: 2 } },
      { walkIns: [{ gate: "photo", sessionId: "walkin", hints: [{ delay: 50, hint: "MOVE_CLOSER" }] }] },
    ),
    async run(page) {
      await page.click("#screen-attract [data-action=start]");
      await typeCode(page, "888888");
      await page.click("#key-ok");
      await expectScreen(page, "offline");
      await page.click("#offline-walkin");
      await expectScreen(page, "staffPin");
      await expectText(page, "#pin-lead", "to start a walk-in session");
      // The offline screen's countdown (2 s) does not follow staff onto the PIN screen.
      await page.waitForTimeout(2600);
      await expectScreen(page, "staffPin", 100);
      await typePin(page, STAFF_PIN);
      await page.click("#pin-ok");
      await expectScreen(page, "walkIn");
      expect((await calls(page, "staff_overview")).length === 0, "the walk-in button skips the menu");
      const walk = await calls(page, "staff_walk_in");
      expect(walk.length === 1 && /^Channel#/.test(walk[0].args.onFrame) && /^Channel#/.test(walk[0].args.onHint),
        `staff_walk_in got ${JSON.stringify(walk)}`);
      await expectFrames(page, "walkin-preview-img", "the walk-in's preview");
      await expectText(page, "#walkin-hint-text", "Come a little closer");
      await expectText(page, "#walkin-title", "Walk-in: the ID photo");
      expect(await page.locator("#walkin-opening").isHidden(), "the camera spinner is gone once frames come");
      await shoot(page, "walk-in");

      await openGate(page, "photo");
      await expectScreen(page, "consent");
      expect(await page.locator("#walkin-badge").isVisible(), "the consent screen says it is a walk-in");
      expect(await page.locator("#test-badge").isHidden(), "not a test session");
      await expectStaffClosed(page, "the app did not end the staff session with the walk-in");
      expect(await scanPreviewCleared(page, "walkin-preview-img"), "the ID photo's picture is gone from the page");
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      const start = (await calls(page, "start_session"))[0];
      expect(start && start.args.sessionId === "walkin", `start_session got ${JSON.stringify(start)}`);
      await openGate(page, "w");
      await expectScreen(page, "success");
      // Started from the offline screen: its result waits on the kiosk for the network.
      expect(await page.locator("#screen-success .queued-note").isVisible(),
        "an offline walk-in's queued result says it will be sent when the network is back");
      expect((await calls(page, "cancel_scan")).length === 0, "a walk-in that ended is not canceled");
    },
  },
  {
    name: "staff walk-in: no ID photo in time, then one canceled",
    scenario: staffScenario({ scanCancelDelayMs: 300 }, {
      walkIns: [
        { gate: "late", error: { code: "PHOTO_TIMEOUT", message: "no usable ID photo" } },
        { gate: "never", sessionId: "happy" },
      ],
    }),
    async run(page) {
      await signIn(page);
      await page.click("#staff-walkin");
      await expectScreen(page, "walkIn");
      await openGate(page, "late");
      await expectScreen(page, "staffMenu");
      await expectText(page, "#staff-notice", "No usable ID photo was seen in time");
      await checkScreen(page, "the staff menu after a walk-in timeout");
      expect((await calls(page, "staff_overview")).length === 2, "the menu asks for a fresh overview");

      await page.click("#staff-walkin");
      await expectScreen(page, "walkIn");
      await expectFrames(page, "walkin-preview-img", "the walk-in's preview");
      await page.click("#walkin-cancel");
      await expectScreen(page, "staffMenu", 1000);
      expect((await calls(page, "cancel_scan")).length === 1, "Cancel calls cancel_scan");
      expect(await scanPreviewCleared(page, "walkin-preview-img"), "the walk-in's picture is gone after a cancel");
      const end = await staffJobEnded(page, 2);
      expect(end.rejected === "SCAN_CANCELED", `the walk-in ended with ${JSON.stringify(end)}`);
      await page.waitForTimeout(150);
      await expectScreen(page, "staffMenu", 100);
      expect(await page.locator("#staff-notice").isHidden(), "a canceled walk-in shows no message");

      // Escape cancels too.
      await page.click("#staff-walkin");
      await expectScreen(page, "walkIn");
      await page.keyboard.press("Escape");
      await expectScreen(page, "staffMenu", 1000);
      expect((await calls(page, "cancel_scan")).length === 2, "Escape calls cancel_scan");
      expect(await staffOpen(page), "the staff session stays open in the menu");
    },
  },
  {
    name: "staff camera test: frames until Back, then a camera fault shown in the panel",
    scenario: staffScenario({}, {
      cameraTests: [{}, { delayMs: 200, error: { code: "MEDIA_NOT_FOUND_ERROR", message: "no camera" } }],
    }),
    async run(page) {
      await signIn(page);
      await page.click("#staff-camera");
      await expectScreen(page, "cameraTest");
      const test = await calls(page, "staff_camera_test");
      expect(test.length === 1 && /^Channel#/.test(test[0].args.onFrame), `staff_camera_test got ${JSON.stringify(test)}`);
      await expectFrames(page, "camtest-preview-img", "the camera test's preview");
      await expectText(page, "#camtest-mirrored", "Frames are shown mirrored, as customers see them");
      await shoot(page, "camera-test");
      await page.click("#camtest-back");
      await expectScreen(page, "staffMenu", 1000);
      expect((await calls(page, "cancel_scan")).length === 1, "Back calls cancel_scan");
      expect(await scanPreviewCleared(page, "camtest-preview-img"), "the camera test's picture is gone");
      const end = await staffJobEnded(page, 1);
      await expectText(page, "#staff-notice", `Camera test ended: ${end.resolved} frames shown.`);

      await page.click("#staff-camera");
      await expectScreen(page, "cameraTest");
      await page.waitForSelector("#camtest-error", { state: "visible", timeout: 4000 })
        .catch(() => fail("the camera fault does not show in the camera test"));
      await expectScreen(page, "cameraTest", 100);
      await expectText(page, "#camtest-error-text", "Check the cable");
      await expectText(page, "#camtest-error-code", "MEDIA_NOT_FOUND_ERROR");
      await shoot(page, "camera-test-error");
      await page.click("#camtest-back");
      await expectScreen(page, "staffMenu");
      expect((await calls(page, "cancel_scan")).length === 1, "a camera test that failed is not canceled");
    },
  },
  {
    name: "staff camera choice: the cameras connected, another one shown, used from now on, then the configured one",
    scenario: staffScenario({}, {
      cameras: {
        configured: "camera",
        devices: [
          { index: 0, name: "Integrated Camera", description: "uvcvideo usb-0000:00:14.0-5", is_virtual: false },
          { index: 2, name: "Logitech BRIO", description: "uvcvideo usb-0000:00:14.0-2", is_virtual: false },
          { index: 4, name: "OBS Virtual Camera", description: "v4l2 loopback", is_virtual: true },
        ],
      },
    }),
    async run(page) {
      const pressed = (camera) => page.getAttribute(`#camtest-devices [data-camera="${camera}"]`, "aria-pressed");
      const inUseShown = () => page.locator("#camtest-devices .device-in-use:visible").evaluateAll(
        (tags) => tags.map((t) => t.closest("[data-camera]").dataset.camera).join());
      await signIn(page);
      await page.click("#staff-camera");
      await expectScreen(page, "cameraTest");
      await page.waitForSelector("#camtest-devices [data-camera]", { timeout: 4000 })
        .catch(() => fail("the camera test lists no cameras"));
      const names = await page.locator("#camtest-devices .device-name").allInnerTexts();
      expect(names.join("|") === "Integrated Camera|Logitech BRIO|OBS Virtual Camera", `the cameras listed: ${names}`);
      // kiosk.camera = "camera": the first one, in use and shown.
      expect((await pressed("camera:0")) === "true" && (await pressed("camera:2")) === "false", "the camera in use is not the one shown");
      expect((await inUseShown()) === "camera:0", `"in use" marks ${await inUseShown()}`);
      expect(await page.locator('#camtest-devices [data-camera="camera:4"] .pill-walkin').isVisible(), "the virtual camera is not marked");
      expect(await page.locator("#camtest-tips").isHidden(), "the tips show beside the list of cameras");
      expect(await page.locator("#camtest-use").isHidden(), "Use this camera shows for the camera in use");
      expect(await page.locator("#camtest-configured").isHidden(), "Back to the configured camera shows with no choice made");
      await expectFrames(page, "camtest-preview-img", "the camera test's preview");
      await checkScreen(page, "camera test with the cameras connected");
      await shoot(page, "camera-choice");

      // Another camera: the test of the one shown ends first, then that one's starts.
      await page.click('#camtest-devices [data-camera="camera:2"]');
      const first = await staffJobEnded(page, 1);
      expect(typeof first.resolved === "number", `the first test ended with ${JSON.stringify(first)}`);
      await page.waitForFunction(() => window.__fake.calls.filter((c) => c.cmd === "staff_camera_test").length === 2, null,
        { timeout: 4000 }).catch(() => fail("no test of the camera tapped"));
      const tests = await calls(page, "staff_camera_test");
      expect(tests[0].args.camera === undefined && tests[1].args.camera === "camera:2", `staff_camera_test got ${JSON.stringify(tests)}`);
      expect((await calls(page, "cancel_scan")).length === 1, "the test shown is not ended once");
      await expectFrames(page, "camtest-preview-img", "the other camera's preview");
      expect((await pressed("camera:2")) === "true", "the camera tapped is not shown as the one tested");
      expect((await inUseShown()) === "camera:0", "the camera in use changed by looking at another");

      // Used from now on.
      await page.click("#camtest-use");
      await expectText(page, "#camtest-notice", "The kiosk now uses Logitech BRIO.");
      const used = await calls(page, "staff_use_camera");
      expect(used.length === 1 && used[0].args.camera === "camera:2", `staff_use_camera got ${JSON.stringify(used)}`);
      expect((await inUseShown()) === "camera:2", `"in use" marks ${await inUseShown()} after the choice`);
      expect(await page.locator("#camtest-use").isHidden(), "Use this camera still shows for the camera now in use");
      await shoot(page, "camera-choice-used");

      // And back to the configured one.
      await page.click("#camtest-configured");
      await expectText(page, "#camtest-notice", "The kiosk now uses Integrated Camera.");
      const again = await calls(page, "staff_use_camera");
      expect(again.length === 2 && again[1].args.camera === null, `staff_use_camera got ${JSON.stringify(again)}`);
      expect(await page.locator("#camtest-configured").isHidden(), "Back to the configured camera still shows");
      expect((await inUseShown()) === "camera:0", `"in use" marks ${await inUseShown()} after going back`);
      await page.click("#camtest-back");
      await expectScreen(page, "staffMenu");
      expect((await calls(page, "cancel_scan")).length === 2, "Back does not end the test shown");
    },
  },
  {
    name: "staff menu: what the kiosk fell back from at start comes first among the settings",
    scenario: staffScenario({}, {
      overview: { ...OVERVIEW, warnings: ["logo: /srv/kiosk/themes/bank/logo.svg cannot be read: the default's is used"] },
    }),
    async run(page) {
      await signIn(page);
      const first = page.locator("#staff-settings li").first();
      expect(await first.evaluate((li) => li.classList.contains("setting-warning")), "the warning is not the first line");
      expect((await first.locator(".setting-key").innerText()) === "To fix", "the warning is not labelled");
      expect((await first.locator(".setting-value").innerText()).includes("logo.svg cannot be read"), "the warning's text is not shown");
      expect((await page.locator("#staff-settings li").count()) === OVERVIEW.settings.length + 1, "the settings are not all shown");
      await checkScreen(page, "staff menu with a warning");
    },
  },
  {
    name: "staff idle: the PIN screen, the menu and a walk-in lock themselves",
    scenario: staffScenario({ info: { idleSeconds: 4 } }, { walkIns: [{ gate: "never", sessionId: "happy" }] }),
    async run(page) {
      await signIn(page);
      expect(await staffOpen(page), "signed in");
      await expectScreen(page, "attract", 6500);
      expect((await calls(page, "staff_lock")).length === 1, "an idle menu sends staff_lock");
      await expectStaffClosed(page, "a staff session is left open");

      await signIn(page);
      await page.click("#staff-walkin");
      await expectScreen(page, "walkIn");
      await expectFrames(page, "walkin-preview-img", "the walk-in's preview");
      await expectScreen(page, "attract", 6500);
      expect((await calls(page, "cancel_scan")).length === 1, "an idle walk-in stops the camera");
      expect((await calls(page, "staff_lock")).length === 2, "and sends staff_lock");
      expect(await scanPreviewCleared(page, "walkin-preview-img"), "the ID photo's picture is gone");

      await page.keyboard.press("Control+Alt+KeyS");
      await expectScreen(page, "staffPin");
      await typePin(page, "24");
      await expectScreen(page, "attract", 6500);
      expect((await calls(page, "staff_lock")).length === 3, "an idle PIN screen sends staff_lock");
      await page.keyboard.press("Control+Alt+KeyS");
      expect((await pinDots(page)) === 0, "the digits typed are forgotten");
    },
  },
  {
    name: "staff: a staff session the app ended, no PIN configured, and the out-of-service screen",
    scenario: staffScenario({ info: { ready: false, problem: "The camera could not be opened" } }),
    first: "outOfService",
    async run(page) {
      await page.keyboard.press("Control+Alt+KeyS");
      await expectScreen(page, "staffPin");
      await typePin(page, "9999");
      await page.click("#pin-ok");
      await expectText(page, "#pin-error-text", "Ask IT to set a staff PIN");
      await checkScreen(page, "the PIN screen without a staff PIN");
      await typePin(page, STAFF_PIN);
      await page.click("#pin-ok");
      await expectScreen(page, "staffMenu");
      await expectText(page, "#queue-acknowledged", "148");
      await page.evaluate(() => window.__fake.endStaff());
      await page.click("#staff-refresh");
      await expectScreen(page, "staffPin");
      await expectText(page, "#pin-error-text", "The staff session has ended");
      expect((await pinDots(page)) === 0, "no digits are kept");
      await page.click("#pin-back");
      await expectScreen(page, "outOfService");
      expect((await calls(page, "staff_lock")).length === 1, "Back sends staff_lock");

      // The out-of-service screen's logo, held, opens the sign-in too.
      const logo = await page.locator(".oos-logo").boundingBox();
      await page.mouse.move(logo.x + logo.width / 2, logo.y + logo.height / 2);
      await page.mouse.down();
      await expectScreen(page, "staffPin", 4500);
      await page.mouse.up();
    },
  },
  {
    name: "staff: Exit kiosk mode asks first, then calls staff_exit",
    scenario: staffScenario(),
    async run(page) {
      await signIn(page);
      await page.click("#staff-exit");
      expect(await page.locator("#exit-dialog").isVisible(), "Exit kiosk mode asks first");
      await expectText(page, "#exit-title", "Exit kiosk mode?");
      await shoot(page, "staff-exit-confirm");
      await page.click("#exit-dialog [data-action=exitDismiss]");
      expect(await page.locator("#exit-dialog").isHidden(), "No, stay closes the question");
      await page.click("#staff-exit");
      await page.keyboard.press("Escape");
      expect(await page.locator("#exit-dialog").isHidden(), "Escape closes the question");
      expect((await calls(page, "staff_exit")).length === 0, "and nothing exits");
      await page.click("#staff-exit");
      await page.click("#exit-dialog [data-action=exitConfirm]");
      await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "staff_exit"), null, { timeout: 2000 })
        .catch(() => fail("Yes, exit does not call staff_exit"));
      await expectText(page, "#exit-status", "Closing the kiosk app");
      expect((await calls(page, "staff_exit")).length === 1, "staff_exit is called once");
    },
  },
  {
    name: "staff waiting list: a session picked, confirmed, consent, the customer's session",
    scenario: staffScenario({}, { waiting: [{ data: WAITING }], picks: { [PICKED_ID]: { gate: "pick" } } }),
    async run(page) {
      await signIn(page);
      await expectText(page, "#staff-waiting", "Waiting sessions");
      await page.click("#staff-waiting");
      await expectScreen(page, "staffWaiting");
      await expectText(page, "#waiting-count", "14 sessions waiting");
      expect((await calls(page, "staff_waiting_sessions")).length === 1, "the list is asked for on the way");
      const items = await page.locator("#waiting-list .waiting-item").allInnerTexts();
      expect(items.length === 14, `${items.length} waiting sessions shown`);
      expect(/CUST-88421/.test(items[0]) && items[0].includes("Created 3/14/25, 10:30"), `the first reads "${items[0]}"`);
      expect(/CUST-88042/.test(items[1]) && items[1].includes("3/14/25, 10:13"), `the second reads "${items[1]}"`);
      expect(/\bTest\b/.test(items[2]) && items.filter((x) => /\bTest\b/.test(x)).length === 1,
        "a test session is tagged, and only it");
      expect(items[3].includes("…") && !items[3].includes("ses_0195") && !items[3].includes("CUST-"),
        `a session without a reference shows its id's end: "${items[3]}"`);
      const heights = await page.locator("#waiting-list .waiting-item").evaluateAll((els) =>
        els.map((e) => e.getBoundingClientRect().height));
      expect(heights.every((h) => h >= 64), `every session is a big button: ${heights.join(", ")}`);
      const box = await page.evaluate(() => {
        const el = document.getElementById("waiting-list");
        return { scrolls: el.scrollHeight > el.clientHeight + 10, bottom: el.getBoundingClientRect().bottom };
      });
      expect(box.scrolls && box.bottom <= 800, `the list scrolls inside its panel (${JSON.stringify(box)})`);
      expect(await page.locator("#waiting-walkin").isHidden(), "no walk-in offered while the service answers");
      await shoot(page, "staff-waiting");
      await page.locator("#waiting-list").evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await checkScreen(page, "the waiting list, scrolled");
      await page.locator("#waiting-list").evaluate((el) => el.scrollTo(0, 0));

      // A tap asks first; Cancel (or Escape) takes nothing.
      const picked = `#waiting-list [data-session="${PICKED_ID}"]`;
      await page.click(picked);
      expect(await page.locator("#pick-dialog").isVisible(), "a session tapped asks first");
      await expectText(page, "#pick-title", "Start this session for the customer in front of you?");
      await expectText(page, "#pick-ref", "CUST-88042");
      await expectText(page, "#pick-time", "Created 3/14/25, 10:13");
      await shoot(page, "staff-waiting-confirm");
      await page.click("#pick-dialog [data-action=pickDismiss]");
      expect(await page.locator("#pick-dialog").isHidden(), "Cancel closes the question");
      await page.click(picked);
      await page.keyboard.press("Escape");
      expect(await page.locator("#pick-dialog").isHidden(), "Escape closes the question");
      await expectScreen(page, "staffWaiting", 100);
      expect((await calls(page, "staff_pick_session")).length === 0, "and nothing is taken");

      // Start: the app takes it (buttons disabled meanwhile), then consent, as after a claim.
      await page.click(picked);
      await page.click("#pick-dialog [data-action=pickConfirm]");
      await waitGate(page, "pick");
      await expectText(page, "#pick-status", "Starting the session…");
      const idle = await page.evaluate(() =>
        [...document.querySelectorAll("#waiting-list button, #pick-dialog button, #waiting-back, #waiting-refresh")]
          .filter((b) => !b.disabled).map((b) => b.id || b.dataset.session || b.dataset.action));
      expect(idle.length === 0, `buttons left enabled while the session is taken: ${idle.join(", ")}`);
      const pick = await calls(page, "staff_pick_session");
      expect(pick.length === 1 && pick[0].args.sessionId === PICKED_ID, `staff_pick_session got ${JSON.stringify(pick)}`);
      await page.evaluate(() => window.__fake.open("pick"));
      await expectScreen(page, "consent");
      await expectStaffClosed(page, "the app did not end the staff session with the pick");
      expect(await page.locator("#walkin-badge").isHidden(), "a picked session is not a walk-in");
      expect(await page.locator("#test-badge").isHidden(), "not a test session");
      await page.click("#screen-consent [data-action=agree]");
      await expectScreen(page, "capture");
      const start = await calls(page, "start_session");
      expect(start.length === 1 && start[0].args.sessionId === PICKED_ID, `start_session got ${JSON.stringify(start)}`);
      await openGate(page, "p");
      await expectScreen(page, "success");
      expect(await page.locator("#screen-success .queued-note").isHidden(), "an online visit's result says nothing of the network");
      expect((await calls(page, "staff_lock")).length === 0, "the app ended the staff session: no staff_lock");
    },
  },
  {
    name: "staff waiting list: a session taken meanwhile, the service offline, the staff session ended",
    scenario: staffScenario({}, {
      waiting: [
        { data: WAITING.slice(0, 5) },
        { data: WAITING.slice(1, 5) },
        { error: { code: "NETWORK_ERROR", message: "the API cannot be reached" } },
        { data: WAITING.slice(1, 5) },
      ],
      picks: { [WAITING[0].sessionId]: { error: { code: "SESSION_ALREADY_CLAIMED", message: "claimed elsewhere" } } },
      walkIns: [{ gate: "never", sessionId: "happy" }],
    }),
    async run(page) {
      await signIn(page);
      await page.click("#staff-waiting");
      await expectScreen(page, "staffWaiting");
      await expectText(page, "#waiting-count", "5 sessions waiting");

      // Taken at another kiosk meanwhile: said on the list, which is loaded again.
      await page.click(`#waiting-list [data-session="${WAITING[0].sessionId}"]`);
      await page.click("#pick-dialog [data-action=pickConfirm]");
      await expectText(page, "#waiting-notice", "This session is already in use at another kiosk");
      await expectScreen(page, "staffWaiting", 100);
      await expectText(page, "#waiting-count", "4 sessions waiting");
      expect((await calls(page, "staff_waiting_sessions")).length === 2, "the list is loaded again");
      expect(!(await textOf(page, "#waiting-list")).includes("CUST-88421"), "the session taken is gone from the list");
      expect(await page.locator("#pick-dialog").isHidden(), "the question is closed");
      expect(await staffOpen(page), "the staff session stays open");
      await checkScreen(page, "the waiting list after a session was taken");

      // The service cannot be reached: said, and the walk-in is offered instead.
      await page.click("#waiting-refresh");
      await expectText(page, "#waiting-notice", "The service cannot be reached");
      await page.waitForSelector("#waiting-walkin", { state: "visible", timeout: 2000 })
        .catch(() => fail("no walk-in offered while the service cannot be reached"));
      await expectText(page, "#waiting-walkin", "Start a walk-in session");
      await expectText(page, "#waiting-count", "The list could not be loaded.");
      expect((await page.locator("#waiting-list .waiting-item").count()) === 0, "no list that may be out of date");
      await checkScreen(page, "the waiting list offline");
      await page.click("#waiting-walkin");
      await expectScreen(page, "walkIn");
      expect((await calls(page, "staff_walk_in")).length === 1, "the walk-in offered starts staff_walk_in");
      await page.click("#walkin-cancel");
      await expectScreen(page, "staffMenu");

      // Back on the list with the service back: no walk-in offered; Back goes to the menu.
      await page.click("#staff-waiting");
      await expectText(page, "#waiting-count", "4 sessions waiting");
      expect(await page.locator("#waiting-walkin").isHidden(), "no walk-in offered once the list loads");
      expect(await page.locator("#waiting-notice").isHidden(), "no message left over");
      await page.click("#waiting-back");
      await expectScreen(page, "staffMenu");
      await page.click("#staff-waiting");
      await expectText(page, "#waiting-count", "4 sessions waiting");
      await page.keyboard.press("Escape");
      await expectScreen(page, "staffMenu");

      // The app ended the staff session: the PIN screen.
      await page.click("#staff-waiting");
      await expectText(page, "#waiting-count", "4 sessions waiting");
      await page.evaluate(() => window.__fake.endStaff());
      await page.click("#waiting-refresh");
      await expectScreen(page, "staffPin");
      await expectText(page, "#pin-error-text", "The staff session has ended");
    },
  },
  {
    name: "staff waiting list: left idle, it locks itself",
    scenario: staffScenario({ info: { idleSeconds: 4 } }, { waiting: [{ data: WAITING }] }),
    async run(page) {
      await signIn(page);
      await page.click("#staff-waiting");
      await expectScreen(page, "staffWaiting");
      await expectText(page, "#waiting-count", "14 sessions waiting");
      await page.click(`#waiting-list [data-session="${PICKED_ID}"]`);
      expect(await page.locator("#pick-dialog").isVisible(), "the question shows");
      await expectScreen(page, "attract", 6500);
      expect((await calls(page, "staff_lock")).length === 1, "an idle waiting list sends staff_lock");
      await expectStaffClosed(page, "a staff session is left open");
      expect((await calls(page, "staff_pick_session")).length === 0, "nothing was taken");
      expect(await page.locator("#pick-dialog").isHidden(), "the question is gone");
    },
  },
  {
    name: "staff waiting list in Arabic: right to left, every text from ar.json",
    scenario: staffScenario({ info: { languages: LANGUAGES } }, { waiting: [{ data: WAITING }] }),
    async run(page) {
      const ar = await readTextsFile("ar");
      const say = (key, vars) => textIn(ar, "ar", key, vars);
      await chooseLanguage(page, "ar", ar);
      await page.keyboard.press("Control+Alt+KeyS");
      await expectScreen(page, "staffPin");
      await typePin(page, STAFF_PIN);
      await page.click("#pin-ok");
      await expectScreen(page, "staffMenu");
      await expectText(page, "#staff-waiting", say("screen.staffMenu.waiting"));
      await checkScreen(page, "the staff menu in Arabic");
      await page.click("#staff-waiting");
      await expectScreen(page, "staffWaiting");
      expect((await page.evaluate(() => document.documentElement.dir)) === "rtl", "the waiting list is right to left");
      await expectText(page, "#waiting-title", say("screen.staffWaiting.title"));
      await expectText(page, "#waiting-count", say("screen.staffWaiting.count", { n: 14 }));
      await expectText(page, "#screen-staffWaiting .staff-meta", say("screen.staffWaiting.lead"));
      await expectText(page, "#waiting-refresh", say("screen.staffMenu.refresh"));
      await expectText(page, "#waiting-back", say("screen.common.back"));
      const items = await page.locator("#waiting-list .waiting-item").allInnerTexts();
      const created = say("screen.staffWaiting.created", { time: "" }).trim();
      expect(items.length === 14 && items.every((x) => x.includes(created)), `the times read "${items[0]}"`);
      expect(items[0].includes("CUST-88421"), `a reference shows as it is: "${items[0]}"`);
      expect(items[2].includes(say("screen.staffWaiting.test")), `the test session's tag reads "${items[2]}"`);
      // Mirrored: the icon and title on the right, Refresh on the left, the list from the right.
      await expectBefore(page, "#screen-staffWaiting .staff-head-icon", "#waiting-refresh", true, "the title before Refresh");
      await expectBefore(page, "#waiting-list li:nth-child(1)", "#waiting-list li:nth-child(2)", true,
        "the first session before the second");
      const ref = await page.locator("#waiting-list .waiting-ref").first().boundingBox();
      const row = await page.locator("#waiting-list .waiting-item").first().boundingBox();
      expect(ref.x + ref.width > row.x + row.width - 40, "a reference starts at the button's right");
      await shoot(page, "staff-waiting-ar");

      await page.click(`#waiting-list [data-session="${PICKED_ID}"]`);
      await expectText(page, "#pick-title", say("screen.staffWaiting.confirmTitle"));
      await expectText(page, "#pick-message", say("screen.staffWaiting.confirmMessage"));
      await expectText(page, "#pick-dialog [data-action=pickConfirm]", say("screen.staffWaiting.confirmYes"));
      await expectText(page, "#pick-dialog [data-action=pickDismiss]", say("screen.staffWaiting.confirmNo"));
      await expectBefore(page, "#pick-dialog [data-action=pickDismiss]", "#pick-dialog [data-action=pickConfirm]", true,
        "Cancel before Start");
      await checkScreen(page, "the question in Arabic");
      await page.click("#pick-dialog [data-action=pickDismiss]");
      expect(await page.locator("#pick-dialog").isHidden(), "the question closes");
    },
  },
  {
    name: "pure modules: theme.js (colours, sizes, files, sounds) and flow.js's sounds",
    scenario: scenario(),
    async run(page) {
      const problems = await page.evaluate(async () => {
        const out = [];
        const check = (c, m) => c || out.push(m);
        const theme = await import("/ui/theme.js");
        const flow = await import("/ui/flow.js");

        // The colours' custom properties: camelCase → style.css's kebab-case names, each one there.
        const want = { brand: "--brand", brandStrong: "--brand-strong", faceIn: "--face-in", previewBg: "--preview-bg",
          successSoft: "--success-soft", brandContrast: "--brand-contrast" };
        for (const [k, v] of Object.entries(want)) check(theme.colorVar(k) === v, `colorVar(${k}) = ${theme.colorVar(k)}`);
        const sheet = [...document.styleSheets].find((x) => x.href && x.href.endsWith("/style.css"));
        const rootRule = [...sheet.cssRules].find((r) => r.selectorText === ":root");
        for (const c of theme.COLORS) check(rootRule.style.getPropertyValue(theme.colorVar(c)) !== "", `style.css has no ${theme.colorVar(c)}`);
        check(theme.COLORS.length === 21, "the app's 21 colours");

        // A good theme: every value, with units.
        const png = "data:image/png;base64,iVBORw0KGgo=";
        const wav = "data:audio/wav;base64,UklGRiQAAABXQVZF";
        const good = theme.themeStyle({
          name: "high-contrast",
          colors: { brand: "#000000", brandStrong: "rgb(0, 0, 0)", faceIn: "hsl(50, 100%, 50%)", previewBg: "black" },
          radius: 8, radiusLarge: 12, fontScale: 1.1, logo: png, images: { attract: png },
          sounds: { hint: wav, success: wav },
        });
        check(good.vars["--brand"] === "#000000" && good.vars["--brand-strong"] === "rgb(0, 0, 0)" &&
          good.vars["--face-in"] === "hsl(50, 100%, 50%)" && good.vars["--preview-bg"] === "black", `colours: ${JSON.stringify(good.vars)}`);
        check(good.vars["--radius"] === "8px" && good.vars["--radius-lg"] === "12px" && good.vars["--font-scale"] === "1.1",
          `sizes: ${JSON.stringify(good.vars)}`);
        check(!good.vars["--edge"] && theme.themeStyle({ colors: { bg: "#FFFFFF", surface: "#ffffff" } }).vars["--edge"] === "var(--line)",
          "cards get an edge only where the surface is the background");
        check(good.logo === png && good.attract === png && good.sounds.hint === wav && good.sounds.success === wav &&
          good.name === "high-contrast" && good.ignored.length === 0, `files: ${JSON.stringify(good)}`);

        // Bad values are left out (style.css's stay), each named in `ignored`.
        const bad = theme.themeStyle({
          name: "x\"><script>",
          colors: { brand: "red; background: url(x)", text: "#12", muted: 5, bluish: "#123456", line: "}", bg: "#fff" },
          radius: -1, radiusLarge: "32", fontScale: 3,
          logo: "javascript:alert(1)", images: { attract: "data:text/html;base64,PGI+" },
          sounds: { hint: "data:audio/wav;base64,UklG\")", boom: wav, success: "http://x.test/s.wav", failure: png },
        });
        check(JSON.stringify(bad.vars) === JSON.stringify({ "--bg": "#fff" }), `bad values set: ${JSON.stringify(bad.vars)}`);
        check(bad.logo === null && bad.attract === null && Object.keys(bad.sounds).length === 0 && bad.name === null,
          `bad files used: ${JSON.stringify(bad)}`);
        for (const k of ["colors.brand", "colors.text", "colors.muted", "colors.bluish", "colors.line", "radius", "radiusLarge",
          "fontScale", "logo", "images.attract", "sounds.hint", "sounds.boom", "sounds.success", "sounds.failure"]) {
          check(bad.ignored.includes(k), `${k} is not said to be left out: ${bad.ignored.join(", ")}`);
        }
        check(theme.themeStyle(null).ignored.length === 0 && Object.keys(theme.themeStyle("x").vars).length === 0,
          "no theme: nothing set");
        check(theme.themeStyle({ fontScale: 0.75 }).vars["--font-scale"] === "0.75" &&
          theme.themeStyle({ fontScale: 2 }).vars["--font-scale"] === "2" && !theme.themeStyle({ fontScale: 0.7 }).vars["--font-scale"],
          "fontScale 0.75 to 2");

        // Sounds: one Audio each, played from the start; a hint at most every 1.5 s; failures ignored.
        let t = 0;
        const made = [];
        const audio = (src) => {
          const a = { src, plays: 0, currentTime: 5, play() { this.plays++; this.currentTime = 1; return Promise.resolve(); } };
          made.push(a);
          return a;
        };
        const sounds = theme.makeSounds({ hint: wav, challenge: wav, success: wav, other: wav }, { now: () => t, audio });
        check(made.length === 3, `one Audio per sound (${made.length})`);
        check(sounds.play("hint") === true && made[0].plays === 1, "a hint sounds");
        t = 1000;
        check(sounds.play("hint") === false && made[0].plays === 1, "not again within 1.5 s");
        t = 1600;
        check(sounds.play("hint") === true && made[0].plays === 2, "again after 1.5 s");
        made[1].currentTime = 3;
        sounds.play("challenge");
        sounds.play("challenge");
        check(made[1].plays === 2 && made.length === 3, "the same Audio again for each challenge");
        check(sounds.play("failure") === false, "a moment without a sound plays nothing");
        const refusing = theme.makeSounds({ success: wav }, {
          audio: () => ({ play: () => Promise.reject(new DOMException("no", "NotAllowedError")) }),
        });
        const throwing = theme.makeSounds({ success: wav }, { audio: () => ({ play() { throw new Error("broken"); } }) });
        const noAudio = theme.makeSounds({ success: wav }, { audio: () => { throw new Error("no Audio"); } });
        check(refusing.play("success") === true && throwing.play("success") === true && noAudio.play("success") === false,
          "a refused, broken or missing Audio throws nothing");

        // flow.js: which session events sound.
        let s = flow.initialState();
        const step = (e) => {
          const r = flow.next(s, { now: 1, ...e });
          s = r.state;
          return r.effects.filter((x) => x.type === "sound").map((x) => x.sound).join(",");
        };
        step({ type: "info", info: { ready: true, registered: true } });
        step({ type: "start" });
        for (const d of "123456") step({ type: "digit", digit: d });
        step({ type: "submit" });
        step({ type: "claimed", sessionId: "S" });
        step({ type: "agree" });
        const ev = (event) => step({ type: "session", seq: s.sessionSeq, event });
        check(s.screen === "capture", "capture");
        check(ev({ kind: "hint", hint: "MOVE_CLOSER" }) === "hint", "a new hint sounds");
        check(ev({ kind: "hint", hint: "MOVE_CLOSER" }) === "", "the same hint again does not");
        check(ev({ kind: "challenge", challenge: "BLINK", index: 1, count: 2 }) === "challenge", "a challenge sounds");
        check(ev({ kind: "challenge", challenge: "BLINK", index: 1, count: 2 }) === "", "the same challenge again does not");
        check(ev({ kind: "challenge", challenge: "SMILE", index: 2, count: 2 }) === "challenge", "the next challenge sounds");
        check(ev({ kind: "progress", value: 0.5 }) === "" && ev({ kind: "face", box: null }) === "", "progress and face do not");
        check(ev({ kind: "attemptFailed", hint: "TRY_AGAIN", attemptsLeft: 1 }) === "failure", "a failed attempt sounds failure");
        check(ev({ kind: "challenge", challenge: "SMILE", index: 1, count: 2 }) === "challenge",
          "the next attempt's first challenge sounds (capture again)");
        ev({ kind: "status", status: "processing" });
        check(s.screen === "processing" && ev({ kind: "hint", hint: "PROCESSING" }) === "", "no hint sound while processing");
        const at = s;
        check(ev({ kind: "outcome", outcome: "success" }) === "success", "success sounds");
        for (const [outcome, want] of [["failure", "failure"], ["canceled", ""], ["timeout", ""], ["error", ""], ["seeStaff", ""]]) {
          s = at;
          check(ev({ kind: "outcome", outcome }) === want, `${outcome} sounds "${want}"`);
        }
        return out;
      });
      expect(problems.length === 0, problems.join("; "));
    },
  },
  {
    name: "pure modules: flow.js and texts.js",
    scenario: scenario(),
    async run(page) {
      const problems = await page.evaluate(async () => {
        const out = [];
        const check = (c, m) => c || out.push(m);
        const flow = await import("/ui/flow.js");
        const texts = await import("/ui/texts.js");
        let s = flow.initialState();
        const step = (e) => {
          const r = flow.next(s, e);
          s = r.state;
          return r.effects;
        };
        step({ type: "info", now: 0, info: { ready: true, registered: true, idleSeconds: 10, outcomeSeconds: 5 } });
        check(s.screen === "attract", "info → attract");
        step({ type: "start", now: 1 });
        for (const d of "1234567") step({ type: "digit", digit: d, now: 2 });
        check(s.digits === "123456", "at most 6 digits");
        const fx = step({ type: "submit", now: 3 });
        check(fx.length === 1 && fx[0].type === "claim" && fx[0].digits === "123456", "submit → claim effect");
        check(step({ type: "submit", now: 3 }).length === 0, "no second claim while one runs");
        // A session that ended, or that another kiosk holds: said on the keypad, code cleared.
        for (const [code, key] of [["SESSION_ENDED", "screen.keypad.ended"], ["SESSION_ALREADY_CLAIMED", "screen.keypad.inUse"]]) {
          const r = flow.next(s, { type: "claimFailed", error: { code, message: "m" }, now: 3 });
          check(r.state.screen === "keypad" && r.state.codeError === key && r.state.digits === "",
            `claim ${code} → keypad with ${key}`);
        }
        step({ type: "claimed", sessionId: "S", now: 4 });
        check(s.screen === "consent" && s.digits === "", "claimed → consent, code forgotten");
        const start = step({ type: "agree", now: 5 });
        check(start[0] && start[0].type === "startSession" && start[0].seq === s.sessionSeq, "agree → startSession");
        step({ type: "session", seq: s.sessionSeq - 1, event: { kind: "outcome", outcome: "success" }, now: 6 });
        check(s.screen === "capture", "an earlier session's events are ignored");
        step({ type: "session", seq: s.sessionSeq, event: { kind: "outcome", outcome: "success" }, now: 6 });
        check(s.screen === "success" && flow.secondsLeft(s) === 5, "outcome → success, 5 s countdown");
        step({ type: "tick", now: 5006 });
        check(s.screen === "attract", "the countdown ends on attract");
        step({ type: "start", now: 6000 });
        step({ type: "tick", now: 15999 });
        check(s.screen === "keypad", "not idle before idleSeconds");
        step({ type: "tick", now: 16000 });
        check(s.screen === "attract", "idle keypad → attract");

        // A failed attempt nobody answers: the session is canceled for them, and if the app
        // never confirms, the kiosk still returns to the start.
        step({ type: "start", now: 17000 });
        for (const d of "123456") step({ type: "digit", digit: d, now: 17000 });
        step({ type: "submit", now: 17000 });
        step({ type: "claimed", sessionId: "S2", now: 17000 });
        step({ type: "agree", now: 17000 });
        step({ type: "session", seq: s.sessionSeq, event: { kind: "attemptFailed", hint: "LIVENESS_TRY_AGAIN", attemptsLeft: 1 }, now: 18000 });
        check(s.screen === "attemptFailed" && s.attempt.attemptsLeft === 1, "attemptFailed → its screen");
        const idle = step({ type: "tick", now: 28000 });
        check(idle.length === 1 && idle[0].type === "cancelSession", "an idle failure screen cancels the session");
        step({ type: "tick", now: 28000 + flow.CANCEL_WAIT_MS });
        check(s.screen === "canceled", "an unconfirmed cancel still ends on the canceled screen");
        const auto = flow.next({ ...s, screen: "attemptFailed", canceling: false },
          { type: "session", seq: s.sessionSeq, event: { kind: "challenge", challenge: "BLINK", index: 1, count: 3 }, now: 1 });
        check(auto.state.screen === "capture" && auto.state.capture.challenge.kind === "BLINK",
          "a new attempt started by the app brings the capture screen back");
        const stay = flow.next({ ...s, screen: "attemptFailed", canceling: false },
          { type: "session", seq: s.sessionSeq, event: { kind: "status", status: "requiresInput" }, now: 1 });
        check(stay.state.screen === "attemptFailed", "a status alone keeps the failure screen");
        const retry = flow.next({ ...s, screen: "attemptFailed" }, { type: "retry", now: 1 });
        check(retry.state.screen === "capture" && retry.effects[0].type === "retrySession", "retry → capture + retrySession");
        const hintOnly = flow.next({ ...s, screen: "capture", capture: { ...s.capture, cameraLost: false } },
          { type: "session", seq: s.sessionSeq, event: { kind: "hint", hint: "CAMERA_UNAVAILABLE" }, now: 1 });
        check(!hintOnly.state.capture.cameraLost, "a hint does not raise the camera overlay");
        const net = flow.next({ ...s, screen: "capture" },
          { type: "session", seq: s.sessionSeq, event: { kind: "outcome", outcome: "error", code: "NETWORK_ERROR" }, now: 1 });
        check(net.state.screen === "offline", "an error outcome with NETWORK_ERROR shows offline");

        // The QR scan.
        let q = flow.initialState();
        const qs = (e) => {
          const r = flow.next(q, e);
          q = r.state;
          return r.effects;
        };
        qs({ type: "info", now: 0, info: { ready: true, registered: true, idleSeconds: 10, outcomeSeconds: 5 } });
        qs({ type: "start", now: 1 });
        qs({ type: "digit", digit: "4", now: 1 });
        let sfx = qs({ type: "scan", now: 2 });
        check(q.screen === "scan" && sfx.length === 1 && sfx[0].type === "startScan" && sfx[0].seq === q.scanSeq,
          "scan → the scan screen + startScan");
        check(q.digits === "" && q.scan.opening, "the scan drops the digits typed and waits for the camera");
        const first = q.scanSeq;
        qs({ type: "scanFirstFrame", seq: first, now: 3 });
        check(!q.scan.opening, "the first frame ends the camera spinner");
        sfx = qs({ type: "scanCancel", now: 4 });
        check(q.screen === "keypad" && sfx.length === 1 && sfx[0].type === "cancelScan", "cancel → keypad + cancelScan");
        qs({ type: "scanFailed", seq: first, error: { code: "SCAN_CANCELED" }, now: 5 });
        check(q.screen === "keypad" && q.codeError === null, "the canceled scan's rejection shows nothing");
        qs({ type: "scanned", seq: first, sessionId: "late", now: 5 });
        check(q.screen === "keypad" && q.session === null, "a canceled scan's late answer is ignored");
        qs({ type: "scan", now: 6 });
        check(q.scanSeq === first + 1, "each scan has its own number");
        qs({ type: "scanned", seq: first, sessionId: "old", now: 6 });
        check(q.screen === "scan", "an earlier scan's answer is ignored");
        const atScan = q;
        const ends = [
          ["SCAN_TIMEOUT", "keypad", "screen.scan.timeout"],
          ["INVALID_QR", "keypad", "screen.scan.invalidQr"],
          ["SESSION_EXPIRED_OR_NOT_FOUND", "keypad", "screen.scan.expired"],
          ["INVALID_CLIENT_SECRET", "keypad", "screen.scan.invalidSecret"],
          ["CLIENT_SECRET_EXPIRED", "keypad", "screen.scan.expired"],
          ["SESSION_ENDED", "keypad", "screen.keypad.ended"],
          ["SESSION_ALREADY_CLAIMED", "keypad", "screen.keypad.inUse"],
          ["SCAN_CANCELED", "keypad", null],
          ["NETWORK_ERROR", "offline"],
          ["MEDIA_NOT_FOUND_ERROR", "cameraError"],
          ["MEDIA_NOT_ALLOWED_ERROR", "cameraError"],
          ["MEDIA_VIRTUAL_CAMERA_DETECTED", "cameraError"],
          ["NOT_REGISTERED", "seeStaff"],
          ["UNAUTHORIZED", "seeStaff"],
          ["SOMETHING_NEW", "error"],
        ];
        for (const [code, screen, message] of ends) {
          const r = flow.next(atScan, { type: "scanFailed", seq: atScan.scanSeq, error: { code, message: "m" }, now: 7 });
          check(r.state.screen === screen, `scan ${code} → ${screen} (got ${r.state.screen})`);
          if (screen === "keypad") check(r.state.codeError === message, `scan ${code} shows ${message}`);
          else check(r.state.outcome && r.state.outcome.code === code, `scan ${code} keeps its code`);
          check(r.effects.length === 0, `scan ${code} has no effect`);
        }
        const got = flow.next(atScan, { type: "scanned", seq: atScan.scanSeq, sessionId: "ses_1", test: true, now: 7 });
        check(got.state.screen === "consent" && got.state.session.id === "ses_1" && got.state.session.test,
          "a scanned session → consent, as after a claim");
        const idleScan = flow.next(atScan, { type: "tick", now: 6 + 10000 });
        check(idleScan.state.screen === "attract" && idleScan.effects.some((e) => e.type === "cancelScan"),
          "an idle scan screen cancels the scan and goes back to attract");
        const late = flow.next(idleScan.state, { type: "scanFailed", seq: atScan.scanSeq, error: { code: "SCAN_CANCELED" }, now: 10007 });
        check(late.state.screen === "attract", "the idle scan's SCAN_CANCELED shows nothing");
        const touchedScan = flow.next(atScan, { type: "touch", now: 9000 });
        check(flow.next(touchedScan.state, { type: "tick", now: 16000 }).state.screen === "scan", "a touch keeps the scan screen");

        texts.setEnglish({ screen: { a: "A {n}" }, flat: "x" });
        texts.setTexts("xx", { screen: { b: "B" }, "screen.c": "C" });
        check(texts.t("screen.b") === "B", "nested key");
        check(texts.t("screen.c") === "C", "flat key");
        check(texts.t("screen.a", { n: 2 }) === "A 2", "English fallback with a placeholder");
        check(texts.t("screen.missing") === "screen.missing", "a missing key shows the key, not a blank");

        // Digits (`screen.digits`): numbers in vars and in the text itself, plural forms, dates.
        check(texts.numberingSystem() === "latn" && texts.t("screen.a", { n: 7 }) === "A 7", "Latin digits by default");
        const forms = {
          zero: "لا شيء", one: "واحدة", two: "اثنتان", few: "{n} قليلة", many: "{n} كثيرة", other: "{n} أخرى",
        };
        texts.setTexts("ar", {
          screen: { digits: "arab", step: "الخطوة {index} من {count}", six: "رمز من 6 أرقام", code: "الرمز: {code}", n: forms },
        });
        check(texts.numberingSystem() === "arab", "screen.digits arab");
        check(texts.formatNumber(1234) === "١٬٢٣٤", `1234 in Arabic-Indic digits: ${texts.formatNumber(1234)}`);
        check(texts.formatDigits("0123456789") === "٠١٢٣٤٥٦٧٨٩", "a keypad's captions");
        check(texts.t("screen.step", { index: 1, count: 2 }) === "الخطوة ١ من ٢", "numbers put in a text");
        check(texts.t("screen.six") === "رمز من ٦ أرقام", "digits of the text itself");
        check(texts.t("screen.code", { code: "E42" }) === "الرمز: E42", "a string put in stays as it is");
        const said = [0, 1, 2, 3, 11, 100].map((n) => texts.plural("screen.n", n)).join("|");
        check(said === "لا شيء|واحدة|اثنتان|٣ قليلة|١١ كثيرة|١٠٠ أخرى", `Arabic's six forms: ${said}`);
        const time = texts.dateTimeFormat({ hour: "numeric", minute: "numeric", timeZone: "UTC" })
          .format(Date.UTC(2025, 0, 1, 10, 30));
        check(/[٠-٩]/.test(time) && !/[0-9]/.test(time), `a time in Arabic-Indic digits: ${time}`);
        texts.setTexts("ar", { screen: { digits: "latn", n: forms } });
        check(texts.plural("screen.n", 3) === "3 قليلة" && texts.formatDigits("42") === "42", "screen.digits latn");
        for (const odd of ["abcd", "not a system", ""]) {
          texts.setTexts("ar", { screen: { digits: odd } });
          check(texts.numberingSystem() === "latn" && texts.formatNumber(7) === "7", `screen.digits "${odd}" → Latin digits`);
        }
        return out;
      });
      expect(problems.length === 0, problems.join("; "));
    },
  },
  {
    name: "pure modules: the staff screens in flow.js",
    scenario: scenario(),
    async run(page) {
      const problems = await page.evaluate(async () => {
        const out = [];
        const check = (c, m) => c || out.push(m);
        const flow = await import("/ui/flow.js");
        const types = (fx) => fx.map((e) => e.type).join(",");
        let s = flow.initialState();
        const step = (e) => {
          const r = flow.next(s, e);
          s = r.state;
          return r.effects;
        };
        step({ type: "info", now: 0, info: { ready: true, registered: true, idleSeconds: 10, outcomeSeconds: 5 } });

        // The logo held: only after STAFF_HOLD_MS, and not if let go before.
        step({ type: "logoDown", now: 0 });
        step({ type: "logoUp", now: 1000 });
        step({ type: "tick", now: 5000 });
        check(s.screen === "attract", "a logo let go of opens nothing");
        step({ type: "logoDown", now: 6000 });
        step({ type: "tick", now: 6000 + flow.STAFF_HOLD_MS - 1 });
        check(s.screen === "attract", "not before the hold time");
        step({ type: "tick", now: 6000 + flow.STAFF_HOLD_MS });
        check(s.screen === "staffPin" && s.staff.intent === "menu" && s.pressDeadline === null, "held → the PIN screen");
        const atPin = s;

        // The PIN: 4 to 12 digits, one check at a time, every answer clears it.
        for (const d of "1234567890123") step({ type: "pinDigit", digit: d, now: 9100 });
        check(s.staff.pin.length === flow.PIN_MAX, `at most ${flow.PIN_MAX} digits`);
        s = { ...atPin };
        step({ type: "pinDigit", digit: "1", now: 9100 });
        check(step({ type: "pinSubmit", now: 9100 }).length === 0, "no check under 4 digits");
        for (const d of "234") step({ type: "pinDigit", digit: d, now: 9100 });
        const fx = step({ type: "pinSubmit", now: 9100 });
        check(types(fx) === "staffUnlock" && fx[0].pin === "1234", "OK → staffUnlock with the PIN");
        check(step({ type: "pinSubmit", now: 9100 }).length === 0, "no second check while one runs");
        check(step({ type: "staffBack", now: 9100 }).length === 0 && s.screen === "staffPin", "no Back while checking");
        const checking = s;
        const answer = (error) => flow.next(checking, { type: "staffUnlockFailed", error, now: 9200 }).state;
        let a = answer({ code: "STAFF_PIN_WRONG", attemptsLeft: 2 });
        check(a.staff.pin === "" && a.staff.notice.key === "screen.staffPin.wrong" && a.staff.notice.n === 2, "wrong → tries left");
        a = answer({ code: "STAFF_NOT_CONFIGURED" });
        check(a.staff.notice.key === "screen.staffPin.notConfigured" && a.staff.pin === "", "not configured → said");
        a = answer({ code: "STAFF_LOCKED", retryAfterS: 5 });
        check(flow.staffLockSeconds(a) === 5 && a.staff.pin === "", "locked → a 5 s countdown");
        for (const d of "1234") a = flow.next(a, { type: "pinDigit", digit: d, now: 9300 }).state;
        check(flow.next(a, { type: "pinSubmit", now: 9300 }).effects.length === 0, "no check while locked");
        a = flow.next(a, { type: "tick", now: 14199 }).state;
        check(flow.staffLockSeconds(a) === 1, "1 s left just before the end");
        a = flow.next(a, { type: "tick", now: 14200 }).state;
        check(a.staff.lockedUntil === null && flow.staffLockSeconds(a) === 0, "the lockout ends on its tick");
        check(types(flow.next(a, { type: "pinSubmit", now: 14300 }).effects) === "staffUnlock", "then OK checks again");

        // The menu and its overview.
        let fx2 = step({ type: "staffUnlocked", operator: "Dana", now: 9300 });
        check(s.screen === "staffMenu" && s.staff.pin === "" && types(fx2) === "staffOverview", "right PIN → menu + overview");
        const seq = fx2[0].seq;
        step({ type: "overviewLoaded", seq: seq - 1, overview: { kioskId: "old" }, now: 9400 });
        check(s.staff.overview === null, "an earlier overview request's answer is ignored");
        const rough = {
          queue: { pending: "3", dead: -1, lastSuccessfulSync: null },
          recent: [{ sessionId: 7, outcome: "success" }],
          settings: "x",
        };
        step({ type: "overviewLoaded", seq, now: 9400, overview: rough });
        const o = s.staff.overview;
        check(o.queue.pending === 3 && o.queue.dead === 0 && o.queue.lastSuccessfulSync === null, "queue counts are whole numbers");
        check(o.recent[0].sessionId === "7" && o.recent[0].delivery === null && o.dead.length === 0 && o.settings.length === 0,
          "a rough overview is made whole");
        check(s.staff.operator === "Dana", "the operator stays when the overview names none");
        const menu = s;
        const again = flow.next(menu, { type: "staffRefresh", now: 9500 });
        check(types(again.effects) === "staffOverview" && again.state.overviewSeq === seq + 1, "Refresh asks again");
        const ended = flow.next(again.state, { type: "overviewFailed", seq: seq + 1, error: { code: "STAFF_REQUIRED" }, now: 9600 });
        check(ended.state.screen === "staffPin" && ended.state.staff.overview === null &&
          ended.state.staff.notice.key === "screen.staffPin.ended", "STAFF_REQUIRED → the PIN screen, overview gone");
        const other = flow.next(again.state, { type: "overviewFailed", seq: seq + 1, error: { code: "DB_LOCKED" }, now: 9600 });
        check(other.state.screen === "staffMenu" && other.state.staff.notice.vars.code === "DB_LOCKED",
          "another error is said in the menu");

        // The walk-in.
        const w = flow.next(menu, { type: "staffWalkIn", now: 10000 });
        check(w.state.screen === "walkIn" && types(w.effects) === "startWalkIn" && w.effects[0].seq === w.state.scanSeq,
          "walk-in → its screen + startWalkIn");
        const walk = w.state;
        const wseq = walk.scanSeq;
        check(flow.next(walk, { type: "walkInHint", seq: wseq - 1, hint: "MOVE_BACK", now: 1 }).state.scan.hint === null,
          "an earlier stream's hint is ignored");
        check(flow.next(walk, { type: "walkInHint", seq: wseq, hint: "MOVE_BACK", now: 1 }).state.scan.hint === "MOVE_BACK",
          "a hint shows");
        const ends = [
          ["PHOTO_TIMEOUT", "staffMenu", "staffOverview"],
          ["SCAN_CANCELED", "staffMenu", "staffOverview"],
          ["STAFF_REQUIRED", "staffPin", ""],
          ["MEDIA_NOT_FOUND_ERROR", "cameraError", "staffLock"],
          ["NETWORK_ERROR", "error", "staffLock"],
          ["SOMETHING_NEW", "error", "staffLock"],
        ];
        for (const [code, screen, effects] of ends) {
          const r = flow.next(walk, { type: "walkInFailed", seq: wseq, error: { code, message: "m" }, now: 10100 });
          check(r.state.screen === screen && types(r.effects) === effects,
            `walk-in ${code} → ${screen} [${effects}] (got ${r.state.screen} [${types(r.effects)}])`);
        }
        check(flow.next(walk, { type: "walkInFailed", seq: wseq, error: { code: "PHOTO_TIMEOUT" }, now: 1 }).state.staff.notice.key ===
          "screen.walkIn.timeout", "a timeout is said on the menu");
        const done = flow.next(walk, { type: "walkInDone", seq: wseq, sessionId: "local_1", test: false, now: 10200 });
        check(done.state.screen === "consent" && done.state.session.id === "local_1" && done.state.session.walkIn &&
          done.state.staff === null && done.effects.length === 0, "a walk-in → consent, the app ended the staff session");
        const agree = flow.next(done.state, { type: "agree", now: 10300 });
        check(agree.effects[0].type === "startSession" && agree.effects[0].sessionId === "local_1", "agree starts the walk-in's session");
        const cancel = flow.next(walk, { type: "walkInCancel", now: 10200 });
        check(cancel.state.screen === "staffMenu" && types(cancel.effects) === "cancelScan,staffOverview", "Cancel → cancel_scan, menu");
        check(flow.next(cancel.state, { type: "walkInDone", seq: wseq, sessionId: "late", now: 10300 }).state.screen === "staffMenu",
          "a canceled walk-in's late answer is ignored");
        const idle = flow.next(walk, { type: "tick", now: 10000 + 10000 });
        check(idle.state.screen === "attract" && types(idle.effects) === "cancelScan,staffLock" && idle.state.staff === null,
          "an idle walk-in stops the camera, locks and goes back to attract");

        // The camera test.
        const c = flow.next(menu, { type: "staffCameraTest", now: 11000 });
        check(c.state.screen === "cameraTest" && types(c.effects) === "startCameraTest,staffCameras", "camera test → its screen");
        const cseq = c.state.scanSeq;
        const broke = flow.next(c.state, { type: "cameraTestFailed", seq: cseq, error: { code: "MEDIA_NOT_ALLOWED_ERROR" }, now: 11100 });
        check(broke.state.screen === "cameraTest" && broke.state.scan.error === "MEDIA_NOT_ALLOWED_ERROR" && broke.effects.length === 0,
          "a camera fault stays on the camera test");
        check(types(flow.next(broke.state, { type: "cameraTestBack", now: 11200 }).effects) === "staffOverview",
          "Back after a fault cancels nothing");
        const back = flow.next(c.state, { type: "cameraTestBack", now: 11200 });
        check(back.state.screen === "staffMenu" && types(back.effects) === "cancelScan,staffOverview", "Back → cancel_scan, menu");
        const result = flow.next(back.state, { type: "cameraTestDone", seq: cseq, frames: 42, now: 11300 });
        check(result.state.staff.notice.key === "screen.cameraTest.result" && result.state.staff.notice.n === 42,
          "the test's frame count is said on the menu");

        // The camera choice: the list for its own request only; another camera after the one shown ends.
        const cams = { configured: "camera", current: "camera", choosable: true, problem: null,
          devices: [{ index: 0, name: "A", is_virtual: false }, { index: 3, name: "B", is_virtual: true }, { index: -1 }, null] };
        check(flow.next(c.state, { type: "camerasLoaded", seq: c.state.staff.camerasSeq - 1, cameras: cams, now: 11010 })
          .state.staff.cameras === null, "an earlier list of cameras is ignored");
        const listedCams = flow.next(c.state, { type: "camerasLoaded", seq: c.state.staff.camerasSeq, cameras: cams, now: 11010 }).state;
        const lc = listedCams.staff.cameras;
        check(lc.devices.length === 2 && lc.devices[1].camera === "camera:3" && lc.devices[1].virtual &&
          flow.cameraOf(lc, "camera").camera === "camera:0" && flow.cameraOf(lc, "camera:B").camera === "camera:3" &&
          flow.testedCamera(listedCams) === "camera", `the cameras are made whole (${JSON.stringify(lc)})`);
        check(flow.next(listedCams, { type: "cameraTestPick", camera: "camera:9", now: 11020 }).effects.length === 0,
          "a camera not listed is not tested");
        check(flow.next(listedCams, { type: "cameraTestPick", camera: "camera:0", now: 11020 }).effects.length === 0,
          "the camera shown is not started again");
        check(flow.next(listedCams, { type: "cameraUse", now: 11020 }).effects.length === 0, "the camera in use is not chosen again");
        const pick = flow.next(listedCams, { type: "cameraTestPick", camera: "camera:3", now: 11020 });
        check(types(pick.effects) === "cancelScan" && pick.state.scan.switchTo === "camera:3", "another camera ends the test shown");
        const switched = flow.next(pick.state, { type: "cameraTestDone", seq: cseq, frames: 5, now: 11030 });
        check(switched.state.screen === "cameraTest" && types(switched.effects) === "startCameraTest" &&
          switched.effects[0].camera === "camera:3" && switched.effects[0].seq === cseq + 1 &&
          flow.testedCamera(switched.state) === "camera:3", "then the camera tapped is tested");
        const use = flow.next(switched.state, { type: "cameraUse", now: 11040 });
        check(types(use.effects) === "staffUseCamera" && use.effects[0].camera === "camera:3" && use.state.staff.usingCamera,
          "Use this camera → staff_use_camera with it");
        check(flow.next(use.state, { type: "cameraTestPick", camera: "camera:0", now: 11041 }).effects.length === 0,
          "no other camera while the choice is made");
        const usedCam = flow.next(use.state, { type: "cameraUsed", current: "camera:3", now: 11050 }).state;
        check(usedCam.staff.cameras.current === "camera:3" && usedCam.staff.notice.vars.camera === "B" && !usedCam.staff.usingCamera,
          "the choice is said with the camera's name");
        const refused = flow.next(use.state, { type: "cameraUseFailed", error: { code: "FORBIDDEN" }, now: 11050 }).state;
        check(refused.staff.notice.key === "screen.cameraTest.useFailed" && refused.staff.notice.vars.code === "FORBIDDEN",
          "a refused choice is said");
        check(flow.next(use.state, { type: "cameraUseFailed", error: { code: "STAFF_REQUIRED" }, now: 11050 }).state.screen === "staffPin",
          "a staff session that ended asks for the PIN");
        const reset = flow.next(usedCam, { type: "cameraUseConfigured", now: 11060 });
        check(types(reset.effects) === "staffUseCamera" && reset.effects[0].camera === null, "back to the configured camera → null");
        const fixed = { ...cams, choosable: false, current: "clip.mjpeg", configured: "clip.mjpeg" };
        const noChoice = flow.next(c.state, { type: "camerasLoaded", seq: c.state.staff.camerasSeq, cameras: fixed, now: 11010 }).state;
        check(flow.next(noChoice, { type: "cameraTestPick", camera: "camera:3", now: 11020 }).effects.length === 0 &&
          flow.next(noChoice, { type: "cameraUseConfigured", now: 11020 }).effects.length === 0, "a clip camera offers no choice");
        check(flow.next(back.state, { type: "cameraTestFailed", seq: cseq, error: { code: "SCAN_CANCELED" }, now: 11300 })
          .state.screen === "staffMenu", "its late SCAN_CANCELED changes nothing");

        // The waiting list: asked for on the way, each answer for its own request only.
        check(flow.STAFF_SCREENS.includes("staffWaiting"), "the waiting list is a staff screen");
        const wl = flow.next(menu, { type: "staffWaiting", now: 11500 });
        check(wl.state.screen === "staffWaiting" && types(wl.effects) === "staffWaitingSessions" &&
          wl.effects[0].seq === wl.state.waitingSeq && wl.state.staff.waitingLoading, "Waiting sessions → its screen + the list");
        const lseq = wl.state.waitingSeq;
        const rows = {
          data: [
            { sessionId: "ses_a", clientReferenceId: "REF-1", test: false, createdAt: 1741948200, expiresAt: 1742034600 },
            { sessionId: "ses_b", clientReferenceId: null, test: true, createdAt: "soon" },
            { clientReferenceId: "no id" },
            "junk",
          ],
        };
        check(flow.next(wl.state, { type: "waitingLoaded", seq: lseq - 1, sessions: rows, now: 11600 }).state.staff.waiting === null,
          "an earlier list's answer is ignored");
        const listed = flow.next(wl.state, { type: "waitingLoaded", seq: lseq, sessions: rows, now: 11600 }).state;
        const wv = listed.staff.waiting;
        check(wv.length === 2 && wv[0].reference === "REF-1" && wv[0].created === 1741948200000 && !wv[0].test &&
          wv[1].reference === null && wv[1].test && wv[1].created === null && !listed.staff.waitingLoading,
          `the list is made whole: sessions with an id, times in ms (${JSON.stringify(wv)})`);
        const refreshedOnce = () => flow.next(listed, { type: "waitingRefresh", now: 11600 }).state;
        const loadEnds = [
          ["NETWORK_ERROR", "staffWaiting", "screen.staffWaiting.offline"],
          ["NOT_REGISTERED", "staffWaiting", "screen.staffWaiting.notRegistered"],
          ["DB_LOCKED", "staffWaiting", "screen.staffWaiting.loadFailed"],
          ["STAFF_REQUIRED", "staffPin", "screen.staffPin.ended"],
        ];
        for (const [code, screen, key] of loadEnds) {
          const r = flow.next(wl.state, { type: "waitingFailed", seq: lseq, error: { code, message: "m" }, now: 11600 });
          check(r.state.screen === screen && r.state.staff.notice.key === key && r.effects.length === 0,
            `list ${code} → ${screen} with ${key} (got ${r.state.screen}, ${JSON.stringify(r.state.staff.notice)})`);
        }
        const noNet = flow.next(refreshedOnce(), { type: "waitingFailed", seq: lseq + 1, error: { code: "NETWORK_ERROR" }, now: 11600 }).state;
        check(noNet.staff.waiting === null && !noNet.staff.waitingLoading, "a list that could not be loaded is not shown");
        check(noNet.staff.offline && flow.next(noNet, { type: "staffWalkIn", now: 11700 }).state.screen === "walkIn",
          "offline, the list offers the walk-in");
        check(flow.next(listed, { type: "staffWalkIn", now: 11700 }).state.screen === "staffWaiting",
          "not while the service answers");
        check(flow.next(wl.state, { type: "waitingFailed", seq: lseq, error: { code: "DB_LOCKED" }, now: 1 }).state.staff.notice
          .vars.code === "DB_LOCKED", "another error is said with its code");
        const refreshed = flow.next(listed, { type: "waitingRefresh", now: 11700 });
        check(types(refreshed.effects) === "staffWaitingSessions" && refreshed.state.waitingSeq === lseq + 1 &&
          refreshed.state.staff.waiting === wv, "Refresh asks again, the list drawn stays meanwhile");
        check(flow.next(refreshed.state, { type: "waitingRefresh", now: 11700 }).effects.length === 0, "one request at a time");
        const wback = flow.next(listed, { type: "waitingBack", now: 11700 });
        check(wback.state.screen === "staffMenu" && types(wback.effects) === "staffOverview", "Back → the menu");
        check(flow.next(wback.state, { type: "staffWaiting", now: 11800 }).state.staff.waiting === null,
          "the list is not shown again before it is loaded again");

        // A pick: asked first, one at a time, then consent as after a claim.
        check(flow.next(listed, { type: "waitingPick", sessionId: "nope", now: 11700 }).state.staff.confirmPick === null,
          "an id not on the list is ignored");
        const asked = flow.next(listed, { type: "waitingPick", sessionId: "ses_b", now: 11700 });
        check(asked.state.staff.confirmPick && asked.state.staff.confirmPick.sessionId === "ses_b" && asked.effects.length === 0,
          "a tap asks first");
        check(flow.next(asked.state, { type: "pickDismiss", now: 11700 }).state.staff.confirmPick === null, "Cancel closes it");
        const going = flow.next(asked.state, { type: "pickConfirm", now: 11800 });
        check(types(going.effects) === "staffPick" && going.effects[0].sessionId === "ses_b" && going.effects[0].seq === lseq &&
          going.state.staff.picking, "Start → staffPick with the session's id");
        const busy = going.state;
        check(flow.next(busy, { type: "pickConfirm", now: 1 }).effects.length === 0 &&
          flow.next(busy, { type: "waitingRefresh", now: 1 }).effects.length === 0 &&
          flow.next(busy, { type: "waitingBack", now: 1 }).state.screen === "staffWaiting" &&
          flow.next(busy, { type: "pickDismiss", now: 1 }).state.staff.confirmPick !== null &&
          flow.next(busy, { type: "waitingPick", sessionId: "ses_a", now: 1 }).state.staff.confirmPick.sessionId === "ses_b",
          "nothing else while the app takes the session");
        const pickEnds = [
          ["SESSION_ALREADY_CLAIMED", "staffWaiting", "screen.staffWaiting.claimed", "staffWaitingSessions"],
          ["SESSION_ENDED", "staffWaiting", "screen.staffWaiting.ended", "staffWaitingSessions"],
          ["SESSION_EXPIRED_OR_NOT_FOUND", "staffWaiting", "screen.staffWaiting.expired", "staffWaitingSessions"],
          ["NETWORK_ERROR", "staffWaiting", "screen.staffWaiting.pickOffline", ""],
          ["SOMETHING_NEW", "staffWaiting", "screen.staffWaiting.pickFailed", ""],
          ["STAFF_REQUIRED", "staffPin", "screen.staffPin.ended", ""],
        ];
        for (const [code, screen, key, effects] of pickEnds) {
          const r = flow.next(busy, { type: "pickFailed", seq: lseq, error: { code, message: "m" }, now: 11900 });
          check(r.state.screen === screen && r.state.staff.notice.key === key && types(r.effects) === effects &&
            !r.state.staff.picking && r.state.staff.confirmPick === null,
            `pick ${code} → ${screen} with ${key} [${effects}] (got ${r.state.screen} [${types(r.effects)}])`);
        }
        const gone = flow.next(busy, { type: "pickFailed", seq: lseq, error: { code: "SESSION_ENDED" }, now: 11900 }).state;
        check(gone.staff.waiting === wv && gone.waitingSeq === lseq + 1, "a session gone: the list stays until the new one");
        const reloaded = flow.next(gone, { type: "waitingLoaded", seq: lseq + 1, sessions: { data: [] }, now: 12000 }).state;
        check(reloaded.staff.notice.key === "screen.staffWaiting.ended" && reloaded.staff.waiting.length === 0,
          "the message stays with the new list");
        check(flow.next(busy, { type: "picked", seq: lseq - 1, sessionId: "ses_b", now: 11900 }).state.screen === "staffWaiting",
          "an answer for an earlier list is ignored");
        const took = flow.next(busy, { type: "picked", seq: lseq, sessionId: "ses_b", test: true, now: 11900 });
        check(took.state.screen === "consent" && took.state.session.id === "ses_b" && took.state.session.test &&
          !took.state.session.walkIn && !took.state.session.offline && took.state.staff === null && took.effects.length === 0,
          "taken → consent, the app ended the staff session");
        const tookAgree = flow.next(took.state, { type: "agree", now: 12000 });
        check(tookAgree.effects[0].type === "startSession" && tookAgree.effects[0].sessionId === "ses_b",
          "agree starts the picked session");
        const noId = flow.next(busy, { type: "picked", seq: lseq, now: 11900 });
        check(noId.state.screen === "error" && types(noId.effects) === "staffLock", "an answer without a session → error");
        const idleList = flow.next(asked.state, { type: "tick", now: 11700 + 10000 });
        check(idleList.state.screen === "attract" && types(idleList.effects) === "staffLock" && idleList.state.staff === null,
          "an idle waiting list locks and goes back to attract");
        check(flow.next(took.state, { type: "pickFailed", seq: lseq, error: { code: "SESSION_ENDED" }, now: 1 }).state.screen ===
          "consent", "a late pick answer changes nothing");

        // Lock, exit, idle, and the ways out.
        const lock = flow.next(menu, { type: "lock", now: 12000 });
        check(lock.state.screen === "attract" && types(lock.effects) === "staffLock" && lock.state.staff === null,
          "Lock → attract + staffLock");
        const notReady = flow.next({ ...menu, info: { ...menu.info, ready: false } }, { type: "lock", now: 12000 });
        check(notReady.state.screen === "outOfService", "a kiosk not ready goes back to out of service");
        check(flow.next(menu, { type: "tick", now: 9400 + 10000 }).effects.some((e) => e.type === "staffLock"), "an idle menu locks");
        let x = flow.next(menu, { type: "exitConfirm", now: 1 });
        check(x.effects.length === 0, "no exit without the question");
        x = flow.next(flow.next(menu, { type: "exit", now: 1 }).state, { type: "exitConfirm", now: 1 });
        check(types(x.effects) === "staffExit" && x.state.staff.exiting, "Exit, then Yes → staffExit");
        const xf = flow.next(x.state, { type: "exitFailed", error: { code: "EXIT_REFUSED" }, now: 2 });
        check(!xf.state.staff.exiting && xf.state.staff.notice.key === "screen.staffMenu.exitFailed", "a refused exit is said");
        check(types(flow.next(s, { type: "lock", now: 1 }).effects) === "staffLock", "Lock works from the menu state");
        const lateUnlock = flow.next(lock.state, { type: "staffUnlocked", operator: "Dana", now: 12100 });
        check(lateUnlock.state.screen === "attract" && types(lateUnlock.effects) === "staffLock",
          "a PIN accepted after the screen was left is locked again");

        // From the offline screen: the walk-in straight after the PIN; not from any other screen.
        const off = { ...menu, screen: "offline", staff: null, outcome: { screen: "offline", code: "NETWORK_ERROR" } };
        const pin = flow.next(off, { type: "staffOpen", now: 13000 }).state;
        check(pin.screen === "staffPin" && pin.staff.intent === "walkIn" && pin.outcomeDeadline === null, "offline → PIN, for a walk-in");
        let p = pin;
        for (const d of "2468") p = flow.next(p, { type: "pinDigit", digit: d, now: 13000 }).state;
        p = flow.next(p, { type: "pinSubmit", now: 13000 }).state;
        const direct = flow.next(p, { type: "staffUnlocked", operator: "Dana", now: 13100 });
        check(direct.state.screen === "walkIn" && types(direct.effects) === "startWalkIn", "the right PIN → the walk-in, no menu");

        // The queued note: only for a visit made while the kiosk was offline (a walk-in from the
        // offline screen); every result is queued, so an online visit's says nothing.
        const outcome = (st, queued = true) => {
          const a = flow.next(st, { type: "agree", now: 20000 }).state;
          const event = { kind: "outcome", outcome: "success", queued };
          return flow.next(a, { type: "session", seq: a.sessionSeq, event, now: 20100 }).state;
        };
        const offlineDone = flow.next(direct.state, { type: "walkInDone", seq: direct.state.scanSeq, sessionId: "local_2", now: 13200 });
        check(offlineDone.state.session.offline && offlineDone.state.session.walkIn, "a walk-in from the offline screen is an offline visit");
        const offlineEnd = outcome(offlineDone.state);
        check(offlineEnd.screen === "success" && flow.showsQueuedNote(offlineEnd), "its queued result says it waits for the network");
        check(!flow.showsQueuedNote(outcome(offlineDone.state, false)), "a result not queued says nothing");
        check(!done.state.session.offline && !flow.showsQueuedNote(outcome(done.state)), "a walk-in from the menu is an online visit");
        check(!flow.showsQueuedNote(outcome(took.state)), "so is a session picked from the list");
        const claimedVisit = flow.next({ ...menu, screen: "keypad", staff: null, claiming: true },
          { type: "claimed", sessionId: "ses_c", now: 1 }).state;
        check(!flow.showsQueuedNote(outcome(claimedVisit)), "and a claimed one");
        const wentOffline = flow.next(wl.state, { type: "waitingFailed", seq: lseq, error: { code: "NETWORK_ERROR" }, now: 1 }).state;
        const viaList = flow.next(wentOffline, { type: "staffWalkIn", now: 2 }).state;
        const listWalkIn = flow.next(viaList, { type: "walkInDone", seq: viaList.scanSeq, sessionId: "local_3", now: 3 }).state;
        check(flow.showsQueuedNote(outcome(listWalkIn)), "a walk-in offered by the list while offline is an offline visit too");
        check(flow.next({ ...menu, screen: "keypad", staff: null }, { type: "staffOpen", now: 1 }).state.screen === "keypad",
          "no staff sign-in from the keypad");
        return out;
      });
      expect(problems.length === 0, problems.join("; "));
    },
  },
];

// The main screens in the high-contrast theme (screenshots `<name>-hc`, `<name>-hc-<lang>`), and the
// screens with every text 1.3 times its size (checked, not saved: a customer's screen fits, or a
// card of it scrolls; a staff panel may scroll).
const MAIN_LANG_SHOTS = ["attract", "keypad", "capture", "success"];
const THEMED = {
  "happy path": { hc: true, large: true },
  "wrong code lets the customer retype": { hc: true },
  "offline claim": { hc: true, large: true },
  "failed match, try again, then cancel": { hc: true, large: true },
  "camera lost, then camera error": { hc: true, large: true },
  "every other outcome": { hc: true, large: true },
  "scan a QR code: keypad, scan screen with the preview, then consent": { hc: true, large: true },
  "out of service": { hc: true, large: true },
  "French: the main screens in French, nothing cut off": { hc: MAIN_LANG_SHOTS.map((x) => `${x}-hc-fr`), large: true },
  "Arabic: the main screens right to left, in Arabic and its font": { hc: MAIN_LANG_SHOTS.map((x) => `${x}-hc-ar`), large: true },
  "keyboard: Tab reaches every control in order with a focus ring; dialogs hold the focus": { hc: [] },
  "staff: the logo held or Ctrl+Alt+S, wrong and locked PINs, the menu, Lock": { hc: ["staff-pin-hc", "staff-menu-hc"], large: true },
  "staff walk-in from the offline screen: PIN, ID photo, consent, the customer's session": { hc: true, large: true },
  "staff camera test: frames until Back, then a camera fault shown in the panel": { hc: ["camera-test-hc"], large: true },
  "staff camera choice: the cameras connected, another one shown, used from now on, then the configured one": {
    hc: ["camera-choice-hc"], large: true,
  },
  "staff waiting list: a session picked, confirmed, consent, the customer's session": { hc: ["staff-waiting-hc"], large: true },
};
// Every screen in each language, in both themes (each a contact sheet; the hc one
// `every-screen-hc-<lang>`), and the out-of-service screen, which only a start shows.
for (const lang of LANGUAGES) {
  const tour = tourScenario(lang);
  SCENARIOS.push(tour, highContrast(tour));
  for (const theme of ["default", "high-contrast"]) {
    SCENARIOS.push({
      name: `out of service in ${lang} (${theme})`,
      scenario: scenario({ theme, info: { ready: false, problem: "models: mobilefacenet.onnx is missing", languages: LANGUAGES, defaultLang: lang } }),
      first: "outOfService",
      async run(page) {
        await expectScreen(page, "outOfService");
        await page.waitForFunction((l) => document.documentElement.lang === l, lang, { timeout: 4000 });
        await checkScreen(page, `out of service in ${lang}`);
      },
    });
  }
}
for (const [name, { hc, large }] of Object.entries(THEMED)) {
  const sc = SCENARIOS.find((x) => x.name === name);
  if (!sc) throw new Error(`no scenario "${name}" to vary`);
  if (hc) SCENARIOS.push(highContrast(sc, hc === true ? null : hc));
  if (large) SCENARIOS.push(largeText(sc));
}

// ---------------------------------------------------------------------------------------------

const themes = new Map();

/**
 * The `theme` answer of a scenario: its `theme` (harness.mjs loadTheme: the real files under
 * assets/themes/), "default" unless it says, with its `themePatch`; none (`theme` fails) for null.
 */
async function themeOf(scenario) {
  const name = "theme" in scenario ? scenario.theme : "default";
  if (name == null) return null;
  const key = JSON.stringify([name, scenario.themePatch || {}]);
  if (!themes.has(key)) themes.set(key, loadTheme(ROOT, name, scenario.themePatch));
  return themes.get(key);
}

/** Runs one scenario in a fresh browser context; resolves to null or the reason it failed. */
async function runScenario(browser, server, sc) {
  const t0 = Date.now();
  const context = await browser.newContext({
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    reducedMotion: sc.reducedMotion || "no-preference",
    // The staff menu shows times: the same in every screenshot, wherever the tests run.
    timezoneId: "UTC",
  });
  const page = await context.newPage();
  page.scenarioName = sc.name;
  page.shotName = sc.shotName || ((name) => name);
  page.panelsMayScroll = !!sc.panelsMayScroll;
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // A failed load is reported by the response below, with its address.
    if (/^Failed to load resource/.test(m.text())) return;
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => pageErrors.push(`request failed: ${r.url()}`));
  page.on("response", (r) => {
    // The browser asks for /favicon.ico on its own; the app has none.
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) pageErrors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  try {
    await page.addInitScript(fakeApp, { ...sc.scenario, themeAnswer: await themeOf(sc.scenario) });
    await page.goto(`${server.url}/ui/index.html`);
    await expectScreen(page, sc.first || "attract");
    // The first screen shows with its texts, not with keys that a moment later turn into texts.
    const h1 = await page.evaluate(() => document.querySelector("section.screen:not([hidden]) h1").textContent);
    expect(h1 && !/^screen\./.test(h1), `the first screen showed before its texts ("${h1}")`);
    await sc.run(page);
    if (pageErrors.length) fail(pageErrors.join("; "));
    console.log(`ok   ${sc.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return null;
  } catch (e) {
    const shot = path.join(os.tmpdir(), `facekiosk-ui-failure-${process.pid}-${Date.now()}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    let why = e instanceof TestFailure ? e.message : e.stack || String(e);
    if (pageErrors.length) why += `\n     in the page: ${pageErrors.join("; ")}`;
    return `FAIL ${sc.name}: ${why}\n     screenshot of the failure: ${shot}`;
  } finally {
    await context.close();
  }
}

async function main() {
  const only = process.env.UI_TEST_ONLY || "";
  const jobs = Math.max(1, Number(process.env.UI_TEST_JOBS) || 3);
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  await fs.mkdir(SHOTS, { recursive: true });
  const server = await startServer(ROOT);
  const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
  const started = Date.now();
  const queue = SCENARIOS.filter((sc) => !only || sc.name.includes(only));
  let failure = null;
  // A few scenarios at a time (each in its own context); none starts after the first failure.
  async function worker() {
    while (queue.length && !failure) {
      const result = await runScenario(browser, server, queue.shift());
      if (result && !failure) failure = result;
    }
  }
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    await browser.close();
    await server.close();
  }
  if (failure) {
    console.error(failure);
    process.exit(1);
  }
  // axe checked every screen the scenarios showed, in each language and theme it showed in.
  const unchecked = only ? [] : [...visited].filter(([key]) => !audited.has(key));
  if (unchecked.length) {
    console.error(`FAIL axe never checked these screens the scenarios showed (a checkScreen or shoot there):\n     ` +
      unchecked.map(([key, sc]) => `${key} (first in "${sc}")`).join("\n     "));
    process.exit(1);
  }
  console.log(`ui-test: all scenarios passed in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
    `${shots.length} screenshots in ${SHOTS}; axe checked ${audited.size} screens (by language and theme)`);
}

main().catch((e) => {
  console.error(`FAIL ${e.stack || e}`);
  process.exit(1);
});

// Test harness for the kiosk's screens (ui/): a read-only static server for the repository, a fake
// of the app's Tauri bridge that plays scripted scenarios, and a PNG reader to tell a blank
// screenshot from a drawn one. Nothing here ships: ui/ never loads it; the tests inject the fake
// with `page.addInitScript` before ui/index.html runs.

import http from "node:http";
import fs from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";

/** The app's Content-Security-Policy (tauri.conf.json), sent with every page so tests obey it. */
export const APP_CSP =
  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' data:; font-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ttf": "font/ttf",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Serves `root` read-only on 127.0.0.1 at a free port: GET and HEAD only, nothing outside root,
 * no directory listings. Resolves to `{ url, close }`.
 */
export function startServer(root) {
  const base = path.resolve(root);
  const server = http.createServer(async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = path.resolve(base, "." + rel);
    if (file !== base && !file.startsWith(base + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) throw new Error("not a file");
      const body = await fs.readFile(file);
      const ext = path.extname(file).toLowerCase();
      const headers = {
        "Content-Type": TYPES[ext] || "application/octet-stream",
        "Content-Length": body.length,
        "Cache-Control": "no-store",
      };
      if (ext === ".html") headers["Content-Security-Policy"] = APP_CSP;
      res.writeHead(200, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

/** The files a theme may name, by extension (as the app's crates/kiosk/src/theme.rs). */
const THEME_FILE_TYPES = {
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
};

function mergeJson(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over || {})) {
    const both = v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object";
    out[k] = both ? mergeJson(out[k], v) : v;
  }
  return out;
}

/**
 * The app's `theme` answer for the built-in theme `name` (`default`, `high-contrast`), built as the
 * app builds it from the same files: assets/themes/<name>/theme.json's keys merged over the
 * default's, then `patch` (a test's changes, e.g. `{ fontScale: 1.3 }`); the logo, images and
 * sounds it names read from its folder, else the default's, as base64 `data:` URLs. Throws on
 * an unknown theme or a file found nowhere (the app would warn; a test should not).
 */
export async function loadTheme(root, name, patch = {}) {
  const themes = path.join(root, "assets", "themes");
  const read = async (theme) => JSON.parse(await fs.readFile(path.join(themes, theme, "theme.json"), "utf8"));
  let json = await read("default");
  if (name !== "default") json = mergeJson(json, await read(name));
  json = mergeJson(json, patch);
  const file = async (rel) => {
    if (typeof rel !== "string") return null;
    if (/^[a-z]+:/.test(rel)) return rel; // a test's own picture or sound (a data: URL), or a bad one
    const type = THEME_FILE_TYPES[path.extname(rel).toLowerCase()];
    if (!type || rel.split("/").some((p) => !p || p === "." || p === "..")) throw new Error(`theme ${name}: bad file ${rel}`);
    for (const dir of [name, "default"]) {
      const bytes = await fs.readFile(path.join(themes, dir, rel)).catch(() => null);
      if (bytes) return `data:${type};base64,${bytes.toString("base64")}`;
    }
    throw new Error(`theme ${name}: ${rel} is missing`);
  };
  const images = {};
  for (const [k, v] of Object.entries(json.images || {})) images[k] = await file(v);
  const sounds = {};
  for (const [k, v] of Object.entries(json.sounds || {})) sounds[k] = await file(v);
  return {
    name: json.name,
    colors: { ...json.colors },
    radius: json.radius,
    radiusLarge: json.radiusLarge,
    fontScale: json.fontScale,
    logo: await file(json.logo),
    images,
    sounds,
    font: json.font
      ? { family: json.font.family, regular: await file(json.font.regular), bold: await file(json.font.bold) }
      : null,
    warnings: [],
  };
}

/**
 * Decodes an 8-bit, non-interlaced PNG (what Chromium's screenshots are) into
 * `{ width, height, channels, pixels }`.
 */
export function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || data[12] !== 0) throw new Error("only 8-bit non-interlaced PNGs");
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    pos += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  if (!channels) throw new Error(`PNG colour type ${colorType} not supported`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels] : 0;
      const b = up ? up[i] : 0;
      const c = up && i >= channels ? up[i - channels] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** How much a picture varies: distinct colours (4 bits a channel) and the luminance's std dev. */
export function imageStats(png) {
  const { pixels, channels } = png;
  const colours = new Set();
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let i = 0; i + channels <= pixels.length; i += channels * 3) {
    const r = pixels[i];
    const g = channels >= 3 ? pixels[i + 1] : r;
    const b = channels >= 3 ? pixels[i + 2] : r;
    colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += l;
    sum2 += l * l;
    n++;
  }
  const mean = sum / n;
  return { colours: colours.size, stddev: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}

/**
 * The fake app, run in the page before ui/ loads (`page.addInitScript(fakeApp, scenario)`).
 * It defines `window.__TAURI__.core` ({ invoke, Channel }) as the app does with
 * `withGlobalTauri`, answers commands from `scenario`, plays the scenario's session scripts
 * through the channels, and exposes `window.__fake` for the test to steer and inspect:
 * `calls` (every invoke), `sounds` (every sound played: `{ name, at }`), `open(gate)` (lets a script go on past `{ gate }`), `emit(event)`,
 * `frames` (count per kind of frame payload), `urls` (blob URLs created / revoked), `scans`
 * (how each scan_session ended: `{ resolved: sessionId }` or `{ rejected: code }`), `staffJobs`
 * (how each staff_walk_in and staff_camera_test ended: `{ cmd, resolved }` or `{ cmd, rejected }`),
 * `staff()` (`{ open, operator }`: whether a staff session is open in the fake app, and whose) and
 * `endStaff()` (the app ends the staff session, as after its idle time).
 *
 * scenario = {
 *   info: {...},                 kiosk_info's answer (merged over ready defaults)
 *   theme: "default" | "high-contrast" | null, the built-in theme `theme` answers with (run.mjs
 *                                builds it with loadTheme into `themeAnswer`); null: `theme` fails
 *   themePatch: {...},           merged over that theme (loadTheme's `patch`)
 *   themeAnswer: {...},          what `theme` answers (set by run.mjs)
 *   textsPatch: {...},           deep-merged over the texts the server has
 *   claims: { digits: { sessionId, test, lang?, langs?, customization? } | { error: { code, message } } },
 *                                (a claim's answer as the app's `Claimed`: the session's
 *                                language or null, its languages, its customization)
 *   claimDelayMs,                how long claim_session takes
 *   sessions: { sessionId: [steps] }, played on start_session
 *   afterRetry: { sessionId: [steps] }, played on retry_session
 *   afterCancel: [steps],        played on cancel_session (default: canceled outcome)
 *   startError: { code, message } start_session rejects with it
 *   scans: [plan],               one per scan_session call, in order (the last one repeats);
 *                                default: SCAN_TIMEOUT after 300 ms. With scans, the scan's
 *                                frames are drawn as soon as kiosk_info is asked, not on the first scan
 *   scanCancelDelayMs,           after cancel_scan, how long until scan_session rejects with
 *                                SCAN_CANCELED (default 50); the same for staff_walk_in, and for
 *                                staff_camera_test's answer
 *   staff: {                     the staff commands (staff_*); with it, the walk-in's frames are
 *                                drawn as soon as kiosk_info is asked
 *     pins: { pin: { operator } | { error: { code, message, ...extra } } }, staff_unlock's answers
 *                                (any other PIN: STAFF_PIN_WRONG with attemptsLeft 2); a right
 *                                PIN opens the staff session
 *     overview: {...},           staff_overview's answer (its operator: the one signed in);
 *                                STAFF_REQUIRED while no staff session is open
 *     walkIns: [plan],           one per staff_walk_in, in order (the last one repeats); its frames
 *                                show an ID card; plan.hints: [{ delay, hint }] played on onHint
 *                                while it runs; a walk-in that resolves ends the staff session
 *     cameras: { configured, choosable, devices: [{ index, name, description, is_virtual }],
 *                problem, error, useError, delayMs }, staff_cameras's answer (its `current`: the
 *                                last staff_use_camera's choice, else `configured`); absent: a
 *                                clip, no choice; staff_use_camera fails with `useError`
 *     cameraTests: [plan],       one per staff_camera_test: frames until cancel_scan, then
 *                                `{ frames }` (plan {}), or plan { error } after its delayMs
 *     waiting: [answer],         one per staff_waiting_sessions, in order (the last one repeats):
 *                                { data: [...] } (the answer) or { error }; default { data: [] }
 *     picks: { sessionId: answer }, staff_pick_session's: { test } (it resolves with that
 *                                sessionId and ends the staff session, as does a session not
 *                                named here) or { error }
 *   }
 *   (waiting and picks answers take { delayMs } (default 60) or end when the test opens { gate })
 * plan = { sessionId, test } | { error: { code, message } }, with { delayMs } (how long the scan
 *        takes while frames flow, default 300) or { gate } (it ends when the test opens the gate)
 * step = { delay } | { event } | { gate } | { frames: true|false } | { delay, event }
 */
export function fakeApp(scenario) {
  const calls = [];
  const frames = { arraybuffer: 0, uint8array: 0, array: 0 };
  const urls = { created: 0, revoked: 0 };
  const gates = new Map();
  const scans = [];
  const staffJobs = [];
  const staffState = { open: false, operator: null };
  let nextChannelId = 1;
  let session = null;
  let run = 0;
  let scanning = null;
  let scanCount = 0;
  let walkInCount = 0;
  let cameraTestCount = 0;
  // staff_use_camera's choice (null: the configured camera).
  let cameraChoice = null;
  let waitingCount = 0;

  // The theme's sounds: each play() is noted by its moment (`sounds`: { name, at }), then refused as
  // a browser refuses audio before a tap, so the app's handling of that is tested too.
  const sounds = [];
  const soundNames = new Map(Object.entries((scenario.themeAnswer || {}).sounds || {}).map(([k, v]) => [v, k]));
  HTMLMediaElement.prototype.play = function play() {
    sounds.push({ name: soundNames.get(this.src) || this.src.slice(0, 40), at: performance.now() });
    return Promise.reject(new DOMException("the fake app refuses to play sounds", "NotAllowedError"));
  };

  // Count blob URLs, to check that the preview revokes each one it replaces.
  const createUrl = URL.createObjectURL.bind(URL);
  const revokeUrl = URL.revokeObjectURL.bind(URL);
  URL.createObjectURL = (o) => {
    urls.created++;
    return createUrl(o);
  };
  URL.revokeObjectURL = (u) => {
    urls.revoked++;
    return revokeUrl(u);
  };

  class Channel {
    constructor(onmessage) {
      this.id = nextChannelId++;
      this.onmessage = onmessage || (() => {});
    }
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function gate(name) {
    if (!gates.has(name)) {
      let open;
      const promise = new Promise((r) => (open = r));
      gates.set(name, { promise, open, opened: false, reached: false });
    }
    return gates.get(name);
  }

  function isMerge(v) {
    return v && typeof v === "object" && !Array.isArray(v);
  }
  /** A claim's answer as the app gives it (src-tauri's `Claimed`), from a scenario's plan. */
  function claimedAnswer(plan) {
    return {
      sessionId: plan.sessionId,
      test: !!plan.test,
      lang: plan.lang ?? null,
      langs: plan.langs || [],
      customization: plan.customization || {},
    };
  }

  function merge(a, b) {
    const out = { ...a };
    for (const [k, v] of Object.entries(b || {})) out[k] = isMerge(v) && isMerge(a[k]) ? merge(a[k], v) : v;
    return out;
  }

  // Preview frames: the repository's test portrait on a plain background, as JPEGs of 640 × 480,
  // in the three shapes the app's channel may deliver (ArrayBuffer, Uint8Array, number array).
  // Each set is drawn once (its promise is kept, so callers at the same time share it) and shows
  // only when complete.
  let jpegs = null;
  let jpegsMade = null;
  function makeFrames() {
    jpegsMade ??= drawFrames().then((list) => (jpegs = list));
    return jpegsMade;
  }
  async function drawFrames() {
    const blob = await (await fetch("/tests/data/grace_hopper.jpg")).blob();
    const photo = await createImageBitmap(blob);
    const list = [];
    for (const dx of [0, 3, -3]) {
      const canvas = document.createElement("canvas");
      canvas.width = 640;
      canvas.height = 480;
      const g = canvas.getContext("2d");
      const bg = g.createLinearGradient(0, 0, 640, 480);
      bg.addColorStop(0, "#6d7f8c");
      bg.addColorStop(1, "#2e3b45");
      g.fillStyle = bg;
      g.fillRect(0, 0, 640, 480);
      const h = 560;
      const w = (photo.width / photo.height) * h;
      g.drawImage(photo, (640 - w) / 2 + dx, -10, w, h);
      const jpeg = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85));
      list.push(new Uint8Array(await jpeg.arrayBuffer()));
    }
    return list;
  }

  // The scan's frames: the same portrait holding up a phone that shows a QR code (a made-up one:
  // the three finder squares and a fixed pseudo-random pattern).
  let scanJpegs = null;
  let scanJpegsMade = null;
  function makeScanFrames() {
    scanJpegsMade ??= drawScanFrames().then((list) => (scanJpegs = list));
    return scanJpegsMade;
  }
  async function drawScanFrames() {
    const portraits = await makeFrames();
    const list = [];
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff);
    const N = 25;
    const modules = Array.from({ length: N * N }, () => rnd() < 0.5);
    const finder = (x, y) => {
      for (const [fx, fy] of [[0, 0], [N - 7, 0], [0, N - 7]]) {
        const dx = x - fx;
        const dy = y - fy;
        if (dx >= -1 && dx <= 7 && dy >= -1 && dy <= 7) {
          if (dx === -1 || dy === -1 || dx === 7 || dy === 7) return 0;
          const ring = Math.min(dx, dy, 6 - dx, 6 - dy);
          return ring === 1 ? 0 : 1;
        }
      }
      return -1;
    };
    for (const [i, bytes] of portraits.entries()) {
      const photo = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
      const canvas = document.createElement("canvas");
      canvas.width = 640;
      canvas.height = 480;
      const g = canvas.getContext("2d");
      g.drawImage(photo, 0, 0);
      // The phone, held up in the middle of the frame.
      const px = 247 + i * 2;
      const py = 128;
      g.fillStyle = "#1c1f24";
      g.beginPath();
      g.roundRect(px, py, 146, 224, 18);
      g.fill();
      g.fillStyle = "#ffffff";
      g.fillRect(px + 7, py + 20, 132, 184);
      const m = 5;
      const qx = Math.round(px + 7 + (132 - N * m) / 2);
      const qy = Math.round(py + 20 + (184 - N * m) / 2);
      g.fillStyle = "#111111";
      for (let y = 0; y < N; y++) {
        for (let x = 0; x < N; x++) {
          const f = finder(x, y);
          if (f === 1 || (f === -1 && modules[y * N + x])) g.fillRect(qx + x * m, qy + y * m, m, m);
        }
      }
      const jpeg = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85));
      list.push(new Uint8Array(await jpeg.arrayBuffer()));
    }
    return list;
  }

  // The walk-in's frames: the portrait's background with an ID card held up in the middle, as the
  // app sends it (mirrored: the card's photo on its right, its text lines on the left).
  let cardJpegs = null;
  let cardJpegsMade = null;
  function makeCardFrames() {
    cardJpegsMade ??= drawCardFrames().then((list) => (cardJpegs = list));
    return cardJpegsMade;
  }
  async function drawCardFrames() {
    const blob = await (await fetch("/tests/data/grace_hopper.jpg")).blob();
    const photo = await createImageBitmap(blob);
    const list = [];
    for (const dx of [0, 2, -2]) {
      const canvas = document.createElement("canvas");
      canvas.width = 640;
      canvas.height = 480;
      const g = canvas.getContext("2d");
      const bg = g.createLinearGradient(0, 0, 640, 480);
      bg.addColorStop(0, "#6d7f8c");
      bg.addColorStop(1, "#2e3b45");
      g.fillStyle = bg;
      g.fillRect(0, 0, 640, 480);
      // An ID-1 card (85.6 × 54 mm) filling most of the guide: 360 × 227 px.
      const cx = 140 + dx;
      const cy = 126;
      g.fillStyle = "#e9eef2";
      g.beginPath();
      g.roundRect(cx, cy, 360, 227, 16);
      g.fill();
      g.fillStyle = "#2f6f9f";
      g.fillRect(cx, cy + 18, 360, 26);
      const pw = 104;
      const ph = 132;
      const crop = Math.min(photo.width, photo.height * (pw / ph));
      g.drawImage(photo, (photo.width - crop) / 2, 0, crop, crop * (ph / pw), cx + 360 - 22 - pw, cy + 60, pw, ph);
      g.fillStyle = "#9aa8b3";
      for (const [y, w] of [[72, 170], [100, 130], [128, 190], [156, 110], [184, 150]]) g.fillRect(cx + 22, cy + y, w, 10);
      const jpeg = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85));
      list.push(new Uint8Array(await jpeg.arrayBuffer()));
    }
    return list;
  }

  function startFrames(s, pictures = () => jpegs) {
    stopFrames(s);
    let i = 0;
    s.timer = setInterval(() => {
      const list = pictures();
      if (!list) return;
      const bytes = list[i % list.length];
      const kind = ["arraybuffer", "uint8array", "array"][i % 3];
      const payload =
        kind === "arraybuffer" ? bytes.slice().buffer : kind === "uint8array" ? bytes.slice() : Array.from(bytes);
      frames[kind]++;
      s.sent = (s.sent || 0) + 1;
      i++;
      s.onFrame.onmessage(payload);
    }, scenario.frameIntervalMs || 80);
  }

  function stopFrames(s) {
    if (s && s.timer) clearInterval(s.timer);
    if (s) s.timer = null;
  }

  async function play(steps) {
    const mine = ++run;
    const s = session;
    for (const step of steps || []) {
      if (mine !== run) return;
      if (step.gate) {
        const g = gate(step.gate);
        g.reached = true;
        await g.promise;
      }
      if (step.delay) await sleep(step.delay);
      if (mine !== run) return;
      if (step.frames === true) startFrames(s);
      if (step.frames === false) stopFrames(s);
      if (step.event) s.onEvent.onmessage(JSON.parse(JSON.stringify(step.event)));
    }
  }

  /**
   * A camera stream without a session (scan_session, staff_walk_in, staff_camera_test): `me`'s
   * frames (from `pictures`) flow on its onFrame until `plan` ends it (its gate opens, its delay
   * passes, never with `untilCancel`) or cancel_scan rejects it with SCAN_CANCELED.
   */
  async function cameraJob(me, plan, makePictures, pictures) {
    stopFrames(scanning);
    scanning = me;
    const canceled = new Promise((_, reject) => (me.cancel = reject));
    canceled.catch(() => {}); // a cancel before the race below is still no unhandled rejection
    try {
      await makePictures();
      startFrames(me, pictures);
      const done = plan.gate ? gate(plan.gate) : null;
      if (done) done.reached = true;
      const end = done ? done.promise : plan.untilCancel ? new Promise(() => {}) : sleep(plan.delayMs ?? 300);
      await Promise.race([end, canceled]);
    } finally {
      stopFrames(me);
      if (scanning === me) scanning = null;
    }
  }

  /** Plays a walk-in's hints on its onHint channel while it runs. */
  async function playHints(me, hints) {
    for (const h of hints || []) {
      await sleep(h.delay || 0);
      if (scanning !== me) return;
      me.onHint.onmessage({ hint: h.hint });
    }
  }

  /** How long a staff answer takes: until its gate opens, or its delay. */
  async function answerAfter(plan) {
    if (plan.gate) {
      const g = gate(plan.gate);
      g.reached = true;
      await g.promise;
    } else {
      await sleep(plan.delayMs ?? 60);
    }
  }

  function needStaff() {
    if (!staffState.open) throw { code: "STAFF_REQUIRED", message: "no staff session is open" };
  }

  async function invoke(cmd, args = {}) {
    const summary = {};
    for (const [k, v] of Object.entries(args || {})) summary[k] = v instanceof Channel ? `Channel#${v.id}` : v;
    calls.push({ cmd, args: summary });
    await sleep(10);
    switch (cmd) {
      case "kiosk_info":
        // Drawing the frames takes a while on a busy machine: not while the scan screen waits.
        if (scenario.scans) makeScanFrames().catch(() => {});
        if (scenario.staff) makeCardFrames().catch(() => {});
        return {
          ready: true,
          problem: null,
          registered: true,
          kioskId: "kiosk-0a1b2c3d4e5f",
          languages: ["en"],
          defaultLang: "en",
          outcomeSeconds: 8,
          idleSeconds: 60,
          attemptsAllowed: 3,
          ...(scenario.info || {}),
        };
      case "theme":
        if (!scenario.themeAnswer) throw { code: "UNEXPECTED_ERROR", message: "no theme in this scenario" };
        return JSON.parse(JSON.stringify(scenario.themeAnswer));
      case "texts": {
        const res = await fetch(`/texts/${encodeURIComponent(args.lang)}.json`);
        if (!res.ok) throw { code: "UNEXPECTED_ERROR", message: `no texts for ${args.lang}` };
        return merge(await res.json(), scenario.textsPatch || {});
      }
      case "claim_session": {
        await sleep(scenario.claimDelayMs ?? 150);
        const answer = (scenario.claims || {})[args.digits];
        if (!answer) throw { code: "INVALID_DIGIT_STRING", message: "no session has this code" };
        if (answer.error) throw answer.error;
        return claimedAnswer(answer);
      }
      case "start_session": {
        if (!(args.onEvent instanceof Channel) || !(args.onFrame instanceof Channel)) {
          throw { code: "UNEXPECTED_ERROR", message: "start_session needs onEvent and onFrame channels" };
        }
        if (scenario.startError) throw scenario.startError;
        stopFrames(session);
        session = { id: args.sessionId, onEvent: args.onEvent, onFrame: args.onFrame, timer: null };
        await makeFrames();
        play((scenario.sessions || {})[args.sessionId] || []);
        return null;
      }
      case "scan_session": {
        if (!(args.onFrame instanceof Channel)) {
          throw { code: "UNEXPECTED_ERROR", message: "scan_session needs an onFrame channel" };
        }
        const plans = scenario.scans || [{ error: { code: "SCAN_TIMEOUT", message: "no QR code was read" } }];
        const plan = plans[Math.min(scanCount++, plans.length - 1)];
        const me = { onFrame: args.onFrame, timer: null, cancel: null };
        try {
          await cameraJob(me, plan, makeScanFrames, () => scanJpegs);
        } catch (error) {
          scans.push({ rejected: error.code });
          throw error;
        }
        if (plan.error) {
          scans.push({ rejected: plan.error.code });
          throw plan.error;
        }
        scans.push({ resolved: plan.sessionId });
        return claimedAnswer(plan);
      }
      case "cancel_scan": {
        const s = scanning;
        if (s) {
          stopFrames(s);
          setTimeout(() => s.cancel({ code: "SCAN_CANCELED", message: "the scan was canceled" }),
            scenario.scanCancelDelayMs ?? 50);
        }
        return null;
      }
      case "retry_session":
        if (!session) throw { code: "UNEXPECTED_ERROR", message: "no session" };
        play((scenario.afterRetry || {})[session.id] || [{ event: { kind: "status", status: "requiresInput" } }]);
        return null;
      case "cancel_session":
        if (!session) throw { code: "UNEXPECTED_ERROR", message: "no session" };
        play(
          scenario.afterCancel || [
            { frames: false },
            { delay: 100, event: { kind: "status", status: "canceled" } },
            { event: { kind: "outcome", outcome: "canceled", code: "USER_CANCEL", queued: false } },
          ],
        );
        return null;
      case "staff_unlock": {
        await sleep(60);
        const answer = ((scenario.staff || {}).pins || {})[args.pin];
        if (!answer) throw { code: "STAFF_PIN_WRONG", message: "wrong PIN", attemptsLeft: 2 };
        if (answer.error) throw answer.error;
        staffState.open = true;
        staffState.operator = answer.operator;
        return { operator: answer.operator };
      }
      case "staff_lock":
        staffState.open = false;
        return null;
      case "staff_overview":
        needStaff();
        return { ...((scenario.staff || {}).overview || {}), operator: staffState.operator };
      case "staff_walk_in": {
        if (!(args.onFrame instanceof Channel) || !(args.onHint instanceof Channel)) {
          throw { code: "UNEXPECTED_ERROR", message: "staff_walk_in needs onFrame and onHint channels" };
        }
        needStaff();
        const plans = (scenario.staff || {}).walkIns || [{ error: { code: "PHOTO_TIMEOUT", message: "no ID photo" } }];
        const plan = plans[Math.min(walkInCount++, plans.length - 1)];
        const me = { onFrame: args.onFrame, onHint: args.onHint, timer: null, cancel: null };
        try {
          const job = cameraJob(me, plan, makeCardFrames, () => cardJpegs);
          makeCardFrames().then(() => playHints(me, plan.hints));
          await job;
        } catch (error) {
          staffJobs.push({ cmd, rejected: error.code });
          throw error;
        }
        if (plan.error) {
          staffJobs.push({ cmd, rejected: plan.error.code });
          throw plan.error;
        }
        // The app made the walk-in's session and ended the staff session.
        staffState.open = false;
        staffJobs.push({ cmd, resolved: plan.sessionId });
        return { sessionId: plan.sessionId, test: !!plan.test };
      }
      case "staff_camera_test": {
        if (!(args.onFrame instanceof Channel)) {
          throw { code: "UNEXPECTED_ERROR", message: "staff_camera_test needs an onFrame channel" };
        }
        needStaff();
        const plans = (scenario.staff || {}).cameraTests || [{}];
        const plan = plans[Math.min(cameraTestCount++, plans.length - 1)];
        const me = { onFrame: args.onFrame, timer: null, cancel: null, sent: 0 };
        try {
          await cameraJob(me, plan.error ? plan : { ...plan, untilCancel: true }, makeFrames, () => jpegs);
        } catch (error) {
          // Canceled: the test is over, and says how many frames it showed.
          if (error.code !== "SCAN_CANCELED") throw error;
          staffJobs.push({ cmd, resolved: me.sent });
          return { frames: me.sent };
        }
        staffJobs.push({ cmd, rejected: plan.error.code });
        throw plan.error;
      }
      case "staff_cameras": {
        needStaff();
        const c = (scenario.staff || {}).cameras;
        // By default the kiosk's camera is a clip, as in the end-to-end tests: no choice.
        if (!c) return { configured: "clip.mjpeg", current: "clip.mjpeg", choosable: false, devices: [], problem: null };
        await answerAfter(c);
        if (c.error) throw c.error;
        const configured = c.configured ?? "camera";
        return {
          configured,
          current: cameraChoice ?? configured,
          choosable: c.choosable ?? true,
          devices: JSON.parse(JSON.stringify(c.devices || [])),
          problem: c.problem ?? null,
        };
      }
      case "staff_use_camera": {
        needStaff();
        const c = (scenario.staff || {}).cameras || {};
        if (c.choosable === false || !c.devices) {
          throw { code: "FORBIDDEN", message: "kiosk.camera is a clip or folder here" };
        }
        if (c.useError) throw c.useError;
        if (args.camera != null && !/^camera(:.+)?$/.test(args.camera)) {
          throw { code: "INVALID_CONFIG", message: `${args.camera} is not a camera` };
        }
        cameraChoice = args.camera ?? null;
        return { current: cameraChoice ?? c.configured ?? "camera" };
      }
      case "staff_waiting_sessions": {
        needStaff();
        const plans = (scenario.staff || {}).waiting || [{ data: [] }];
        const plan = plans[Math.min(waitingCount++, plans.length - 1)];
        await answerAfter(plan);
        if (plan.error) throw plan.error;
        return { data: JSON.parse(JSON.stringify(plan.data || [])) };
      }
      case "staff_pick_session": {
        if (typeof args.sessionId !== "string" || !args.sessionId) {
          throw { code: "UNEXPECTED_ERROR", message: "staff_pick_session needs a sessionId" };
        }
        needStaff();
        const plan = ((scenario.staff || {}).picks || {})[args.sessionId] || {};
        await answerAfter(plan);
        if (plan.error) throw plan.error;
        // The app took the session in the staff member's name and ended the staff session.
        staffState.open = false;
        return claimedAnswer({ ...plan, sessionId: args.sessionId });
      }
      case "staff_exit":
        needStaff();
        return null;
      default:
        throw { code: "UNEXPECTED_ERROR", message: `unknown command ${cmd}` };
    }
  }

  window.__TAURI__ = { core: { invoke, Channel } };
  window.__fake = {
    calls,
    frames,
    urls,
    scans,
    staffJobs,
    sounds,
    staff: () => ({ ...staffState }),
    endStaff: () => {
      staffState.open = false;
    },
    open: (name) => {
      const g = gate(name);
      g.opened = true;
      g.open();
    },
    reached: (name) => gate(name).reached,
    emit: (event) => session && session.onEvent.onmessage(event),
    stopFrames: () => stopFrames(session),
  };
}

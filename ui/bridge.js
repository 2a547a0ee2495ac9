// The only place the UI talks to the app: Tauri 2's global API (`withGlobalTauri: true`).
// Tests replace `window.__TAURI__` before the page loads; nothing else here knows about Tauri.

function core() {
  const tauri = window.__TAURI__;
  return tauri && tauri.core ? tauri.core : null;
}

/** True when the page runs inside the app (or a harness that stands in for it). */
export function available() {
  return core() !== null;
}

/** Calls an app command; rejects with `{ code, message }`. */
export function invoke(cmd, args) {
  const c = core();
  if (!c) return Promise.reject({ code: "NO_APP", message: "This page runs only inside the FaceKiosk app." });
  return c.invoke(cmd, args).catch((e) => {
    throw normalizeError(e);
  });
}

/** A channel the app streams messages into; `onMessage` gets each one. */
export function channel(onMessage) {
  const c = core();
  const ch = new c.Channel();
  ch.onmessage = onMessage;
  return ch;
}

/** The app rejects with `{ code, message }`; anything else (a bare string) becomes one. */
function normalizeError(e) {
  if (e && typeof e === "object" && typeof e.code === "string") return e;
  if (typeof e === "string") return { code: "UNEXPECTED_ERROR", message: e };
  return { code: "UNEXPECTED_ERROR", message: e && e.message ? String(e.message) : String(e) };
}

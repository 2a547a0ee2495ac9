// Kiosk mode, the page's side (the app's side: src-tauri/src/lockdown.rs refuses any navigation
// away and fills the screen): the browser's own shortcuts do nothing here — reload, print, find,
// save, view source, zoom, history, devtools — and nothing can be dropped on the page (a dropped
// file would be opened in its place). The app's own keys (digits, Enter, Escape, Backspace on
// the keypads, Ctrl+Alt+S for staff) are untouched.

/** Keys that do a browser's job, with Ctrl (or ⌘). */
const CTRL_KEYS = new Set(["r", "p", "f", "g", "s", "u", "o", "n", "t", "w", "+", "-", "=", "0", "j", "h", "l", "d"]);

/** Keys that do a browser's job alone. */
const BARE_KEYS = new Set(["F1", "F3", "F5", "F6", "F7", "F11", "F12", "BrowserBack", "BrowserForward", "BrowserRefresh"]);

/** True for a key press that asks the browser, not the kiosk, for something. */
export function isBrowserShortcut(e) {
  const key = String(e.key || "").toLowerCase();
  if (BARE_KEYS.has(e.key)) return true;
  const ctrl = e.ctrlKey || e.metaKey;
  // Ctrl+Alt+S opens the staff sign-in (main.js): the kiosk's own.
  if (ctrl && e.altKey && key === "s") return false;
  if (ctrl && e.shiftKey && ["i", "j", "c", "k", "r", "delete"].includes(key)) return true;
  if (ctrl && CTRL_KEYS.has(key)) return true;
  // Alt+Left / Alt+Right: history.
  if (e.altKey && (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home")) return true;
  return false;
}

/** Installs the page's lockdown (before any other key handler sees the keys). */
export function installLockdown(doc = document, win = window) {
  doc.addEventListener("keydown", (e) => {
    if (isBrowserShortcut(e)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, { capture: true });
  for (const type of ["contextmenu", "dragstart", "dragover", "drop", "selectstart"]) {
    doc.addEventListener(type, (e) => e.preventDefault(), { capture: true });
  }
  // Pinch and Ctrl+wheel zoom.
  win.addEventListener("wheel", (e) => {
    if (e.ctrlKey) e.preventDefault();
  }, { passive: false, capture: true });
  for (const type of ["gesturestart", "gesturechange"]) {
    doc.addEventListener(type, (e) => e.preventDefault(), { capture: true });
  }
}

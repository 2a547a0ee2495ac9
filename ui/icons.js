// Line icons drawn in the current text colour (48 × 48 grid), one per family of hints and one per
// outcome. Decorative: the text next to each says the same, so they are hidden from screen readers.

const open = '<svg viewBox="0 0 48 48" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" ' +
  'stroke-width="3" stroke-linecap="round" stroke-linejoin="round">';

const PATHS = {
  face: '<ellipse cx="24" cy="24" rx="12" ry="15"/><circle cx="19.5" cy="21" r="1.6" fill="currentColor"/>' +
    '<circle cx="28.5" cy="21" r="1.6" fill="currentColor"/><path d="M19.5 30q4.5 3 9 0"/>' +
    '<path d="M6 14V6h8M34 6h8v8M42 34v8h-8M14 42H6v-8"/>',
  people: '<circle cx="17" cy="16" r="6"/><path d="M6 40v-4a11 11 0 0 1 22 0v4"/><circle cx="33" cy="18" r="5"/>' +
    '<path d="M31 28a10 10 0 0 1 12 9.5V40"/>',
  closer: '<ellipse cx="24" cy="24" rx="9" ry="11"/><path d="M4 24h8M9 20l4 4-4 4M44 24h-8M39 20l-4 4 4 4"/>',
  back: '<ellipse cx="24" cy="24" rx="9" ry="11"/><path d="M13 24H4M8 20l-4 4 4 4M35 24h9M40 20l4 4-4 4"/>',
  eye: '<path d="M4 24s7-12 20-12 20 12 20 12-7 12-20 12S4 24 4 24z"/><circle cx="24" cy="24" r="5"/>',
  light: '<circle cx="24" cy="24" r="8"/><path d="M24 4v5M24 39v5M4 24h5M39 24h5M9.9 9.9l3.5 3.5M34.6 34.6l3.5 3.5' +
    'M9.9 38.1l3.5-3.5M34.6 13.4l3.5-3.5"/>',
  still: '<path d="M16 26V12a3 3 0 0 1 6 0v10M22 22V9a3 3 0 0 1 6 0v13M28 22V12a3 3 0 0 1 6 0v14"/>' +
    '<path d="M34 20a3 3 0 0 1 6 0v8c0 9-6 16-15 16-6 0-9-3-12-8l-5-8a3 3 0 0 1 5-3l4 5"/>',
  hourglass: '<path d="M14 6h20M14 42h20M16 6c0 10 16 12 16 18S16 32 16 42M32 6c0 10-16 12-16 18s16 8 16 18"/>',
  retry: '<path d="M40 24a16 16 0 1 1-5-11.6"/><path d="M36 4v9h-9"/>',
  camera: '<rect x="4" y="13" width="30" height="22" rx="4"/><path d="M34 21l10-6v18l-10-6"/>',
  cameraOff: '<rect x="4" y="13" width="30" height="22" rx="4"/><path d="M34 21l10-6v18l-10-6M6 6l36 36"/>',
  check: '<circle cx="24" cy="24" r="19"/><path d="M15 24.5l6 6 12-13"/>',
  cross: '<circle cx="24" cy="24" r="19"/><path d="M17 17l14 14M31 17L17 31"/>',
  stop: '<circle cx="24" cy="24" r="19"/><rect x="17" y="17" width="14" height="14" rx="2"/>',
  clock: '<circle cx="24" cy="24" r="19"/><path d="M24 13v11l7 5"/>',
  staff: '<circle cx="24" cy="14" r="7"/><path d="M10 42v-5a14 14 0 0 1 28 0v5"/><path d="M20 27l4 6 4-6"/>',
  cloudOff: '<path d="M14 36h22a8 8 0 0 0 1.5-15.9A12 12 0 0 0 15 17a9.5 9.5 0 0 0-1 19z"/><path d="M6 6l36 36"/>',
  alert: '<path d="M24 5L3 41h42z"/><path d="M24 18v11"/><circle cx="24" cy="34.5" r="1.6" fill="currentColor"/>',
  tools: '<path d="M29 7a9 9 0 0 0-9 12L7 32a4 4 0 0 0 6 6l13-13a9 9 0 0 0 12-9l-6 6-6-2-2-6 6-6z"/>',
  backspace: '<path d="M17 10h23a3 3 0 0 1 3 3v22a3 3 0 0 1-3 3H17L4 24z"/><path d="M23 18l12 12M35 18L23 30"/>',
  shield: '<path d="M24 4l16 6v12c0 10-7 18-16 22C15 40 8 32 8 22V10z"/><path d="M17 24l5 5 9-10"/>',
  photo: '<rect x="5" y="9" width="38" height="30" rx="4"/><circle cx="24" cy="24" r="7"/><path d="M16 9l3-4h10l3 4"/>',
  idCard: '<rect x="4" y="10" width="40" height="28" rx="4"/><circle cx="16" cy="22" r="4"/><path d="M9 32a7 7 0 0 1 14 0M28 19h10M28 25h10M28 31h6"/>',
  lock: '<rect x="10" y="21" width="28" height="21" rx="3"/><path d="M16 21v-6a8 8 0 0 1 16 0v6"/><circle cx="24" cy="31" r="2"/>',
  archive: '<rect x="5" y="8" width="38" height="9" rx="2"/><path d="M8 17v21a2 2 0 0 0 2 2h28a2 2 0 0 0 2-2V17M19 25h10"/>',
  arrowEnd: '<path d="M8 24h32M30 14l10 10-10 10"/>',
  qr: '<path d="M6 14V6h8M34 6h8v8M42 34v8h-8M14 42H6v-8"/><rect x="13" y="13" width="8" height="8" rx="1"/>' +
    '<rect x="27" y="13" width="8" height="8" rx="1"/><rect x="13" y="27" width="8" height="8" rx="1"/>' +
    '<path d="M27 27h3v3M35 27v1M27 35h1M31 31h4v4h-3"/>',
  globe: '<circle cx="24" cy="24" r="19"/><path d="M5 24h38M24 5c6 6 8 12 8 19s-2 13-8 19c-6-6-8-12-8-19s2-13 8-19z"/>',
};

/** Which icon shows with which hint. */
const HINT_ICON = {
  LOOK_AT_CAMERA: "face",
  CENTER_YOUR_FACE: "face",
  LOOK_STRAIGHT: "face",
  FOLLOW_CHALLENGE: "face",
  ONE_PERSON_ONLY: "people",
  MOVE_CLOSER: "closer",
  MOVE_BACK: "back",
  OPEN_YOUR_EYES: "eye",
  MORE_LIGHT: "light",
  LESS_LIGHT: "light",
  AVOID_BACKLIGHT: "light",
  HOLD_STEADY: "still",
  HOLD_STILL: "still",
  PROCESSING: "hourglass",
  TRY_AGAIN: "retry",
  LIVENESS_TRY_AGAIN: "retry",
  CAMERA_UNAVAILABLE: "cameraOff",
};

/** The SVG markup of icon `name` (a constant string, never built from outside data). */
export function icon(name) {
  return open + (PATHS[name] || PATHS.face) + "</svg>";
}

/** The icon for a hint code. */
export function hintIcon(hint) {
  return icon(HINT_ICON[hint] || "face");
}

/** Fills every `[data-icon]` element under `root` with its icon. */
export function applyIcons(root) {
  for (const el of root.querySelectorAll("[data-icon]")) {
    if (el.dataset.iconDrawn !== el.dataset.icon) {
      el.innerHTML = icon(el.dataset.icon);
      el.dataset.iconDrawn = el.dataset.icon;
    }
  }
}

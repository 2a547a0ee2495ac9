// The kiosk's look, from the app's `theme` command (tests/ui/README.md): colours, corner radii, a
// text size factor, the logo, the welcome screen's picture and the sounds. style.css's :root holds
// the default look; a theme overrides only what it gives and what is valid (a bad value is left
// out, the default stays), and the app without a theme (`theme` fails) looks as style.css says.
//
// `themeStyle` is pure (theme → custom properties and files), `applyTheme` puts it on the page,
// `makeSounds` plays the theme's sounds (one reusable Audio each, errors ignored).

/** The theme's colours, each a custom property of style.css (`brandStrong` → `--brand-strong`). */
export const COLORS = [
  "brand", "brandStrong", "brandSoft", "brandContrast", "accent", "bg", "surface", "text", "muted", "line",
  "success", "successSoft", "warning", "warningSoft", "danger", "dangerSoft", "neutral", "neutralSoft",
  "faceIn", "faceOut", "previewBg",
];

/** A colour's custom property: camelCase → kebab-case, `--` first. */
export function colorVar(name) {
  return "--" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** The moments a theme may give a sound. */
export const SOUNDS = ["hint", "challenge", "success", "failure"];

/** The shortest time between two hint sounds (ms): hints may come several a second. */
export const HINT_SOUND_GAP_MS = 1500;

/** The numbers a theme sets: its key, the custom property, the range the app allows, the unit. */
const NUMBERS = [
  { key: "radius", prop: "--radius", min: 0, max: 64, unit: "px" },
  { key: "radiusLarge", prop: "--radius-lg", min: 0, max: 96, unit: "px" },
  { key: "fontScale", prop: "--font-scale", min: 0.75, max: 2, unit: "" },
];

/** A CSS colour that cannot break out of its declaration (the app checks the same). */
function colorOk(v) {
  if (typeof v !== "string" || !/^[A-Za-z0-9 #(),.%-]{1,64}$/.test(v)) return false;
  // In a browser, also one it can draw ("#12" or "bluish" would make the property invalid).
  const css = globalThis.CSS;
  return !(css && typeof css.supports === "function") || css.supports("color", v);
}

/** A base64 `data:` URL of one of `types` (image/png, audio/wav …): nothing else is used. */
function dataUrl(v, types) {
  if (typeof v !== "string") return null;
  const m = /^data:([a-z]+\/[a-z0-9.+-]+);base64,[A-Za-z0-9+/]+={0,2}$/.exec(v);
  return m && types.includes(m[1]) ? v : null;
}

const IMAGE_TYPES = ["image/svg+xml", "image/png", "image/jpeg", "image/webp"];
const FONT_TYPES = ["font/woff2", "font/woff", "font/ttf", "font/otf"];

/** The bundled fonts (style.css's @font-face), after a theme's own typeface. */
export const BUNDLED_FONTS = '"Noto Sans Arabic", "DejaVu Sans", sans-serif';
const AUDIO_TYPES = ["audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "audio/ogg"];

/**
 * What a theme (the `theme` command's answer) sets: `vars` (custom property → value, only valid
 * ones), `logo` and `attract` (data: URLs or null), `sounds` (moment → data: URL), `name`, and
 * `ignored` (what was left out, for the log).
 */
export function themeStyle(theme) {
  const out = { name: null, vars: {}, logo: null, attract: null, sounds: {}, font: null, ignored: [] };
  if (!theme || typeof theme !== "object") return out;
  if (typeof theme.name === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(theme.name)) out.name = theme.name;
  const colors = theme.colors && typeof theme.colors === "object" ? theme.colors : {};
  for (const [key, value] of Object.entries(colors)) {
    if (COLORS.includes(key) && colorOk(value)) out.vars[colorVar(key)] = value.trim();
    else out.ignored.push(`colors.${key}`);
  }
  // Cards and keys stand out from the background by colour; on a theme whose surface is its
  // background (high contrast: white on white) they get an edge in its line colour instead.
  const surface = out.vars["--surface"];
  if (surface && surface.toLowerCase() === (out.vars["--bg"] || "").toLowerCase()) out.vars["--edge"] = "var(--line)";
  for (const { key, prop, min, max, unit } of NUMBERS) {
    if (theme[key] == null) continue;
    const v = theme[key];
    if (typeof v === "number" && Number.isFinite(v) && v >= min && v <= max) out.vars[prop] = `${v}${unit}`;
    else out.ignored.push(key);
  }
  if (theme.logo != null) {
    out.logo = dataUrl(theme.logo, IMAGE_TYPES);
    if (!out.logo) out.ignored.push("logo");
  }
  const images = theme.images && typeof theme.images === "object" ? theme.images : {};
  if (images.attract != null) {
    out.attract = dataUrl(images.attract, IMAGE_TYPES);
    if (!out.attract) out.ignored.push("images.attract");
  }
  // A typeface of the theme's own: a family name that cannot break out of the style, its files.
  if (theme.font != null) {
    const f = theme.font && typeof theme.font === "object" ? theme.font : {};
    const family = typeof f.family === "string" && /^[A-Za-z0-9_-][A-Za-z0-9 _-]{0,63}$/.test(f.family) ? f.family.trim() : null;
    const regular = dataUrl(f.regular, FONT_TYPES);
    const bold = dataUrl(f.bold, FONT_TYPES);
    if (family && (regular || bold)) {
      out.font = { family, regular, bold };
      out.vars["--font"] = `"${family}", ${BUNDLED_FONTS}`;
    } else {
      out.ignored.push("font");
    }
  }
  const sounds = theme.sounds && typeof theme.sounds === "object" ? theme.sounds : {};
  for (const [key, value] of Object.entries(sounds)) {
    const url = SOUNDS.includes(key) ? dataUrl(value, AUDIO_TYPES) : null;
    if (url) out.sounds[key] = url;
    else out.ignored.push(`sounds.${key}`);
  }
  return out;
}

/**
 * Puts `theme` on the page: its custom properties on :root (over style.css's), its logo in every
 * `img[data-logo]`, its picture behind the welcome screen. Returns `themeStyle(theme)`.
 */
export function applyTheme(theme, doc = document) {
  const style = themeStyle(theme);
  const root = doc.documentElement;
  for (const [prop, value] of Object.entries(style.vars)) root.style.setProperty(prop, value);
  if (style.name) root.dataset.theme = style.name;
  // The theme's typeface: its faces join the page's fonts; the browser loads them when text asks.
  if (style.font && doc.fonts && typeof FontFace === "function") {
    for (const [weight, url] of [["400", style.font.regular], ["700", style.font.bold]]) {
      if (!url) continue;
      try {
        doc.fonts.add(new FontFace(style.font.family, `url("${url}")`, { weight, style: "normal" }));
      } catch {
        // A face the browser cannot take: the bundled fonts draw the text.
      }
    }
  }
  // Text larger than the design's: style.css lays some screens out differently (more room).
  const scale = Number(style.vars["--font-scale"] || 1);
  if (scale !== 1) root.dataset.textSize = scale > 1 ? "large" : "small";
  if (style.logo) for (const img of doc.querySelectorAll("img[data-logo]")) img.src = style.logo;
  if (style.attract) {
    // A data: URL of base64 characters only (themeStyle): it cannot end the url("…").
    root.style.setProperty("--attract-image", `url("${style.attract}")`);
    const attract = doc.getElementById("screen-attract");
    if (attract) attract.classList.add("with-image");
  }
  return style;
}

/**
 * The theme's sounds (`themeStyle(...).sounds`), each one reusable Audio: `play(moment)` starts it
 * again from the start (never two of the same at once), a hint at most once per
 * HINT_SOUND_GAP_MS; it never waits and never throws (a browser may refuse to play before a tap).
 * Returns true when it asked the sound to play. `now` and `audio` are for tests.
 */
export function makeSounds(urls, { now = () => performance.now(), audio = (src) => new Audio(src) } = {}) {
  const players = {};
  for (const name of SOUNDS) {
    if (!urls || typeof urls[name] !== "string") continue;
    try {
      const a = audio(urls[name]);
      a.preload = "auto";
      players[name] = a;
    } catch {
      // No audio here: silence.
    }
  }
  let lastHint = -Infinity;
  return {
    has: (name) => name in players,
    play(name) {
      const a = players[name];
      if (!a) return false;
      if (name === "hint") {
        const t = now();
        if (t - lastHint < HINT_SOUND_GAP_MS) return false;
        lastHint = t;
      }
      try {
        a.currentTime = 0;
        const p = a.play();
        if (p && typeof p.catch === "function") p.catch(() => {});
      } catch {
        // Refused or broken: the screen says the same.
      }
      return true;
    },
  };
}

/**
 * Puts a session's colours (`customization.colors`: theme colour names, valid CSS colours only)
 * on the page over the theme's, for one visit. Returns a function that puts back what was there.
 */
export function applySessionColors(colors, doc = document) {
  const root = doc.documentElement;
  const { vars } = themeStyle({ colors: colors && typeof colors === "object" ? colors : {} });
  const before = {};
  for (const [prop, value] of Object.entries(vars)) {
    before[prop] = root.style.getPropertyValue(prop);
    root.style.setProperty(prop, value);
  }
  return () => {
    for (const [prop, value] of Object.entries(before)) {
      if (value) root.style.setProperty(prop, value);
      else root.style.removeProperty(prop);
    }
  };
}

// Every string the customer sees comes from here, by key ("screen.attract.title", "hint.MOVE_CLOSER").
// A key missing in the current language falls back to English, then to the key itself: never a blank.
// A session may bring its own texts (`setOverlay`), which come first for its visit.
// Numbers are written in the texts' digits (`screen.digits`: "latn" 0-9, or "arab" ٠-٩).

let current = {};
let english = {};
let currentLang = "en";
// A session's own texts by language (its `customization.texts`): over the kiosk's, for one visit.
let overlay = {};

/** Installs the texts of `lang` (the whole JSON of texts/<lang>.json). */
export function setTexts(lang, json) {
  currentLang = lang;
  current = json && typeof json === "object" ? json : {};
  if (lang === "en") english = current;
}

/** Installs the English texts, used for any key the current language lacks. */
export function setEnglish(json) {
  english = json && typeof json === "object" ? json : {};
}

/**
 * Installs a session's texts by language (`{"fr": {"screen": {…}}}`), over the kiosk's for that
 * visit; null removes them. Only strings count: a key the session does not give is the kiosk's.
 */
export function setOverlay(byLang) {
  overlay = byLang && typeof byLang === "object" && !Array.isArray(byLang) ? byLang : {};
}

export function lang() {
  return currentLang;
}

/** The text at `key`: nested objects ({"screen": {"attract": {...}}}) or a flat "a.b.c" key. */
function lookup(texts, key) {
  if (!texts) return undefined;
  const flat = texts[key];
  if (typeof flat === "string" && flat !== "") return flat;
  let node = texts;
  for (const part of key.split(".")) {
    if (node == null || typeof node !== "object") return undefined;
    node = node[part];
  }
  return typeof node === "string" && node !== "" ? node : undefined;
}

/**
 * The text at `key`: the session's in the current language, the kiosk's in the current language,
 * the session's in English, the kiosk's in English; undefined when none has it.
 */
function find(key) {
  return lookup(overlay[currentLang], key) ?? lookup(current, key) ?? lookup(overlay.en, key) ?? lookup(english, key);
}

/** True when the current language or English has a text for `key`. */
export function has(key) {
  return find(key) !== undefined;
}

/**
 * The digits numbers are written with: `screen.digits` of the texts, "latn" (0-9) by default,
 * "arab" for Arabic-Indic (٠-٩); any other numbering system Intl knows works too.
 */
export function numberingSystem() {
  const wanted = find("screen.digits") ?? "latn";
  return numberFormat(wanted).resolvedOptions().numberingSystem;
}

const formats = new Map();

/** A number format of the current language in `system` (cached); Latin digits if Intl lacks it. */
function numberFormat(system) {
  const id = `${currentLang} ${system}`;
  if (!formats.has(id)) {
    const make = (lang, numberingSystem) => {
      try {
        return new Intl.NumberFormat(lang, { numberingSystem });
      } catch {
        return null; // an unknown language tag or a malformed numbering system
      }
    };
    let format = make(currentLang, system);
    if (!format || format.resolvedOptions().numberingSystem !== system) {
      format = make(currentLang, "latn") || make("en", "latn");
    }
    formats.set(id, format);
  }
  return formats.get(id);
}

/** A number as the current language writes it, in its digits (`screen.digits`). */
export function formatNumber(n) {
  return numberFormat(numberingSystem()).format(n);
}

/** A string's ASCII digits (a keypad's captions, a code) in the texts' digits; the rest as it is. */
export function formatDigits(text) {
  const system = numberingSystem();
  if (system === "latn") return String(text);
  const format = numberFormat(system);
  return String(text).replace(/[0-9]/g, (d) => format.format(Number(d)));
}

/** An Intl.DateTimeFormat with `options` in `lang` (the current language), in the texts' digits. */
export function dateTimeFormat(options, lang = currentLang) {
  const numbered = { ...options, numberingSystem: numberingSystem() };
  try {
    return new Intl.DateTimeFormat(lang, numbered);
  } catch {
    return new Intl.DateTimeFormat("en", options);
  }
}

/**
 * The text for `key` with `{name}` placeholders filled from `vars`. Numbers among `vars`, and the
 * digits the text itself holds ("your 6-digit code"), are written in the texts' digits; strings
 * (codes, ids) are put in as they are.
 */
export function t(key, vars) {
  let text = find(key) ?? key;
  // Digits in the text, but not in a placeholder's name.
  if (/[0-9]/.test(text)) text = text.replace(/\{\w+\}|[0-9]+/g, (m) => (m.startsWith("{") ? m : formatDigits(m)));
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => {
    if (!(name in vars)) return m;
    const v = vars[name];
    return typeof v === "number" && Number.isFinite(v) ? formatNumber(v) : String(v);
  });
}

/** The first of `keys` that has a text (e.g. a code's own text, else a generic one). */
export function firstOf(keys, vars) {
  for (const key of keys) if (has(key)) return t(key, vars);
  return t(keys[keys.length - 1], vars);
}

/**
 * A counted text: `key.one`, `key.two`, `key.few`, `key.many`, `key.other` per the language's
 * plural rules (Arabic has all six forms), with `{n}` filled in.
 */
export function plural(key, n, vars = {}) {
  let rule = "other";
  try {
    rule = new Intl.PluralRules(currentLang).select(n);
  } catch {
    // An unknown language tag: "other" serves.
  }
  const all = { n, ...vars };
  if (n === 0 && has(`${key}.zero`)) return t(`${key}.zero`, all);
  if (has(`${key}.${rule}`)) return t(`${key}.${rule}`, all);
  return t(`${key}.other`, all);
}

/** Fills every element under `root` that names its text in `data-t` (and `data-t-aria` for labels). */
export function applyTexts(root) {
  for (const el of root.querySelectorAll("[data-t]")) {
    const text = t(el.dataset.t);
    if (el.textContent !== text) el.textContent = text;
  }
  for (const el of root.querySelectorAll("[data-t-aria]")) {
    el.setAttribute("aria-label", t(el.dataset.tAria));
  }
}

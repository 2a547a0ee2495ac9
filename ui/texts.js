// Every string the customer sees comes from here, by key ("screen.attract.title", "hint.MOVE_CLOSER").
// A key missing in the current language falls back to English, then to the key itself: never a blank.

let current = {};
let english = {};
let currentLang = "en";

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

/** True when the current language or English has a text for `key`. */
export function has(key) {
  return lookup(current, key) !== undefined || lookup(english, key) !== undefined;
}

/** The text for `key` with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  const text = lookup(current, key) ?? lookup(english, key) ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
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

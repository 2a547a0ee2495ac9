// The live camera preview: each frame is a JPEG (already mirrored by the app) shown through a blob
// URL. Only the newest frame waits while one decodes, and every URL is revoked once replaced, so a
// long session neither queues frames nor leaks memory.

let img = null;
let shownUrl = null;
let loadingUrl = null;
let pending = null;

function element() {
  if (!img) {
    img = document.getElementById("preview-img");
    img.addEventListener("load", onSettled);
    img.addEventListener("error", onSettled);
  }
  return img;
}

function onSettled(event) {
  if (!loadingUrl || img.src !== loadingUrl) return;
  if (event.type === "load") {
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = loadingUrl;
    img.hidden = false;
  } else {
    // A frame that does not decode is skipped; the next one replaces it.
    URL.revokeObjectURL(loadingUrl);
  }
  loadingUrl = null;
  if (pending) {
    const blob = pending;
    pending = null;
    load(blob);
  }
}

function load(blob) {
  loadingUrl = URL.createObjectURL(blob);
  element().src = loadingUrl;
}

/** Shows one frame (bytes of a JPEG). */
export function showFrame(bytes) {
  const blob = new Blob([bytes], { type: "image/jpeg" });
  element();
  if (loadingUrl) pending = blob;
  else load(blob);
}

/** Forgets the picture of the last customer. */
export function clearPreview() {
  const el = element();
  pending = null;
  el.hidden = true;
  el.removeAttribute("src");
  for (const url of [shownUrl, loadingUrl]) if (url) URL.revokeObjectURL(url);
  shownUrl = null;
  loadingUrl = null;
}

/** The size of the frame on screen (0 × 0 before the first). */
export function frameSize() {
  const el = element();
  return [el.naturalWidth, el.naturalHeight];
}

// The live camera preview: each frame is a JPEG (already mirrored by the app) shown through a blob
// URL. Only the newest frame waits while one decodes, and every URL is revoked once replaced, so a
// long session neither queues frames nor leaks memory. The capture screen, the QR scan screen and
// the staff's walk-in and camera test screens each have one (an <img> by id); all work the same way.

/** The capture screen's preview (the default), the scan screen's, and the staff screens'. */
export const CAPTURE = "preview-img";
export const SCAN = "scan-preview-img";
export const WALK_IN = "walkin-preview-img";
export const CAMERA_TEST = "camtest-preview-img";

class Preview {
  constructor(id) {
    this.id = id;
    this.img = null;
    this.shownUrl = null;
    this.loadingUrl = null;
    this.pending = null;
    // Cleared while a frame was loading: that frame is dropped once it settles (cutting its load
    // short would only make the browser report a failed request).
    this.discard = false;
  }

  element() {
    if (!this.img) {
      this.img = document.getElementById(this.id);
      const settled = (event) => this.onSettled(event);
      this.img.addEventListener("load", settled);
      this.img.addEventListener("error", settled);
    }
    return this.img;
  }

  onSettled(event) {
    if (!this.loadingUrl || this.img.src !== this.loadingUrl) return;
    if (this.discard) {
      this.discard = false;
      URL.revokeObjectURL(this.loadingUrl);
      this.loadingUrl = null;
      if (this.pending) {
        const blob = this.pending;
        this.pending = null;
        this.load(blob);
      } else {
        this.img.removeAttribute("src");
      }
      return;
    }
    if (event.type === "load") {
      if (this.shownUrl) URL.revokeObjectURL(this.shownUrl);
      this.shownUrl = this.loadingUrl;
      this.img.hidden = false;
    } else {
      // A frame that does not decode is skipped; the next one replaces it.
      URL.revokeObjectURL(this.loadingUrl);
    }
    this.loadingUrl = null;
    if (this.pending) {
      const blob = this.pending;
      this.pending = null;
      this.load(blob);
    }
  }

  load(blob) {
    this.loadingUrl = URL.createObjectURL(blob);
    this.element().src = this.loadingUrl;
  }

  show(bytes) {
    const blob = new Blob([bytes], { type: "image/jpeg" });
    this.element();
    if (this.loadingUrl) this.pending = blob;
    else this.load(blob);
  }

  clear() {
    const el = this.element();
    this.pending = null;
    el.hidden = true;
    if (this.shownUrl) URL.revokeObjectURL(this.shownUrl);
    this.shownUrl = null;
    if (this.loadingUrl) this.discard = true;
    else el.removeAttribute("src");
  }

  size() {
    const el = this.element();
    return [el.naturalWidth, el.naturalHeight];
  }
}

const previews = new Map();

function preview(id) {
  if (!previews.has(id)) previews.set(id, new Preview(id));
  return previews.get(id);
}

/** Shows one frame (bytes of a JPEG) in the preview `id` (the capture screen's by default). */
export function showFrame(bytes, id = CAPTURE) {
  preview(id).show(bytes);
}

/** Forgets the picture of the last customer: in preview `id`, or in every preview. */
export function clearPreview(id) {
  if (id) preview(id).clear();
  else for (const p of [CAPTURE, SCAN, WALK_IN, CAMERA_TEST]) preview(p).clear();
}

/** The size of the frame on screen in preview `id` (0 × 0 before the first). */
export function frameSize(id = CAPTURE) {
  return preview(id).size();
}

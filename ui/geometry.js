// Pure helpers for the capture screen: where the face is relative to the oval guide, and what the
// bytes of a preview frame are.

/** The oval guide, as a share of the preview's width and height (centre and radii); the SVG in
 *  index.html draws it at (200, 152) with radii 76 × 100 in a 400 × 300 view box. */
export const OVAL = { cx: 0.5, cy: 152 / 300, rx: 76 / 400, ry: 100 / 300 };

/**
 * True when a face box (normalised 0..1 in the frame) sits in the oval as the customer sees it:
 * the frame is shown with `object-fit: cover` in a view of `viewW` × `viewH`.
 */
export function faceInOval(box, frameW, frameH, viewW, viewH, oval = OVAL) {
  if (!box || !(frameW > 0 && frameH > 0 && viewW > 0 && viewH > 0)) return false;
  const scale = Math.max(viewW / frameW, viewH / frameH);
  const offX = (viewW - frameW * scale) / 2;
  const offY = (viewH - frameH * scale) / 2;
  const cx = ((box.x + box.w / 2) * frameW * scale + offX) / viewW;
  const cy = ((box.y + box.h / 2) * frameH * scale + offY) / viewH;
  const h = (box.h * frameH * scale) / viewH;
  const dx = (cx - oval.cx) / oval.rx;
  const dy = (cy - oval.cy) / oval.ry;
  // Centre well inside the oval, and the face neither tiny nor larger than it.
  return dx * dx + dy * dy <= 0.35 && h >= oval.ry * 0.8 && h <= oval.ry * 2.4;
}

/** The bytes of a preview frame: an ArrayBuffer, a typed array / DataView, or a plain number array. */
export function frameBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Uint8Array.from(data);
  return null;
}

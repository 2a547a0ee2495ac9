"""FaceKiosk's face pipeline as a typical integrator writes it in Python.

The same ONNX models as the Rust engine (models/MODELS.md), run with onnxruntime on the CPU; Pillow
decodes photos, OpenCV pads, resizes and warps, numpy does the rest (vectorised, no per-pixel Python).

    detect     pad to a square (zeros, bottom/right), INTER_AREA to 128x128 (INTER_LINEAR when
               enlarging), x/127.5 - 1, BlazeFace short-range, sigmoid, anchor decoding, score >= 0.5,
               greedy NMS at IoU 0.3, scaled back to image pixels
    landmarks  the largest face: a square crop of 1.5 x the box's larger side about the box centre,
               rotated so the eyes are level, warpAffine (bilinear, black border) to 192x192, x/255,
               FaceMesh, the 468 points mapped back to the image with the inverse transform
    align      eye centres (means of 6 FaceMesh points each), nose tip and mouth corners, Umeyama
               similarity onto the ArcFace 5-point template, warpAffine to 112x112 (bilinear)
    embed      (x - 127.5)/128, MobileFaceNet, L2-normalised 192-d embedding
"""

import io

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

DETECT_SIDE = 128
MESH_SIDE = 192
ALIGN_SIDE = 112
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.5

# FaceMesh indices: eye contours (image-left eye = the subject's right, then the other one), nose
# tip, mouth corners.
RIGHT_EYE = [33, 160, 158, 133, 153, 144]
LEFT_EYE = [263, 387, 385, 362, 380, 373]
NOSE_TIP = 1
MOUTH_CORNERS = [61, 291]

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float64,
)


class NoFace(Exception):
    """No face was found where one was needed."""


def decode_photo(data: bytes) -> np.ndarray:
    """Encoded image bytes -> HxWx3 uint8 RGB, upright per the EXIF orientation."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def load_rgb(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        return decode_photo(f.read())


def blazeface_anchors(side: int = DETECT_SIDE) -> np.ndarray:
    """[896, 2] anchor centres in input pixels: stride 8 (2 per cell), then stride 16 (6 per cell)."""
    parts = []
    for stride, per_cell in ((8, 2), (16, 6)):
        g = side // stride
        ys, xs = np.mgrid[0:g, 0:g]
        centres = (np.stack([xs.ravel(), ys.ravel()], 1) + 0.5) * stride
        parts.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(parts).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; boxes [n, 4] as x1, y1, x2, y2. Returns kept indices, best first."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-12)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) src -> dst, 2x3."""
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.array([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rot = (u * d) @ vt
    scale = (s * d).sum() / (src_c**2).sum(1).mean()
    t = dst_mean - scale * rot @ src_mean
    return np.hstack([scale * rot, t[:, None]])


def _session(path: str, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _output_index(sess: ort.InferenceSession, size: int) -> int:
    for i, o in enumerate(sess.get_outputs()):
        if all(isinstance(d, int) for d in o.shape) and int(np.prod(o.shape)) == size:
            return i
    raise ValueError(f"the model has no output with {size} values")


class Faces:
    """Detections in image pixels: boxes [n, 4] (x1, y1, x2, y2), scores [n], keypoints [n, 6, 2]
    (right eye = image left, left eye, nose tip, mouth centre, right ear, left ear), best first."""

    __slots__ = ("boxes", "scores", "keypoints")

    def __init__(self, boxes, scores, keypoints):
        self.boxes, self.scores, self.keypoints = boxes, scores, keypoints

    def __len__(self):
        return len(self.scores)

    def largest(self) -> int:
        if not len(self):
            raise NoFace("no face found")
        wh = self.boxes[:, 2:] - self.boxes[:, :2]
        return int(np.argmax(wh[:, 0] * wh[:, 1]))


class Pipeline:
    def __init__(self, models_dir: str, threads: int = 1, embedder_threads: int | None = None):
        self.detector = _session(f"{models_dir}/face_detection_short_range.onnx", threads)
        self.mesh = _session(f"{models_dir}/face_landmark.onnx", threads)
        self.embedder = _session(f"{models_dir}/mobilefacenet.onnx", embedder_threads or threads)
        self.anchors = blazeface_anchors()
        self.mesh_points = _output_index(self.mesh, 468 * 3)

    # ---- stages ----------------------------------------------------------------------------------
    def detect(self, img: np.ndarray) -> Faces:
        h, w = img.shape[:2]
        side = max(h, w)
        if h != w:
            img = cv2.copyMakeBorder(img, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT, value=0)
        interp = cv2.INTER_AREA if side > DETECT_SIDE else cv2.INTER_LINEAR
        x = cv2.resize(img, (DETECT_SIDE, DETECT_SIDE), interpolation=interp)
        x = (x.astype(np.float32) / 127.5 - 1.0)[None]
        reg, logits = self.detector.run(["regressors", "classificators"], {"input": x})
        reg, logits = reg[0], logits[0, :, 0]
        keep = logits >= 0.0  # sigmoid(logit) >= 0.5
        reg, anchors = reg[keep], self.anchors[keep]
        scores = 1.0 / (1.0 + np.exp(-logits[keep]))
        centres = reg[:, 0:2] + anchors
        half = reg[:, 2:4] / 2
        boxes = np.concatenate([centres - half, centres + half], 1)
        keypoints = reg[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        kept = nms(boxes, scores, NMS_IOU)
        scale = side / DETECT_SIDE
        return Faces(boxes[kept] * scale, scores[kept], keypoints[kept] * scale)

    def landmarks(self, img: np.ndarray, faces: Faces, i: int) -> np.ndarray:
        """[468, 2] FaceMesh points of face i, in image pixels."""
        x1, y1, x2, y2 = faces.boxes[i]
        (rx, ry), (lx, ly) = faces.keypoints[i, :2]
        centre = ((x1 + x2) / 2, (y1 + y2) / 2)
        side = ROI_SCALE * max(x2 - x1, y2 - y1)
        angle = np.degrees(np.arctan2(ly - ry, lx - rx))
        to_crop = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), MESH_SIDE / side)
        to_crop[:, 2] += (MESH_SIDE / 2 - centre[0], MESH_SIDE / 2 - centre[1])
        crop = cv2.warpAffine(img, to_crop, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x = (crop.astype(np.float32) / 255.0)[None]
        points = self.mesh.run(None, {"input_1": x})[self.mesh_points].reshape(468, 3)[:, :2]
        back = cv2.invertAffineTransform(to_crop)
        return points @ back[:, :2].T + back[:, 2]

    @staticmethod
    def align(img: np.ndarray, points: np.ndarray) -> np.ndarray:
        """112x112 RGB face aligned onto the ArcFace template."""
        five = np.vstack([
            points[RIGHT_EYE].mean(0),
            points[LEFT_EYE].mean(0),
            points[NOSE_TIP],
            points[MOUTH_CORNERS],
        ]).astype(np.float64)
        to_template = umeyama(five, ARCFACE_TEMPLATE)
        return cv2.warpAffine(img, to_template, (ALIGN_SIDE, ALIGN_SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def embed(self, face: np.ndarray) -> np.ndarray:
        x = ((face.astype(np.float32) - 127.5) / 128.0)[None]
        e = self.embedder.run(["embeddings"], {"input": x})[0][0]
        return e / np.linalg.norm(e)

    # ---- whole pipelines -------------------------------------------------------------------------
    def process(self, img: np.ndarray) -> np.ndarray:
        """detect + landmarks + align + embed on the largest face: its L2-normalised embedding."""
        faces = self.detect(img)
        points = self.landmarks(img, faces, faces.largest())
        return self.embed(self.align(img, points))

    def verify(self, photo_a: bytes, photo_b: bytes) -> float:
        """Cosine similarity of the largest faces in two encoded photos."""
        a = self.process(decode_photo(photo_a))
        b = self.process(decode_photo(photo_b))
        return float(a @ b)

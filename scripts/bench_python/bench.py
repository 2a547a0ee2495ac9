"""Benchmark of the Python face pipeline (pipeline.py); run through scripts/bench-python.

Prints one JSON object on stdout. Errors: a message on stderr, exit code 2, nothing on stdout.
"""

import argparse
import os
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench-python", description=__doc__.splitlines()[0])
    p.add_argument("--models", required=True, metavar="DIR", help="folder with the ONNX models")
    p.add_argument("--frame", required=True, metavar="FRAME", help="camera frame (e.g. 640x480 PNG)")
    p.add_argument("--photos", required=True, nargs=2, metavar=("A", "B"), help="two photos to verify")
    p.add_argument("--iterations", type=int, default=100, metavar="N", help="timed runs per stage (100)")
    p.add_argument("--warmup", type=int, default=10, metavar="W", help="untimed runs before them (10)")
    p.add_argument("--threads", type=int, default=1, metavar="T", help="threads for inference and OpenCV (1)")
    p.add_argument("--embedder-threads", type=int, default=None, metavar="E",
                   help="threads for the embedder alone (default: --threads)")
    args = p.parse_args(argv)
    if args.embedder_threads is None:
        args.embedder_threads = args.threads
    if args.iterations < 1 or args.warmup < 0 or args.threads < 1 or args.embedder_threads < 1:
        p.error("--iterations, --threads and --embedder-threads must be >= 1, --warmup >= 0")
    return args


def fail(message):
    print(f"bench-python: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    args = parse_args(argv)
    # numpy's OpenBLAS and OpenMP read these when they load: keep every library to --threads.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import gc
    import json
    import platform
    import time

    import cv2
    import numpy as np
    import onnxruntime as ort
    import PIL
    from PIL import UnidentifiedImageError

    from pipeline import NoFace, Pipeline, decode_photo

    # OpenCV parallelises resize and warpAffine on its own thread pool; --threads bounds it too.
    cv2.setNumThreads(args.threads)

    def decode(path, data):
        try:
            return decode_photo(data)
        except UnidentifiedImageError:
            fail(f"cannot decode {path}: not an image format Pillow reads")
        except Exception as e:  # truncated or corrupt files, decompression bombs, ...
            fail(f"cannot decode {path}: {e}")

    def read(path):
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror}")

    for name in ("face_detection_short_range.onnx", "face_landmark.onnx", "mobilefacenet.onnx"):
        if not os.path.isfile(os.path.join(args.models, name)):
            fail(f"{os.path.join(args.models, name)} not found")
    photo_a, photo_b = read(args.photos[0]), read(args.photos[1])
    frame = decode(args.frame, read(args.frame))
    photos = [decode(path, data) for path, data in zip(args.photos, (photo_a, photo_b))]

    pipe = Pipeline(args.models, args.threads, args.embedder_threads)

    # One untimed pass: the checks, and the inputs of the single-stage timings.
    faces = pipe.detect(frame)
    if not len(faces):
        fail(f"no face found in {args.frame}")
    largest = faces.largest()
    points = pipe.landmarks(frame, faces, largest)
    aligned = pipe.align(frame, points)
    pipe.embed(aligned)
    embeddings = []
    for path, img in zip(args.photos, photos):
        try:
            embeddings.append(pipe.process(img))
        except NoFace:
            fail(f"no face found in {path}")
    similarity = float(embeddings[0] @ embeddings[1])

    def measure(fn):
        for _ in range(args.warmup):
            fn()
        gc.collect()
        samples = []
        clock = time.perf_counter
        for _ in range(args.iterations):
            t0 = clock()
            fn()
            samples.append(clock() - t0)
        samples.sort()
        # Nearest rank on the sorted samples, as `facekiosk bench` computes its own.
        at = lambda q: samples[round((len(samples) - 1) * q)] * 1000.0  # noqa: E731
        return {"median_ms": round(at(0.5), 4), "p95_ms": round(at(0.95), 4)}

    stages = {
        "decode": measure(lambda: decode_photo(photo_a)),
        "detect": measure(lambda: pipe.detect(frame)),
        "landmarks": measure(lambda: pipe.landmarks(frame, faces, largest)),
        "align": measure(lambda: pipe.align(frame, points)),
        "embed": measure(lambda: pipe.embed(aligned)),
        "frame": measure(lambda: pipe.process(frame)),
        "verify": measure(lambda: pipe.verify(photo_a, photo_b)),
    }

    runtime = (
        f"python {platform.python_version()}, onnxruntime {ort.__version__}, numpy {np.__version__}, "
        f"opencv {cv2.__version__}, pillow {PIL.__version__}"
    )
    report = {
        "runtime": runtime,
        "threads": args.threads,
        "embedder_threads": args.embedder_threads,
        "iterations": args.iterations,
        "stages": stages,
        "checks": {"faces_in_frame": len(faces), "similarity_a_b": round(similarity, 6)},
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseException as e:  # anything unexpected: still exit 2 with nothing on stdout
        import traceback

        traceback.print_exc(file=sys.stderr)
        fail(f"{type(e).__name__}: {e}")

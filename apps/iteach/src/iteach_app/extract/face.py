"""Face landmarks and expression coefficients of one RGB frame, from models that pip installs.

The models: dlib's HOG frontal face detector (built into the ``dlib`` / ``dlib-bin`` wheel) and
its 68-point shape predictor ``shape_predictor_68_face_landmarks.dat`` (iBUG 300-W layout),
shipped inside the ``face-recognition-models`` package. Nothing is downloaded. MediaPipe's face
models are not used: the mediapipe wheels from 0.10.30 on ship no face model (its Tasks API
needs a separately downloaded ``face_landmarker.task``), and the older wheels that ship the face
mesh graph need numpy < 2 or protobuf < 5.

Per frame (largest face only), `frame_features` gives:

- 136 landmark coordinates: the 68 points centred on their mean, rotated so the line through the
  outer eye corners is level, divided by the distance between those corners (so position, size
  and in-plane tilt of the face do not matter);
- 12 expression coefficients (`EXPRESSION_NAMES`), geometric measures on the same normalised
  points, in the spirit of facial action units: mouth opening and width, lip-corner raise,
  eye openness, brow raise and furrow, jaw drop, and head roll / yaw / pitch proxies.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from iteach_app.extract.errors import FeatureError, MissingExtraError

MODEL_PACKAGE = "face-recognition-models"
PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
NUM_LANDMARKS = 68
EXPRESSION_NAMES = (
    "mouth_open",
    "mouth_width",
    "lip_corner_raise",
    "left_eye_open",
    "right_eye_open",
    "left_brow_raise",
    "right_brow_raise",
    "brow_furrow",
    "jaw_drop",
    "head_roll",
    "head_yaw",
    "head_pitch",
)
FRAME_DIM = 2 * NUM_LANDMARKS + len(EXPRESSION_NAMES)


def predictor_path() -> Path:
    """The 68-point model file inside the installed ``face_recognition_models`` package.

    The package is located, not imported: its ``__init__`` needs ``pkg_resources``, which new
    virtual environments no longer have.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(MODEL_PACKAGE, "video features")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / PREDICTOR_FILE
    if not path.is_file():
        raise FeatureError(f"{MODEL_PACKAGE} is installed without {PREDICTOR_FILE}; reinstall it")
    return path


class FaceModel:
    """dlib's face detector and 68-point landmark predictor, loaded once.

    ``upsample`` doubles the image that many times before detection: the HOG detector finds
    faces of about 80 pixels and up, 40 and up with one upsampling (four times slower).
    """

    def __init__(self, upsample: int = 0) -> None:
        try:
            import dlib
        except ImportError:
            raise MissingExtraError("dlib-bin", "video features") from None
        self.detector: Any = dlib.get_frontal_face_detector()
        self.predictor: Any = dlib.shape_predictor(str(predictor_path()))
        self.upsample = upsample

    def landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        """(68, 2) float64 pixel coordinates (x, y) of the largest face, or None."""
        image = np.ascontiguousarray(frame)
        faces = self.detector(image, self.upsample)
        if len(faces) == 0:
            return None
        face = max(faces, key=lambda r: r.width() * r.height())
        shape = self.predictor(image, face)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _dist(points: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a] - points[b]))


def frame_features(points: np.ndarray) -> np.ndarray:
    """(148,) float32: 136 normalised landmark coordinates then 12 expression coefficients.

    ``points`` is (68, 2) in pixels, iBUG 300-W order (0-16 jaw, 17-21 / 22-26 brows as seen,
    27-35 nose, 36-41 / 42-47 eyes, 48-67 lips).
    """
    eye_vector = points[45] - points[36]
    interocular = float(np.linalg.norm(eye_vector))
    if interocular <= 0:
        raise ValueError("degenerate landmarks: the outer eye corners coincide")
    roll = float(np.arctan2(eye_vector[1], eye_vector[0]))
    cos, sin = np.cos(-roll), np.sin(-roll)
    rotation = np.array([[cos, -sin], [sin, cos]])
    p = (points - points.mean(axis=0)) @ rotation.T / interocular
    lip_centre_y = (p[51, 1] + p[57, 1]) / 2
    eye_line_y = (p[36:48, 1]).mean()
    expression = [
        (_dist(p, 61, 67) + _dist(p, 62, 66) + _dist(p, 63, 65)) / 3,
        _dist(p, 48, 54),
        lip_centre_y - (p[48, 1] + p[54, 1]) / 2,  # y grows downwards: raised corners > 0
        (_dist(p, 37, 41) + _dist(p, 38, 40)) / (2 * _dist(p, 36, 39)),
        (_dist(p, 43, 47) + _dist(p, 44, 46)) / (2 * _dist(p, 42, 45)),
        (p[37:39, 1].mean() - p[17:22, 1].mean()),
        (p[43:45, 1].mean() - p[22:27, 1].mean()),
        _dist(p, 21, 22),
        _dist(p, 33, 8),
        roll,
        p[30, 0] - (p[0, 0] + p[16, 0]) / 2,
        (p[30, 1] - eye_line_y) / max(p[8, 1] - eye_line_y, 1e-6),
    ]
    return np.concatenate([p.reshape(-1), np.asarray(expression)]).astype(np.float32)

"""Face features of real video: the astronaut photograph rendered into clips, found and measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iteach_app.extract import (
    EXPRESSION_NAMES,
    FRAME_DIM,
    VIDEO_DIM,
    FeatureError,
    extract_video,
    frame_features,
    pool_frames,
    read_media_rows,
    sample_frames,
)


def _table(folder: Path, paths: dict[str, Path | str]) -> Path:
    table = folder / "clips.csv"
    lines = ["utterance_id,media_path"] + [f"{u},{p}" for u, p in paths.items()]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def test_frames_are_sampled_at_the_asked_rate_within_the_segment(media):
    frames = list(sample_frames(media["face.mp4"], fps=5))
    duration = 2.0  # the clip lasts as long as its speech: at least 2 s
    assert len(frames) >= 5 * duration
    assert frames[0].shape == (256, 256, 3)
    assert frames[0].dtype == np.uint8
    part = list(sample_frames(media["face.mp4"], fps=4, start=0.5, end=1.5))
    assert len(part) == 4
    small = next(sample_frames(media["face.mp4"], fps=1, max_side=128))
    assert small.shape == (128, 128, 3)


def test_the_face_is_found_on_most_frames(media, face_model):
    for name in ("face.mp4", "mirror.mkv", "crop.mp4"):
        frames = list(sample_frames(media[name], fps=5))
        found = [face_model.landmarks(f) for f in frames]
        assert sum(p is not None for p in found) >= 0.8 * len(frames), name
        points = next(p for p in found if p is not None)
        assert points.shape == (68, 2)
        _height, width = frames[0].shape[:2]
        assert (points >= -5).all()
        assert (points[:, 0] <= width + 5).all()
    assert all(face_model.landmarks(f) is None for f in sample_frames(media["blank.mp4"], fps=5))


def test_frame_features_ignore_position_size_and_tilt_of_the_face(media, face_model):
    points = face_model.landmarks(next(sample_frames(media["face.mp4"], fps=1)))
    angle = 0.3
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = 2.5 * points @ rotation.T + np.array([40.0, -7.0])
    base, other = frame_features(points), frame_features(moved)
    assert base.shape == (FRAME_DIM,)
    assert base.dtype == np.float32
    roll = 2 * 68 + EXPRESSION_NAMES.index("head_roll")
    np.testing.assert_allclose(np.delete(other, roll), np.delete(base, roll), atol=1e-4)
    assert other[roll] == pytest.approx(base[roll] + angle, abs=1e-5)


def test_an_opened_mouth_raises_mouth_open_only_where_the_lips_moved(media, face_model):
    points = face_model.landmarks(next(sample_frames(media["face.mp4"], fps=1)))
    opened = points.copy()
    opened[[56, 57, 58, 65, 66, 67], 1] += 6.0  # lower lip down by 6 pixels
    before, after = frame_features(points), frame_features(opened)
    coefficient = dict(zip(EXPRESSION_NAMES, range(2 * 68, FRAME_DIM), strict=True))
    assert after[coefficient["mouth_open"]] > before[coefficient["mouth_open"]] + 0.05
    for name in ("left_eye_open", "right_eye_open", "brow_furrow"):
        assert after[coefficient[name]] == pytest.approx(before[coefficient[name]], abs=0.02)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_is_mean_std_and_face_share(dtype):
    rng = np.random.default_rng(0)
    for faces, sampled in [(1, 1), (3, 7), (12, 12)]:
        frames = rng.normal(size=(faces, FRAME_DIM)).astype(dtype)
        pooled = pool_frames(frames, sampled)
        assert pooled.shape == (VIDEO_DIM,)
        assert pooled.dtype == np.float32
        reference = np.array(
            [*(frames.sum(0) / faces), *np.sqrt(((frames - frames.mean(0)) ** 2).mean(0))]
        )
        np.testing.assert_allclose(pooled[:-1], reference, rtol=1e-5, atol=1e-6)
        assert pooled[-1] == pytest.approx(faces / sampled)


def test_utterance_vectors_differ_between_faces_and_a_faceless_clip_is_absent(
    tmp_path, media, face_model
):
    paths = {u: media[f"{u}.{'mkv' if u == 'mirror' else 'mp4'}"] for u in ("face", "mirror")}
    paths |= {"crop": media["crop.mp4"], "blank": media["blank.mp4"], "again": media["face.mkv"]}
    vectors, absences = extract_video(
        read_media_rows(_table(tmp_path, paths), "media_path"), show_progress=False
    )
    assert sorted(vectors) == ["again", "crop", "face", "mirror"]
    assert absences.uids == ["blank"]
    assert "no face in any of the" in absences.lines[0]
    assert "blank.mp4" in absences.lines[0]
    for vector in vectors.values():
        assert vector.shape == (VIDEO_DIM,)
        assert np.isfinite(vector).all()
        assert vector[-1] >= 0.8  # face share
    mean = slice(0, FRAME_DIM)
    distance = {u: float(np.linalg.norm(vectors[u][mean] - vectors["face"][mean])) for u in vectors}
    # the same frames in another container give the same vector; another view of the face does not
    assert distance["again"] < 1e-3
    assert distance["mirror"] > 0.05
    assert distance["crop"] > 0.01
    with pytest.raises(FeatureError, match=r"row 4 \(utterance 'blank'\): no face"):
        extract_video(
            read_media_rows(_table(tmp_path, paths), "media_path"), strict=True, show_progress=False
        )

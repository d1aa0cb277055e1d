"""`explain --trace --frames DIR`: one SVG per step of the backward pass, numbered, each the
graph with the gradients known after that step."""

import re

import pytest

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS


def grads_shown(svg: str) -> dict[str, str]:
    """node label -> its `grad` field as the frame shows it (`?` before the pass reaches it)."""
    import html

    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    shown = {}
    for i, text in enumerate(texts):
        if text.startswith("grad ") and i >= 2 and texts[i - 1].startswith("data "):
            shown[texts[i - 2]] = text[5:]
    return shown


@pytest.mark.parametrize("program, values", [(LECTURE, LECTURE_VALUES), (STATEMENTS, LECTURE_VALUES),
                                             ("e = a*b; d = e + a; L = d * e", ["--a", "2", "--b", "-3"])])
def test_as_many_frames_as_the_trace_has_steps(cli, tmp_path, program, values):
    trace = cli("explain", program, *values, "--trace", "--json", "--no-session").json()
    result = cli("explain", program, *values, "--trace", "--frames", str(tmp_path / "frames"), "--no-session")
    assert result.exit_code == 0, result.stderr
    frames = sorted((tmp_path / "frames").iterdir())
    assert len(frames) == len(trace["steps"])
    width = max(2, len(str(len(frames))))
    assert [f.name for f in frames] == [f"frame-{i:0{width}d}.svg" for i in range(1, len(frames) + 1)]
    assert f"wrote {len(frames)} frames to {tmp_path / 'frames'}" in result.stderr
    for i, frame in enumerate(frames, 1):
        svg = frame.read_text()
        assert "<svg" in svg and f"{i} of {len(frames)}: " in svg


def test_the_lecture_frames_fill_in_the_gradients_as_the_pass_goes(cli, tmp_path):
    cli("explain", LECTURE, *LECTURE_VALUES, "--trace", "--frames", str(tmp_path), "--no-session")
    frames = [p.read_text() for p in sorted(tmp_path.glob("frame-*.svg"))]
    assert len(frames) == 13
    first, last = grads_shown(frames[0]), grads_shown(frames[-1])
    assert first == {"a": "?", "b": "?", "a*b": "?", "c": "?", "a*b + c": "?", "f": "?", "L": "1.0000"}
    assert last == {"a": "6.0000", "b": "-4.0000", "a*b": "-2.0000", "c": "-2.0000", "a*b + c": "-2.0000",
                    "f": "4.0000", "L": "1.0000"}
    known = [sum(v != "?" for v in grads_shown(svg).values()) for svg in frames]
    assert known == sorted(known)  # a gradient once shown stays
    import html

    assert "step 6: a.grad += -2.0000 * -3.0000 -> 6.0000" in html.unescape(frames[9])


def test_a_shared_node_sums_over_two_frames(cli, tmp_path):
    """b = a + a: a.grad goes 0 -> 1 -> 2, a frame each, the first yellow (summing)."""
    cli("explain", "b = a + a", "--a", "3", "--trace", "--frames", str(tmp_path), "--no-session")
    frames = [p.read_text() for p in sorted(tmp_path.glob("frame-*.svg"))]
    assert [grads_shown(svg)["a"] for svg in frames] == ["?", "1.0000", "2.0000", "2.0000"]
    assert "#fff2a8" in frames[1] and "#b8e0b0" in frames[3]


def test_frames_without_trace_or_into_a_file_are_refused_in_words(cli, tmp_path):
    result = cli("explain", LECTURE, *LECTURE_VALUES, "--frames", str(tmp_path), "--no-session")
    assert result.exit_code == 2 and "--frames draws the steps of --trace" in result.stderr
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    result = cli("explain", LECTURE, *LECTURE_VALUES, "--trace", "--frames", str(file), "--no-session")
    assert result.exit_code == 2 and "not a folder" in result.stderr and file.read_text() == "mine"
    result = cli("explain", LECTURE, *LECTURE_VALUES, "--trace", "--frames", "", "--no-session")
    assert result.exit_code == 2 and "--frames needs a folder, not an empty name" in result.stderr


def test_too_many_frames_are_refused_before_drawing(cli, tmp_path):
    result = cli("explain", "L = a" + " + a" * 600, "--a", "1", "--trace", "--frames", str(tmp_path / "f"),
                 "--no-session")
    assert result.exit_code == 2 and "too many" in result.stderr
    assert not (tmp_path / "f").exists()

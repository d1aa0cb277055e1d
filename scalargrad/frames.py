"""The backward pass as pictures (`explain --trace --frames DIR`): one SVG per step of the trace.

Each frame is the lecture's graph (`dot.draw_dot`) with the gradients as far as the pass has
got: a gradient not reached yet reads `grad ?`, one being summed is yellow, a complete one
green, and the step's own nodes are drawn bold, its title the trace's row. The steps are
explain's (`explain.backward_steps`), so there are exactly as many frames as the trace has
rows; each is rendered and written through `files.write_atomically`, numbered in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from scalargrad.engine import Value
from scalargrad.errors import UsageError
from scalargrad.explain import Step, step_rows
from scalargrad.program import Program

SUMMING = "#fff2a8"  # a gradient with some of its shares in
COMPLETE = "#b8e0b0"  # every node using it has added its share
CURRENT = "#d6604d"  # the step's own nodes: their outline


@dataclass
class Frame:
    """What the pass knows after one step: each node's running gradient (None: not reached yet),
    which are complete, and the nodes the step is about."""

    grads: dict[int, float]
    complete: set[int]
    current: tuple[int, ...]
    title: str


def frames_of(steps: Sequence[Step], decimals: int = 4) -> list[Frame]:
    grads: dict[int, float] = {}
    complete: set[int] = set()
    frames = []
    for step, row in zip(steps, step_rows(steps, decimals)):
        if step.kind == "seed":
            grads[step.node_id] = 1.0
            complete.add(step.node_id)
            current: tuple[int, ...] = (step.node_id,)
        elif step.kind == "visit":
            complete.add(step.node_id)
            current = (step.node_id,)
        else:
            grads[step.target_id] = step.after
            current = (step.node_id, step.target_id)
        number, node, _, accumulation, local = row
        head = f"step {number}: " if number else f"{node}: "
        title = head + accumulation + (f"   ({local})" if local else "")
        frames.append(Frame(dict(grads), set(complete), current, title))
    return frames


def frame_source(program: Program, of: Value, frame: Frame, total: int, index: int) -> str:
    """The DOT source of one frame: draw_dot's picture, its gradients those known so far."""
    from scalargrad.dot import draw_dot, plain_text, record_text
    from scalargrad.render import fixed

    graph = draw_dot(program, of=of, plain=True)
    graph.attr(label=plain_text(f"{index} of {total}: {frame.title}   [green: complete, yellow: summing]"),
               labelloc="t", labeljust="l")
    for i, node in enumerate(program.nodes):
        if node._op == "const":
            continue
        grad = frame.grads.get(i)
        label = "{ " + " | ".join([record_text(program.label(node)), f"data {fixed(node.data)}",
                                   "grad ?" if grad is None else f"grad {fixed(grad)}"]) + " }"
        attrs = {"label": label}
        if grad is not None or i in frame.complete:
            attrs.update(style="filled", fillcolor=COMPLETE if i in frame.complete else SUMMING)
        if i in frame.current:
            attrs.update(penwidth="3", color=CURRENT)
        graph.node(f"n{i}", **attrs)  # a node named again: its attributes, set last, win
    return graph.source


def write_frames(program: Program, of: Value, steps: Sequence[Step], folder: str | Path) -> list[Path]:
    """Render every frame to SVG and write them to `folder` (made if missing) as frame-01.svg, ...;
    the paths written, in order."""
    from scalargrad.files import write_atomically
    from scalargrad.renderers import render

    if not str(folder).strip():
        raise UsageError("--frames needs a folder, not an empty name", hint="as in: --frames frames")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--frames {folder}: not a folder", hint="give a folder for the frames (made if missing)")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as failure:
        raise UsageError(f"--frames {folder}: cannot make the folder: {failure.strerror or failure}",
                         hint="give a folder whose parent exists and can be written") from None
    frames = frames_of(steps)
    width = max(2, len(str(len(frames))))
    written = []
    for index, frame in enumerate(frames, 1):
        svg, _ = render(frame_source(program, of, frame, len(frames), index), "svg")
        path = folder / f"frame-{index:0{width}d}.svg"
        write_atomically(path, lambda stream, data=svg: stream.write(data), f"frame {index}")
        written.append(path)
    return written


MAX_FRAMES = 1000  # a picture per step: past this, slides no one will read, and minutes of rendering


def draw_trace(program: Program, of: Value, folder: str | Path) -> list[Path]:
    """Every step of the backward pass of `of` (evaluated) as a frame in `folder`; the size checked first."""
    from scalargrad.dot import DEFAULT_MAX_NODES
    from scalargrad.explain import backward_steps, count_steps

    count = count_steps(program, of)
    if count > MAX_FRAMES or len(program.nodes) > DEFAULT_MAX_NODES:
        raise UsageError(f"--frames draws a picture per step: {count:,} steps of a {len(program.nodes):,}-node graph "
                         f"are too many (at most {MAX_FRAMES:,} steps of {DEFAULT_MAX_NODES} nodes)",
                         hint="draw the steps of a smaller part: --of a node nearer the inputs")
    return write_frames(program, of, backward_steps(program, of), folder)

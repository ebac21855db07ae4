"""The testbench's file formats: samples <-> beat lines (no torch).

Input file, one line per beat: ``<bits, MSB first> <tlast>``.
Output file, one line per beat: ``<bits, MSB first> <tlast> <cycle>``, and a line
``reset`` where the testbench reset the design mid-run: only what follows the last
``reset`` counts (the source starts its input over after it; its log of input cycles
carries the same marker).
A sample of ``n`` elements is ``ceil(n / lanes)`` beats; element ``k`` sits in
beat ``k // lanes`` at bits ``(k % lanes) * width ...``; padding lanes are zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["pack", "unpack", "after_last_reset", "Beats", "RESET_MARKER"]

#: The line the sink (output file) and the source (input log) write at a mid-run reset.
RESET_MARKER = "reset"


def after_last_reset(text: str) -> str:
    """The lines of ``text`` after its last ``reset`` line (all of it if there is none)."""
    lines = text.split("\n")
    marks = [i for i, line in enumerate(lines) if line.strip() == RESET_MARKER]
    return "\n".join(lines[marks[-1] + 1 :]) if marks else text


def pack(samples: np.ndarray, lanes: int, width: int) -> str:
    """Integer ``samples`` of shape ``(batch, n)`` as the input file's text."""
    batch, n = samples.shape
    beats = -(-n // lanes)
    mask = (1 << width) - 1
    lines = []
    for sample in samples.tolist():
        padded = sample + [0] * (beats * lanes - n)
        for b in range(beats):
            word = 0
            for lane, value in enumerate(padded[b * lanes : (b + 1) * lanes]):
                word |= (int(value) & mask) << (lane * width)
            lines.append(f"{word:0{lanes * width}b} {int(b == beats - 1)}")
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass(frozen=True)
class Beats:
    """What the sink saw: the samples and the cycle at which each one's last beat arrived."""

    samples: np.ndarray
    last_cycles: np.ndarray


def _signed(word: int, width: int) -> int:
    return word - (1 << width) if word >> (width - 1) else word


def unpack(text: str, n: int, lanes: int, width: int) -> Beats:
    """The output file's text as samples of ``n`` elements; checks that ``tlast`` marks
    exactly every ``ceil(n / lanes)``-th beat. Beats before the last ``reset`` line are
    dropped."""
    beats = -(-n // lanes)
    mask = (1 << width) - 1
    samples: list[list[int]] = []
    cycles: list[int] = []
    current: list[int] = []
    for number, line in enumerate(after_last_reset(text).split("\n")):
        if not line.strip():
            continue
        bits, last, cycle = line.split()
        word = int(bits, 2)
        current += [_signed((word >> (lane * width)) & mask, width) for lane in range(lanes)]
        complete = len(current) == beats * lanes
        if (last == "1") != complete:
            raise AssertionError(
                f"output beat {number}: tlast={last}, but the sample is "
                f"{'complete' if complete else 'not complete'} ({len(current) // lanes} of {beats} beats)"
            )
        if complete:
            samples.append(current[:n])
            cycles.append(int(cycle))
            current = []
    if current:
        raise AssertionError(f"the output ends inside a sample ({len(current) // lanes} beats)")
    array = np.array(samples, dtype=np.int64).reshape(len(samples), n)
    return Beats(array, np.array(cycles, dtype=np.int64))

"""Progress of a simulation: the caller's ``progress(done, total)`` function, or a tqdm bar
(samples done, samples per second) for runs longer than a few seconds, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["DELAY_SECONDS", "Progress", "reporting"]

#: The bar appears only for simulations that run longer than this.
DELAY_SECONDS = 3.0


class Progress:
    """Where a run reports the samples that left the design (``update``) and what it is
    doing (``describe``, shown in the bar)."""

    def __init__(self, report: Callable[[int, int], None] | None, bar: Any = None) -> None:
        self._report = report
        self._bar = bar

    @property
    def update(self) -> Callable[[int, int], None] | None:
        """``update(done, total)``, or None when nobody listens."""
        return self._report

    def describe(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(text, refresh=False)


@contextmanager
def reporting(
    listener: Callable[[int, int], None] | bool | None, description: str, total: int
) -> Iterator[Progress]:
    """``listener`` as ``Design.run`` takes it: a function is called as it is; ``False``:
    nothing; ``None`` (or ``True``): a tqdm bar on stderr, labelled ``description``,
    once the run has taken :data:`DELAY_SECONDS`."""
    if callable(listener):
        yield Progress(listener)
        return
    if listener is False:
        yield Progress(None)
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=description, unit="sample", delay=DELAY_SECONDS) as bar:

        def update(done: int, _total: int) -> None:
            if done > bar.n:
                bar.update(done - bar.n)

        yield Progress(update, bar)

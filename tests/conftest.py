"""Hypothesis profiles and the equivalence run's tally.

``--hypothesis-profile=deep`` (``./dev equivalence``) draws many more random models
than the derandomized ``ci`` profile every test run uses.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch
from hypothesis import HealthCheck, settings

from elasticai.creator.sim.cache import CACHE_ENV

# The models under test are small: torch's thread pool only costs time, a lot when the
# workers of ``-n 2`` share two cores.
torch.set_num_threads(1)

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=int(os.environ.get("EC_DEEP_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _simulation_cache(tmp_path_factory: pytest.TempPathFactory):
    """Compiled simulation models (Verilator's) go to a folder of the test run, not to
    the user's cache."""
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("sim_cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


#: Tests that run Verilator skip where it is not installed, except in CI (``./dev`` installs it).
REQUIRES_VERILATOR = pytest.mark.skipif(
    shutil.which("verilator") is None and "CI" not in os.environ,
    reason="Verilator is not installed (apt-get install verilator, or ./dev setup)",
)


#: Models and samples the equivalence tests compared, reported at the end of the run.
TALLY = {"models": 0, "samples": 0, "outputs": 0}


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if TALLY["models"]:
        terminalreporter.write_line(
            f"equivalence: {TALLY['models']} random models, {TALLY['samples']} samples, "
            f"{TALLY['outputs']} outputs identical in PyTorch, the integer interpreter and GHDL"
        )

"""The `box` fixture: a sandbox to run the init-container scripts in (see script_helpers)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from script_helpers import Box, alive, free_port


@pytest.fixture
def box(tmp_path: Path):
    b = Box(tmp_path, free_port())
    yield b
    for pid in b.serve_pids():  # only servers this test's scripts started, should a script leave one behind
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

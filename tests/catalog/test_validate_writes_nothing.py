"""`catalog-gen validate` only reads: the trees it sees, its home and its temp folder are unchanged after a run."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from catalog_fixtures import FIXTURES, REPO


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under root with its type, size, mtime and content hash."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        state[str(path.relative_to(root))] = (path.is_dir(), info.st_size, info.st_mtime_ns, digest)
    return state


@pytest.mark.parametrize("args, exit_code", [
    (["catalog"], 0),
    (["fixtures"], 1),
    (["fixtures", "--format", "sarif"], 1),
    (["catalog", "fixtures", "--format", "junit"], 1),
])
def test_validate_writes_nothing_anywhere(tmp_path, args, exit_code):
    work, home, temp = tmp_path / "work", tmp_path / "home", tmp_path / "temp"
    shutil.copytree(REPO / "catalog", work / "catalog")
    shutil.copytree(FIXTURES, work / "fixtures")
    home.mkdir()
    temp.mkdir()
    (home / ".config").mkdir()
    before = {name: snapshot(root) for name, root in (("work", work), ("home", home), ("temp", temp))}
    env = dict(os.environ, HOME=str(home), TMPDIR=str(temp), XDG_CACHE_HOME=str(home / ".cache"), PYTHONDONTWRITEBYTECODE="1")
    exe = Path(sys.executable).parent / "catalog-gen"
    done = subprocess.run([str(exe), "validate", *args], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == exit_code, done.stderr
    assert done.stdout and done.stderr == ""
    after = {name: snapshot(root) for name, root in (("work", work), ("home", home), ("temp", temp))}
    assert after == before

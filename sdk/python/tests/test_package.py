"""The distribution: ``pip install ./sdk/python`` offline (setuptools, ``--no-build-isolation``)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="pip is not installed for this interpreter")
def test_installs_offline_and_imports_without_optional_dependencies(tmp_path: Path) -> None:
    source = tmp_path / "src-copy"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps", "--no-index",
         "--target", str(target), str(source)],
        check=True, timeout=300,
    )
    assert (target / "keyroll_client" / "py.typed").exists()
    # With httpx and requests hidden, the core still imports and works; KeyrollAuth says what is missing.
    probe = (
        "import sys; sys.modules['httpx'] = None; sys.modules['requests'] = None\n"
        "import keyroll_client as k\n"
        "assert k.KeyrollClient.from_value('kr_live_x', base_url='http://h').key_hint is None\n"
        "try:\n    k.KeyrollAuth\nexcept ImportError:\n    print('httpx optional')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert out.stdout.strip() == "httpx optional"

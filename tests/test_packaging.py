"""The package as a user installs it: the wheel and the sdist that setuptools builds from this
checkout (no network, the environment's setuptools), and the wheel used outside any checkout.

Each build runs on a copy of the checkout's files (those git would commit), so that no build
leaves ``build/`` or ``*.egg-info`` in the checkout.
"""

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import lstm_core

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lstm_core", "lstm_grading")


def checkout_files(*paths: str) -> list[str]:
    """The files of the checkout git would commit (tracked, or new and not ignored)."""
    args = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *paths]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def source_copy(dest: Path, version: str | None = None) -> Path:
    """A copy of the checkout's files in ``dest``; ``version`` rewrites ``__version__``."""
    for name in checkout_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    if version is not None:
        init = dest / "lstm_core" / "__init__.py"
        text = init.read_text()
        assert f'__version__ = "{lstm_core.__version__}"' in text
        init.write_text(text.replace(lstm_core.__version__, version))
    return dest


def build(source: Path, out: Path, *kinds: str) -> list[Path]:
    """Build ``kinds`` ("wheel", "sdist") of ``source`` with setuptools' PEP 517 backend."""
    calls = "; ".join(f"print('built:', b.build_{kind}({str(out)!r}))" for kind in kinds)
    done = subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta as b; {calls}"],
        cwd=source,
        env={**os.environ, "PYTHONWARNINGS": "error"},  # as everywhere in the suite
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    built = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("built: ")]
    return [out / name for name in built]


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The wheel and the sdist of this checkout, and the wheel built from that sdist."""
    tmp = tmp_path_factory.mktemp("dist")
    wheel, sdist = build(source_copy(tmp / "src"), tmp / "out", "wheel", "sdist")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    (from_sdist,) = build(unpacked, tmp / "from-sdist", "wheel")
    return {"wheel": wheel, "sdist": sdist, "wheel_from_sdist": from_sdist}


def wheel_files(wheel: Path) -> tuple[set[str], set[str]]:
    """The wheel's package files and its metadata files (``*.dist-info/``)."""
    with zipfile.ZipFile(wheel) as z:
        names = {n for n in z.namelist() if not n.endswith("/")}
    meta = {n for n in names if n.split("/")[0].endswith(".dist-info")}
    return names - meta, meta


def test_the_wheel_holds_every_file_of_the_packages_and_nothing_else(dists):
    """Every module, hidden-test module and template the packages track, and no test, book,
    notebook, gradebook or ``__pycache__``."""
    files, _ = wheel_files(dists["wheel"])
    tracked = set(checkout_files(*PACKAGES))
    assert "lstm_grading/templates/lstm_feedback/mathjax.html.j2" in tracked
    assert "lstm_grading/hidden/ps06.py" in tracked
    assert files == tracked, (sorted(tracked - files), sorted(files - tracked))


def test_the_wheel_built_from_the_sdist_is_the_same(dists):
    """pip installs from the sdist where no wheel fits: the sdist must carry the package data."""
    assert wheel_files(dists["wheel_from_sdist"])[0] == wheel_files(dists["wheel"])[0]


def test_the_sdist_holds_no_part_of_the_test_suite(dists):
    """setuptools adds ``tests/test*.py`` to an sdist by default, without ``conftest.py`` or
    the helper modules those tests import, nor the book, problem sets and course they test:
    tests that cannot run there. The suite runs from a checkout; the sdist leaves it out."""
    with tarfile.open(dists["sdist"]) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    tests = [n for n in names if n.startswith("tests")]
    assert not tests, tests
    assert {"pyproject.toml", "README.md", "LICENSE"} <= set(names)


def test_the_metadata_says_what_the_package_is(dists):
    """Name, the version lstm_core reports, the licence, the Python it needs, NumPy as its one
    dependency, classifiers, and the console script."""
    _, meta = wheel_files(dists["wheel"])
    with zipfile.ZipFile(dists["wheel"]) as z:
        (path,) = (n for n in meta if n.endswith("/METADATA"))
        info = email.parser.Parser().parsestr(z.read(path).decode())
        (entry,) = (n for n in meta if n.endswith("/entry_points.txt"))
        entry_points = z.read(entry).decode()
    assert info["Name"] == "lstm-core"
    assert "(lstm_core)" in info["Summary"] and "(lstm_grading" in info["Summary"]  # both packages
    assert info["Version"] == lstm_core.__version__
    assert info["License-Expression"] == "MIT"
    assert info["Requires-Python"] == ">=3.11"
    plain = [r for r in info.get_all("Requires-Dist") if "extra ==" not in r]
    assert plain == ["numpy<3,>=2"]
    classifiers = info.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "lstm-autograde = lstm_grading.cli:main" in entry_points


def test_the_version_comes_from_lstm_core(tmp_path):
    """One version, ``lstm_core.__version__``: the wheel's metadata follows it (it was typed
    twice, in pyproject.toml too, free to drift apart)."""
    (wheel,) = build(source_copy(tmp_path / "src", version="9.8.7"), tmp_path / "out", "wheel")
    assert wheel.name.startswith("lstm_core-9.8.7-")


@pytest.mark.slow
def test_the_wheel_works_outside_a_checkout(dists, tmp_path):
    """Unpacked into a folder of its own and run from elsewhere: both packages import from it,
    lstm_core's README example runs, and every console script and ``python -m lstm_grading``
    show their help."""
    site = tmp_path / "site"
    with zipfile.ZipFile(dists["wheel"]) as z:
        z.extractall(site)
        (entry,) = (n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))
        scripts = [
            line.split(" = ")
            for line in z.read(entry).decode().splitlines()
            if " = " in line and not line.startswith("[")
        ]
    env = {**os.environ, "PYTHONPATH": str(site)}

    def python(*args):
        return subprocess.run(
            [sys.executable, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    example = (
        "import numpy as np, lstm_core as lc, lstm_grading\n"
        "print(lc.__file__, lstm_grading.__file__)\n"
        "params = lc.init_params(input_size=3, hidden_size=8, rng=0)\n"
        "x = np.random.default_rng(1).standard_normal((16, 20, 3))\n"
        "hs, cache = lc.lstm_forward(x, params)\n"
        "dx, dh0, dc0, grads = lc.lstm_backward(np.ones_like(hs), cache)\n"
        "print(hs.shape, dx.shape, lc.__version__)\n"
    )
    done = python("-c", example)
    assert done.returncode == 0, done.stderr
    where, shapes = done.stdout.splitlines()
    assert where.split() == [str(site / p / "__init__.py") for p in PACKAGES]
    assert shapes == f"(16, 20, 8) (16, 20, 3) {lstm_core.__version__}"
    assert scripts == [["lstm-autograde", "lstm_grading.cli:main"]]
    for name, target in scripts:
        module, func = target.split(":")
        code = f"import sys\nfrom {module} import {func}\n"
        code += f"sys.argv[0] = {name!r}\nsys.exit({func}())"
        for argv in (["--help"], ["export", "--help"]):
            shown = python("-c", code, *argv)
            assert (shown.returncode, shown.stderr) == (0, ""), argv
            assert shown.stdout.startswith(f"usage: {name} "), shown.stdout[:200]
    shown = python("-m", "lstm_grading", "--help")
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.startswith("usage: lstm-autograde ")


def test_every_requirement_admits_the_locked_version():
    """``make install`` runs ``pip install -c requirements.lock -e '.[test]'``: a requirement
    of pyproject.toml (the dependencies or an extra) that excludes its package's locked version,
    or names a package the lock lacks, makes that install fail or go unpinned."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            locked[canonicalize_name(name)] = version
    requirements = [*project["dependencies"]]
    requirements += [r for extra in project["optional-dependencies"].values() for r in extra]
    wrong = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(project["name"]):
            continue  # an extra of this project
        version = locked.get(name)
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{text} (locked: {version})")
    assert not wrong, wrong
    assert len(requirements) > 20

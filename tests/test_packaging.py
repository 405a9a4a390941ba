"""The package as a user installs it: the wheel and the sdist that setuptools builds from this
checkout (no network, the environment's setuptools), and the wheel used outside any checkout.

Each build runs on a copy of the checkout's files (those git would commit), so that no build
leaves ``build/`` or ``*.egg-info`` in the checkout.
"""

import ast
import email.parser
import functools
import os
import re
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


@pytest.mark.processes
def test_the_wheel_holds_every_file_of_the_packages_and_nothing_else(dists):
    """Every module, hidden-test module and template the packages track, and no test, book,
    notebook, gradebook or ``__pycache__``."""
    files, _ = wheel_files(dists["wheel"])
    tracked = set(checkout_files(*PACKAGES))
    assert "lstm_grading/templates/lstm_feedback/mathjax.html.j2" in tracked
    assert "lstm_grading/hidden/ps06.py" in tracked
    assert files == tracked, (sorted(tracked - files), sorted(files - tracked))


@pytest.mark.processes
def test_the_wheel_built_from_the_sdist_is_the_same(dists):
    """pip installs from the sdist where no wheel fits: the sdist must carry the package data."""
    assert wheel_files(dists["wheel_from_sdist"])[0] == wheel_files(dists["wheel"])[0]


@pytest.mark.processes
def test_the_sdist_holds_no_part_of_the_test_suite(dists):
    """setuptools adds ``tests/test*.py`` to an sdist by default, without ``conftest.py`` or
    the helper modules those tests import, nor the book, problem sets and course they test:
    tests that cannot run there. The suite runs from a checkout; the sdist leaves it out."""
    with tarfile.open(dists["sdist"]) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    tests = [n for n in names if n.startswith("tests")]
    assert not tests, tests
    assert {"pyproject.toml", "README.md", "LICENSE"} <= set(names)


@pytest.mark.processes
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


@pytest.mark.processes
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


@functools.cache
def requirement_closure(extra: str) -> frozenset[str]:
    """The distributions ``lstm-core[extra]`` installs, with theirs (this project's extras from
    pyproject.toml, the others' requirements from their installed metadata)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    this = canonicalize_name(project["name"])
    seen, todo = set(), [(Requirement(f"{this}[{extra}]"), "")]
    while todo:
        requirement, wanted_by = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": wanted_by}):
            continue
        name = canonicalize_name(requirement.name)
        for wanted in requirement.extras or {""}:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            if name == this:
                more = project["optional-dependencies"][wanted] if wanted else []
                todo += [(Requirement(r), "") for r in [*project["dependencies"], *more]]
            else:
                todo += [(Requirement(r), wanted) for r in metadata.requires(name) or []]
    return frozenset(name for name, _ in seen)


@functools.cache
def providers() -> dict[str, list[str]]:
    """The installed distributions that provide each top-level module."""
    from importlib import metadata

    return metadata.packages_distributions()


def not_installed_by(extra: str, modules: set[str]) -> dict[str, list[str]]:
    """Those of ``modules`` that come from neither the standard library, this project nor a
    distribution ``lstm-core[extra]`` installs, with the distributions that provide them."""
    from packaging.utils import canonicalize_name

    installs = requirement_closure(extra)
    missing = {}
    for module in sorted(modules - set(sys.stdlib_module_names) - set(PACKAGES)):
        dists = {canonicalize_name(d) for d in providers().get(module, [])}
        if not dists & installs:
            missing[module] = sorted(dists)
    return missing


def imports_of(source: str) -> set[str]:
    """The top-level modules ``source`` imports: Python, or a code cell's (its MyST options and
    IPython's magics left out)."""
    source = re.sub(r"\A---\n.*?^---\n", "", source, flags=re.M | re.S)  # a YAML block of options
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    while lines and re.match(r":[\w-]+:", lines[0]):  # :tags: [remove-cell] and the like
        lines.pop(0)
    found = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_course_extra_installs_what_the_books_code_imports():
    """pyproject.toml: the course extra is "everything the book and the assignments need".
    Every module the book's executed cells import (and the course's own modules they import
    in turn, from book/ and tests/) comes from the standard library, this project, or a
    distribution ``lstm-core[course]`` installs. (Chapter 12 imports torch, which only the
    test extra had: ``pip install ".[course]"`` could not build the book.)"""
    cells = []
    for page in sorted((ROOT / "book").rglob("*.md")):
        cells += re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", page.read_text(), re.M | re.S)
    modules, todo, local = set(), [imports_of(c) for c in cells], set()
    while todo:
        for module in todo.pop() - modules:
            modules.add(module)
            for folder in ("book", "tests"):
                if (ROOT / folder / f"{module}.py").is_file():
                    local.add(module)
                    todo.append(imports_of((ROOT / folder / f"{module}.py").read_text()))
    assert {"numpy", "lstm_core", "matplotlib", "torch"} <= modules
    missing = not_installed_by("course", modules - local)
    assert not missing, f"imported by the book, not installed by lstm-core[course]: {missing}"


def package_imports(*parts: str, leave_out=()) -> set[str]:
    """The top-level modules the package folder ``parts`` imports anywhere (lazily too)."""
    files = sorted(ROOT.joinpath(*parts).rglob("*.py"))
    found = set()
    for f in files:
        if not any(f.is_relative_to(ROOT.joinpath(*parts, o)) for o in leave_out):
            found |= imports_of(f.read_text())
    return found


def test_each_package_imports_only_what_its_extra_installs():
    """lstm_core stays pure NumPy (its plots and widgets: matplotlib and ipywidgets, from the
    course extra); lstm_grading imports what the grader extra installs, its cluster/ what the
    cluster extra does."""
    core = package_imports("lstm_core", leave_out=("plots.py", "widgets.py"))
    assert core - set(sys.stdlib_module_names) == {"numpy"}
    assert not_installed_by("course", package_imports("lstm_core")) == {}
    grading = package_imports("lstm_grading", leave_out=("cluster",))
    assert {"nbgrader", "nbformat", "psutil"} <= grading
    assert not_installed_by("grader", grading) == {}
    cluster = package_imports("lstm_grading", "cluster")
    assert "distributed" in cluster
    assert not_installed_by("cluster", cluster) == {}


def test_the_graders_package_list_is_its_extra_and_what_it_imports():
    """``lstm_grading.inputs.GRADER_PACKAGES`` (what ``require_grader`` looks for) holds every
    distribution of the grader extra but NumPy (lstm-core's own requirement), each with a
    module that distribution provides, and every module lstm_grading imports outside cluster/
    that does not come with Python, this project or NumPy."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from lstm_grading.inputs import GRADER_PACKAGES

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {
        canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["grader"]
    }
    assert {canonicalize_name(d) for d in GRADER_PACKAGES} == extra - {"numpy"}
    for dist, module in GRADER_PACKAGES.items():
        provided = {canonicalize_name(d) for d in providers().get(module, [])}
        assert canonicalize_name(dist) in provided, (dist, module, provided)
    imported = package_imports("lstm_grading", leave_out=("cluster",))
    third_party = imported - set(sys.stdlib_module_names) - set(PACKAGES) - {"numpy"}
    assert third_party <= set(GRADER_PACKAGES.values()), third_party - set(GRADER_PACKAGES.values())


@pytest.fixture
def numpy_only(tmp_path) -> list[str]:
    """This checkout's Python, finding the standard library, this checkout's packages and NumPy
    and nothing else installed (``-S``: no site-packages; a folder of links to NumPy and its
    bundled libraries instead), as the start of ``python -c`` (append the code): lstm-core
    without an extra, as ``pip install lstm-core`` leaves it."""
    numpy_dir = Path(__import__("numpy").__file__).resolve().parent
    only = tmp_path / "site"
    only.mkdir()
    for path in numpy_dir.parent.glob("numpy*"):  # numpy/, numpy.libs/, numpy-*.dist-info/
        (only / path.name).symlink_to(path)
    return [
        sys.executable,
        "-S",
        "-c",
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(only)!r}]; ",
    ]


def lstm_autograde(numpy_only: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``lstm-autograde args`` (``python -m lstm_grading``) in the ``numpy_only`` Python."""
    *python, code = numpy_only
    main = "import runpy; runpy.run_module('lstm_grading', run_name='__main__', alter_sys=True)"
    return subprocess.run(
        [*python, code + main, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


MISSING = (
    "the grader's packages nbgrader, sqlalchemy, ipykernel, ipython, jupyter_client, nbclient, "
    "nbconvert, beautifulsoup4, nbformat, pyzmq, psutil are not installed here (lstm-core "
    'alone installs NumPy only); in the course\'s checkout: pip install -e ".[grader]"'
)


@pytest.mark.parametrize(
    "args, message",
    [
        (["ps01_activations"], f"lstm-autograde: {MISSING}"),
        (["ps01_activations", "--jobs", "1", "--no-feedback"], f"lstm-autograde: {MISSING}"),
        (
            ["ps01_activations", "--cluster", "local:1"],
            "lstm-autograde: the cluster mode needs Dask; in the course's checkout: "
            'pip install -e ".[cluster]"',
        ),
        (
            ["export", "--canvas", "c.csv", "--column", "Problem set 1", "--assignment", "ps01"],
            f"lstm-autograde export: {MISSING}",
        ),
    ],
    ids=["grade", "grade-with-options", "cluster", "export"],
)
@pytest.mark.processes
def test_without_the_grader_extra_the_command_says_what_to_install(
    numpy_only, tmp_path, args, message
):
    """``pip install lstm-core`` installs NumPy only: lstm-autograde then stops with one line
    naming the missing packages and the command that installs them (it raised a traceback
    ending in ``No module named 'nbgrader'``), exit status 2, before looking at the course
    (there is none here). Its --help needs none of them."""
    *python, code = numpy_only
    probe = subprocess.run(
        [*python, code + "import numpy, lstm_grading, nbgrader"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stderr.endswith("No module named 'nbgrader'\n"), probe.stderr  # the set-up
    run = lstm_autograde(numpy_only, *args, cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", message + "\n")
    helped = lstm_autograde(numpy_only, *args[:1], "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "usage: lstm-autograde" in helped.stdout, helped.stderr

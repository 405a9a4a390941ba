"""The claims the pages about running the course make about the code and the tools, checked.

The instructor and student guides, the accessibility page, the assignment pages, the intro and
the README quote defaults, option names, Makefile targets, file names, function signatures and
the names of tests and attacks. Each test reads the page and compares what it says with the
code's own value (a dataclass default, argparse's parser, nbgrader's and Dask's command lines,
the Makefile, the tests' source), so that a change on either side fails. The chapters' claims
are in tests/test_book_claims.py. Fast: no kernel, no built book.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import io
import json
import os
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

import lstm_core as lc
from lstm_grading import (
    canvas,
    cli,
    inputs,
    job,
    parallel,
    safe_copy,
    submission_checks,
)
from lstm_grading.cluster import connect
from lstm_grading.cluster.coordinator import WORKER_TIMEOUT
from lstm_grading.job import Limits

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 8: "eight"}

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TESTS = ROOT / "tests"
HOSTILE = TESTS / "hostile"
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ASSIGNMENT_PAGES = sorted((BOOK / "assignments").glob("ps*.md"))
# The pages about running the course (the chapters are tests/test_book_claims.py's).
PAGES = {
    "instructor-guide": BOOK / "instructor-guide.md",
    "student-guide": BOOK / "student-guide.md",
    "accessibility": BOOK / "accessibility.md",
    "intro": BOOK / "intro.md",
    "assignments": BOOK / "assignments" / "index.md",
    **{p.stem: p for p in ASSIGNMENT_PAGES},
    "README": ROOT / "README.md",
}
OPTION = r"(?<![\w-])--[a-z][\w-]*"


def text(name: str) -> str:
    """A page by its key in PAGES, or any page of book/ by its file name."""
    return (PAGES[name] if name in PAGES else BOOK / name).read_text(encoding="utf-8")


def flat(name: str) -> str:
    """The page with every run of white space one space (a quote may wrap across lines)."""
    return " ".join(text(name).split())


def fmt(x: float) -> str:
    return f"{x:g}"


def inline_code(markdown: str) -> list[str]:
    """The inline code spans, white space squashed, without MyST roles' ({doc}`...`)."""
    spans = re.findall(r"(\{[\w-]+\})?`([^`]+)`", markdown)
    return [" ".join(code.split()) for role, code in spans if not role]


@dataclass
class Block:
    """A paragraph, list item or table row of prose, or one fenced code block, of a page."""

    section: str
    kind: str  # "prose", or the code fence's language
    text: str

    def spans(self) -> list[str]:
        """The inline code of a prose block, white space squashed ({doc}`...` roles left out)."""
        if self.kind != "prose":
            return []
        return inline_code(self.text)

    def commands(self) -> list[str]:
        """A bash block's command lines, continuations joined and comments removed."""
        lines = self.text.replace("\\\n", " ").splitlines()
        return [c for c in (re.sub(r"(^|\s)#.*$", "", line).strip() for line in lines) if c]


def blocks(name: str, page: str | None = None) -> list[Block]:
    """The page's blocks (``page``: its text, if not the file's)."""
    out: list[Block] = []
    section, fence, buf = "", None, []

    def flush(kind: str) -> None:
        if buf:
            out.append(Block(section, kind, "\n".join(buf)))
            buf.clear()

    for line in (page if page is not None else text(name)).splitlines():
        if fence is not None:
            if line.startswith("```"):
                flush(fence)
                fence = None
            else:
                buf.append(line)
        elif line.startswith("```"):
            flush("prose")
            fence = line[3:].strip() or "text"
        elif line.startswith("#"):
            flush("prose")
            section = line.lstrip("#").strip()
        else:
            if not line.strip() or re.match(r"\s*(\||- |\d+\. )", line):
                flush("prose")
            if line.strip():
                buf.append(line)
    flush("prose")
    return out


def code_mentions(name: str) -> list[str]:
    """Every inline code span and bash command line of a page."""
    found = []
    for b in blocks(name):
        found += b.spans()
        if b.kind in ("bash", "sh"):
            found += b.commands()
    return found


# -- Makefile ----------------------------------------------------------------------------------


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):(?!=)", MAKEFILE, re.M))


def test_every_make_command_the_pages_give_is_a_makefile_target():
    """`make X` anywhere in the book or README is a target; `make autograde VAR=...` passes
    variables the Makefile reads, AUTOGRADE_FLAGS to lstm-autograde."""
    pages = [*PAGES, *(p.name for p in BOOK.glob("*.md") if p.stem not in PAGES)]
    mentioned: set[str] = set()
    variables: set[str] = set()
    for name in pages:
        for code in code_mentions(name):
            for m in re.finditer(r"(?<![\w/.-])make ((?:[a-z][\w-]*)(?: [A-Z_]+=\S+)*)", code):
                target, *assignments = m.group(1).split()
                mentioned.add(target)
                variables |= {a.split("=", 1)[0] for a in assignments}
    assert {"install", "book", "test", "exercises", "autograde", "test-fast"} <= mentioned
    assert mentioned <= make_targets(), mentioned - make_targets()
    assert variables == {"ASSIGNMENT", "AUTOGRADE_FLAGS"}
    assert all(f"$({v})" in MAKEFILE for v in variables)
    assert re.search(r"lstm-autograde \$\(ASSIGNMENT\) \$\(AUTOGRADE_FLAGS\)", MAKEFILE)


def test_what_the_pages_say_make_book_and_make_test_do():
    """intro: `make test` builds the book while the fast tier runs, then the rest; README:
    and installs Debian's chromium; intro: the built book opens at _build/html/index.html;
    README: `make test-fast` is the suite without the slow tier; CI's .ci/run is `make test`."""
    prerequisites = re.search(r"^test: ([^#\n]*)", MAKEFILE, re.M).group(1).split()
    assert "chromium" in prerequisites
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", MAKEFILE, re.M).group(1)
    book = recipe.index("$(MAKE) --no-print-directory book;")
    assert recipe.index('$(PYTEST) -m "not slow"') < book < recipe.index("$(PYTEST) -m slow")
    pytest = (
        "PYTHONDONTWRITEBYTECODE= OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest"
    )
    assert f"\nPYTEST := {pytest}\n" in MAKEFILE
    assert "# build the book beside the tests that need no kernel or browser, then the rest" in (
        text("intro")
    )
    assert "the same set-up (plus Debian's chromium)" in text("README")
    assert "Open file://$(CURDIR)/_build/html/index.html" in MAKEFILE
    assert "Open `_build/html/index.html` in a browser" in flat("intro")
    fast = re.search(r"^test-fast:.*\n((?:\t.*\n)+)", MAKEFILE, re.M).group(1)
    assert '$(PYTEST) -m "not slow and not processes" -n $(TEST_WORKERS) --dist loadgroup' in fast
    assert re.search(r"^exec make test$", (ROOT / ".ci" / "run").read_text(), re.M)
    assert "CI runs `.ci/run`, which is `make test`" in flat("README")


# -- command-line options ----------------------------------------------------------------------

# (a command's start, the program whose options it takes); helm's are not checked here.
PROGRAMS = [
    (r"(?:\S*/)?lstm-autograde export\b", "lstm-autograde export"),
    (r"(?:\S*/)?lstm-autograde\b", "lstm-autograde"),
    (r"make autograde\b", "lstm-autograde"),  # AUTOGRADE_FLAGS go to lstm-autograde
    (r"(?:\S*/)?nbgrader (\w+)", "nbgrader {}"),
    (r"dask (scheduler|worker|ssh)\b", "dask {}"),
    (r"(?:python3? )?(?:\S*/)?(bench_\w+\.py)\b", "{}"),  # any script of benchmarks/
    (r"helm\b", "helm"),
    (r"jupyter lab\b", "jupyter lab"),
    (r"timeout\b", "timeout"),  # coreutils'
]
# What a bare `--option` in prose belongs to when its paragraph names no program.
DEFAULT_PROGRAMS = {
    ("instructor-guide", "Grades back to Canvas"): {"lstm-autograde export"},
    ("instructor-guide", None): {"lstm-autograde"},
    ("README", "Performance"): {"bench_grading.py", "lstm-autograde"},  # the benchmark's
    ("README", None): {"lstm-autograde"},
}


def help_options(help_text: str) -> frozenset[str]:
    return frozenset(re.findall(OPTION, help_text))


@functools.cache
def options(program: str) -> frozenset[str] | None:
    """The long options ``program`` accepts (None: not checked)."""
    if program == "lstm-autograde":
        return help_options(cli.parser().format_help())
    if program == "lstm-autograde export":
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            canvas.main(["--help"])
        return help_options(out.getvalue())
    if program.startswith("nbgrader "):
        from nbgrader.apps import NbGraderApp
        from traitlets.utils.importstring import import_item

        sub = program.split()[1]
        assert sub in NbGraderApp.subcommands, f"nbgrader has no subcommand {sub}"
        app = NbGraderApp.subcommands[sub][0]
        app = import_item(app) if isinstance(app, str) else app
        return frozenset(f"--{k}" for k in [*app.flags, *app.aliases] if len(k) > 1)
    if program.startswith("dask "):
        module = importlib.import_module(f"distributed.cli.dask_{program.split()[1]}")
        return frozenset(o for p in module.main.params for o in p.opts if o.startswith("--"))
    if program.startswith("bench_") and program.endswith(".py"):
        tree = ast.parse((ROOT / "benchmarks" / program).read_text())
        return frozenset(
            a.value
            for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "add_argument"
            for a in call.args
            if isinstance(a, ast.Constant) and str(a.value).startswith("--")
        )
    if program == "timeout":
        import subprocess

        done = subprocess.run(["timeout", "--help"], capture_output=True, text=True, check=True)
        return help_options(done.stdout)
    if program == "jupyter lab":
        from jupyterlab.labapp import LabApp

        return frozenset(f"--{k}" for k in [*LabApp.flags, *LabApp.aliases] if len(k) > 1)
    assert program == "helm", program
    return None


def program_at_start(command: str) -> str | None:
    command = re.sub(r"^(?:[A-Z_]+=\S*\s+)+", "", command)  # environment assignments
    for pattern, program in PROGRAMS:
        m = re.match(pattern, command)
        if m:
            return program.format(*m.groups())
    return None


def programs_named(spans: list[str]) -> set[str]:
    return {
        program.format(*m.groups())
        for span in spans
        for pattern, program in PROGRAMS
        for m in re.finditer(r"(?<![\w-])" + pattern.removeprefix(r"(?:\S*/)?"), span)
    }


def misplaced_options(name: str, page: str | None = None) -> tuple[list[str], set[str]]:
    """(options a page gives to a program that does not take them, every option checked)."""
    wrong, checked = [], set()

    def check(opts, allowed_programs, where):
        allowed = set()
        for program in allowed_programs:
            known = options(program)
            if known is None:
                return
            allowed |= known
        for opt in opts:
            checked.add(opt)
            if opt not in allowed:
                wrong.append(f"{name}: {opt} in {where!r} ({sorted(allowed_programs)})")

    for b in blocks(name, page):
        if b.kind in ("bash", "sh"):
            for command in b.commands():
                opts = re.findall(OPTION, command)
                program = program_at_start(command)
                if opts:
                    check(opts, {program} if program else set(), command)
            continue
        spans = b.spans()
        default = DEFAULT_PROGRAMS.get((name, b.section), DEFAULT_PROGRAMS.get((name, None)))
        around = programs_named(spans) | (default or set())
        for span in spans:
            opts = re.findall(OPTION, span)
            program = program_at_start(span)
            if program:
                check(opts, {program}, span)
            elif opts:
                check(opts, around, span)
    return wrong, checked


@pytest.mark.parametrize("name", ["instructor-guide", "README"])
@pytest.mark.processes
def test_every_option_the_page_gives_exists_for_its_command(name):
    """Options in commands (`lstm-autograde ...`, `nbgrader autograde ... --student`,
    `dask worker ... --nthreads 1`, `bench_grading.py --rounds 3`) are options of that
    command; a bare `--option` in a paragraph is one of a command the paragraph names (the
    Canvas section's are `lstm-autograde export`'s, elsewhere `lstm-autograde`'s)."""
    wrong, checked = misplaced_options(name)
    assert not wrong, "\n".join(wrong)
    expected = {
        "instructor-guide": {"--worker-timeout", "--key", "--student", "--to", "--nthreads"},
        "README": {"--allow-insecure", "--canvas", "--submissions", "--hostile"},
    }[name]
    assert expected <= checked


@pytest.mark.processes
def test_the_option_check_reads_every_benchmark_scripts_options():
    """The check read the options of bench_grading.py only, so the README's `python
    benchmarks/bench_lstm.py --rounds 7` was checked against nothing: an option that script
    does not take (here bench_grading.py's `--submissions`) passed. Every script of
    benchmarks/ named in a command is now checked against its own add_argument calls."""
    readme = text("README")
    page = readme.replace("bench_lstm.py --rounds 7", "bench_lstm.py --submissions 7")
    assert page != readme
    wrong, _ = misplaced_options("README", page)
    assert len(wrong) == 1 and "--submissions" in wrong[0] and "bench_lstm.py" in wrong[0]
    assert "--rounds" in options("bench_lstm.py") and "--company-seeds" in options(
        "bench_training.py"
    )


# --student with its id apart, as a command gives it: `--student alice`, not `--student=alice`
STUDENT_APART = re.compile(r"--student[ \t]+[^\s`]+")


def test_every_student_id_the_pages_pass_to_nbgrader_is_joined_to_its_option():
    """instructor guide: one command wrote `--student=doejohn` (with `=`, "so that an id starting
    with a dash is not read as an option", as the grader passes it), another `--student alice`,
    which with such an id gives nbgrader an option it does not know. Every `--student` a page
    gives takes its id with `=`."""
    found = [f"{name}: {m.group()}" for name in PAGES for m in STUDENT_APART.finditer(text(name))]
    assert not found, found
    assert "--student=doejohn" in text("instructor-guide")
    # an option named in prose, `--student`, is not a command (it was taken for one)
    assert not STUDENT_APART.search("nbgrader's `--student` is a glob; `--student=a`")
    assert STUDENT_APART.search("nbgrader autograde ps01 --student -dash")
    # an id nbgrader takes as an argument, not an option's value: `nbgrader db student add ID`
    # read a leading dash as an option; `--` first ends the options (the guide, and
    # lstm_grading.canvas's hint for a student not in the gradebook)
    sources = {p.name: p.read_text() for p in [*BOOK.rglob("*.md"), ROOT / "README.md"]}
    sources |= {p.name: p.read_text() for p in (ROOT / "lstm_grading").rglob("*.py")}
    bare = re.compile(r"nbgrader db student (?:add|remove)\s+(?!--\s)\S+")
    found = [f"{name}: {m.group()}" for name, t in sources.items() for m in bare.finditer(t)]
    assert not found, found
    assert "`nbgrader db student add -- ID`" in flat("instructor-guide")


@pytest.mark.processes
def test_nbgrader_db_student_add_takes_an_id_that_starts_with_a_dash_after_a_double_dash(
    tmp_path,
):
    """instructor guide: `nbgrader db student add -- ID` (with `--`, so that an id starting
    with a dash is not read as an option). Without it, nbgrader's parser takes `-dash` for an
    option and adds no one; with it, the student is added under that id."""
    from course import run_forked
    from nbgrader.api import Gradebook

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = run_forked(["db", "student", "add", "-dash"], tmp_path, env)
    assert done.returncode != 0 and "argument -dash" in done.stdout, done.stdout
    done = run_forked(["db", "student", "add", "--", "-dash"], tmp_path, env)
    assert done.returncode == 0, done.stdout
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assert [student.id for student in gb.students] == ["-dash"]


def test_every_option_of_lstm_autograde_is_in_the_guide():
    """The other way round: each long option `lstm-autograde --help` and `lstm-autograde export
    --help` list is named in the instructor guide (found in an instructor's walk: --course, in
    --help, was in no page)."""
    guide = set(re.findall(OPTION, text("instructor-guide")))
    for program in ("lstm-autograde", "lstm-autograde export"):
        missing = options(program) - guide - {"--help"}
        assert not missing, f"{program}: {sorted(missing)} not in the guide"


@pytest.mark.processes
def test_the_option_check_catches_a_misplaced_option():
    """The check above fails on an option a command does not take (here `--scale`, which is
    `lstm-autograde export`'s, given to `lstm-autograde`)."""
    page = text("instructor-guide").replace(
        "--no-feedback`, `--no-export`)", "--no-feedback`, `--scale`)"
    )
    assert page != text("instructor-guide")
    wrong, _ = misplaced_options("instructor-guide", page)
    assert len(wrong) == 1 and "--scale" in wrong[0]


def test_lstm_autograde_is_the_installed_command_and_its_extras_exist():
    """`lstm-autograde` is the project's script; `pip install "lstm-core[grader]"`,
    `[cluster]`, `[grader,cluster]` name extras that exist; `make install` installs both."""
    assert PYPROJECT["project"]["scripts"]["lstm-autograde"] == "lstm_grading.cli:main"
    assert PYPROJECT["project"]["name"] == "lstm-core"
    extras = PYPROJECT["project"]["optional-dependencies"]
    named = set()
    for name in PAGES:
        for group in re.findall(r"lstm-core\[([\w,]+)\]", text(name)):
            named |= set(group.split(","))
    assert {"grader", "cluster"} <= named <= set(extras)
    checkout = set()  # `pip install -e ".[grader]"` from a checkout: the same extras
    for group in re.findall(
        r"""pip install (?:-e )?["']\.\[([\w,]+)\]["']""", text("instructor-guide")
    ):
        checkout |= set(group.split(","))
    assert {"grader", "cluster"} <= checkout <= set(extras)
    installed = re.search(r"pip install .* -e '\.\[(\w+)\]'", MAKEFILE).group(1)
    assert {f"lstm-core[{e}]" for e in ("grader", "cluster")} <= set(extras[installed])
    assert "(`make install` installs it)" in text("instructor-guide")


# -- defaults and values quoted in the prose ----------------------------------------------------


def nbgrader_config(monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.delenv("LSTM_GRADING_CELL_TIMEOUT", raising=False)
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def escape_code(name: str) -> str:
    spec = json.loads((HOSTILE / "escape" / f"{name}.json").read_text())
    return "\n".join(spec["append"].values())


def canvas_cli_defaults(monkeypatch) -> dict:
    """The options `lstm-autograde export` passes when only the required ones are given."""
    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise ValueError("recorded")

    monkeypatch.setattr(canvas, "export_canvas", record)
    with contextlib.redirect_stderr(io.StringIO()):
        assert canvas.main(["--canvas", "c.csv", "--column", "P", "--assignment", "a"]) == 2
    return seen


def dask_defaults() -> dict:
    import distributed
    import yaml

    path = Path(distributed.__file__).parent / "distributed.yaml"
    return yaml.safe_load(path.read_text())["distributed"]


def test_plain_nbgrader_stops_each_kernel_as_lstm_autograde_does(monkeypatch):
    """nbgrader_config.py's comment: plain ``nbgrader autograde`` stops a submission's kernel
    at once after its last cell, as lstm-autograde's jobs do (lstm_grading/private_course.py)."""
    assert nbgrader_config(monkeypatch).Execute.shutdown_kernel == "immediate"
    job = (ROOT / "lstm_grading" / "private_course.py").read_text()
    assert '"--Execute.shutdown_kernel=immediate"' in job


def test_defaults_the_pages_quote_are_the_codes(monkeypatch):
    """Each (page, phrase) quotes a value read from the code: the limits' dataclass defaults,
    the command lines' defaults, nbgrader_config.py, the attacks' code, Dask's defaults."""
    L = Limits()
    config = nbgrader_config(monkeypatch)
    guard = [a for a in config.Execute.extra_arguments if a.startswith("--KernelGuard.timeout=")]
    cell = int(guard[0].split("=")[1])
    args = cli.parser().parse_args(["ps01_activations"])
    shm = re.search(r"shmget\([^,]+,\s*(\d+) << 20\b", escape_code("sysv_shm")).group(1)
    disk = escape_code("disk_filling")
    assert re.search(r"urandom\(1 << 20\)", disk)  # files of 1 MiB
    disk_files = re.search(r"range\((\d+)\)", disk).group(1)
    failures = connect.ALLOWED_FAILURES
    dask_conf = dask_defaults()
    from distributed.cli import dask_scheduler

    (dashboard,) = [p.default for p in dask_scheduler.main.params if p.name == "dashboard_address"]
    keys = canvas_cli_defaults(monkeypatch)
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    minimum_python = re.fullmatch(r">=(\d+\.\d+)", PYPROJECT["project"]["requires-python"])[1]
    table = [
        # the cycle and the layout
        (
            "instructor-guide",
            f"Each cell has a time limit ({cell} s, or `LSTM_GRADING_CELL_TIMEOUT`",
        ),
        ("instructor-guide", f"an nbgrader course (`{config.CourseDirectory.course_id}`)"),
        ("instructor-guide", f"| `{config.CourseDirectory.source_directory}/<id>/` | source |"),
        ("instructor-guide", f"| `{config.CourseDirectory.release_directory}/<id>/` | release |"),
        # lstm-autograde's limits: the table and the prose
        ("instructor-guide", f"| time per cell | {L.cell_timeout} s |"),
        ("instructor-guide", f"| time per notebook | {L.notebook_timeout} s |"),
        ("instructor-guide", f"| memory per process | {L.memory_mb} MiB |"),
        ("instructor-guide", f"| processes | {L.nproc} per worker slot |"),
        ("instructor-guide", f"| output per cell | {fmt(L.output_bytes / 1e6)} MB |"),
        ("instructor-guide", f"| file size | {L.file_mb} MiB |"),
        ("instructor-guide", f"| disk | {L.disk_mb} MiB |"),
        ("instructor-guide", f"| files kept | {fmt(L.return_mb)} MiB |"),
        ("instructor-guide", f"up to `--return-mb` ({fmt(args.return_mb)} MiB) per student"),
        ("instructor-guide", f"`--worker-timeout` ({fmt(WORKER_TIMEOUT)} s)"),
        ("instructor-guide", f"(timeout: not done after {L.notebook_timeout} s)"),
        # what a job is given of a submission (safe_copy's budget)
        ("instructor-guide", f"holds more than {safe_copy.MAX_TOTAL_ENTRIES} entries."),
        (
            "instructor-guide",
            f"down to {safe_copy.MAX_DEPTH} folders deep, the first {safe_copy.MAX_ENTRIES} "
            "entries of each folder",
        ),
        # the attacks
        ("instructor-guide", f"(`sysv_shm`, a {shm} MiB `shmget` segment)"),
        ("instructor-guide", f"(`disk_filling`, {disk_files} MiB): {fmt(L.return_mb)} MiB come"),
        (
            "instructor-guide",
            "one with `*` or `?`, or a `[...]` set, which nbgrader reads as a pattern",
        ),
        ("instructor-guide", "or one that starts with a dot (a hidden folder"),
        # Canvas
        ("instructor-guide", f"`--key` (`{keys['key']}` by default"),
        ("instructor-guide", f"| {keys['missing']}, or 0 with `--missing zero` |"),
        # what lstm-autograde refuses before taking the lock
        ("instructor-guide", f"`--jobs` beyond {NUMBER_WORDS[inputs.WORKERS_PER_CORE]} per core"),
        ("instructor-guide", "a time per cell of more than a day, `--jobs`"),
        ("instructor-guide", "`--worker-timeout` without a cluster"),
        # the nbgrader whose failures OverwriteCellsQuietly works around: the pinned one
        ("instructor-guide", f"nbgrader {pins['nbgrader']} alone fails the whole submission"),
        # Dask
        ("instructor-guide", f"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES={failures} dask"),
        ("instructor-guide", f'"distributed.scheduler.allowed-failures": {failures}'),
        ("instructor-guide", f"killed, {failures + 1} times"),
        ("instructor-guide", f"(Dask's default is {dask_conf['scheduler']['allowed-failures']})"),
        ("instructor-guide", f"the dashboard port ({dashboard.rsplit(':', 1)[1]}:"),
        ("instructor-guide", f"--dashboard-address 127.0.0.1:{dashboard.rsplit(':', 1)[1]}"),
        # the README
        ("README", f"machine with Python {minimum_python}, `make`"),
        ("README", f"PyTorch {pins['torch']} CPU as the test oracle"),
        ("README", "(strict pytest: warnings are errors)"),
    ]
    missing = [f"{page}: {phrase!r}" for page, phrase in table if phrase not in flat(page)]
    assert not missing, "\n".join(missing)
    # the values behind the phrases that do not show them
    assert cell == L.cell_timeout == args.cell_timeout
    for name in ("cell_timeout", "notebook_timeout"):  # "more than a day"
        assert job.LIMIT_RULES[name].high == inputs.DAY == 24 * 60 * 60
    assert all(rule.problem(0) for rule in job.LIMIT_RULES.values())  # "a limit of 0"
    assert config.OverwriteCells.add_missing_cells is True
    guide = flat("instructor-guide")
    assert "puts deleted grade cells back (`add_missing_cells`)" in guide
    assert {1: "once", 2: "twice"}[failures] + " with `--cluster local:N`" in guide
    also = re.search(r"often the university e-mail address; also (.*?)\)", flat("instructor-guide"))
    assert set(re.findall(r"`([^`]+)`", also.group(1))) <= set(canvas.ID_COLUMNS)
    assert f"torch=={pins['torch']}" in PYPROJECT["project"]["optional-dependencies"]["test"]
    assert PYPROJECT["tool"]["pytest"]["ini_options"]["filterwarnings"] == ["error"]


def test_what_the_guide_says_of_stopping_a_run_and_of_the_connection():
    """Ctrl-C, SIGTERM and SIGHUP stop a run with 128 + the signal (130, 143 and 129); the
    connection to a scheduler waits at most 60 s, or --worker-timeout if shorter."""
    import signal

    guide = flat("instructor-guide")
    assert set(cli.STOP_SIGNALS) == {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    codes = [128 + s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
    assert "exit status 128 + the signal's number: {}, {} and {}".format(*codes) in guide
    assert f"which is otherwise at most {fmt(connect.CONNECT_TIMEOUT)} s" in guide


@pytest.mark.processes
def test_timeout_reports_a_stopped_run_as_the_guide_says():
    """`timeout` sends SIGTERM, but reports 124 for the command it stopped, and the command's
    own 143 only with `--preserve-status` (found in an instructor's walk: `timeout 6
    lstm-autograde ...` exited 124, the guide said 143). Shown on `sleep 600`, which `timeout`
    stops long before it could end."""
    import subprocess

    guide = flat("instructor-guide")
    assert "reported by `timeout` as 124 instead, unless it is `timeout --preserve-status`" in guide
    for options, status in (([], 124), (["--preserve-status"], 128 + 15)):
        done = subprocess.run(["timeout", *options, "0.1", "sleep", "600"], check=False)
        assert done.returncode == status, options


def test_zip_collect_reads_the_canvas_file_names_the_guide_gives(monkeypatch):
    """The guide's Canvas file names, through the course's `named_regexp` as nbgrader applies
    it (to the whole path): the student id is Canvas's user id, the notebook its own name."""
    regexp = nbgrader_config(monkeypatch).FileNameCollectorPlugin.named_regexp
    guide = flat("instructor-guide")
    assert "`doejohn_12345_6789012_ps01_activations.ipynb`" in guide
    assert "(`doejohn_LATE_12345_...`)" in guide
    assert "`ID` column of Canvas's gradebook export" in guide and "--key ID" in guide
    assert "ID" in canvas.ID_COLUMNS
    for name in (
        "doejohn_12345_6789012_ps01_activations.ipynb",
        "doejohn_LATE_12345_6789012_ps01_activations.ipynb",
        "doejohn_12345_6789012_ps01_activations-1.ipynb",
    ):
        m = re.match(regexp, f"/course/downloaded/ps01_activations/extracted/{name}")
        assert m and m["student_id"] == "12345" and m["file_id"] == "ps01_activations", name


def canvas_zip_name(sortable: str, late: bool, user_id: int, file_id: int, name: str) -> str:
    """A file's name in Canvas's Download Submissions zip, as canvas-lms's lib/content_zipper.rb
    (commit 05e9653c) makes it: get_filename joins the sanitized sortable name, "LATE" for a
    late submission and the user id with "_" (sanitize_user_name merges "_<digits>_" and lower-
    cases, sanitize_file_name keeps word characters), add_upload_submission appends "_<file
    id>_<display name>"."""
    user = re.sub(r"_(\d+)_", r"\1", sortable).lower()
    stem = re.sub(r"[^\w]", "", "_".join([user, *(["LATE"] if late else []), str(user_id)]))
    display = re.sub(r'[\x00/\\:*?"<>|]+', "_", name)  # sanitize_attachment_filename
    return f"{stem}_{file_id}_{display}"


def test_the_guide_cites_canvass_file_naming_and_the_pattern_reads_it(monkeypatch):
    """The guide said Canvas names each file `<name>_<user id>_<submission id>_<file name>`,
    tested only against the course's own pattern. Canvas's source (lib/content_zipper.rb) puts
    the uploaded file's attachment id there, not the submission's; the guide now says so and
    cites it, and Attachment.make_unique_filename for the "-1". The course's pattern reads the
    names made as that source makes them, and not an anonymous assignment's."""
    guide = flat("instructor-guide")
    assert "`<name>_<user id>_<file id>_<file name>`" in guide and "submission id" not in guide
    assert "<name>_<user id>_<file id>_<file name>" in (ROOT / "nbgrader_config.py").read_text()
    source = "https://github.com/instructure/canvas-lms/blob/"
    assert f"({source}05e9653c12ef7afc65815ca84e5da7aa2e4c3bd3/lib/content_zipper.rb)" in guide
    assert f"({source}145bcceff7cc99613a4e4e15aa368ec0790df8b6/app/models/attachment.rb)" in guide
    assert f"({source}3d8abf5c03eb02d6f8926a1c2e56db7c95617536/lib/anonymity.rb)" in guide
    regexp = nbgrader_config(monkeypatch).FileNameCollectorPlugin.named_regexp
    a = "ps01_activations"
    names = {
        canvas_zip_name("Doe, John", False, 12345, 6789012, f"{a}.ipynb"): "12345",
        canvas_zip_name("O'Neil-Smith, Ann", True, 987, 6789013, f"{a}-1.ipynb"): "987",
        canvas_zip_name("García, José", False, 4, 5, f"{a}-2.ipynb"): "4",
    }
    assert "doejohn_12345_6789012_ps01_activations.ipynb" in names  # the guide's example
    assert "oneilsmithann_LATE_987_6789013_ps01_activations-1.ipynb" in names
    for name, user in names.items():
        m = re.match(regexp, f"/course/downloaded/{a}/extracted/{name}")
        assert m and (m["student_id"], m["file_id"]) == (user, a), name
    # get_filename with no name: "anon_<anonymous id>", after "LATE_" for a late one; the id is
    # SecureRandom.base58(5) (canvas-lms's Anonymity.generate_short_id), so now and then all
    # digits, which the pattern read as a user id, the file id after it as the file's
    assert "`anon_<anonymous id>`" in guide and "which the course's pattern does not match" in guide
    anonymous = [
        f"anon_x7Kq2_6789014_{a}.ipynb",
        f"anon_12345_6789014_{a}.ipynb",
        f"LATE_anon_98765_6789015_{a}-1.ipynb",
        f"anon_x7Kq2_6789016_2024_{a}.ipynb",
    ]
    for name in anonymous:
        assert not re.match(regexp, f"/course/downloaded/{a}/extracted/{name}"), name
    # nbgrader's FileNameCollectorPlugin._match: what the guide says zip_collect logs
    from nbgrader.plugins import zipcollect

    assert "did not match anything" in inspect.getsource(zipcollect.FileNameCollectorPlugin._match)
    assert "skips those files with *did not match anything*" in guide
    # a re-upload under a taken name is a new file: its own id, and "-1" (handle_duplicates)
    assert "is a new file, with its own id, renamed with `-1`" in guide


def test_canvas_missing_and_map_options_are_as_described(tmp_path):
    """`--missing zero` is a choice of `--missing`; `--map FILE` is a CSV with the columns
    `student_id` and `canvas`."""
    assert "`--map FILE`, a CSV with the columns `student_id` and `canvas`" in flat(
        "instructor-guide"
    )
    good = tmp_path / "map.csv"
    good.write_text("student_id,canvas\nalice,alice@uni.example\n")
    assert canvas.read_mapping(good) == {"alice": "alice@uni.example"}
    bad = tmp_path / "bad.csv"
    bad.write_text("student,canvas\nalice,alice@uni.example\n")
    with pytest.raises(ValueError, match="student_id"):
        canvas.read_mapping(bad)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        canvas.main(["--help"])
    assert "[--missing {blank,zero}]" in " ".join(out.getvalue().split())


def test_the_pool_has_one_worker_more_than_the_cores(monkeypatch):
    """instructor guide, `--help` and README: `--jobs` defaults to one more than the cores."""
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 5)
    assert parallel.default_jobs() == 6
    assert cli.parser().parse_args(["a"]).jobs is None  # None: grade_assignment's default
    assert "(default: one more than the cores" in flat("instructor-guide")
    assert "(default: one more than the cores)" in " ".join(cli.parser().format_help().split())
    assert "pool's default (one more than the cores)" in flat("README")


def test_help_says_what_jobs_sets_with_a_cluster():
    """instructor guide and `--help`: with a cluster, `--jobs` sets the local processes that
    write the feedback (the grading's workers are Dask's, which `--jobs` does not set)."""
    from lstm_grading.cluster import coordinator

    assert "`--jobs` sets the local processes that generate the feedback" in flat(
        "instructor-guide"
    )
    shown = " ".join(cli.parser().format_help().split())
    assert (
        "worker processes on this machine: the pool's, or with a cluster those that write "
        "the feedback (default: one more than the cores)" in shown
    )
    source = inspect.getsource(coordinator.grade_assignment)
    assert source.count("Pool(jobs") == 1
    assert (  # the pool's only use, however deep the block is indented
        "with Pool(jobs, parallel.TASKS) as pool: "
        "parallel._feedback(pool, run, due, outcomes, manifest, marks)" in " ".join(source.split())
    )


def test_the_kernels_uid_and_the_jobs_memory_cgroup_are_as_described(monkeypatch):
    """instructor guide: the kernel's uid is `LSTM_GRADING_UID_BASE` + worker pid; the job's
    memory cgroup allows the kernel's memory + 1 GiB + the disk (the job's tmpfs)."""
    guide = flat("instructor-guide")
    assert "(`LSTM_GRADING_UID_BASE` + worker pid;" in guide
    some = job.Job("s", "a", "w", "t", Limits(), "full", slot=4321)
    monkeypatch.delenv("LSTM_GRADING_UID_BASE", raising=False)
    assert some.uid == inputs.DEFAULT_UID_BASE + 4321
    monkeypatch.setenv("LSTM_GRADING_UID_BASE", "3000000")
    assert some.uid == 3000000 + 4321
    assert "slot=os.getpid()" in inspect.getsource(parallel._grade_task)
    assert "| memory per job | + 1 GiB + disk |" in guide
    sandbox = (ROOT / "lstm_grading" / "sandbox.py").read_text()
    assert re.search(r"\(job\.limits\.memory_mb \+ 1024 \+ job\.limits\.disk_mb\) << 20", sandbox)


def test_the_flags_the_guide_lists_are_the_graders():
    """instructor guide: *Flags* ... (`os._exit`, `sys.exit`, `fork/subprocess`, ...): every
    flag of lstm_grading.submission_checks.SUSPICIOUS, and only names or patterns of those."""
    guide = flat("instructor-guide")
    listed = re.search(r"found in the student's own cells \((.*?)\), worth a look", guide)
    names = re.findall(r"`([^`]+)`", listed.group(1))
    flags = submission_checks.SUSPICIOUS
    assert set(flags) <= set(names), set(flags) - set(names)
    for name in names:
        assert name in flags or any(re.search(p, name) for p in flags.values()), name


def test_dask_settings_the_guide_gives_exist():
    """instructor guide: Dask's TLS settings (`distributed.comm.tls.ca-file`,
    `distributed.comm.tls.client.cert` and `.key`, DASK_DISTRIBUTED__COMM__TLS__CA_FILE), the
    scheduler's working folder (DASK_TEMPORARY_DIRECTORY),
    the Slurm example's Security(...) arguments, and `dask ssh` having no TLS flags."""
    import dask.config
    from distributed.security import Security

    guide = flat("instructor-guide")
    conf = {"distributed": dask_defaults()}
    for key in re.findall(r"`(distributed(?:\.[\w-]+)+)`", guide):
        node = conf
        for part in key.split("."):
            node = node[part]
    assert "`distributed.comm.tls.client.cert` and `.key`" in guide
    assert "key" in conf["distributed"]["comm"]["tls"]["client"]
    for var, key in [
        ("DASK_DISTRIBUTED__COMM__TLS__CA_FILE", "distributed.comm.tls.ca-file"),
        ("DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "distributed.scheduler.allowed-failures"),
        # `dask scheduler` has no --local-directory: without this it makes and leaves
        # /tmp/dask-scratch-space (seen following the guide on 127.0.0.1).
        ("DASK_TEMPORARY_DIRECTORY", "temporary-directory"),
    ]:
        assert var in guide
        assert dask.config.get(key, config=dask.config.collect_env({var: "7"})) == 7
    (slurm,) = [b.text for b in blocks("instructor-guide") if b.kind == "python"]
    (call,) = [
        n
        for n in ast.walk(ast.parse(slurm))
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "Security"
    ]
    Security(**{k.arg: ast.literal_eval(k.value) for k in call.keywords})  # unknown: TypeError
    assert "it has no TLS flags" in guide
    assert not any(o.startswith("--tls") for o in options("dask ssh"))
    assert {"--tls-ca-file", "--tls-cert", "--tls-key"} <= options("dask worker")


# -- names: tests, attacks, files, Python objects -----------------------------------------------


@functools.cache
def defined_tests() -> frozenset[str]:
    names = set()
    for path in TESTS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return frozenset(names)


def attacks() -> set[str]:
    return {p.stem for p in HOSTILE.rglob("*.json")}


def test_every_test_and_attack_the_pages_cite_exists():
    """`test_...` names on any page are test functions of tests/; the snake_case names in the
    threat model's list (`chmod_through_symlink`, `sysv_shm`, `disk_filling`, ...) are
    attacks of tests/hostile/ (the ids of the tests that run them) or tests."""
    cited = set()
    for name in PAGES:
        cited |= {s for s in code_mentions(name) if re.fullmatch(r"test_\w+", s)}
    assert "test_worker_killed_twice_is_reported_failed" in cited
    assert cited <= defined_tests(), cited - defined_tests()
    threat, listing = [], False
    for b in blocks("instructor-guide"):  # the list after "Each point, with the test that tries it"
        listing = (listing or "with the test that tries it" in b.text) and b.kind == "prose"
        listing = listing and not b.text.startswith("**Not contained.**")
        if listing and b.text.startswith("- "):
            snake = [s for s in b.spans() if re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", s)]
            threat += [s for s in snake if s != "lstm_grading"]
    assert {"chmod_through_symlink", "directory_symlink", "special_files", "sysv_shm"} <= set(
        threat
    )
    unknown = set(threat) - attacks() - defined_tests()
    assert not unknown, unknown


GENERATED = (
    "submitted/",
    "autograded/",
    "feedback/",
    "reports/",
    "_build/",
    ".venv/",
    "downloaded/",  # nbgrader zip_collect's: the files downloaded from the LMS
)
OUTPUTS = {"gradebook.db", "grades.csv", "summary.csv", "summary.json", "manifest.json"}
OUTPUTS |= {"timestamp.txt"}  # nbgrader collect's, beside a submission


def test_every_file_the_pages_name_exists():
    """Paths in inline code (`lstm_grading/jail.py`, `tests/hostile/escape/`, the grader's
    file table's `pool.py`, `benchmarks/bench_grading.py`, ...) exist in the repository;
    host paths (/tmp, /dev/shm), what a run or a build writes, and flag names are left out.
    The chapters, the glossary and the references are read too (they were not: a path a
    chapter names, such as ch11's `tests/test_real_data.py`, was checked by nothing)."""
    bases = [ROOT, ROOT / "lstm_grading", TESTS, BOOK, BOOK / "assets"]
    missing, checked = [], set()
    others = sorted(p.name for p in BOOK.glob("*.md") if p.stem not in PAGES)
    assert {"09-bptt.md", "glossary.md", "references.md"} <= set(others)
    for name in [*PAGES, *others]:
        for b in blocks(name):
            for s in b.spans():
                if not re.fullmatch(r"[\w.\-/]+", s) or re.fullmatch(r"\.\w+", s):
                    continue
                if not ("/" in s or re.search(r"\.(py|md|json|toml|yml|lock|js|css|txt)$", s)):
                    continue
                if s.startswith(("/", *GENERATED)) or s in OUTPUTS:
                    continue
                if s in submission_checks.SUSPICIOUS:
                    continue
                checked.add(s)
                if not any((base / s).exists() for base in bases):
                    missing.append(f"{name}: {s}")
    assert {"lstm_grading/jail.py", "tests/hostile/escape/", "pool.py", ".ci/run"} <= checked
    assert "tests/test_real_data.py" in checked  # named by ch11 only
    assert not missing, missing


GUIDE_ALIASES = {"lc": "lstm_core", "sandbox": "lstm_grading.sandbox"}


def resolve(dotted: str, aliases: dict[str, str] = GUIDE_ALIASES):
    """`lc.fit`, `lstm_core.HAND_WORKED_PARAMS`, `sandbox.grade_files` -> the object (a module,
    a function or a constant); ``aliases`` maps the short names the pages import to modules."""
    head, *rest = dotted.split(".")
    module = aliases.get(head, head)
    obj = importlib.import_module(module)
    for part in rest:
        module = f"{module}.{part}"  # where the next part is, if not an attribute yet
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(module)
    return obj


def test_resolve_finds_a_module_below_a_package_already_imported(tmp_path, monkeypatch):
    """`package.sub.leaf` with package.sub imported (an attribute of its package) and leaf
    not yet: before (found in review), leaf was looked for in the top package
    (`package.leaf`), so the check of a page's name such as `lstm_grading.hidden.contract`
    depended on what the worker's earlier tests had imported."""
    (tmp_path / "guide_pkg" / "sub").mkdir(parents=True)
    (tmp_path / "guide_pkg" / "__init__.py").write_text("")
    (tmp_path / "guide_pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "guide_pkg" / "sub" / "leaf.py").write_text("VALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("guide_pkg", "guide_pkg.sub", "guide_pkg.sub.leaf"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module("guide_pkg.sub")
    assert resolve("guide_pkg.sub.leaf.VALUE", {}) == 7
    assert resolve("guide_pkg.sub.leaf", {}) is sys.modules["guide_pkg.sub.leaf"]


def test_every_python_name_the_pages_use_exists_with_its_arguments():
    """`lc.fit(x, y, params)`, `lstm_core.HAND_WORKED_PARAMS`, `lstm_grading.kernel_guard`,
    `sandbox.grade_files`, nbgrader's `SaveAutoGrades`, ...: each exists, and a call's
    arguments are the first parameters of the function, in that order."""
    from nbgrader import api, preprocessors

    checked = set()
    for name in PAGES:
        for span in [s for b in blocks(name) for s in b.spans()]:
            m = re.fullmatch(
                r"((?:lc|lstm_core|lstm_grading|sandbox)(?:\.\w+)*)(?:\((.*)\))?", span
            )
            if not m or span.endswith(".py"):
                continue
            obj = resolve(m.group(1))
            checked.add(m.group(1))
            if m.group(2) is not None:
                given = [a.strip() for a in m.group(2).split(",") if a.strip() != "..."]
                params = list(inspect.signature(obj).parameters)
                assert params[: len(given)] == given, (name, span, params)
        for nb_name in re.findall(r"nbgrader's `(\w+)`", flat(name)):
            assert hasattr(preprocessors, nb_name) or hasattr(api, nb_name), nb_name
            checked.add(nb_name)
    assert {"lc.fit", "sandbox.grade_files", "lstm_core.HAND_WORKED_PARAMS"} <= checked
    assert {"SaveAutoGrades", "Gradebook", "LimitOutput"} <= checked


def test_readme_example_runs_and_gives_the_shapes_it_states():
    """README, "lstm_core in one screen": the example runs; its comments' shapes are right;
    `lc.GATES == ("i", "f", "o", "g")` holds."""
    (example,) = [b.text for b in blocks("README") if b.kind == "python"]
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    sizes = re.search(r"input_size=(\d+), hidden_size=(\d+)", example)
    N, T, D = namespace["x"].shape
    H = int(sizes.group(2))
    assert D == int(sizes.group(1)) and "# (N, T, D)" in example
    env = {"N": N, "T": T, "D": D, "H": H}

    def shape(expr: str):
        return eval(re.sub(r"(\d)([A-Z])", r"\1*\2", expr), {}, env)

    layout = re.search(r"\)  # (\{.*\})", example).group(1)
    for key, expr in re.findall(r'"(\w+)": (\([^)]*\))', layout):
        assert namespace["params"][key].shape == shape(expr), key
    assert namespace["hs"].shape == shape(re.search(r"# hs: (\(.*\))", example).group(1))
    (gates,) = [s for s in code_mentions("README") if s.startswith("lc.GATES ==")]
    assert eval(gates, {"lc": lc}) is True
    assert f"the parameter layout `{layout}`" in flat("ps02-gates")


# Options a caller must give, after `params`: which gate (lc.gate_params(params, "f")) and how
# many characters to sample. Data (a vocabulary, a state) never comes after `params`.
REQUIRED_OPTIONS = {"gate", "length"}


def test_lstm_core_takes_data_first_and_gradients_before_the_cache():
    """README: every public function takes the data it acts on first, then `params`, then
    options; backward functions take the gradients, then the cache."""
    assert "Every public function takes the data it acts on first, then `params`" in flat("README")
    for name in lc.__all__:
        fn = getattr(lc, name)
        if not inspect.isfunction(fn):
            continue
        params = list(inspect.signature(fn).parameters.values())
        names = [p.name for p in params]
        if "params" in names:
            before = params[: names.index("params")]
            assert all(p.default is p.empty for p in before), (name, names)
            after = [p.name for p in params[names.index("params") + 1 :] if p.default is p.empty]
            assert set(after) <= REQUIRED_OPTIONS, (name, names)
        if name.endswith("backward"):
            assert "cache" in names, name
            grads = names[: names.index("cache")]
            assert grads and all(g.startswith("d") for g in grads), (name, names)


def test_readme_lstm_core_defaults():
    """README: the buffer pool keeps at most 64 MiB per thread; the backward pass works in
    chunks of 10 steps."""
    from lstm_core import _workspace, lstm

    readme = flat("README")
    assert f"it keeps at most {_workspace.DEFAULT_LIMIT >> 20} MiB per thread" in readme
    assert _workspace.DEFAULT_LIMIT % (1 << 20) == 0
    assert f"for a chunk of {lstm.CHUNK} steps at once" in readme


def test_accessibility_standard_and_screens_are_the_tests():
    """accessibility page and README: WCAG 2.1 level AA, desktop and phone, light and dark,
    as tests/book_axe.py runs axe-core."""
    sys.path.insert(0, str(TESTS))
    try:
        import book_axe
    finally:
        sys.path.remove(str(TESTS))
    assert {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"} <= set(book_axe.AXE_TAGS)
    assert re.search(r"Guidelines \(WCAG\) 2\.1 at level AA\b", flat("accessibility"))
    assert [v[0] for v in book_axe.VIEWPORTS] == ["desktop", "phone"]
    assert "WCAG 2.1 AA: axe-core on every page of the built book (desktop and phone" in flat(
        "README"
    )


def test_the_accessibility_page_counts_and_names_the_pages_the_tests_audit():
    """accessibility page: "Pages | all N: every chapter, assignment and guide, search, index,
    home" left out the glossary, the references and the page itself, which the audit reads too
    (tests/test_book.py's ALL_PAGES: the table of contents and Sphinx's EXTRA_PAGES). The page
    counts the same pages from the same lists (it cannot import the tests: the public copy has
    none) and names them as they are."""
    sys.path.insert(0, str(TESTS))
    try:
        import test_book
    finally:
        sys.path.remove(str(TESTS))
    page = text("accessibility")
    extra = re.search(r"^extra = (\[.*?\])", page, re.M).group(1)
    assert ast.literal_eval(extra) == test_book.EXTRA_PAGES
    assert 'pages = len(parse_toc_yaml(ROOT / "_toc.yml")) + len(extra)' in page
    assert "every chapter, assignment and guide, search, index, home" not in page
    assert "every page of the table of contents, the search page, the " in page
    assert {"glossary", "references", "accessibility"} <= {
        name.rsplit("/", 1)[-1] for name in test_book.toc_docnames()
    }


def test_intro_build_and_assets_claims():
    """intro: a second build re-runs only the pages whose code changed (the execution cache);
    npm fetches pinned copies of MathJax and the widget manager."""
    config = (ROOT / "_config.yml").read_text()
    assert re.search(r"^\s*execute_notebooks: cache\b", config, re.M)
    assert "a second build only re-runs the chapters whose code changed" in flat("intro")
    deps = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for package in ("mathjax", "@jupyter-widgets/html-manager"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", deps[package]), package  # pinned, not a range
    assert "npm fetches the pinned copies of MathJax and the widget manager" in flat("intro")


def test_the_hub_menus_and_buttons_the_guides_name_are_nbgraders():
    """student guide: the notebooks "appear under the **Assignments** tab", and the instructor
    guide's released set "in the students' **Assignments** tab"; in JupyterLab, which a hub
    opens by default, nbgrader 0.9's extension has no such tab until its menu's Assignment List
    command opens it. The pages name the menu, the tab it opens and the buttons as nbgrader's
    JupyterLab extension (the pinned nbgrader's labextension) labels them."""
    import nbgrader

    static = Path(nbgrader.__file__).parent / "labextension" / "static"
    labels = "".join(p.read_text("utf-8") for p in static.glob("*.js"))
    for label in (
        'title.label="Nbgrader"',  # the menu
        'label:"Assignment List"',  # its command
        'title.label="Assignments"',  # the tab that command opens
        '"Fetch"',
        '"Submit"',
        '"Fetch Feedback"',
    ):
        assert label in labels, label
    student = flat("student-guide")
    for words in (
        "(in JupyterLab, the menu **Nbgrader → Assignment List** opens it as the **Assignments**"
        " tab): click **Fetch** next to a problem set",
        "open the assignment list and click **Submit**",
        "click **Fetch Feedback** in the assignment list",
    ):
        assert words in student, words
    instructor = flat("instructor-guide")
    assert "in the students' assignment list (**Nbgrader → Assignment List** in JupyterLab)" in (
        instructor
    )
    assert "**Assignments** tab" not in instructor + student.replace("the **Assignments** tab)", "")
    # every menu path any page or the README gives, not only the ones quoted above (the
    # instructor guide's **Nbgrader → Formgrader** was checked by nothing)
    sources = [*BOOK.rglob("*.md"), ROOT / "README.md"]
    paths = [m for p in sources for m in MENU_PATH.findall(" ".join(p.read_text().split()))]
    assert "Formgrader" in paths and "Assignment List" in paths
    assert not [item for item in paths if f'label:"{item}"' not in labels], paths
    assert MENU_PATH.findall("open **Nbgrader → Assignments**") == ["Assignments"]  # no command


# a JupyterLab menu path a page gives: **Nbgrader → Assignment List**
MENU_PATH = re.compile(r"\*\*Nbgrader\s*→\s*([^*]+?)\*\*")


def test_intro_every_chapter_ends_with_exercises_whose_solutions_are_folded():
    """intro: "The chapters end with exercises whose solutions stay folded until you open
    them", which nothing checked: every chapter's last section is its exercises, and each
    exercise N.k of chapter N is followed by its solution in a dropdown (sphinx-design's,
    closed unless given :open:) before the next exercise."""
    assert "The chapters end with exercises whose solutions stay folded until you open them" in (
        flat("intro")
    )
    toc = (ROOT / "_toc.yml").read_text()
    chapters = re.findall(r"file: book/(\d\d)-([\w-]+)", toc)
    assert len(chapters) == 12
    for number, rest in chapters:
        page = text(f"{number}-{rest}.md")
        assert re.findall(r"^## .*$", page, re.M)[-1] == "## Exercises", number
        exercises = page.split("\n## Exercises\n", 1)[1]
        n = int(number)
        parts = re.split(r"^\*\*Exercise (\d+\.\d+)\*\*", exercises, flags=re.M)[1:]
        assert parts, number
        for k, (label, body) in enumerate(zip(parts[::2], parts[1::2], strict=True), 1):
            assert label == f"{n}.{k}", (number, label)
            dropdown = SOLUTION_DROPDOWN.search(body)
            assert dropdown and dropdown.group(1) == label, (number, label)
            assert not OPEN_OPTION.search(dropdown.group(2)), (number, label)
    # the options are read whole: :open: after another option, or in a YAML block, opens it too
    for options in (":name: s\n:open:\n", "---\nopen: true\n---\n"):
        shown = SOLUTION_DROPDOWN.search(f":::{{dropdown}} Solution to exercise 1.1\n{options}x\n")
        assert OPEN_OPTION.search(shown.group(2)), options


# a chapter's folded solution: its label, then its options (:name: lines or a YAML block)
SOLUTION_DROPDOWN = re.compile(
    r"^:{3,}\{dropdown\} Solution to exercise (\S+)\n(---\n.*?\n---\n|(?::[\w-]+:[^\n]*\n)*)",
    re.M | re.S,
)
OPEN_OPTION = re.compile(r"^:?open:", re.M)


def test_intro_says_how_jupyterlab_opens_a_chapter_as_a_notebook_and_cites_it():
    """intro: the chapters are MyST notebooks "which JupyterLab opens as notebooks once the
    Jupytext extension is installed"; Jupytext's documentation (docs/text-notebooks.md) says a
    double click opens a text notebook with its default viewer, the text editor, and the
    notebook view is Open With -> Notebook (or a changed default). jupytext is not among the
    pinned packages, so the page says to install it, and cites the documentation."""
    intro = flat("intro")
    assert "which JupyterLab opens as notebooks once" not in intro
    assert "right-click it in the `book/` folder and choose **Open With → Notebook**" in intro
    assert "(https://github.com/mwouts/jupytext/blob/main/docs/text-notebooks.md)" in intro
    assert "`.venv/bin/pip install jupytext`" in intro
    lock = (ROOT / "requirements.lock").read_text()
    assert not re.search(r"^jupytext==", lock, re.M | re.I)


def test_intro_says_what_the_course_needs_not_how_fast_a_machine_is():
    """intro: "Everything runs on a laptop", a claim about machines no test can make, and
    `make test` building the book "while the quick tests run", a speed where the Makefile has a
    tier (-m "not slow": no kernel, no browser). It now says what the course does not need, a
    GPU: no page, no module of lstm_core and no test moves a tensor to a device, so PyTorch
    runs on the CPU, as it does by default."""
    intro = flat("intro")
    assert "laptop" not in intro and "quick tests" not in intro
    assert "Nothing here needs a GPU: the course's code is NumPy" in intro
    sources = [*(ROOT / "book").rglob("*.md"), *(ROOT / "lstm_core").rglob("*.py")]
    sources += [*(ROOT / "tests").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    device = re.compile(r"\bcuda\b|\bdevice\s*=|\.to\(\s*[\"']|\bmps\b")
    here = Path(__file__).resolve()
    assert not [p.name for p in sources if p != here and device.search(p.read_text("utf-8"))]


# -- the student's side: notebooks, imports, signatures -----------------------------------------


def notebook_code(folder: str, assignment: str) -> str:
    (nb,) = (ROOT / folder / assignment).glob("*.ipynb")
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def test_assignment_list_and_times():
    """The assignments are `ps01_activations` to `ps06_training`, six of them; the index's
    range of times is that of the assignment pages."""
    ids = assignments()
    assert len(ids) == 6 and ids == sorted(p.name for p in (ROOT / "exercises").iterdir())
    assert f"`{ids[0]}` to `{ids[-1]}`" in text("instructor-guide")
    assert "Six autograded problem sets" in text("assignments")
    assert "six autograded problem sets" in text("intro")
    minutes = [
        int(re.search(r"\*\*Time:\*\* about (\d+) minutes", p.read_text())[1])
        for p in ASSIGNMENT_PAGES
    ]
    assert f"of {min(minutes)} to {max(minutes)} minutes' work" in text("assignments")


def third_party_imports(code: str) -> set[str]:
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names)


def test_student_set_up_installs_what_the_notebooks_import():
    """student guide: the notebooks need NumPy (`pip install numpy jupyterlab`), and only the
    last set also imports `lstm_core`; each has `# YOUR CODE HERE` above
    `raise NotImplementedError()` where the student writes code."""
    guide = text("student-guide")
    pip = re.search(r"^pip install (.*)$", guide, re.M).group(1).split()
    assert pip[-1] == "jupyterlab"
    imports = {a: third_party_imports(notebook_code("exercises", a)) for a in assignments()}
    *first, last = assignments()
    assert set().union(*(imports[a] for a in first)) == set(pip[:-1])
    assert imports[last] == set(pip[:-1]) | {"lstm_core"}
    assert "The last set, {doc}`assignments/ps06-training`, also imports the course package" in (
        " ".join(guide.split())
    )
    assert last.replace("_", "-") == "ps06-training"
    for a in assignments():
        code = notebook_code("exercises", a)
        assert code.count("# YOUR CODE HERE") == code.count("raise NotImplementedError()") > 0
    assert "where the notebook says `# YOUR CODE HERE`" in flat("student-guide")
    assert "`raise NotImplementedError()` below it" in flat("student-guide")


def signatures(assignment: str) -> dict[str, list[tuple[list[str], dict, ast.FunctionDef]]]:
    """name -> (parameter names, their defaults, the def) of the solution notebook's functions,
    classes (their __init__) and methods, and of what it imports from lstm_core."""
    tree = ast.parse(notebook_code("solutions", assignment))
    found: dict[str, list] = {}

    def add(name, fn, skip_self=False):
        args = fn.args.args[1:] if skip_self else fn.args.args
        names = [a.arg for a in args]
        defaults = dict(
            zip(names[len(names) - len(fn.args.defaults) :], fn.args.defaults, strict=True)
        )
        found.setdefault(name, []).append((names, defaults, fn))

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            add(node.name, node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    add(node.name if item.name == "__init__" else item.name, item, True)
        elif isinstance(node, ast.ImportFrom) and node.module == "lstm_core":
            for alias in node.names:
                obj = getattr(lc, alias.name)
                if inspect.isfunction(obj):
                    found.setdefault(alias.asname or alias.name, []).append(
                        (list(inspect.signature(obj).parameters), {}, None)
                    )
    return found


@pytest.mark.parametrize("path", ASSIGNMENT_PAGES, ids=lambda p: p.stem)
def test_assignment_page_signatures_are_the_notebooks(path):
    """Each `name(args)` an assignment page shows is the notebook's function with those
    parameters in that order (defaults as given; `...` for the rest), and `-> (a, b, c)`
    returns that many values; every function of the points table is one of them."""
    assignment = path.stem.replace("-", "_")
    defined = signatures(assignment)
    page = text(path.stem)
    spans = inline_code(page)
    shown = set()
    for span in spans:
        m = re.fullmatch(r"(?:lstm_core\.)?(\w+)\((.*?)\)(?: -> \((.*)\))?", span)
        if not m or m.group(1) not in defined:
            continue
        name, given, returns = m.group(1), m.group(2), m.group(3)
        shown.add(name)
        args = [a.strip() for a in given.split(",") if a.strip()]
        ok = []
        for names, defaults, fn in defined[name]:
            partial = args[-1:] == ["..."] or fn is None  # lstm_core's: its first parameters
            prefix = [a for a in args if a != "..."]
            named = dict(a.split("=") if "=" in a else (a, None) for a in prefix)
            if list(named) != (names[: len(prefix)] if partial else names):
                continue
            if any(
                v is not None and ast.literal_eval(v) != ast.literal_eval(defaults[k])
                for k, v in named.items()
            ):
                continue
            if returns is not None:
                returned = max(
                    (r for r in ast.walk(fn) if isinstance(r, ast.Return)), key=lambda r: r.lineno
                ).value
                n = len(returns.split(","))
                if not (isinstance(returned, ast.Tuple) and len(returned.elts) == n):
                    continue
            ok.append(names)
        assert ok, f"{path.name}: `{span}` is not the notebook's {defined[name]!r}"
    table = re.findall(r"^\| `(\w+)\(", page, re.M)
    assert table and set(table) <= shown, set(table) - shown


@pytest.mark.processes
def test_the_guides_openssl_recipe_makes_certificates_for_mutual_tls(tmp_path):
    """The instructor guide's commands for the cluster's CA and certificates, run as written
    (the block that starts with `openssl req -x509`): every role's certificate is signed by
    the CA and fits its key, and two of them complete a TLS handshake in which each side
    checks the other's certificate against the CA, as Dask's TLS does (no host name check)."""
    import shutil
    import socket
    import ssl
    import subprocess
    import threading

    blocks = re.findall(r"```bash\n(.*?)```", text("instructor-guide"), re.S)
    (recipe,) = [b for b in blocks if "openssl req -x509" in b]
    recipe = "\n".join(line.strip() for line in recipe.splitlines())  # the list item's indent
    assert shutil.which("openssl"), "openssl is missing (Debian's openssl package)"
    done = subprocess.run(
        ["bash", "-e", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    roles = ["scheduler", "worker", "grader"]
    assert all(
        (tmp_path / f"{r}.pem").is_file() and (tmp_path / f"{r}-key.pem").is_file() for r in roles
    )

    def context(role: str, side: int) -> ssl.SSLContext:
        ctx = ssl.SSLContext(side)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(tmp_path / "ca.pem")
        ctx.load_cert_chain(tmp_path / f"{role}.pem", tmp_path / f"{role}-key.pem")
        return ctx

    a, b = socket.socketpair()
    server = context("scheduler", ssl.PROTOCOL_TLS_SERVER).wrap_socket(
        a, server_side=True, do_handshake_on_connect=False
    )
    client = context("grader", ssl.PROTOCOL_TLS_CLIENT).wrap_socket(
        b, do_handshake_on_connect=False
    )
    seen = {}
    shake = threading.Thread(
        target=lambda: (server.do_handshake(), seen.update(peer=server.getpeercert()))
    )
    shake.start()
    client.do_handshake()
    shake.join(30)
    assert client.getpeercert()["subject"] == ((("commonName", "scheduler"),),)
    assert seen["peer"]["subject"] == ((("commonName", "grader"),),)
    client.close()
    server.close()
    # A certificate of another CA is refused.
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["bash", "-e", "-c", recipe], cwd=other, capture_output=True, check=True)
    a, b = socket.socketpair()
    server = context("scheduler", ssl.PROTOCOL_TLS_SERVER).wrap_socket(
        a, server_side=True, do_handshake_on_connect=False
    )
    stranger = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    stranger.check_hostname = False
    stranger.load_verify_locations(tmp_path / "ca.pem")
    stranger.load_cert_chain(other / "grader.pem", other / "grader-key.pem")
    client = stranger.wrap_socket(b, do_handshake_on_connect=False)
    errors = []

    def serve():
        try:
            server.do_handshake()
        except ssl.SSLError as exc:
            errors.append(exc)

    shake = threading.Thread(target=serve)
    shake.start()
    with contextlib.suppress(ssl.SSLError, OSError):
        client.do_handshake()
        client.recv(1)  # TLS 1.3: the server's refusal arrives after the client's handshake
    shake.join(30)
    assert errors and "certificate" in str(errors[0]).lower(), errors
    client.close()
    server.close()


@pytest.mark.processes
def test_the_files_of_the_guides_openssl_recipe_are_kept_out_of_git(tmp_path):
    """The guide's `lstm-autograde ... --tls-ca-file ca.pem --tls-cert grader.pem --tls-key
    grader-key.pem` runs from the course root, a checkout of this repository: the recipe's
    files are made there, and `git status` listed the CA's and every role's private key for
    `git add -A` to commit (found walking the guide's cluster). Every file the recipe makes,
    run as written, is git-ignored, and the guide says so."""
    import subprocess

    blocks = re.findall(r"```bash\n(.*?)```", text("instructor-guide"), re.S)
    (recipe,) = [b for b in blocks if "openssl req -x509" in b]
    recipe = "\n".join(line.strip() for line in recipe.splitlines())
    subprocess.run(["bash", "-e", "-c", recipe], cwd=tmp_path, capture_output=True, check=True)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert {"ca-key.pem", "grader-key.pem", "scheduler-key.pem", "worker-key.pem"} <= set(made)
    kept = [
        name
        for name in made
        if subprocess.run(
            ["git", "check-ignore", "--quiet", "--no-index", name], cwd=ROOT, check=False
        ).returncode
    ]
    assert kept == [], f"not git-ignored: {kept}"
    assert "`.gitignore` keeps the recipe's files (`*.pem`, `*.csr`, `*.srl`)" in flat(
        "instructor-guide"
    )


def test_the_guides_scheduler_command_has_the_folder_of_its_scheduler_file_made_first():
    """`dask scheduler --scheduler-file /shared/grading/scheduler.json` does not make the
    file's folder: without it the scheduler stops at once (*FileNotFoundError*, *Scheduler
    failed to start*; found walking the guide's cluster on one machine). The block that starts
    it makes that folder first, as it does the working folder."""
    blocks = re.findall(r"```bash\n(.*?)```", text("instructor-guide"), re.S)
    (block,) = [b for b in blocks if "dask scheduler --protocol tls" in b]
    command = " ".join(block.replace("\\\n", " ").split())
    scheduler_file = re.search(r"dask scheduler .*?--scheduler-file (\S+)", command).group(1)
    before = block.split("dask scheduler --protocol")[0]
    made = [
        line.split("#")[0].split()[-1] for line in before.splitlines() if line.startswith("mkdir ")
    ]
    assert str(Path(scheduler_file).parent) in made, (scheduler_file, made)
    assert "/var/lib/lstm-dask" in made  # DASK_TEMPORARY_DIRECTORY's


def test_the_guide_says_the_grading_kernels_start_without_the_debugger():
    """instructor guide, How it works: the kernels start without ipykernel's debugger; the
    launcher execs KERNEL_MAIN (test_kernel_environment.py checks the launcher's command, and
    its slow test a kernel started from the kernelspec: no debugger, debugpy not importable)."""
    from lstm_grading import kernel_launcher

    assert "They start without ipykernel's debugger (`debugpy` is not importable in them)" in flat(
        "instructor-guide"
    )
    assert kernel_launcher.KERNEL_MAIN.startswith("import sys; sys.modules['debugpy'] = None; ")


def guides_public_copy(tmp_path: Path) -> Path:
    """The public copy that the instructor guide's command (Keeping the solutions private) makes,
    run as written in a clone of this repository: ``tmp_path / "public"``."""
    import subprocess

    (command,) = [s for b in blocks("instructor-guide") for s in b.spans() if "git archive" in s]
    clone = tmp_path / "course"
    git = ["git", "clone", "--quiet", "--shared", str(ROOT), str(clone)]
    subprocess.run(git, check=True, capture_output=True)
    done = subprocess.run(["bash", "-e", "-c", command], cwd=clone, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return tmp_path / "public"


@pytest.mark.processes
def test_the_guides_public_copy_leaves_out_the_solutions_and_hidden_tests(tmp_path):
    """instructor guide, Keeping the solutions private: its command, run as written in a clone
    of this repository, makes ../public without `solutions/`, without the hidden tests' checks
    (no module of it defines a check that a solution's hidden cell calls: before, the command
    left out only `solutions/`, and those cells' one import and one call pointed to the
    published `lstm_grading/hidden/psNN.py`) and without `tests/`; with the student notebooks,
    the book's sources, `lstm_core` and what the course's `nbgrader_config.py` imports."""
    public = guides_public_copy(tmp_path)
    files = {p.relative_to(public).as_posix() for p in public.rglob("*") if p.is_file()}
    assert {
        "exercises/ps01_activations/ps01_activations.ipynb",
        "book/instructor-guide.md",
        "lstm_core/lstm.py",
        "lstm_grading/checks.py",
        "lstm_grading/hidden/release_checksums.py",
        "nbgrader_config.py",
    } <= files
    assert not [f for f in files if f.startswith(("solutions/", "tests/"))]
    assert "benchmarks/bench_grading.py" not in files and "benchmarks/bench_lstm.py" in files
    called = set()
    for notebook in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            hidden = re.search(
                r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", "".join(cell["source"]), re.S
            )
            if hidden:
                called |= set(re.findall(r"\bps\d\d\.(\w+)\(", hidden[1]))
    assert {"check_sigmoid", "check_tanh"} <= called
    defined = [
        (f, name)
        for f in files
        if f.endswith(".py")
        for name in called
        if re.search(rf"^def {name}\(", (public / f).read_text(encoding="utf-8"), re.M)
    ]
    assert not defined, defined


@pytest.mark.processes
def test_the_guides_public_copy_has_every_file_its_book_pages_read(tmp_path):
    """instructor guide, Keeping the solutions private, and README's `make book`: the public copy
    builds its own book, so no page of it reads a file the copy leaves out. Every
    `{literalinclude}` and `{download}` of a page names a file of the copy, and every
    `ROOT / "..."` path of a page's code is in it (found in a student's walk: the accessibility
    page imported and included `tests/book_axe.py`, and its build failed without `tests/`)."""
    public = guides_public_copy(tmp_path)
    pages = sorted((public / "book").rglob("*.md"))
    assert len(pages) > 20
    missing = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        named = re.findall(r"^```\{literalinclude\} (\S+)$", text, re.M)
        named += re.findall(r"\{download\}`[^`<]*<([^>]+)>`", text)
        for target in named:
            if not (page.parent / target).is_file():
                missing.append((page.relative_to(public).as_posix(), target))
        for path in re.findall(r"\bROOT((?: / \"[^\"]+\")+)", text):
            target = public.joinpath(*re.findall(r'"([^"]+)"', path))
            if not target.exists():
                missing.append((page.relative_to(public).as_posix(), target.relative_to(public)))
    assert not missing, missing


@pytest.mark.processes
def test_the_guides_public_copy_imports_only_what_it_has(tmp_path):
    """instructor guide, Keeping the solutions private: every Python file of the public copy
    imports only modules of the copy (beside the file or at its root), of the standard library or
    of an installed distribution (found in a student's walk: benchmarks/bench_grading.py put
    tests/ on its path for the tests' submissions and course helpers, and grades solutions/)."""
    from importlib.metadata import packages_distributions

    public = guides_public_copy(tmp_path)
    installed = set(packages_distributions())
    missing = []
    for path in sorted(public.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in (n.split(".")[0] for n in names):
                here = [path.parent / name, public / name]
                if (
                    name in sys.stdlib_module_names
                    or name in installed
                    or any(
                        p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()
                        for p in here
                    )
                ):
                    continue
                missing.append((path.relative_to(public).as_posix(), name))
    assert not missing, missing


@pytest.mark.parametrize("target", ["test", "test-fast"])
@pytest.mark.processes
def test_make_test_in_the_guides_public_copy_stops_at_once_and_says_why(tmp_path, target):
    """README: in the public copy `make test` stops at once (found in a student's walk: it
    installed everything, fetched chromium and built the book, then pytest failed on its
    testpaths, `tests/`, which the copy leaves out). It stops before any set-up: no .venv."""
    import subprocess

    assert (
        "In the course's public copy (the instructor guide's *Keeping the solutions private*), "
        "without `solutions/`, the hidden checks, `tests/` and the grading benchmark, `make book` "
        "works and `make test` stops at once: the tests need the instructor repository."
    ) in flat("README")
    public = guides_public_copy(tmp_path)
    env = {**os.environ, "PYTHON": "false"}  # had it gone on, the set-up would fail at once
    done = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=public,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"make {target} needs tests/, which the public copy of the course leaves out"
    ) in done.stdout, done.stdout
    assert not (public / ".venv").exists()


@pytest.mark.processes
def test_make_autograde_ends_with_status_2_when_lstm_autograde_ends_with_1(
    tmp_path, empty_gradebook
):
    """instructor guide, How to run it: through `make`, a run whose lstm-autograde status is 1
    (a failed or refused submission) ends with make's own status 2. Run for real: the Makefile
    and nbgrader_config.py copied into a small course, a .venv/bin/lstm-autograde that is
    `python -m lstm_grading` (the guide: the same command), and `make -o .venv/.installed` so
    that make never remakes the install stamp (the target's prerequisite: nothing installed,
    whatever the stamp's age). The one submission folder is a symbolic link: refused, no kernel."""
    import subprocess

    from small_course import make_course

    assert (
        "through `make`, a run with failed submissions (`lstm-autograde`'s status 1) ends with "
        "`make`'s own status 2"
    ) in flat("instructor-guide")
    assert re.search(r"^autograde: \$\(STAMP\) ", MAKEFILE, re.M)  # the stamp -o keeps
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    course = make_course(tmp_path / "course", empty_gradebook, notebook)
    for name in ("Makefile", "nbgrader_config.py"):
        shutil.copy(ROOT / name, course / name)
    script = course / ".venv" / "bin" / "lstm-autograde"
    script.parent.mkdir(parents=True)
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lstm_grading "$@"\n')
    script.chmod(0o755)
    (course / "elsewhere").mkdir()
    (course / "submitted" / "doejohn").mkdir(parents=True)
    (course / "submitted" / "doejohn" / "ps01").symlink_to(course / "elsewhere")
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # The run's folder, and its removal of dead runs' folders, in a temporary folder of this
    # test's, not the machine's /tmp: the grading tests, which `make test` may run meanwhile,
    # check that no run folder is left there and leave one there for their next run.
    (tmp := tmp_path / "tmp").mkdir()
    make = ["make", "--no-print-directory", "-C", str(course), "-o", ".venv/.installed"]
    done = subprocess.run(
        [*make, "autograde", "ASSIGNMENT=ps01", "AUTOGRADE_FLAGS=--no-sandbox --no-feedback"],
        env={**os.environ, "PYTHONPATH": pythonpath, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert list(tmp.iterdir()) == []  # the run's folder was made there, and removed
    assert "doejohn  refused" in done.stdout and "\n0 graded, 0 failed, 1 refused" in done.stdout
    assert re.search(r"\*\*\* \[Makefile:\d+: autograde\] Error 1$", done.stderr, re.M), done.stderr
    assert sorted(p.name for p in (course / ".venv").iterdir()) == ["bin"]  # nothing installed


def test_a_grade_given_by_hand_after_a_run_has_its_page_written_again_by_the_next(
    tmp_path, empty_gradebook
):
    """instructor guide, 6.: a score given by hand in the formgrader after a run is not on the
    student's feedback page until the next run with feedback, which takes the submission as
    unchanged and writes the page again, with a note (found in an instructor's walk: the page
    said 0/10, grades.csv 2/10, and no run wrote it again). A run with no hand grade since
    writes no page."""
    from nbgrader.api import Gradebook
    from small_course import merged_by_a_run

    guide = flat("instructor-guide")
    assert (
        "A score or comment given by hand later is in `gradebook.db` and `grades.csv` at once, "
        "and on the page after the next `lstm-autograde` run with feedback"
    ) in guide
    course, run, manifest, outcomes = merged_by_a_run(tmp_path, empty_gradebook)
    page = course / "feedback" / "bob" / "ps01" / "ps01.html"
    written = []

    class Pool:  # the run's pool, whose worker writes the page (nbgrader generate_feedback)
        def submit(self, student, kind, task):
            assert (student, kind) == ("bob", "feedback")
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text("<html>a page</html>")
            written.append(student)

        def results(self):
            yield from ((s, (s, 0, ""), None) for s in written)

    marks = parallel.gradebook_marks(course, "ps01")
    due = parallel.feedback_due(run, outcomes, ["bob"], manifest, marks)
    parallel._feedback(Pool(), run, due, outcomes, manifest, marks)
    assert written == ["bob"] and page.is_file()

    def next_run() -> tuple[list[str], list[str]]:
        run, manifest, _, outcomes, todo = parallel._plan(course, "ps01", Limits(), False, "")
        assert todo == {} and outcomes["bob"].status == "unchanged"
        marks = parallel.gradebook_marks(course, "ps01")
        due = parallel.feedback_due(run, outcomes, [], manifest, marks)
        written.clear()
        parallel._feedback(Pool(), run, due, outcomes, manifest, marks)
        return due, outcomes["bob"].notes

    assert next_run() == ([], [])  # nothing changed: the page stays
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("test_f", "ps01", "ps01", "bob")
        grade.manual_score, grade.needs_manual_grade = 9.0, False  # as the formgrader saves it
        gb.db.commit()
        assert gb.find_submission("ps01", "bob").score == 9.0
    due, notes = next_run()
    assert due == ["bob"] and written == ["bob"]
    assert notes == [
        "feedback written again: a grade or comment changed in the gradebook since its page "
        "was written (given by hand)"
    ]
    assert next_run() == ([], [])  # written from the new marks: not again


def test_a_run_reads_the_gradebooks_marks_once_and_a_grade_changed_meanwhile_is_written_again(
    tmp_path, empty_gradebook, monkeypatch
):
    """A run with feedback read the whole gradebook twice after its last merge, once to find
    the unchanged students whose page shows other marks (feedback_due) and once for the marks
    to record per page written (_feedback): now once, for both (the instructor's brief). The
    manifest records, per page, the marks read before any page was written: a grade changed by
    hand while the pages are written (ann's, not due; bob's, being written) may or may not be
    on the page, and the next run writes both pages again, never takes one for current.

    The run is parallel.grade_assignment with its pool replaced: "grade" gives each student
    7/10 (tests/small_course.py), "feedback" writes the page, after a grade given by hand."""
    from nbgrader.api import Gradebook
    from small_course import NB, graded_result, make_course

    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    course = make_course(tmp_path / "course", empty_gradebook, notebook)
    for student in ("ann", "bob"):
        (course / "submitted" / student / "ps01").mkdir(parents=True)
        (course / "submitted" / student / "ps01" / NB).write_text(notebook)
    by_hand: list[tuple[str, float]] = []  # grades given as the next page is written

    def give(student: str, score: float) -> None:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            grade = gb.find_grade("test_f", "ps01", "ps01", student)
            grade.manual_score, grade.needs_manual_grade = score, False  # as the formgrader
            gb.db.commit()

    class Pool:  # the run's pool: jobs and feedback as their workers would leave them
        def __init__(self, jobs, tasks):
            self.done = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, student, kind, task):
            if kind == "grade":
                out = Path(task.work) / "out"
                result = graded_result(Path(task.template), out, student, notebook)
            else:
                while by_hand:
                    give(*by_hand.pop())
                page = course / "feedback" / student / "ps01" / "ps01.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text("<html>a page</html>")
                result = (student, 0, "")
            self.done.append((student, result, None))

        def results(self):
            while self.done:
                yield self.done.pop(0)

    reads = []
    marks = parallel.gradebook_marks

    def counted(*args):
        reads.append(args)
        return marks(*args)

    monkeypatch.setattr(parallel, "Pool", Pool)
    monkeypatch.setattr(parallel, "gradebook_marks", counted)

    def run() -> dict:
        reads.clear()
        summary = parallel.grade_assignment(
            course, "ps01", sandbox_mode="reduced", export=False, progress=False, jobs=1
        )
        return {r["student"]: (r["status"], r["notes"]) for r in summary["students"]}

    assert run() == {"ann": ("graded", ""), "bob": ("graded", "")}
    assert len(reads) == 1
    (course / "submitted" / "bob" / "ps01" / "extra.txt").write_text("resubmitted")
    by_hand[:] = [("ann", 9.0), ("bob", 8.0)]  # while bob's page is written
    rows = run()
    assert rows["ann"][0] == "unchanged" and rows["bob"][0] == "graded", rows
    assert len(reads) == 1  # ann's page checked, bob's recorded: one read (two before)
    again = "feedback written again: a grade or comment changed in the gradebook since"
    rows = run()
    assert rows["ann"][0] == rows["bob"][0] == "unchanged", rows
    assert again in rows["ann"][1] and again in rows["bob"][1], rows
    assert run() == {"ann": ("unchanged", ""), "bob": ("unchanged", "")}  # written: not again


def test_a_regraded_submission_that_keeps_a_hand_grade_says_so_on_its_row(
    tmp_path, empty_gradebook
):
    """instructor guide, How to run it: a submission graded again keeps a score given by hand
    (nbgrader's rule) and is `needs grading` in grades.csv. Found in an instructor's walk: a
    student graded 8/10, given 1 of 2 by hand on a test, resubmitted a correct notebook; the
    run's table said `graded 10/10` with no note, grades.csv 9.0 and `needs grading`, the new
    feedback page the old hand score: nothing in the run's output said to review it. Now its
    row names the cell, the hand score and the new autograded one. A regrade without a hand
    grade has no such note."""
    from nbgrader.api import Gradebook
    from small_course import NB, graded_result, make_course

    guide = flat("instructor-guide")
    assert "its row says so, naming each such cell with its hand and its new autograded score" in (
        guide
    )
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    course = make_course(tmp_path / "course", empty_gradebook, notebook)
    (course / "submitted" / "bob" / "ps01").mkdir(parents=True)

    def graded(version: int) -> parallel.Outcome:
        (course / "submitted" / "bob" / "ps01" / NB).write_text(notebook + " " * version)
        run, manifest, submissions, _, todo = parallel._plan(course, "ps01", Limits(), False, "")
        assert list(todo) == ["bob"]  # a new, or changed, submission
        result = graded_result(course, tmp_path / f"out{version}", "bob", notebook)
        return parallel._merge_result(run, manifest, "bob", todo["bob"], result, submissions["bob"])

    first = graded(1)
    assert (first.status, first.score) == ("graded", 7.0)
    assert not [n for n in first.notes if "hand" in n]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("test_f", "ps01", "ps01", "bob")
        grade.manual_score, grade.needs_manual_grade = 4.0, False  # as the formgrader saves it
        gb.db.commit()
    again = graded(2)
    assert (again.status, again.score) == ("graded", 7.0)  # the autograded total, as before
    assert (
        "hand grade kept from an earlier grading: test_f 4 of 10 (autograded 7); grades.csv "
        "counts it and says needs grading until you review it in the formgrader"
    ) in again.notes
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission("ps01", "bob")
        assert (sub.score, sub.needs_manual_grade) == (4.0, True)  # what grades.csv exports
    # The next run takes the submission as unchanged: the note was the regrading run's news.
    _, _, _, outcomes, todo = parallel._plan(course, "ps01", Limits(), False, "")
    assert todo == {} and outcomes["bob"].status == "unchanged"
    assert not [n for n in outcomes["bob"].notes if "hand" in n], outcomes["bob"].notes
    # A regrade that fails keeps it too (grades.csv counts it beside the failure): said so.
    (course / "submitted" / "bob" / "ps01" / NB).write_text(notebook + " " * 3)
    run, manifest, submissions, _, todo = parallel._plan(course, "ps01", Limits(), False, "")
    (tmp_path / "out3").mkdir()
    failed = {"exit_code": 1, "error": None, "out": str(tmp_path / "out3"), "seconds": 1.0}
    outcome = parallel._merge_result(run, manifest, "bob", todo["bob"], failed, submissions["bob"])
    assert outcome.status == "failed"
    assert (
        "hand grade kept from an earlier grading: test_f 4 of 10 (not autograded); grades.csv "
        "counts it and says needs grading until you review it in the formgrader"
    ) in outcome.notes, outcome.notes


def test_a_regrade_that_keeps_extra_credit_or_a_hand_comment_says_so_too(tmp_path, empty_gradebook):
    """instructor guide, How to run it: extra credit and a comment given by hand outlive a new
    autograde as a hand score does, and nbgrader flags neither for review: grades.csv counts
    the extra credit (not `needs grading`), the new feedback page shows both, written for the
    earlier notebook. Found reviewing the hand-grade note: a regrade keeping only those had no
    note, the row 7/10, grades.csv 8.0. Now the row names them."""
    from nbgrader.api import Gradebook
    from small_course import NB, graded_result, make_course

    guide = flat("instructor-guide")
    assert "extra credit and a comment given by hand, which nbgrader flags for no review" in guide
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    course = make_course(tmp_path / "course", empty_gradebook, notebook)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_solution_cell("answer", "ps01", "ps01")  # where a comment is written
    (course / "submitted" / "bob" / "ps01").mkdir(parents=True)

    def graded(version: int) -> parallel.Outcome:
        (course / "submitted" / "bob" / "ps01" / NB).write_text(notebook + " " * version)
        run, manifest, submissions, _, todo = parallel._plan(course, "ps01", Limits(), False, "")
        result = graded_result(course, tmp_path / f"out{version}", "bob", notebook)
        return parallel._merge_result(run, manifest, "bob", todo["bob"], result, submissions["bob"])

    assert not [n for n in graded(1).notes if "hand" in n]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade("test_f", "ps01", "ps01", "bob").extra_credit = 1.0
        gb.find_comment("answer", "ps01", "ps01", "bob").manual_comment = "see me"
        gb.db.commit()
    again = graded(2)
    assert (again.status, again.score) == ("graded", 7.0)
    assert (
        "hand grade kept from an earlier grading: extra credit 1 on test_f, a comment on "
        "answer; grades.csv counts extra credit and the feedback shows both, but nothing is "
        "flagged for grading: check them in the formgrader"
    ) in again.notes, again.notes
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission("ps01", "bob")
        assert (sub.score, sub.needs_manual_grade) == (8.0, False)  # what grades.csv exports


# nbgrader's add_submission: SQLAlchemy 2's warning that nbgrader_config.py also leaves out
@pytest.mark.filterwarnings(r"ignore:Object of type <Submitted\w+> not in session")
def test_the_marks_a_page_is_written_from_change_with_a_grade_or_comment_given_by_hand(
    tmp_path, empty_gradebook
):
    """The digest the run keeps per feedback page (parallel.gradebook_marks) changes with what a
    page shows of the gradebook that the formgrader can change: a score or a comment given by
    hand, extra credit; and only that student's."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{empty_gradebook(tmp_path / 'gradebook.db')}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_f", "ps01", "ps01", max_score=10, cell_type="code")
        gb.add_solution_cell("f", "ps01", "ps01")
        for student in ("bob", "eve"):
            gb.add_student(student)
            gb.add_submission("ps01", student)  # nbgrader makes the grades and comments
        marks = [parallel.gradebook_marks(tmp_path, "ps01")]
        edits = [
            lambda: setattr(gb.find_grade("test_f", "ps01", "ps01", "bob"), "manual_score", 9.0),
            lambda: setattr(gb.find_comment("f", "ps01", "ps01", "bob"), "manual_comment", "ok"),
            lambda: setattr(gb.find_grade("test_f", "ps01", "ps01", "bob"), "extra_credit", 1.0),
        ]
        for edit in edits:
            edit()
            gb.db.commit()
            marks.append(parallel.gradebook_marks(tmp_path, "ps01"))
    assert len({m["bob"] for m in marks}) == len(marks)  # each edit changed bob's
    assert len({m["eve"] for m in marks}) == 1  # and not eve's


@pytest.mark.processes
def test_plain_nbgrader_skips_a_student_already_autograded(tmp_path, empty_gradebook):
    """instructor guide, 5. Autograde: `nbgrader autograde <id> --student=doejohn` for a student
    whose autograded folder exists (as lstm-autograde leaves it) grades nothing, says *Skipping
    existing assignment* and exits 0, before any kernel starts; `--force` is its option to grade
    again (found in an instructor's walk: the guide's command regraded no one after a fix)."""
    from course import run_forked
    from nbgrader.apps.autogradeapp import AutogradeApp
    from small_course import NB, make_course

    guide = flat("instructor-guide")
    assert "*Skipping existing assignment* and exits with status 0. Add `--force`" in guide
    assert "nbgrader autograde ps01_activations --student=doejohn" in guide
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    course = make_course(tmp_path, empty_gradebook, notebook)
    for folder in ("submitted", "autograded"):
        (course / folder / "alice" / "ps01").mkdir(parents=True)
        (course / folder / "alice" / "ps01" / NB).write_text(notebook)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = run_forked(["autograde", "ps01", "--student=alice"], course, env)  # the guide's form
    assert done.returncode == 0, done.stdout
    assert "Skipping existing assignment" in done.stdout
    assert (course / "autograded" / "alice" / "ps01" / NB).read_text() == notebook  # untouched
    assert "force" in AutogradeApp.flags


@pytest.mark.processes
def test_a_second_collect_takes_a_newer_submission_only_with_update(tmp_path, empty_gradebook):
    """instructor guide, 4. Collect: `nbgrader collect <id>` takes each student's latest
    submission from the exchange; a second collect leaves a student already collected as they
    were (*Submission already exists, use --update to update*), and `--update` takes a newer
    submission in its place. The student guide says a student may submit again and the latest
    is collected. (Found reading nbgrader's ExchangeCollect: the guide named only the first
    collect, and a re-collect for late submissions kept everyone's earlier one.)"""
    from course import run_forked
    from small_course import NB, make_course

    guide, student = flat("instructor-guide"), flat("student-guide")
    assert "`nbgrader collect ps01_activations --update` takes a newer submission" in guide
    assert "*Submission already exists, use --update to update*" in guide
    assert "you can submit again, and the collection takes your latest submission" in student
    # "nbgrader does not close submissions at a deadline": its submit never reads the due date
    from nbgrader.exchange.default import submit as exchange_submit

    assert "nbgrader does not close submissions at a deadline" in student
    assert "duedate" not in inspect.getsource(exchange_submit)
    course = make_course(tmp_path / "course", empty_gradebook, "{}")
    inbound = tmp_path / "exchange" / "lstm-course" / "inbound"

    def submit(stamp: str, content: str) -> None:  # what `nbgrader submit` leaves in inbound
        folder = inbound / f"alice+ps01+2026-12-01 {stamp}.000000 UTC+{content}"
        folder.mkdir(parents=True)
        (folder / NB).write_text(content)
        (folder / "timestamp.txt").write_text(f"2026-12-01 {stamp}.000000 UTC")

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    options = ["--course=lstm-course", f"--Exchange.root={tmp_path / 'exchange'}"]
    collected = course / "submitted" / "alice" / "ps01" / NB
    submit("10:00:00", "first")
    submit("11:00:00", "second")
    done = run_forked(["collect", "ps01", *options], course, env)
    assert done.returncode == 0, done.stdout
    assert collected.read_text() == "second"  # the latest of the two
    submit("12:00:00", "late")
    done = run_forked(["collect", "ps01", *options], course, env)
    assert done.returncode == 0 and collected.read_text() == "second", done.stdout
    assert "Submission already exists, use --update to update" in done.stdout
    done = run_forked(["collect", "ps01", "--update", *options], course, env)
    assert done.returncode == 0 and collected.read_text() == "late", done.stdout


@pytest.mark.processes
def test_plain_feedback_without_force_keeps_a_page_that_has_no_timestamp(
    tmp_path, empty_gradebook, monkeypatch
):
    """instructor guide, 7. Feedback: a submission collected from Canvas has no timestamp.txt
    (the course's ``named_regexp`` has no ``timestamp`` group, so ``zip_collect`` writes none),
    and `nbgrader generate_feedback <id>` without `--force` then skips a student whose page
    exists, however new the graded notebook: the page of an earlier submission stays (found in
    an instructor's walk: a resubmitted student, regraded, kept a 7/10 page beside a 10/10
    grade; the guide had said only a submission graded again unchanged keeps its page)."""
    from course import run_forked
    from small_course import NB, make_course

    guide = flat("instructor-guide")
    assert "so without `--force` none of their pages is ever rewritten" in guide
    regexp = nbgrader_config(monkeypatch).FileNameCollectorPlugin.named_regexp
    assert "(?P<student_id>" in regexp and "(?P<timestamp>" not in regexp
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    course = make_course(tmp_path, empty_gradebook, notebook)
    for folder in ("submitted", "autograded"):
        (course / folder / "alice" / "ps01").mkdir(parents=True)
        (course / folder / "alice" / "ps01" / NB).write_text(notebook)
    page = course / "feedback" / "alice" / "ps01" / "ps01.html"
    page.parent.mkdir(parents=True)
    page.write_text("the page of the earlier submission")
    os.utime(page, (0, 0))  # older than the new autograded notebook: still kept
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = run_forked(["generate_feedback", "ps01"], course, env)
    assert done.returncode == 0, done.stdout
    assert "Skipping existing assignment" in done.stdout
    assert page.read_text() == "the page of the earlier submission"


@pytest.mark.parametrize("step", ["autograde", "generate_feedback"])
def test_plain_nbgrader_grades_again_by_itself_only_a_later_timestamp(tmp_path, step):
    """instructor guide, 5. and 7.: without `--force`, `nbgrader autograde` and `nbgrader
    generate_feedback` process again a student already done only when the source's
    timestamp.txt is later than the destination's; with no timestamp (a submission from
    Canvas), or the same one, they skip it, even if the notebook changed (found in an
    instructor's walk: the guide had said autograde always skips, and feedback is rewritten
    for a newer submission). nbgrader's own decision, ``init_destination``, asked directly."""
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    guide = flat("instructor-guide")
    assert "submissions from Canvas have none, so a student who submitted again is" in guide
    source, dest, converter, name = {
        "autograde": ("submitted", "autograded", Autograde, "ps01.ipynb"),
        "generate_feedback": ("autograded", "feedback", GenerateFeedback, "ps01.html"),
    }[step]
    coursedir = CourseDirectory(root=str(tmp_path))
    coursedir.assignment_id = "ps01"
    done = converter(coursedir=coursedir)
    for folder in (source, dest):
        (tmp_path / folder / "alice" / "ps01").mkdir(parents=True)
    (tmp_path / source / "alice" / "ps01" / "ps01.ipynb").write_text("{}")
    (tmp_path / dest / "alice" / "ps01" / name).write_text("done before")

    def stamp(folder, when):
        (tmp_path / folder / "alice" / "ps01" / "timestamp.txt").write_text(when)

    assert not done.init_destination("ps01", "alice")  # no timestamp: skipped
    stamp(source, "2026-01-02 10:00:00.000000 UTC")
    stamp(dest, "2026-01-02 10:00:00.000000 UTC")
    assert not done.init_destination("ps01", "alice")  # the same: skipped
    stamp(dest, "2026-01-01 10:00:00.000000 UTC")
    assert done.init_destination("ps01", "alice")  # later: done again
    assert not (tmp_path / dest / "alice" / "ps01").exists()  # the old result removed first

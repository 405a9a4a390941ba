"""Submissions for the parallel grader's tests and benchmark: ordinary ones and a hostile corpus.

A student's notebook is built as a student writes it: the *release* notebook (exercises/),
with the code of each solution cell taken from the instructor's notebook (markers removed).
Variants replace a solution cell's code or append to it, delete a cell, or replace the file.

The hostile corpus is tests/hostile/*.json, one attack per file (attacks on the grade), and
tests/hostile/escape/*.json (attacks on the machine and the run: symlinks, shared memory, host
folders, disk; full sandbox only)::

    {"description": "...", "replace": {"tanh": "<code>"}, "append": {"sigmoid": "<code>"},
     "delete": ["test_tanh"], "raw": "<file text>", "files": {"<path>": "<text>"},
     "safe_unsandboxed": false,
     "expect": {"status": "graded" | "failed", "score": 6, "reason": "...", "note": "...",
                "cell": "...", "csv_cell": "...", "flag": "...", "output": "...",
                "output_lacks": "..."}}

``files`` are submitted beside the notebook (paths relative to its folder).
``{course}`` in code stands for the course root, ``{repo}`` for the repository, ``{canary}`` and
``{canary_dir}`` for a file and a folder of the host that the attack must not reach. ``expect``
says what the summary must report (substrings; ``csv_cell``: how the row's cell column of
summary.csv starts) and what the autograded notebook's outputs must or must not contain.
``safe_unsandboxed`` marks attacks harmless enough to run under plain nbgrader (the benchmark).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

HOSTILE = Path(__file__).resolve().parent / "hostile"
ESCAPE = HOSTILE / "escape"
REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps01_activations"

# Ordinary submissions: (replacements of solution cells, expected points lost per grade cell).
ORDINARY: dict[str, dict[str, str]] = {
    "correct": {},
    "naive_sigmoid": {  # overflows for large negative x: loses sigmoid (sigmoid_grad's test
        # puts a correct sigmoid in place of the student's)
        "sigmoid": "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-x))\n",
    },
    "grad_of_output": {  # the classic slip x * (1 - x): loses sigmoid_grad only
        "sigmoid_grad": "def sigmoid_grad(x):\n    return x * (1.0 - x)\n",
    },
    "numpy_tanh": {  # right values, but from np.tanh, which the exercise rules out: loses tanh
        "tanh": "def tanh(x):\n    return np.tanh(np.asarray(x, dtype=float))\n",
    },
    "unanswered": None,  # the release notebook as handed out
}
# The grade cells each of ORDINARY loses (its comment above says why); "all": every one, as
# the release raises NotImplementedError. What plain nbgrader gives them (the ``ps01_alone``
# fixture, the other grading tests' oracle) is held to this, so that an oracle that graded
# nothing (every score None, or 0) cannot agree with a grader that grades nothing either.
ORDINARY_LOSES: dict[str, tuple[str, ...] | str] = {
    "correct": (),
    "naive_sigmoid": ("test_sigmoid",),
    "grad_of_output": ("test_sigmoid_grad",),
    "numpy_tanh": ("test_tanh",),
    "unanswered": "all",
}


def ordinary_scores(points: dict[str, float]) -> dict[str, dict[str, float]]:
    """Each of ORDINARY's scores per grade cell, from ``points`` (grade cell: its points)."""
    return {
        name: {cell: 0.0 if lost == "all" or cell in lost else p for cell, p in points.items()}
        for name, lost in ORDINARY_LOSES.items()
    }


# A correct submission whose sigmoid cell, once its kernel is up, waits until the test releases
# it (``cluster_processes.releasing``), then ignores the signal: a kill lands in the middle of
# its job however slow the machine, and a job graded again after a kill ends as soon as the
# test lets it, not after a fixed sleep. The test knows it waits by its handler for SIGUSR1
# (SigCgt in /proc/PID/status), which neither ipykernel nor the grader installs. Released, it
# has ps01's full marks; never released, its cell limit stops it (0 for that cell).
SLEEPER = {
    "sigmoid": (
        "import signal, time\n"
        "_released = []\n"
        "signal.signal(signal.SIGUSR1, lambda *_: _released.append(True))\n"
        "while not _released:\n"
        "    time.sleep(0.05)\n"
        "signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n"
    )
}


def student_notebook(course: Path, replace=None, append=None, delete=(), assignment=ASSIGNMENT):
    """The release notebook with solution cells filled in, then ``replace``d / ``append``ed."""
    release = nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", 4)
    solution = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", 4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: re.sub(
            r"[ \t]*### (BEGIN|END) SOLUTION\n", "", c.source
        )
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    replace, append = replace or {}, append or {}
    cells = []
    for cell in release.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in delete:
            continue
        if gid in answers:
            cell.source = replace.get(gid, answers[gid])
            if gid in append:
                cell.source = cell.source.rstrip("\n") + "\n\n" + append[gid]
        cells.append(cell)
    release.cells = cells
    return release


def unanswered_notebook(course: Path, assignment=ASSIGNMENT):
    return nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", 4)


def ordinary(course: Path, name: str):
    """One of ORDINARY as a notebook node."""
    if ORDINARY[name] is None:
        return unanswered_notebook(course)
    return student_notebook(course, replace=ORDINARY[name])


def submit_ordinary(course) -> None:
    """Submit every notebook of ORDINARY to ``course`` (a ``tests/course.Course``), by name."""
    for name in ORDINARY:
        course.submit(name, ASSIGNMENT, ordinary(course.root, name))


def hostile_specs(folder: Path = HOSTILE) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def hostile(course: Path, spec: dict, canary: Path | None = None):
    """The notebook node (or raw text) of a hostile spec, placeholders filled in."""
    if "raw" in spec:
        return spec["raw"]
    canary = canary or course / "canary" / "secret.txt"
    values = {"{course}": course, "{repo}": REPO, "{canary}": canary, "{canary_dir}": canary.parent}

    def fill(code: str) -> str:
        for key, value in values.items():
            code = code.replace(key, str(value))
        return code

    return student_notebook(
        course,
        replace={k: fill(v) for k, v in spec.get("replace", {}).items()},
        append={k: fill(v) for k, v in spec.get("append", {}).items()},
        delete=tuple(spec.get("delete", ())),
    )


def submit_hostile(course, student: str, spec: dict, canary: Path | None = None) -> None:
    """Submit a hostile spec to ``course`` (a ``tests/course.Course``): its notebook and, beside
    it, its ``files``."""
    notebook = course.submit(student, ASSIGNMENT, hostile(course.root, spec, canary))
    for name, text in spec.get("files", {}).items():
        path = notebook.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def outputs_text(nb) -> str:
    """Every output of a notebook as text (streams, results, errors)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(str(v) for v in out.get("data", {}).values())
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "\n".join(parts)

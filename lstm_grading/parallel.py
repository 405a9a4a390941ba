"""Autograde a whole class in parallel: ``lstm-autograde ps01_activations`` (``make autograde``).

For every collected submission ``submitted/<student>/<assignment>/`` of one assignment:

1. a *job* (:mod:`lstm_grading.sandbox`) runs the real ``nbgrader autograde <assignment>
   --student <id> --force`` in a private course, sandboxed, one job per core at a time, in
   worker processes that imported nbgrader once;
2. this process, the only writer of the course's gradebook, then copies each result in as
   it arrives, one at a time: the autograded folder into ``autograded/<student>/<assignment>/``
   and the scores and comments into ``gradebook.db`` through nbgrader's ``Gradebook`` API
   (the same fields nbgrader's ``SaveAutoGrades`` writes, keeping manual grades);
3. feedback (``nbgrader generate_feedback`` per regraded student, in the workers) and
   ``nbgrader export`` (grades.csv with its status column) follow.

A submission that fails (timeout of the whole notebook, dead kernel, invalid notebook...) is
recorded as nbgrader records its own failures: a submission with empty scores, which the
export marks "needs grading". The run summary (terminal table, ``reports/<assignment>/
summary.csv`` and ``summary.json``) says why, with the student and the cell.

``reports/<assignment>/manifest.json`` holds a hash of each submission and its outcome; a
re-run grades only submissions that are new, changed or failed (or all with ``--force``),
and everything when the assignment's source, the config or the limits change.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import sandbox
from .sandbox import Job, Limits

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")  # no glob or path characters
# Patterns worth a look by the instructor when they appear in a submission's code cells.
SUSPICIOUS = {
    "os._exit": r"\bos\._exit\b",
    "sys.exit": r"\bsys\.exit\b|\bexit\(|\bquit\(",
    "fork/subprocess": r"\bos\.fork\b|\bsubprocess\b|\bmultiprocessing\b|\bos\.system\b",
    "network": r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b",
    "file deletion": r"\bos\.remove\b|\bos\.unlink\b|\bshutil\.rmtree\b|\bos\.rmdir\b",
    "gradebook/course files": r"gradebook|submitted/|autograded/|nbgrader",
    "grading internals": r"lstm_grading|set_custom_exc|sys\.settrace|__builtins__|ctypes",
}
PLAIN_FAILURES = [  # (substring of nbgrader's log, reason), first match wins
    ("UnresponsiveKernelError", "timeout: kernel did not answer after an interrupt"),
    ("CellTimeoutError", "timeout: kernel did not answer after an interrupt"),
    ("DeadKernelError", "kernel died"),
    ("Kernel died", "kernel died"),
    ("NotJSONError", "invalid notebook (not JSON)"),
    ("JSONDecodeError", "invalid notebook (not JSON)"),
    ("Notebook does not appear to be JSON", "invalid notebook (not JSON)"),
    ("ValidationError", "invalid notebook (fails the nbformat schema)"),
    ("NBFormatError", "invalid notebook (unsupported format)"),
    ("duplicate", "invalid notebook (duplicate grade ids)"),
    ("MissingEntry", "grade cells do not match the gradebook"),
]


@dataclass
class Outcome:
    """One row of the run summary."""

    student: str
    status: str  # graded | failed | unchanged
    score: float | None = None
    max_score: float | None = None
    reason: str = ""  # why it failed
    cell: str = ""  # where (grade id or first line of the cell)
    notes: list[str] = field(default_factory=list)  # graded, but worth knowing
    flags: list[str] = field(default_factory=list)  # suspicious code, see SUSPICIOUS
    seconds: float = 0.0

    def row(self) -> dict:
        d = asdict(self)
        d["notes"], d["flags"] = "; ".join(self.notes), ", ".join(self.flags)
        return d


# -- the course --------------------------------------------------------------------------------
def _nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if ".ipynb_checkpoints" in path.parts or path.is_symlink() or not path.is_file():
            continue
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _find_submissions(course: Path, assignment: str) -> dict[str, Path]:
    folder = course / "submitted"
    if not folder.is_dir():
        return {}
    return {
        p.parent.name: p
        for p in sorted(folder.glob(f"*/{assignment}"))
        if p.is_dir() and not p.is_symlink()
    }


def _make_template(course: Path, assignment: str, dest: Path) -> None:
    """The private course every job starts from: config, source, a one-assignment gradebook.

    The gradebook is a copy of the course's (same ids, same cell order, which nbgrader's
    ``add_missing_cells`` relies on) without any student, submission or other assignment,
    vacuumed so deleted rows are really gone: a job cannot read other students' grades or
    other assignments' hidden tests from it.
    """
    dest.mkdir(mode=0o700)
    shutil.copy2(course / "nbgrader_config.py", dest / "nbgrader_config.py")
    source = course / "solutions" / assignment
    shutil.copytree(
        source,
        dest / "solutions" / assignment,
        symlinks=False,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    src = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
    dst = sqlite3.connect(dest / "gradebook.db")
    try:
        src.backup(dst)
        other = "SELECT id FROM assignment WHERE name != ?"
        nbs = f"SELECT id FROM notebook WHERE assignment_id IN ({other})"
        cells = f"SELECT id FROM base_cell WHERE notebook_id IN ({nbs})"
        with dst:
            for table in (
                "comment",
                "grade",
                "submitted_notebook",
                "submitted_assignment",
                "student",
            ):
                dst.execute(f"DELETE FROM {table}")
            for table in ("grade_cells", "solution_cells", "task_cells"):
                dst.execute(f"DELETE FROM {table} WHERE id IN ({cells})", (assignment,))
            dst.execute(f"DELETE FROM base_cell WHERE notebook_id IN ({nbs})", (assignment,))
            dst.execute(f"DELETE FROM source_cell WHERE notebook_id IN ({nbs})", (assignment,))
            dst.execute(f"DELETE FROM notebook WHERE assignment_id IN ({other})", (assignment,))
            dst.execute("DELETE FROM assignment WHERE name != ?", (assignment,))
        dst.execute("VACUUM")
    finally:
        src.close()
        dst.close()


def _hidden_and_exposed(course: Path, base: Path) -> tuple[list[str], list[str]]:
    """Folders to hide in the sandbox, and folders to bind back (Python, the two packages)."""
    import lstm_core
    import lstm_grading

    packages = [Path(lstm_core.__file__).parent, Path(lstm_grading.__file__).parent]
    expose = {Path(sys.prefix), Path(sys.base_prefix), *packages}
    expose.add(Path(os.path.realpath(sys.executable)).parent.parent)
    expose |= {Path(entry).resolve() for entry in sys.path if entry and Path(entry).is_dir()}
    hide = {Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm", "/root", "/home")}
    hide |= {course.resolve(), base.resolve()}
    hide |= {pkg.parent for pkg in packages if (pkg.parent / "nbgrader_config.py").exists()}
    # Never bind back a folder that holds a hidden one (the repository, the course root).
    expose = {p for p in expose if not any(h == p or p in h.parents for h in hide)}
    for p in list(expose):
        for parent in p.parents:  # a folder others cannot traverse (/root is 700 here)
            if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                hide.add(parent)
    expose = {p.resolve() for p in expose if p.is_dir()}
    kept = sorted(p for p in expose if not any(q in p.parents for q in expose))
    return sorted(map(str, hide)), [
        str(p) for p in kept if any(h == p or h in p.parents for h in map(Path, hide))
    ]


# -- classification ----------------------------------------------------------------------------
def _cell_label(cell) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    return meta.get("grade_id") or (source.strip().splitlines() or [""])[0][:60]


def _notes_from_notebook(path: Path) -> list[str]:
    """Per-cell problems recorded in an autograded notebook's outputs."""
    notes = []
    try:  # plain JSON: nbformat's validation would cost the coordinator ~40 ms a notebook
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"autograded notebook unreadable: {exc}"]
    kinds = {
        "CellTimeout": "cell timeout",
        "CellTimeoutError": "cell timeout (kernel interrupted)",
        "OutputLimitExceeded": "output limit",
        "MemoryError": "memory limit (MemoryError)",
        "SystemExit": "sys.exit",
    }
    for cell in cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") in kinds:
                notes.append(f"{kinds[out['ename']]} in {_cell_label(cell)}")
    return notes


def _static_checks(submission: Path, release: Path) -> tuple[list[str], list[str]]:
    """(notes, flags): missing or edited locked cells; suspicious code (see SUSPICIOUS)."""
    notes, flags, text = [], set(), []
    for path in sorted(submission.glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text())
            cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
        except (OSError, ValueError, AttributeError):
            continue
        by_id = {}
        for c in cells:
            src = c.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            c = {**c, "source": src}
            meta = (c.get("metadata") or {}).get("nbgrader", {})
            if c.get("cell_type") == "code" and not (meta.get("locked") or meta.get("grade")):
                text.append(src)  # the student's own code (locked cells are restored anyway)
            gid = meta.get("grade_id")
            if gid:
                by_id[gid] = c
        try:
            ref = json.loads((release / path.name).read_text())
        except (OSError, ValueError):
            continue
        for c in ref["cells"]:
            meta = c.get("metadata", {}).get("nbgrader", {})
            gid = meta.get("grade_id")
            if not gid or not (meta.get("grade") or meta.get("locked")):
                continue
            if gid not in by_id:
                notes.append(f"missing cell {gid} (restored by nbgrader)")
            elif by_id[gid]["source"] != "".join(c["source"]):
                notes.append(f"edited locked cell {gid} (restored by nbgrader)")
    code = "\n".join(text)
    flags = [name for name, pattern in SUSPICIOUS.items() if re.search(pattern, code)]
    return notes, flags


def _failure_reason(result: dict, log: str, limits: Limits) -> str:
    if result.get("error"):
        return "sandbox error: " + result["error"].strip().splitlines()[-1]
    if result.get("timed_out"):
        return f"timeout: the notebook ran past {limits.notebook_timeout} s"
    for needle, reason in PLAIN_FAILURES:
        if needle in log:
            if reason == "kernel died" and result.get("oom_kills"):
                return "memory limit: the kernel was killed by the memory cgroup"
            return reason
    errors = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    last = errors[-1].strip()[:200] if errors else f"exit status {result.get('exit_code')}"
    return "nbgrader failed: " + last


# -- the gradebook -----------------------------------------------------------------------------
def _merge(gb, assignment: str, student: str, private_db: Path | None, timestamp) -> float | None:
    """Copy one student's autograded scores and comments into the course gradebook.

    ``private_db`` None (or holding no scores) records a failed submission: empty scores,
    flagged for manual grading, as nbgrader leaves a submission whose autograding failed.
    Returns the autograded total, or None for a failure.
    """
    from nbgrader.api import Gradebook, MissingEntry

    priv_scores: dict = {}
    if private_db and private_db.exists():
        with Gradebook(f"sqlite:///{private_db}") as priv:
            try:
                sub = priv.find_submission(assignment, student)
            except MissingEntry:
                sub = None
            if sub is not None:
                timestamp = sub.timestamp or timestamp
                for nb in sub.notebooks:
                    priv_scores[nb.name] = (
                        nb.late_submission_penalty,
                        {g.name: g.auto_score for g in nb.grades},
                        {c.name: c.auto_comment for c in nb.comments},
                    )
    failed = not priv_scores or any(
        v is None for _, grades, _ in priv_scores.values() for v in grades.values()
    )
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.add_student(student)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    # Without autoflush: nbgrader's add_submission builds the submission through backrefs,
    # which SQLAlchemy 2.0 warns about ("SubmittedAssignment not in session") when it flushes
    # half-way; the commit at the end of add_submission stores the same rows.
    with gb.db.no_autoflush:
        sub = gb.update_or_create_submission(assignment, student, **kwargs)
    total = 0.0
    for nb in sub.notebooks:
        penalty, grades, comments = priv_scores.get(nb.name, (None, {}, {}))
        nb.late_submission_penalty = None if failed else penalty
        for grade in nb.grades:
            grade.auto_score = None if failed else grades.get(grade.name)
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            total += grade.auto_score or 0.0
        for comment in nb.comments:
            comment.auto_comment = None if failed else comments.get(comment.name)
    gb.db.commit()
    return None if failed else total


def _max_score(course: Path, assignment: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_assignment(assignment).max_score


def _install_autograded(out: Path, dest: Path) -> None:
    """Replace ``dest`` (autograded/<student>/<assignment>) with ``out``, files read-only."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.incoming"
    shutil.rmtree(tmp, ignore_errors=True)
    sandbox.copy_regular_tree(str(out), str(tmp))
    for folder, _, files in os.walk(tmp):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


# -- feedback ----------------------------------------------------------------------------------
def _feedback_job(course: str, assignment: str, student: str) -> tuple[str, int]:
    """``nbgrader generate_feedback`` for one student, in a forked child of a worker."""
    pid = os.fork()
    if pid == 0:
        rc = 2
        try:
            os.chdir(course)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.environ["PATH"] = _nbgrader_env()["PATH"]
            from nbgrader.apps.nbgraderapp import NbGraderApp

            try:
                NbGraderApp.launch_instance(
                    argv=["generate_feedback", assignment, "--student", student, "--force"]
                )
                rc = 0
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(rc)
    _, status = os.waitpid(pid, 0)
    return student, os.waitstatus_to_exitcode(status)


# -- terminal output ---------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on a terminal; a line per tenth of the work otherwise."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.failed = total, 0, 0
        self.stream, self.tty = stream, stream.isatty()
        self.start = time.monotonic()
        self.last_tenth = -1

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += outcome.status == "failed"
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = 30
        fill = int(width * self.done / max(self.total, 1))
        line = (
            f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
            f"failed {self.failed}  {elapsed:5.0f} s, ~{eta:4.0f} s left  {outcome.student[:20]}"
        )
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
            if self.done == self.total:
                self.stream.write("\n")
        elif self.done * 10 // max(self.total, 1) > self.last_tenth:
            self.last_tenth = self.done * 10 // max(self.total, 1)
            self.stream.write(line + "\n")
        self.stream.flush()


def format_table(outcomes: list[Outcome]) -> str:
    """The summary as a plain-text table (failures and notes first)."""
    order = {"failed": 0, "graded": 1, "unchanged": 2}
    rows = sorted(outcomes, key=lambda o: (order[o.status], not o.notes, o.student))
    header = ("student", "status", "score", "reason / notes", "cell", "flags")
    table = [header]
    for o in rows:
        score = "" if o.score is None else f"{o.score:g}/{o.max_score:g}"
        what = o.reason or "; ".join(o.notes)
        table.append((o.student, o.status, score, what[:70], o.cell[:30], ", ".join(o.flags)[:40]))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- the run -----------------------------------------------------------------------------------
def _key(course: Path, assignment: str, limits: Limits) -> str:
    h = hashlib.sha256()
    h.update(_tree_hash(course / "solutions" / assignment).encode())
    h.update((course / "nbgrader_config.py").read_bytes())
    h.update(json.dumps(asdict(limits), sort_keys=True).encode())
    return h.hexdigest()


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def default_jobs() -> int:
    """One worker more than there are cores.

    A job spends part of its time waiting (its kernel starting up, files being copied), so
    with exactly one worker per core a core sits idle now and then; one more keeps every core
    busy. Measured here on 2 cores: 1.72x the sequential throughput with 2 workers, 2.13x
    with 3 (benchmarks/bench_grading.py).
    """
    return (os.cpu_count() or 1) + 1


def grade_assignment(
    course: Path,
    assignment: str,
    *,
    jobs: int | None = None,
    limits: Limits | None = None,
    force: bool = False,
    sandbox_mode: str | None = None,
    feedback: bool = True,
    export: bool = True,
    progress: bool = True,
) -> dict:
    """Autograde every submission of ``assignment`` in ``course``; return the summary dict."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    course = course.resolve()
    limits = limits or Limits()
    jobs = jobs or default_jobs()
    if not (course / "nbgrader_config.py").exists():
        raise SystemExit(f"{course} has no nbgrader_config.py: not a course folder")
    with contextlib.suppress(MissingEntry):
        max_score = None
        max_score = _max_score(course, assignment)
    if max_score is None:
        raise SystemExit(
            f"{assignment} is not in {course / 'gradebook.db'}: run `make exercises` "
            "(nbgrader generate_assignment) first"
        )
    if sandbox_mode is None:
        sandbox_mode, why = sandbox.probe()
    else:
        why = "requested" if sandbox_mode == "reduced" else ""
    reports = course / "reports" / assignment
    (reports / "logs").mkdir(parents=True, exist_ok=True)
    manifest_path = reports / "manifest.json"
    key = _key(course, assignment, limits)
    manifest = {"key": key, "students": {}}
    with contextlib.suppress(OSError, ValueError):
        old = json.loads(manifest_path.read_text())
        if old.get("key") == key:
            manifest["students"] = old.get("students", {})

    submissions = _find_submissions(course, assignment)
    outcomes: dict[str, Outcome] = {}
    todo: dict[str, str] = {}  # student -> hash
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        graded_before = {s.student_id for s in gb.find_assignment(assignment).submissions}
    for student, folder in submissions.items():
        if not STUDENT_ID.match(student):
            outcomes[student] = Outcome(student, "failed", reason="invalid student id")
            continue
        digest = _tree_hash(folder)
        entry = manifest["students"].get(student, {})
        if (
            not force
            and entry.get("hash") == digest
            and entry.get("status") == "graded"
            and (course / "autograded" / student / assignment).is_dir()
            and student in graded_before
        ):
            outcomes[student] = Outcome(
                student,
                "unchanged",
                entry.get("score"),
                max_score,
                notes=entry.get("notes", []),
                flags=entry.get("flags", []),
            )
        else:
            todo[student] = digest

    base = Path(tempfile.mkdtemp(prefix="lstm-autograde-"))
    start = time.monotonic()
    try:
        template = base / "template"
        _make_template(course, assignment, template)
        hide, expose = _hidden_and_exposed(course, base) if sandbox_mode == "full" else ([], [])
        cgroup = sandbox.memory_cgroup_parent() if sandbox_mode == "full" else None
        bar = Progress(len(todo)) if progress and todo else None
        regraded = []
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=sandbox.preload) as pool:
            futures = {}
            for n, student in enumerate(sorted(todo)):
                work = base / f"job{n:05d}"
                work.mkdir(mode=0o700)
                sandbox.copy_regular_tree(str(submissions[student]), str(work / "submission"))
                job = Job(
                    student,
                    assignment,
                    str(work),
                    str(template),
                    0,
                    limits,
                    sandbox_mode,
                    hide,
                    expose,
                    cgroup,
                )
                futures[pool.submit(_run, job)] = student
            for future in as_completed(futures):
                student = futures[future]
                outcome = _record(
                    course,
                    assignment,
                    student,
                    future.result(),
                    limits,
                    submissions[student],
                    max_score,
                    parse_utc,
                )
                outcomes[student] = outcome
                manifest["students"][student] = {
                    "hash": todo[student],
                    "status": outcome.status,
                    "score": outcome.score,
                    "reason": outcome.reason,
                    "notes": outcome.notes,
                    "flags": outcome.flags,
                }
                _write_json(manifest_path, manifest)
                if outcome.status == "graded":
                    regraded.append(student)
                if bar:
                    bar.update(outcome)
            if feedback and regraded:
                fb = [pool.submit(_feedback_job, str(course), assignment, s) for s in regraded]
                for f in as_completed(fb):
                    student, rc = f.result()
                    if rc != 0:
                        outcomes[student].notes.append("feedback generation failed")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    wall = time.monotonic() - start
    if export:
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "export"],
            cwd=course,
            env=_nbgrader_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    rows = [outcomes[s].row() for s in sorted(outcomes)]
    summary = {
        "assignment": assignment,
        "sandbox": sandbox_mode if not why else f"{sandbox_mode} ({why})",
        "memory_cgroup": bool(cgroup),
        "jobs": jobs,
        "limits": asdict(limits),
        "graded": sum(o.status == "graded" for o in outcomes.values()),
        "failed": sum(o.status == "failed" for o in outcomes.values()),
        "unchanged": sum(o.status == "unchanged" for o in outcomes.values()),
        "wall_seconds": round(wall, 2),
        "students": rows,
    }
    _write_json(reports / "summary.json", summary)
    with open(reports / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=list(Outcome.__dataclass_fields__), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    summary["table"] = format_table(list(outcomes.values()))
    return summary


def _run(job: Job) -> dict:
    """In a worker: the job, with the worker's pid as its slot (so its uid is unique)."""
    return sandbox.run_job(replace(job, slot=os.getpid()))


def _record(course, assignment, student, result, limits, submission, max_score, parse_utc):
    from nbgrader.api import Gradebook

    out = Path(result["out"])
    log = ""
    with contextlib.suppress(OSError):
        log = (out / "nbgrader.log").read_text(errors="replace")
    (course / "reports" / assignment / "logs" / f"{student}.log").write_text(log)
    notes, flags = _static_checks(submission, course / "exercises" / assignment)
    timestamp = None
    with contextlib.suppress(OSError, ValueError, TypeError):
        timestamp = parse_utc((submission / "timestamp.txt").read_text().strip())
    auto = out / "autograded"
    ok = result.get("exit_code") == 0 and not result.get("timed_out") and auto.is_dir()
    # A fresh session per submission, as nbgrader's own autograde opens one per student.
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        total = _merge(gb, assignment, student, out / "gradebook.db" if ok else None, timestamp)
    dest = course / "autograded" / student / assignment
    if total is None:
        shutil.rmtree(dest, ignore_errors=True)  # as nbgrader: no folder for a failed one
        cell = ""
        with contextlib.suppress(OSError):
            cell = (out / "last-cell.txt").read_text().strip()
        return Outcome(
            student,
            "failed",
            None,
            max_score,
            _failure_reason(result, log, limits),
            cell,
            notes,
            flags,
            result["seconds"],
        )
    _install_autograded(auto, dest)
    for name in sorted(p.name for p in auto.glob("*.ipynb")):
        notes += _notes_from_notebook(auto / name)
    return Outcome(student, "graded", total, max_score, "", "", notes, flags, result["seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lstm-autograde",
        description="Autograde every submission of one assignment in parallel, sandboxed.",
    )
    parser.add_argument("assignment", help="assignment id, e.g. ps01_activations")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course root (cwd)")
    parser.add_argument(
        "--jobs", "-j", type=int, default=None, help="workers (default: one more than the cores)"
    )
    default_cell = int(os.environ.get("LSTM_GRADING_CELL_TIMEOUT", Limits.cell_timeout))
    parser.add_argument("--cell-timeout", type=int, default=default_cell, help="seconds")
    parser.add_argument("--notebook-timeout", type=int, default=Limits.notebook_timeout)
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb)
    parser.add_argument("--output-bytes", type=int, default=Limits.output_bytes)
    parser.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    parser.add_argument("--no-sandbox", action="store_true", help="rlimits and timeouts only")
    parser.add_argument("--no-feedback", action="store_true")
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args(argv)
    limits = Limits(
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        memory_mb=args.memory_mb,
        output_bytes=args.output_bytes,
    )
    summary = grade_assignment(
        args.course,
        args.assignment,
        jobs=args.jobs,
        limits=limits,
        force=args.force,
        sandbox_mode="reduced" if args.no_sandbox else None,
        feedback=not args.no_feedback,
        export=not args.no_export,
    )
    print(summary["table"])
    print(
        f"\n{summary['graded']} graded, {summary['failed']} failed, {summary['unchanged']} "
        f"unchanged in {summary['wall_seconds']} s; sandbox: {summary['sandbox']}; "
        f"report: {args.course / 'reports' / args.assignment / 'summary.csv'}"
    )
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

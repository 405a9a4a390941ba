"""Two environments in a grading job: nbgrader's (root in full mode) and its kernel's.

nbgrader's names none of the student's folders, so that nothing root runs looks for its
configuration, its IPython folder or its temporary files in a folder the student's code can
change; the kernel launcher gives the kernel the student's own folders when it starts it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from lstm_grading import kernel_launcher, private_course
from lstm_grading.job import Job, Limits

STUDENT_FOLDERS = ("HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR")


def a_job(tmp_path: Path) -> Job:
    return Job(
        "ada", "ps01_activations", str(tmp_path / "work"), str(tmp_path / "t"), Limits(), "reduced"
    )


def test_nbgraders_environment_names_no_folder_of_the_students(tmp_path):
    course, home = "/tmp/course", "/tmp/home"
    env = private_course.environment(course, a_job(tmp_path))
    for name, value in env.items():
        assert home not in value, (name, value)
    for name in ("HOME", "TMPDIR", "IPYTHONDIR", "JUPYTER_RUNTIME_DIR"):
        assert env[name].startswith(course + "/"), (name, env[name])
    assert env["TMPDIR"] == env["JUPYTER_RUNTIME_DIR"]  # where run_nbgrader's tempfile writes


def test_the_kernels_environment_is_the_students_own_folders():
    home = "/tmp/home"
    env = private_course.kernel_environment(home)
    for name in STUDENT_FOLDERS:
        assert env[name] == home or env[name].startswith(home + "/"), (name, env[name])
    assert env["USER"] == env["LOGNAME"] == "student"


def test_the_launcher_starts_the_kernel_in_the_students_environment(tmp_path):
    """kernel_launcher.py run as nbgrader runs it (reduced mode: no uid to drop to), with a
    stand-in for Python that writes down its environment and arguments instead of a kernel."""
    home, course = tmp_path / "home", tmp_path / "course"
    (home / "tmp").mkdir(parents=True)
    course.mkdir()
    graded = tmp_path / "autograded"  # the cwd nbgrader gives: its assignment's files
    graded.mkdir()
    (graded / "data.txt").write_text("the assignment's file")
    seen = tmp_path / "seen.json"
    fake = tmp_path / "fake-python"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump({{'env': dict(os.environ), 'argv': sys.argv[1:], 'cwd': os.getcwd()}},"
        f" open({str(seen)!r}, 'w'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    connection = tmp_path / "connection.json"
    connection.write_text('{"key": "k"}')
    job = a_job(tmp_path)
    settings = tmp_path / "launcher.json"
    settings.write_text(
        json.dumps(
            {
                "uid": None,
                "home": str(home),
                "workdir": str(home / job.assignment),
                "log": str(course / ".kernel.log"),
                "python": str(fake),
                "memory_mb": job.limits.memory_mb,
                "file_mb": job.limits.file_mb,
                "nproc": job.limits.nproc,
                "env": private_course.kernel_environment(str(home)),
                "kernel_args": ["--extra"],
            }
        )
    )
    nbgraders = private_course.environment(str(course), job)
    launcher = kernel_launcher.__file__
    subprocess.run(
        [sys.executable, "-I", "-S", launcher, str(settings), "-f", str(connection)],
        cwd=graded,
        env=nbgraders,
        check=True,
        timeout=120,
    )
    got = json.loads(seen.read_text())
    env = got["env"]
    for name, value in private_course.kernel_environment(str(home)).items():
        assert env[name] == value, name
    assert nbgraders["HOME"] != env["HOME"]  # the launcher did change it
    for name in ("JUPYTER_PATH", "LSTM_GRADING_CELL_TIMEOUT", "OPENBLAS_NUM_THREADS", "PATH"):
        assert env[name] == nbgraders[name], name  # the rest is nbgrader's, unchanged
    copy = str(home / ".kernel-connection.json")
    assert got["argv"] == ["-P", "-m", "ipykernel_launcher", "-f", copy, "--extra"]
    assert got["cwd"] == str(home / job.assignment)
    assert Path(got["cwd"], "data.txt").read_text() == "the assignment's file"
    assert os.stat(copy).st_mode & 0o777 == 0o600


def test_the_kernel_imports_the_grading_packages_the_run_imports(tmp_path):
    """A run whose lstm_grading and lstm_core are not those its interpreter finds by itself (a
    copy on PYTHONPATH here; an editable install of another checkout when it was found): the
    kernel, started with nbgrader's environment and ``python -P`` as the launcher starts it,
    imports the run's. Before the fix the environment had no PYTHONPATH and the kernel found
    the interpreter's own: found when a class graded from a clone with PYTHONPATH set got 0 for
    every student in the full sandbox ("No module named 'lstm_grading'"); this test then saw
    the installed packages, not the copy."""
    import lstm_core
    import lstm_grading

    copy = tmp_path / "checkout"
    for module in (lstm_core, lstm_grading):
        folder = Path(module.__file__).parent
        shutil.copytree(folder, copy / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
    probe = (
        "import json, subprocess, sys\n"
        "from lstm_grading import private_course\n"
        "from lstm_grading.job import Job, Limits\n"
        f"job = Job('ada', 'ps01_activations', {str(tmp_path / 'w')!r}, {str(tmp_path / 't')!r},"
        " Limits(), 'reduced')\n"
        f"env = private_course.environment({str(tmp_path / 'course')!r}, job)\n"
        "kernel = subprocess.run([sys.executable, '-P', '-c', 'import lstm_core, lstm_grading;"
        " print(lstm_core.__file__); print(lstm_grading.__file__)'], env=env,"
        " capture_output=True, text=True, check=True)\n"
        "print(kernel.stdout, end='')\n"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        env={**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert out == [
        str(copy / "lstm_core" / "__init__.py"),
        str(copy / "lstm_grading" / "__init__.py"),
    ]

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

import pytest

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


@pytest.mark.processes
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
    assert got["argv"] == ["-P", "-c", kernel_launcher.KERNEL_MAIN, "-f", copy, "--extra"]
    assert got["cwd"] == str(home / job.assignment)
    assert Path(got["cwd"], "data.txt").read_text() == "the assignment's file"
    assert os.stat(copy).st_mode & 0o777 == 0o600


@pytest.mark.processes
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


def prepared(tmp_path: Path, limits: Limits, python: str) -> tuple[Job, dict[str, str]]:
    """A reduced-mode job of ps01 and nbgrader's environment, once private_course.prepare has
    filled ``tmp_path``/course (a template with its nbgrader_config.py, a submission of one
    notebook) and the student's ``tmp_path``/home."""
    from lstm_grading import safe_copy

    template, submission = tmp_path / "template", tmp_path / "submission"
    (template / "solutions" / "ps01").mkdir(parents=True)
    (template / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    submission.mkdir()
    (submission / "ps01.ipynb").write_text("{}")
    course, home = tmp_path / "course", tmp_path / "home"
    course.mkdir()
    job = Job("ada", "ps01", str(tmp_path), str(template), limits, "reduced", python=python)
    fds = [safe_copy.open_dir(str(template)), safe_copy.open_dir(str(submission))]
    try:
        env = private_course.prepare(job, *fds, str(course), str(home))
    finally:
        for fd in fds:
            os.close(fd)
    return job, env


def test_prepare_fills_the_private_course_and_the_kernelspec_reduced_mode(tmp_path):
    """private_course.prepare as a reduced-mode job runs it (no uid to give the home to; full
    mode's chown and chmod need root: the slow tier's sandboxed runs)."""
    limits = Limits(cell_timeout=7, output_bytes=12345, memory_mb=1500)
    job, env = prepared(tmp_path, limits, "/py")
    course, home = tmp_path / "course", tmp_path / "home"
    assert env == private_course.environment(str(course), job)
    assert env["LSTM_GRADING_CELL_TIMEOUT"] == "7"  # nbgrader_config.py's cell timeout
    assert (course / "nbgrader_config.py").is_file()
    assert (course / "submitted" / "ada" / "ps01" / "ps01.ipynb").read_text() == "{}"
    for sub in ("tmp", ".ipython", ".matplotlib", "ps01"):
        assert stat.S_IMODE((home / sub).stat().st_mode) == 0o700, sub
    for key in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        assert stat.S_IMODE(os.stat(env[key]).st_mode) == 0o700, key
    jupyter = Path(env["JUPYTER_PATH"])
    settings = json.loads((jupyter / "launcher.json").read_text())
    assert settings["uid"] is None and settings["workdir"] == str(home / "ps01")
    assert (settings["python"], settings["memory_mb"]) == ("/py", 1500)
    assert (settings["file_mb"], settings["nproc"]) == (limits.file_mb, limits.nproc)
    assert settings["env"] == private_course.kernel_environment(str(home))
    assert "--OutputGuard.limit=12345" in settings["kernel_args"]
    kernel = json.loads((jupyter / "kernels" / "python3" / "kernel.json").read_text())
    launcher = Path(private_course.__file__).parent / "kernel_launcher.py"
    # -I -S: the launcher starts isolated, reading no site-packages or PYTHON* variables
    assert kernel["argv"][:4] == ["/py", "-I", "-S", str(launcher)]
    assert kernel["argv"][4:] == [str(jupyter / "launcher.json"), "-f", "{connection_file}"]


@pytest.mark.slow
def test_the_grading_kernel_starts_without_its_debugger_and_runs_code(tmp_path):
    """The kernelspec private_course.prepare writes, started by jupyter_client as nbgrader
    starts it (reduced mode: no uid switch): kernel_info lists no debugger among its features,
    student code runs, and importing debugpy fails (KERNEL_MAIN leaves it out; before, the
    kernel imported it, and listed the debugger)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    _, env = prepared(tmp_path, Limits(), sys.executable)
    graded = tmp_path / "course" / "autograded" / "ada" / "ps01"
    graded.mkdir(parents=True)
    specs = KernelSpecManager(kernel_dirs=[str(Path(env["JUPYTER_PATH"]) / "kernels")])
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    manager.start_kernel(cwd=str(graded), env={**env, "PYTHONPATH": os.pathsep.join(sys.path)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        info = client.kernel_info(reply=True, timeout=120)["content"]
        outputs = []
        code = (
            "import sys\n"
            "try:\n"
            "    import debugpy\n"
            "except ImportError:\n"
            "    print('no debugpy', 6 * 7, sys.modules.get('debugpy'))\n"
        )
        reply = client.execute_interactive(
            code, timeout=120, output_hook=lambda msg: outputs.append(msg)
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert info["status"] == "ok" and "debugger" not in info["supported_features"], info
    assert reply["content"]["status"] == "ok", reply["content"]
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert text == "no debugpy 42 None\n"

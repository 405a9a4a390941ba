"""``lstm-autograde``: the command line of the parallel grader (:mod:`lstm_grading.parallel`).

``lstm-autograde ASSIGNMENT [options]`` grades a class on this machine, or on a Dask cluster with
``--cluster local:N``, ``--scheduler ADDRESS`` or ``--scheduler-file PATH``
(:mod:`lstm_grading.cluster`); ``lstm-autograde export --canvas ...`` fills a Canvas gradebook
export with the grades (:mod:`lstm_grading.canvas`).

Exit status (:data:`EXIT_STATUS`, which ``--help`` shows): 0 if all went well; 1 if a
submission failed or was refused, feedback or the export failed; 2 for an input refused (one
line naming it), a course another run is grading, a full disk, a cluster that cannot be
used or grading code that changed during the run; 128 + the signal's number (130, 143, 129)
for a run stopped by SIGINT, SIGTERM or SIGHUP, after its clean-up (:func:`stopped_by_signals`).
"""

from __future__ import annotations

import contextlib
import signal
import sys

from . import inputs
from .cluster import connect
from .cluster.connect import ClusterError, Target
from .cluster.coordinator import WORKER_TIMEOUT
from .course_lock import CourseBusy
from .disk import DiskFull
from .job import LIMIT_RULES
from .parallel import GradingCodeChanged, grade_assignment
from .sandbox import Limits

#: What the exit status says, at the end of ``--help`` (the module's docstring says it too).
EXIT_STATUS = (
    "Exit status: 0 if all went well; 1 if a submission failed or was refused, feedback or the "
    "export failed; 2 for an input refused (one line naming it), a course another run is "
    "grading, a full disk, a cluster that cannot be used or grading code that changed during "
    "the run; 128 + the signal's number (130, 143, 129) for a run stopped by SIGINT, SIGTERM "
    "or SIGHUP, after its clean-up."
)


def parser() -> inputs.Parser:
    p = inputs.Parser(
        prog="lstm-autograde",
        usage=(
            "%(prog)s ASSIGNMENT [options]\n"
            "       %(prog)s export --canvas FILE --column NAME --assignment ID [options]"
        ),
        description="Autograde every submission of one assignment in parallel, sandboxed.",
        epilog=f"lstm-autograde export --help: send the grades to Canvas. {EXIT_STATUS}",
    )
    p.add_argument("assignment", help="assignment id, e.g. ps01_activations")
    p.add_argument(
        "--course", type=inputs.path_option, default=inputs.cwd(), help="course root (cwd)"
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=inputs.jobs_rule().parse,
        default=None,
        help="worker processes on this machine: the pool's, or with a cluster those that write "
        "the feedback (default: one more than the cores)",
    )
    limit = {name: rule.parse for name, rule in LIMIT_RULES.items()}
    try:
        default_cell = inputs.env_cell_timeout() or Limits.cell_timeout
    except ValueError:
        default_cell = Limits.cell_timeout  # main() reports the variable
    # Each limit of a job: its option, what it limits, and its default (shown by --help).
    limits = [
        ("cell_timeout", default_cell, "seconds any one cell may run"),
        (
            "notebook_timeout",
            Limits.notebook_timeout,
            "seconds for a whole submission, and for its feedback",
        ),
        (
            "memory_mb",
            Limits.memory_mb,
            "memory per process of a submission (its address space), MiB",
        ),
        ("output_bytes", Limits.output_bytes, "output any one cell may print, bytes"),
        ("disk_mb", Limits.disk_mb, "the job's /tmp, which holds the kernel's home, MiB"),
        ("return_mb", Limits.return_mb, "files kept per submission, MiB; the excess is reported"),
    ]
    for name, default, what in limits:
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=limit[name],
            default=default,
            help=f"{what} (default: %(default)s)",
        )
    p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    p.add_argument("--wait", action="store_true", help="wait for a running grading of the course")
    p.add_argument("--no-sandbox", action="store_true", help="rlimits and timeouts only")
    p.add_argument(
        "--no-feedback",
        action="store_true",
        help="write no feedback pages (the next run writes the missing ones)",
    )
    p.add_argument("--no-export", action="store_true", help="leave grades.csv as it is")
    dask = p.add_argument_group(
        "on a Dask cluster (in the course's checkout: pip install -e '.[cluster]'; "
        "book/instructor-guide.md)"
    )
    dask.add_argument(
        "--cluster", metavar="local:N", help="start N local worker processes for this run"
    )
    dask.add_argument(
        "--scheduler", metavar="ADDRESS", help="an existing scheduler, tls://HOST:PORT"
    )
    dask.add_argument(
        "--scheduler-file", metavar="PATH", help="the file `dask scheduler --scheduler-file` wrote"
    )
    dask.add_argument("--tls-ca-file", metavar="PATH", help="CA certificate of the cluster (PEM)")
    dask.add_argument("--tls-cert", metavar="PATH", help="this client's certificate (PEM)")
    dask.add_argument("--tls-key", metavar="PATH", help="this client's private key (PEM)")
    dask.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow an unencrypted connection to a scheduler on another machine",
    )
    dask.add_argument(
        "--worker-timeout",
        type=inputs.WORKER_TIMEOUT_RULE.parse,
        default=None,
        help=f"seconds to wait for a first worker to join the scheduler ({WORKER_TIMEOUT})",
    )
    return p


# What stops a run as Ctrl-C does: `timeout` and systemd send SIGTERM, a closed SSH session
# or terminal SIGHUP. Each ends the run the same way, cleaned up, with status 128 + the signal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """The run was stopped by ``signum`` (a ``KeyboardInterrupt``, so every ``finally`` and
    ``with`` on the way out runs: the pool is stopped, the run folder removed)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stopped_by_signals():
    """Turn SIGINT, SIGTERM and SIGHUP (those not ignored) into :class:`Stopped` for the
    ``with`` block.

    After the first, all three are ignored: a second signal would otherwise interrupt the
    clean-up the first one started (SIGKILL still ends the process; the next run then removes
    what is left).
    """

    def stop(signum, frame):
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Stopped(signum)

    # A signal ignored when the run started stays ignored: `nohup` ignores SIGHUP so that the
    # run outlives the session, a shell ignores SIGINT for a command started with `&`.
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s, handler in before.items():
        if handler is not signal.SIG_IGN:
            signal.signal(s, stop)
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def cluster_target(args) -> Target | None:
    """The cluster the options ask for (None: this machine's pool); ``ValueError`` if wrong."""
    return connect.target(
        cluster=args.cluster,
        scheduler=args.scheduler,
        scheduler_file=args.scheduler_file,
        tls_ca_file=args.tls_ca_file,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        allow_insecure=args.allow_insecure,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        from . import canvas

        return canvas.main(argv[1:])
    args = parser().parse_args(argv)
    try:
        with stopped_by_signals():
            return _run(args)
    except KeyboardInterrupt as exc:  # Stopped, or a Ctrl-C before the handlers were set
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        name = signal.Signals(signum).name
        # What the run did and what the next run will do (parallel.summary_when_stopped),
        # known once the run has begun its plan. Stopped before (waiting for the course's lock,
        # or starting), it graded, merged and wrote nothing, and has everything still to do.
        what = getattr(exc, "stop_report", None)
        if what is None:
            # Not "the summary files are the running one's": a run writes them as it ends, and
            # the lock is the course's, held also by a run of another assignment.
            waiting = getattr(exc, "stopped_while", "")
            what = (
                f"{f'while {waiting}' if waiting else 'before it had its plan'}: nothing was "
                "graded or merged and no summary written (the summary files, if any, are "
                "another run's)"
            )
        then = getattr(exc, "next_run", "run the same command again to grade the assignment")
        print(f"lstm-autograde: stopped by {name} {what} ({then})", file=sys.stderr)
        return 128 + signum


def _run(args) -> int:
    try:
        inputs.env_cell_timeout()  # nbgrader_config.py reads it: feedback, export
        limits = Limits(
            cell_timeout=args.cell_timeout,
            notebook_timeout=args.notebook_timeout,
            memory_mb=args.memory_mb,
            output_bytes=args.output_bytes,
            disk_mb=args.disk_mb,
            return_mb=args.return_mb,
        )
        common = {
            "jobs": args.jobs,
            "limits": limits,
            "force": args.force,
            "sandbox_mode": "reduced" if args.no_sandbox else None,
            "feedback": not args.no_feedback,
            "export": not args.no_export,
            "wait": args.wait,
        }
        target = cluster_target(args)
        if target is None and args.worker_timeout is not None:
            raise ValueError(
                f"--worker-timeout: got {args.worker_timeout:g} without a cluster; expected it "
                "with --cluster, --scheduler or --scheduler-file (this machine's pool has no "
                "workers to wait for)"
            )
        if target is None:
            summary = grade_assignment(args.course, args.assignment, **common)
        else:
            from .cluster import coordinator

            summary = coordinator.grade_assignment(
                args.course,
                args.assignment,
                target,
                worker_timeout=args.worker_timeout or WORKER_TIMEOUT,
                **common,
            )
    except (CourseBusy, ValueError, ClusterError, DiskFull, GradingCodeChanged) as exc:
        print(f"lstm-autograde: {exc}", file=sys.stderr)
        # An error during the run (a scheduler gone, a worker with other code): what the run
        # did and what the next one will do (parallel.summary_when_stopped), not a guess.
        if what := getattr(exc, "stop_report", None):
            print(f"lstm-autograde: the run stopped {what} ({exc.next_run})", file=sys.stderr)
        return 2
    print(summary["table"])
    cluster = summary.get("cluster")
    if cluster and cluster["scheduler"]:
        where = f"; on the Dask scheduler {cluster['scheduler']}"
    elif cluster:  # nothing to grade: no cluster started, no scheduler contacted (nor TLS tried)
        local = cluster["target"].startswith("local:")
        what = "cluster ({}) not started" if local else "scheduler ({}) not contacted"
        where = f"; the Dask {what.format(cluster['target'])}: nothing to grade"
    else:
        where = ""
    # Only when there are some: a student whose submitted folder is gone (parallel.KEPT).
    kept = f", {summary['kept']} kept (submitted folder gone)" if summary.get("kept") else ""
    print(
        f"\n{summary['graded']} graded, {summary['failed']} failed, {summary['refused']} "
        f"refused, {summary['unchanged']} unchanged{kept} in {summary['wall_seconds']} s; sandbox: "
        f"{summary['sandbox']}{where}; report: "
        f"{args.course / 'reports' / args.assignment / 'summary.csv'}"
    )
    if failed := summary.get("feedback_failed"):
        # Not "failed for N" of students this run did not try: their feedback ran past its
        # time on an earlier run (parallel.feedback_due), and the line said it failed now.
        before = summary.get("feedback_failed_before", 0)
        earlier = (
            f" ({'all' if before == failed else before} on an earlier run, not tried again: "
            "--force tries again)"
            if before
            else ""
        )
        print(
            f"lstm-autograde: feedback generation failed for {failed} student(s){earlier}: "
            "see their notes",
            file=sys.stderr,
        )
    if summary.get("export_error"):
        print(f"lstm-autograde: {summary['export_error']}", file=sys.stderr)
    problems = ("failed", "refused", "feedback_failed", "export_error")
    return 1 if any(summary.get(k) for k in problems) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade a class on a Dask cluster: `lstm-autograde ASSIGNMENT --cluster local:N`, `--scheduler`.

The same grading as :mod:`lstm_grading.parallel`, with the jobs shipped to ``dask.distributed``
workers, on this machine or many:

* :mod:`.connect`: which cluster (a ``LocalCluster`` of N processes, or an existing scheduler
  by address or scheduler file), TLS, and the refusal of an unencrypted connection to a
  scheduler on another machine;
* :mod:`.coordinator`: the run on the instructor's machine, the only writer of the course: the
  template sent once, one task per submission (its files as bytes), each result merged as it
  completes, exactly as the local mode merges (manifest keyed by the submission's hash,
  manual grades kept), then feedback, export and the summary;
* :mod:`.worker` and :mod:`.helper`: on each worker, a task hands the submission to a helper
  process (a fresh, single-threaded interpreter with nbgrader imported), which runs
  :func:`lstm_grading.sandbox.grade_files` in the full sandbox when it can, reduced otherwise,
  and says which.

Needs the optional extra ``cluster`` (``pip install "lstm-core[cluster]"``); nothing else in
the package imports Dask.
"""

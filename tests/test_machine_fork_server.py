"""The embedded cluster's one fork server: Dask workers and their students forked from it, same grades."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.grader.exercise import SOLUTIONS_DIR

WRITTEN_DIFFERENTLY = (
    "import torch\nfrom torch import nn\n\nclass LeakyReLU(nn.Module):\n"
    "    def __init__(self, negative_slope=0.01):\n        super().__init__()\n"
    "        self.negative_slope = negative_slope\n\n    def forward(self, x):\n"
    "        return x.clamp(min=0) + self.negative_slope * x.clamp(max=0)\n")
SUBTLY_WRONG = WRITTEN_DIFFERENTLY.replace("x.clamp(min=0) +", "x.clamp(min=0) -")

# Runs in a fresh interpreter, as `nnlab grade` does: no fork server is running before the
# engine starts one. Two engines in turn, the environment changed between them.
SCRIPT = r"""
import json, os, sys
from multiprocessing import forkserver
from pathlib import Path
from nnlab.engine import GradingEngine, StudentJob

def probe():
    from nnlab.grader.launcher import fork_server_inherited
    return [fork_server_inherited(), os.getppid(), os.environ.get("NNLAB_TEST_MARKER")]

root = Path(sys.argv[1])
rounds = []
for marker in ("first", "second"):
    os.environ["NNLAB_TEST_MARKER"] = marker
    jobs = [StudentJob(root / s, s, ("leaky_relu",), 1234) for s in ("right", "different", "wrong")]
    graded = []
    with GradingEngine(workers=2, exercise_ids=("leaky_relu",)) as engine:
        engine.client.wait_for_workers(2)
        workers = list(engine.client.run(probe).values())
        engine.grade_many(jobs, graded.append)
    rounds.append({
        "fork_server": forkserver._forkserver._forkserver_pid,
        "workers": workers,
        "grades": {g.job.student: [g.result.score, g.result.max_score, g.infrastructure_error,
                                   [[c.test_id, c.outcome.value] for e in g.result.exercises
                                    for c in e.checks],
                                   g.result.confinement.level]
                   for g in graded},
    })
print(json.dumps(rounds))
"""


@pytest.mark.slow
def test_the_embedded_cluster_forks_its_workers_from_one_fork_server(tmp_path: Path) -> None:
    """Are the embedded cluster's Dask workers forked from one fork server with torch loaded
    (which forks their students too), grading a right, a written-differently right and a subtly
    wrong submission as Dask's own fresh workers do, under the same confinement; and does an
    engine started after the environment changed get workers that see the new one?"""
    for student, text in (("different", WRITTEN_DIFFERENTLY), ("wrong", SUBTLY_WRONG)):
        (tmp_path / student).mkdir()
        (tmp_path / student / "leaky_relu.py").write_text(text)
    (tmp_path / "right").mkdir()
    shutil.copy(SOLUTIONS_DIR / "leaky_relu.py", tmp_path / "right" / "leaky_relu.py")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    # First engine: both Dask workers are children of this process's one fork server.
    assert first["fork_server"] is not None
    assert first["workers"] == [[True, first["fork_server"], "first"]] * 2
    # Second engine, environment changed: that fork server would hand its workers the old
    # environment, so Dask spawns fresh ones (each with a fork server of its own).
    assert [w[0] for w in second["workers"]] == [False, False]
    assert [w[2] for w in second["workers"]] == ["second", "second"]
    for grades in (first["grades"], second["grades"]):
        right, different, wrong = grades["right"], grades["different"], grades["wrong"]
        assert right[0] == right[1] > 0 and different[0] == different[1] and wrong[0] < wrong[1]
        assert not right[2] and not different[2] and not wrong[2]
    # Same seed, same verdicts check by check and the same confinement, however the workers started.
    assert first["grades"] == second["grades"]

"""The Ray executor of the batch engine (``--backend ray``; install with ``pip install voicegen[ray]``).

``jobs_n`` Ray actors each build the per-file function once from the
:class:`~voicegen.infer.batch.workers.WorkerSpec` (one model load per actor) and run
:func:`~voicegen.infer.batch.workers.run_file` on the files handed to them, one at a time, so the
manifest, skipping and retries are the same as on the local backend. ``address`` is the cluster
(``ray://host:10001``, ``host:6379`` or ``auto``); without it an existing ``RAY_ADDRESS`` is used,
else a local Ray instance is started for the batch and stopped after it. Inputs, the model and
the output folder must be reachable under the same paths from every node (a shared file system).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from voicegen.errors import ConfigError, VoicegenError
from voicegen.infer.batch.workers import WorkerSpec

CPUS_PER_ACTOR = 1
# Seconds to wait for the actors to be placed and load the model (a cluster may need to scale up),
# and for cancelled files to clean up before their actors are killed.
READY_TIMEOUT_SECONDS = 600.0
STOP_GRACE_SECONDS = 10.0


class FileActor:
    """A Ray actor body: one model load, then one file per call."""

    def __init__(self, spec: dict[str, Any], threads: int) -> None:
        import sys

        from voicegen.infer import onnx_runtime
        from voicegen.infer.batch.workers import WorkerSpec, build_worker

        onnx_runtime.set_threads(threads)
        self._worker = build_worker(WorkerSpec.from_json(spec))
        if "torch" in sys.modules:  # a model runs on PyTorch
            sys.modules["torch"].set_num_threads(threads)

    def ready(self) -> bool:
        return True

    def run(self, src: str, dest: str, rel: str, max_duration: float | None) -> dict[str, Any]:
        from voicegen.infer.batch.workers import run_file

        return run_file(self._worker, Path(src), Path(dest), PurePosixPath(rel), max_duration)


class RayExecutor:
    """``jobs_n`` actors on a Ray cluster, with the local executors' interface."""

    def __init__(self, spec: WorkerSpec, jobs_n: int, *, address: str | None = None,
                 max_duration: float | None = None, threads: int = CPUS_PER_ACTOR) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--backend ray needs Ray: pip install 'voicegen[ray]' (or 'ray[default]')") from None
        self._ray, self._max_duration = ray, max_duration
        self._started_ray = False
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = address or "a local instance"
                raise VoicegenError(f"cannot start or reach Ray at {where}: {' '.join(str(err).split())}") from None
            self._started_ray = True
        self._actor_class = ray.remote(num_cpus=CPUS_PER_ACTOR)(FileActor)
        self._spec, self._threads = spec.to_json(), threads  # plain JSON to the actors
        self._actors = [self._actor_class.remote(self._spec, threads) for _ in range(jobs_n)]
        self._busy: dict[Any, tuple[int, int]] = {}  # object ref -> (key, actor index)
        try:
            ray.get([actor.ready.remote() for actor in self._actors], timeout=READY_TIMEOUT_SECONDS)
        except ray.exceptions.GetTimeoutError:
            self.close(cancel=True)
            raise VoicegenError(f"Ray could not start {jobs_n} workers of {CPUS_PER_ACTOR} CPU each within "
                                f"{READY_TIMEOUT_SECONDS:.0f} s; lower --jobs or add nodes") from None
        except ray.exceptions.RayError as err:
            self.close(cancel=True)
            raise VoicegenError(f"a Ray worker could not load the model: {_reason(err)}") from None

    def free(self) -> int:
        return len(self._actors) - len(self._busy)

    def submit(self, key: int, src: Path, dest: Path, rel: PurePosixPath) -> None:
        taken = {index for _, index in self._busy.values()}
        index = next(i for i in range(len(self._actors)) if i not in taken)
        ref = self._actors[index].run.remote(str(src), str(dest), rel.as_posix(), self._max_duration)
        self._busy[ref] = (key, index)

    def results(self) -> list[tuple[int, dict[str, Any]]]:
        ray = self._ray
        ready, _ = ray.wait(list(self._busy), num_returns=1)
        out = []
        for ref in ready:
            key, index = self._busy.pop(ref)
            try:
                out.append((key, ray.get(ref)))
            except ray.exceptions.RayActorError as err:
                out.append((key, {"status": "failed", "error": f"the Ray worker died on this file "
                                  f"({_reason(err)}); out of memory? try --max-duration"}))
                self._actors[index] = self._actor_class.remote(self._spec, self._threads)
            except ray.exceptions.RayError as err:
                out.append((key, {"status": "failed", "error": f"Ray task failed: {_reason(err)}"}))
        return out

    def close(self, cancel: bool = False) -> list[tuple[int, dict[str, Any]]]:
        """Stop the actors (``cancel``: interrupt their files); files that finish meanwhile are
        left unrecorded, so the next run redoes them."""
        ray = self._ray
        if cancel:
            for ref in self._busy:
                ray.cancel(ref, force=False)  # KeyboardInterrupt in the actor: temporaries removed
            if self._busy:
                ray.wait(list(self._busy), num_returns=len(self._busy), timeout=STOP_GRACE_SECONDS)
        for actor in self._actors:
            ray.kill(actor)
        self._actors, self._busy = [], {}
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
        return []


def _reason(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1] if lines else type(err).__name__

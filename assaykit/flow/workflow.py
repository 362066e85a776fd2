"""The flow workflow: ``run(samples, settings) -> FlowRunResult`` (used by ``assaykit flow``)."""

from __future__ import annotations

__all__ = ["FlowRunResult", "run"]


class FlowRunResult:  # placeholder, replaced by a frozen dataclass
    pass


def run(samples, settings=None, *, sample_sheet=None, executor=None, progress: bool = True):
    """Gate ``samples`` with ``settings`` and return the tables of the run."""
    raise NotImplementedError

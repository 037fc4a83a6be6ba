"""bench/documents.py's code path, cheaply (one run, a few case files): correctness in CI, never timing."""
from __future__ import annotations

import pytest

from bench import documents as bench
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S

pytestmark = pytest.mark.benchmark


def test_the_agreement_benchmark_renders_both_fills_correctly():
    timing = bench.time_agreement(runs=1)
    assert timing.failures == []
    assert set(timing.seconds) == {"Chinese", "Latin"} and timing.ratio > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_the_export_benchmark_exports_correct_case_files(world, media, workers):
    cases = [case_in_state(world, S.JOINT_MEDIATION), case_in_state(world, S.SETTLED)]
    result = bench.time_export(world.supervisor_a, [c.pk for c in cases], workers)
    assert result.failures == [] and result.exported == 2 and result.workers == workers

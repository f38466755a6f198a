"""A small run of the load benchmark (bench/load.py): real gate servers, one shared database.

Not timed (the figures are in the README): 60 scans released at once on three
`kiosk run` processes must give no 5xx and exactly the cap admitted.
"""

from __future__ import annotations

import pytest

from bench import load

pytestmark = pytest.mark.slow


def test_scans_at_once_on_three_gates_sharing_postgresql(pg_url: str) -> None:
    result = load.run(scans=60, gates=3, cap=40, database_url=pg_url)
    assert result.problems() == [], result.summary()
    assert result.statuses == {200: 60}
    assert result.decisions == {"admitted": 40, "cap_reached": 20}
    assert result.used == result.slot_rows == 40
    assert set(result.per_gate) == {0, 1, 2}


def test_scans_at_once_on_three_gates_sharing_sqlite() -> None:
    result = load.run(scans=30, gates=3, cap=20, backend="sqlite")
    assert result.problems() == [], result.summary()
    assert result.decisions == {"admitted": 20, "cap_reached": 10}

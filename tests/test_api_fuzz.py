"""Property-based fuzz of POST /api/sim/present: junk in, a clear answer out, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk
from tests.conftest import FAST_MEASUREMENT, web_client

REJECTIONS = {
    "qr_invalid",
    "booking_unknown",
    "bad_signature",
    "key_unknown",
    "key_revoked",
    "unsupported_version",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    config = load_config(init_data_dir(folder / "d")).replace(temperature=FAST_MEASUREMENT)
    kiosk = Kiosk.start(config)
    yield web_client(kiosk)
    kiosk.close()


junk_text = st.one_of(
    st.text(min_size=1, max_size=300),
    st.binary(min_size=1, max_size=300).map(lambda b: b.decode("latin-1")),
    st.text(alphabet="KB:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=1, max_size=250),
    st.text(alphabet="BK-0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1, max_size=40),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qr=junk_text)
def test_junk_qr_is_rejected_never_admitted(client: Any, qr: str) -> None:
    res = client.post("/api/sim/present", json={"qr": qr, "temperature_c": 36.6})
    assert res.status_code in (200, 400, 422), res.get_data(as_text=True)
    body = res.get_json()
    if res.status_code == 200:
        assert body["decision"] == "denied"
        assert body["code"] in REJECTIONS
        assert body["message"]
    else:
        assert body["error"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=120, deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(["qr", "temperature_c", "ambient_c", "idempotency_key", "x"]), json_values
    )
)
def test_any_json_object_gets_a_clear_answer(client: Any, body: dict[str, Any]) -> None:
    res = client.post("/api/sim/present", json=body)
    assert res.status_code in (200, 400, 422)
    assert res.is_json

"""The deployment test runs only when asked for: `make test-deploy` sets KIOSK_DEPLOY_TEST=1.

Deselected otherwise (also under `-m "not browser"` and other marker expressions), so a plain
`pytest` or `make test` run as root never boots a container.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("KIOSK_DEPLOY_TEST") == "1":
        return
    deploy = [i for i in items if "tests/deploy/" in str(i.path).replace(os.sep, "/")]
    if deploy:
        config.hook.pytest_deselected(items=deploy)
        items[:] = [i for i in items if i not in deploy]

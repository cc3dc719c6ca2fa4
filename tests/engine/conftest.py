"""One local Ray (2 CPUs, 127.0.0.1) shared by every Ray test of the session, shut down at the end."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt (make test does)")
    from core.engine.ray_engine import RayConfig, ensure_ray, shutdown_ray

    ray = ensure_ray(RayConfig(num_cpus=2))
    yield ray
    shutdown_ray()

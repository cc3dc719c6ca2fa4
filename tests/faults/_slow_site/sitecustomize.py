"""Imported at start-up by any Python with this folder on ``PYTHONPATH`` (the fault tests' workers).

With ``EQUALCTAR_TEST_ENCODE_DELAY`` set (seconds), the hashing encoder sleeps that long per
call, so a test can kill an upgrade worker, or the process that started it, in the middle of a
job. Without it this module does nothing.
"""

from __future__ import annotations

import os

_DELAY = float(os.environ.get("EQUALCTAR_TEST_ENCODE_DELAY") or 0)

if _DELAY > 0:
    import time

    import core.corpus.encoders as _encoders

    _encode = _encoders.HashingEncoder.encode

    def _slow_encode(self, texts, batch_size=64, progress=None):
        time.sleep(_DELAY)
        return _encode(self, texts, batch_size, progress)

    _encoders.HashingEncoder.encode = _slow_encode  # type: ignore[method-assign]

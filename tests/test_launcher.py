"""`make run`'s last step: the launcher starts the whole stack and Ctrl-C stops all of it."""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from deepimage_site import stack

pytestmark = pytest.mark.stack


def test_launcher_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = stack.free_port()
    env = dict(os.environ, DEEPIMAGE_DATA_DIR=str(tmp_path), PORT=str(port), DEEPIMAGE_QUEUE=f"launcher-{port}")
    env.pop("DATABASE_URL", None)  # the login page needs no tables; keep the test database untouched
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deepimage_site.stack"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        stack.wait_until(lambda: stack.port_open("127.0.0.1", port), 60, "the launcher's Daphne", launcher)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as response:
            assert response.status == 200

        launcher.send_signal(signal.SIGINT)
        output = launcher.communicate(timeout=60)[0].decode()
    finally:
        if launcher.poll() is None:
            launcher.kill()

    assert launcher.returncode == 0, output
    assert "Stopping DeepImage" in output
    assert not stack.port_open("127.0.0.1", port)
    if "REDIS_URL" not in os.environ:
        assert not (tmp_path / "redis.sock").exists()  # the embedded Redis is gone too

"""A small client for the live stack: the HTTP API with a token, and the websocket."""

import json
import time
import urllib.error
import urllib.request

from websockets.sync.client import connect


class StackClient:
    def __init__(self, address: str, token: str):
        self.address = address
        self.token = token

    def request(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict | bytes]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"http://{self.address}{path}", data=data, method=method)
        request.add_header("Authorization", f"Token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers.get_content_type()
        return status, json.loads(body) if kind == "application/json" else body

    def events_until_finished(self, session_id: int, timeout: float = 60, arrivals: list | None = None) -> list[dict]:
        """Every websocket event of a session, up to and including `done` or `failed`; the
        wall-clock time each arrived is appended to `arrivals` if given."""
        url = f"ws://{self.address}/ws/generations/{session_id}/?token={self.token}"
        received = []
        with connect(url, additional_headers={"Origin": f"http://{self.address}"}, open_timeout=10) as socket:
            while not received or received[-1]["type"] not in ("done", "failed"):
                received.append(json.loads(socket.recv(timeout=timeout)))
                if arrivals is not None:
                    arrivals.append(time.time())
        return received

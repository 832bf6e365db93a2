"""A minimal but real WebSub hub and subscriber for tests, speaking the protocol over HTTP on
loopback (W3C WebSub: §5.1 subscribe, §5.3 verification of intent, §7 content distribution;
publishing as hubs take it: ``hub.mode=publish&hub.url=``).

flask-websub 0.4.1's hub runs its verification and distribution as Celery tasks (a broker or
Celery in eager mode), which this machine does not have; this one does the same steps in
threads: subscribe -> GET the callback with a challenge -> keep the subscription; publish ->
202, GET the topic (the blog's public URL), POST the body to each subscriber of it.
"""

from __future__ import annotations

import http.client
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer


@dataclass
class Delivery:
    """One content distribution the subscriber received."""

    at: float  # time.monotonic()
    topic: str
    body: bytes
    content_type: str


def _request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _HubHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        hub: Hub = self.server.owner  # type: ignore[attr-defined]
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        mode = form.get("hub.mode")
        if mode == "subscribe" and form.get("hub.callback") and form.get("hub.topic"):
            threading.Thread(target=hub.verify, args=(form["hub.callback"], form["hub.topic"]), daemon=True).start()
        elif mode == "publish" and (form.get("hub.url") or form.get("hub.topic")):
            topic = form.get("hub.url") or form["hub.topic"]
            hub.publishes.append((time.monotonic(), topic))
            threading.Thread(target=hub.distribute, args=(topic,), daemon=True).start()
        else:
            self.send_response(400)
            self.end_headers()
            return
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Hub(_Server):
    """The hub: ``subscribe`` (as a subscriber would ask), ``publishes`` (what publishers sent)."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, set[str]] = {}  # topic -> callbacks
        self.publishes: list[tuple[float, str]] = []
        self.fetches: list[tuple[str, int]] = []  # (topic, status) the hub fetched
        self.verified = threading.Event()
        super().__init__(_HubHandler)

    def subscribe(self, callback: str, topic: str, timeout: float = 10) -> None:
        """Ask this hub, over HTTP, for a subscription; return once the intent is verified."""
        self.verified.clear()
        form = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.callback": callback, "hub.topic": topic})
        status, _, _ = _request(self.url, "POST", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 202, status
        deadline = time.monotonic() + timeout
        while topic not in self.subscriptions or callback not in self.subscriptions[topic]:
            assert time.monotonic() < deadline, "the subscriber did not confirm"
            time.sleep(0.02)

    def verify(self, callback: str, topic: str) -> None:
        challenge = secrets.token_hex(8)
        query = urllib.parse.urlencode(
            {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": challenge, "hub.lease_seconds": 3600}
        )
        status, _, body = _request(callback + ("&" if "?" in callback else "?") + query)
        if status // 100 == 2 and body.decode() == challenge:
            self.subscriptions.setdefault(topic, set()).add(callback)

    def distribute(self, topic: str) -> None:
        try:
            status, headers, body = _request(topic, headers={"Accept-Encoding": "identity"})
        except OSError:
            status, headers, body = 0, {}, b""
        self.fetches.append((topic, status))
        if status != 200:
            return
        for callback in self.subscriptions.get(topic, ()):
            link = f'<{self.url}>; rel="hub", <{topic}>; rel="self"'
            _request(callback, "POST", body, {"Content-Type": headers.get("Content-Type", ""), "Link": link})


class _SubscriberHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # verification of intent: echo the challenge
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        challenge = query.get("hub.challenge", "").encode()
        self.send_response(200 if challenge else 404)
        self.send_header("Content-Length", str(len(challenge)))
        self.end_headers()
        self.wfile.write(challenge)

    def do_POST(self) -> None:  # content distribution
        subscriber: Subscriber = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        link = self.headers.get("Link", "")
        topic = link.split("<")[-1].split(">")[0] if 'rel="self"' in link else ""
        subscriber.deliveries.append(Delivery(time.monotonic(), topic, body, self.headers.get("Content-Type", "")))
        self.send_response(204)
        self.end_headers()


class Subscriber(_Server):
    """A subscriber's callback: confirms any subscription, records every delivery."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        super().__init__(_SubscriberHandler)

    def to(self, topic: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.topic == topic]

    def wait_for(self, topic: str, needle: bytes, since: float, timeout: float = 10) -> Delivery:
        """The first delivery of ``topic`` containing ``needle``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in self.to(topic):
                if delivery.at >= since and needle in delivery.body:
                    return delivery
            time.sleep(0.02)
        raise AssertionError(f"no delivery of {topic} with {needle!r} in {timeout} s: {self.to(topic)}")


class SilentHub(_Server):
    """A hub that accepts connections and never answers (a hub that is down or stuck)."""

    def __init__(self) -> None:
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(inner) -> None:
                self.requests += 1
                time.sleep(30)

        super().__init__(Handler)

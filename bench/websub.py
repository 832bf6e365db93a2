"""WebSub (issue 24): seconds from saving a post file to a subscriber's callback receiving the
feed with it, median of N, idle and under load; against a reader polling every 30 minutes
(15 minutes on average).

gunicorn as deployed (3 gevent workers, a copy of tests/data), the loopback WebSub hub and
subscriber of tests/websubhub.py, a subscription to /feed.xml. Each sample writes a new post
and waits for the delivery that names it; "under load", client threads keep GETting pages and
the feed meanwhile (tests/servers.Load, keep-alive, as browsers). Run:

    .venv/bin/python -m bench.websub [--samples 10] [--threads 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.conftest import post_text
from tests.servers import Load
from tests.servers import Server
from tests.servers import free_port
from tests.websubhub import Hub
from tests.websubhub import Subscriber

#: What a reader polling every 30 minutes waits on average for a new post.
POLLING_AVERAGE = 15 * 60.0


def samples(server: Server, subscriber: Subscriber, feed: str, n: int, label: str) -> list[float]:
    found = []
    for i in range(n):
        title = f"Bench {label} {i} {time.time_ns()}"
        saved = time.monotonic()
        (server.posts / f"bench-{label}-{i}.md").write_text(post_text(title, date="2025-06-01T00:00:00Z"))
        got = subscriber.wait_for(feed, title.encode(), saved, timeout=30)
        found.append(got.at - saved)
        time.sleep(1.0)  # let the feed settle before the next change
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4, help="load client threads")
    args = parser.parse_args()
    hub, subscriber = Hub(), Subscriber()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        site = f"http://127.0.0.1:{port}"
        server = Server(Path(tmp), env={"FLASK_BLOG_WEBSUB_HUBS": hub.url, "FLASK_BLOG_SITE_URL": site}, port=port)
        try:
            while "websub: looked at" not in server.log_text():
                time.sleep(0.05)
            feed = site + "/feed.xml"
            hub.subscribe(subscriber.url, feed)
            idle = samples(server, subscriber, feed, args.samples, "idle")
            with Load(port, ["/", "/feed.xml", "/posts/hello-world", "/tags/python"], threads=args.threads) as load:
                busy = samples(server, subscriber, feed, args.samples, "load")
            served = len(load.outcomes)
        finally:
            server.stop()
            hub.stop()
            subscriber.stop()
    for label, values in (("idle", idle), (f"under load ({args.threads} threads, {served} requests)", busy)):
        median = statistics.median(values)
        print(
            f"save -> subscriber, {label}: median {median:.2f} s, max {max(values):.2f} s over {len(values)};"
            f" polling every 30 min: {POLLING_AVERAGE:.0f} s on average ({POLLING_AVERAGE / median:.0f}x longer)"
        )


if __name__ == "__main__":
    main()

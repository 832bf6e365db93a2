"""Live preview latency: from saving a post file to the page showing it, in a real browser.

    .venv/bin/python bench/preview.py                 # the bundled posts, 10 saves
    .venv/bin/python bench/preview.py --posts 10000   # N synthetic posts (make_posts.py)

Starts ``flask --app blogapp run --debug`` on a free loopback port over a temporary copy of
the posts, opens one post in Debian's Chromium (Playwright, /usr/bin/chromium), then saves
that post with a new title ``--saves`` times; for each save, the time until the page's h1
shows the new title (the page reloading itself through /_live). Prints median and maximum.
The server is stopped by its own process group id; the temporary folder is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.make_posts import write_posts
from bench.server import free_port
from blogapp.web.views.preview import CHECK_EVERY

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("BLOG_CHROMIUM", "/usr/bin/chromium")
POST = '---\ntitle: "{title}"\ndate: "2020-01-01T00:00:00Z"\n---\nThe post being written.\n'


def start(posts: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(FLASK_BLOG_POSTS_DIR=str(posts), FLASK_BLOG_PUBLIC_DIR=str(ROOT / "static"))
    cmd = [sys.executable, "-m", "flask", "--app", "blogapp", "run", "--debug", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"flask run exited:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(url + "/healthz", timeout=60).status == 200:
                return proc, url
        time.sleep(0.2)
    stop(proc)
    raise SystemExit("flask run did not become ready")


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def measure(url: str, post: Path, saves: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        page = browser.new_page()
        page.goto(url + "/posts/" + post.stem)
        pause = random.Random(20240601)
        for i in range(saves):
            # Let the page settle and its stream open; a varying pause, so saves do not fall
            # in step with the stream's checks (every CHECK_EVERY seconds).
            time.sleep(0.5 + pause.random() * CHECK_EVERY)
            title = f"Draft {i}"
            started = time.monotonic()
            post.write_text(POST.format(title=title), encoding="utf-8")
            page.wait_for_function(
                "t => document.querySelector('h1') && document.querySelector('h1').textContent === t",
                arg=title,
                polling=5,
                timeout=10_000,
            )
            times.append(time.monotonic() - started)
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=0, help="synthetic posts (0: the bundled content/posts)")
    parser.add_argument("--saves", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        posts = Path(tmp) / "posts"
        if args.posts:
            posts.mkdir()
            write_posts(args.posts, posts)
        else:
            shutil.copytree(ROOT / "content" / "posts", posts)
        count = len(list(posts.glob("*.md")))
        post = posts / "live-preview-bench.md"
        post.write_text(POST.format(title="Start"), encoding="utf-8")
        proc, url = start(posts, Path(tmp) / "flask.log")
        try:
            times = measure(url, post, args.saves)
        finally:
            stop(proc)
    ms = sorted(t * 1000 for t in times)
    median = statistics.median(ms)
    print(f"{count} posts, {len(ms)} saves: save -> page shows it: median {median:.0f} ms, max {ms[-1]:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

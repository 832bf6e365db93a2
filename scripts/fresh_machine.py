"""The README's first command, as a newcomer runs it: on a fresh copy, from ``requirements.txt`` alone.

    python3 scripts/fresh_machine.py            # what .ci/run does before the test suite
    python3 scripts/fresh_machine.py --keep     # keep the copy (its path is printed) to look around

Standard library only: it runs before any venv exists. It

1. copies the project's files (those git tracks, plus new ones not ignored) into a temporary
   folder, so no ``.venv``, cache or build output of this checkout comes along;
2. reads the README's quick-start command 1 (``python3 -m venv .venv && … && .venv/bin/gunicorn
   wsgi:app``) and runs it there **as written**, through ``sh -c``: the venv is made from
   ``requirements.txt`` alone. Only the environment points it at a free loopback port
   (``GUNICORN_CMD_ARGS``, which gunicorn reads after ``gunicorn.conf.py``);
3. fetches ``/``, the first post the home page links, ``/feed.xml``, ``/sitemap.xml``, one image
   variant the home page links and ``/healthz``, and fails on any status but 200 or on a
   traceback in the server's log;
4. runs ``pip check`` in that venv, and the author commands (``check``, ``export``, ``images``)
   with it;
5. does the same fetches for the README's live-preview command (``flask --app blogapp run
   --debug``), from that venv, on another free port (``FLASK_RUN_PORT``).

Exit status 0 when everything answered; 1 with the reason and the server's log otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
#: How long the first command may take to install and answer (pip downloads every package).
START_TIMEOUT = float(os.environ.get("FRESH_START_TIMEOUT", "600"))
#: What a failing server prints: Python's traceback header, and gunicorn's boot failures.
FAILURE = re.compile(r"Traceback \(most recent call last\)|Worker failed to boot|class uri .* invalid")


class Failed(Exception):
    """The check failed; the message says where."""


def readme_commands(readme: str) -> tuple[str, str]:
    """The quick start's serve command and the live-preview command, exactly as the README has them.

    The serve command is the first command line of the first ``sh`` block under "Quick start";
    the preview command is the first inline code span that runs ``flask --app blogapp run --debug``.
    """
    quick = readme.split("## Quick start", 1)
    if len(quick) != 2:
        raise Failed("README.md has no '## Quick start' section")
    block = re.search(r"```sh\n(.*?)```", quick[1], re.S)
    if block is None:
        raise Failed("README.md's quick start has no ```sh block")
    lines = [line.strip() for line in block.group(1).splitlines()]
    serve = next((line for line in lines if line and not line.startswith("#")), None)
    if serve is None or "gunicorn" not in serve:
        raise Failed(f"the quick start's first command does not start gunicorn: {serve!r}")
    preview = re.search(r"`([^`\n]*flask --app blogapp run --debug[^`\n]*)`", quick[1])
    if preview is None:
        raise Failed("README.md's quick start has no `... flask --app blogapp run --debug` command")
    return serve, preview.group(1)


def copy_project(dest: Path) -> None:
    """The files of a fresh clone (tracked, plus new files not ignored), without this checkout's venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = raw.decode()
        src = ROOT / name
        if not src.is_file() or name == ".venv" or name.startswith(".venv/"):
            continue  # deleted but not yet staged, or a symlinked venv
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Links(HTMLParser):
    """Every ``href`` and every URL in a ``srcset`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcset: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "href" and value:
                self.hrefs.append(value)
            elif name == "srcset" and value:
                self.srcset += [part.strip().split()[0] for part in value.split(",") if part.strip()]


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "fresh-machine-check"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status, body = error.code, b""
    except OSError as error:
        raise Failed(f"GET {url}: {error}") from None
    if status != 200:
        raise Failed(f"GET {url}: status {status}, expected 200")
    return body


class Server:
    """One command of the README, started in its own process group in the copy."""

    def __init__(self, name: str, command: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.log = name, command, log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            ["sh", "-c", command],
            cwd=cwd,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_up(self, base: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failed(f"{self.name}: the command exited with status {self.process.returncode}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # it answers; the checks judge the status
            except OSError:
                time.sleep(0.5)
        raise Failed(f"{self.name}: nothing answered at {base} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_file.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def check_site(base: str) -> list[str]:
    """Fetch what a newcomer's first visit touches; the paths fetched, in order."""
    home = fetch(base + "/")
    links = Links()
    links.feed(home.decode("utf-8", "replace"))
    post = next((h for h in links.hrefs if "/posts/" in urlsplit(h).path), None)
    if post is None:
        raise Failed(f"{base}/ links no post")
    variant = next((s for s in links.srcset if "/_img/" in urlsplit(s).path), None)
    if variant is None:
        raise Failed(f"{base}/ links no image variant (/_img/...)")
    paths = ["/", post, "/feed.xml", "/sitemap.xml", variant, "/healthz"]
    for path in paths[1:]:
        fetch(urljoin(base + "/", path))
    return paths


def run_checked(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    if result.returncode != 0 or FAILURE.search(output):
        raise Failed(f"{shlex.join(argv)} exited with {result.returncode}:\n{output}")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)

    serve, preview = readme_commands((ROOT / "README.md").read_text())
    work = Path(tempfile.mkdtemp(prefix="blog-fresh-"))
    copy = work / "blog"
    copy.mkdir()
    copy_project(copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PIP_", "FLASK_"))}
    env.pop("GUNICORN_CMD_ARGS", None)
    servers: list[Server] = []
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        print(f"fresh copy: {copy}\n$ {serve}    (GUNICORN_CMD_ARGS=--bind 127.0.0.1:{port})", flush=True)
        gunicorn = Server(
            "README command 1",
            serve,
            copy,
            {**env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}"},
            work / "gunicorn.log",
        )
        servers.append(gunicorn)
        gunicorn.wait_until_up(base, START_TIMEOUT)
        for path in check_site(base):
            print(f"  200 {path}", flush=True)

        venv = copy / ".venv" / "bin"
        print(run_checked([str(venv / "pip"), "check"], copy, env).strip(), flush=True)
        flask = [str(venv / "flask"), "--app", "blogapp"]
        run_checked([*flask, "check"], copy, env)
        print("  flask check: ok", flush=True)
        run_checked(
            [*flask, "export", str(work / "site")], copy, {**env, "FLASK_BLOG_SITE_URL": "https://blog.example"}
        )
        if not (work / "site" / "index.html").is_file():
            raise Failed("flask export wrote no index.html")
        print("  flask export: ok", flush=True)
        run_checked([*flask, "images"], copy, {**env, "BLOG_IMAGE_CACHE_DIR": str(work / "images")})
        print("  flask images: ok", flush=True)

        redis_server = shutil.which("redis-server")
        if redis_server:  # Redis mode: the same venv's gunicorn sharing pages through a real Redis
            redis_port = free_port()
            redis = Server(
                "redis-server",
                f"{shlex.quote(redis_server)} --port {redis_port} --bind 127.0.0.1 --save '' --appendonly no",
                work,
                env,
                work / "redis.log",
            )
            servers.append(redis)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            shared = {
                **env,
                "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",
                "FLASK_CACHE_TYPE": "RedisCache",
                "FLASK_CACHE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            }
            print(f"$ .venv/bin/gunicorn wsgi:app    (FLASK_CACHE_TYPE=RedisCache, redis on {redis_port})", flush=True)
            in_redis = Server(
                "gunicorn with Redis", ".venv/bin/gunicorn wsgi:app", copy, shared, work / "redis-gunicorn.log"
            )
            servers.append(in_redis)
            in_redis.wait_until_up(base, 120)
            for path in check_site(base):
                print(f"  200 {path}", flush=True)
            keys = subprocess.run(
                ["redis-cli", "-p", str(redis_port), "dbsize"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if not keys.isdigit() or int(keys) == 0:
                raise Failed(f"gunicorn with Redis: no page was stored in Redis (dbsize: {keys!r})")
            print(f"  {keys} pages stored in Redis", flush=True)
            in_redis.stop()
        else:
            print("redis-server not installed: Redis mode not tried", flush=True)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        print(f"$ {preview}    (FLASK_RUN_PORT={port})", flush=True)
        debug = Server(
            "README preview command", preview, copy, {**env, "FLASK_RUN_PORT": str(port)}, work / "flask.log"
        )
        servers.append(debug)
        debug.wait_until_up(base, 120)
        for path in check_site(base):
            print(f"  200 {path}", flush=True)
    except Failed as failure:
        for server in servers:
            server.stop()
            print(f"--- {server.name} log ({server.log}):\n{server.log_text()[-6000:]}", file=sys.stderr)
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
    problems = [s.name for s in servers if FAILURE.search(s.log_text())]
    if problems:
        for server in servers:
            print(f"--- {server.name} log:\n{server.log_text()[-6000:]}", file=sys.stderr)
        print(f"FAILED: a traceback in the log of {', '.join(problems)}", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("fresh machine: the README's commands serve the blog", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

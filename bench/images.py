"""Part 3 of bench/run.py: the image bytes a browser downloads, against a replay of next/image.

A site of IMAGE_POSTS posts whose covers are large photo-like files (noise-rich gradients,
which compress like photos; PNG and JPEG, 1,600-2,400 px, 0.3-2.4 MB class) is served by
gunicorn exactly as deployed. Debian's Chromium (Playwright) opens the home page at 1280x800
(DPR 1) and 390x844 (DPR 3) and a post page on the phone, scrolls to the end, and the bytes
of every image response are added up. The next/image replay is what the seed site would
send for the same covers: ``<Image width={1300}>`` with no ``sizes`` lists 1920w for 1x and
3840w for 2x, so a DPR-1 screen takes the 1920-px variant and a DPR-3 screen the 3840-px
one, never wider than the file, as WebP at quality 75 (Pillow, the same libwebp family).
Avatars are counted on our side only, so the ratio is if anything unfair to us.

Also measured: the time to make every variant of one 2,400-px source (all widths and formats
its pages link), in process.
"""

from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from PIL import Image

from bench.server import Server
from bench.server import log

IMAGE_POSTS = 10
#: (width, height, format) of each post's cover, newest first: the hero is the 2,400-px PNG.
COVERS = [
    (2400, 1260, "PNG"),
    (2400, 1600, "JPEG"),
    (1920, 1080, "JPEG"),
    (2400, 1350, "JPEG"),
    (1600, 900, "PNG"),
    (2048, 1365, "JPEG"),
    (2400, 1260, "JPEG"),
    (1800, 1200, "JPEG"),
    (2400, 1500, "JPEG"),
    (1600, 1067, "JPEG"),
]
VIEWS = {
    "home, desktop 1280x800 DPR 1": ("/", {"width": 1280, "height": 800}, 1),
    "home, phone 390x844 DPR 3": ("/", {"width": 390, "height": 844}, 3),
    "post, phone 390x844 DPR 3": ("/posts/post-00", {"width": 390, "height": 844}, 3),
}
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


@dataclass
class ImageResult:
    """Bytes per view (ours, next/image's replay) and the time to make one source's variants."""

    ours: dict[str, int] = field(default_factory=dict)
    next_image: dict[str, int] = field(default_factory=dict)
    requests: dict[str, list[str]] = field(default_factory=dict)
    source_bytes: dict[str, int] = field(default_factory=dict)
    make_seconds: list[float] = field(default_factory=list)
    variants_made: int = 0


def photo(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like picture: gradients, blotches and grain."""
    base = Image.linear_gradient("L").resize((width, height))
    green = base.rotate(90 + seed).resize((width, height))
    image = Image.merge("RGB", (base, green, Image.radial_gradient("L").resize((width, height))))
    image = Image.blend(image, Image.effect_noise((width, height), 40 + seed).convert("RGB"), 0.25)
    blotches = Image.effect_noise((width // 40, height // 40), 120).convert("RGB")
    return Image.blend(image, blotches.resize((width, height), Image.Resampling.BICUBIC), 0.3)


def write_site(root: Path) -> dict[str, Path]:
    """Posts and public files under ``root``; return the cover file of each post slug."""
    posts, public = root / "posts", root / "public" / "assets"
    posts.mkdir(parents=True)
    (public / "authors").mkdir(parents=True)
    photo(400, 400, 99).save(public / "authors" / "a.jpg", "JPEG", quality=90)
    covers = {}
    for i, (width, height, fmt) in enumerate(COVERS):
        slug = f"post-{i:02d}"
        cover = public / f"{slug}.{'png' if fmt == 'PNG' else 'jpg'}"
        photo(width, height, i).save(cover, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
        covers[slug] = cover
        date = f"2026-10-{28 - i:02d}T10:00:00Z"
        body = "A paragraph of text.\n\n" * 12
        (posts / f"{slug}.md").write_text(
            f'---\ntitle: "Post {i}"\ndate: "{date}"\ncoverImage: "/assets/{cover.name}"\n'
            f'author:\n  name: "A. Writer"\n  picture: "/assets/authors/a.jpg"\ntags: [bench]\n---\n{body}'
        )
    return covers


def next_image_bytes(cover: Path, dpr: int) -> int:
    """What next/image sends for ``cover`` at ``dpr``: 1920 (1x) or 3840 (2x+), never wider
    than the file, WebP quality 75."""
    with Image.open(cover) as image:
        width = min(1920 if dpr == 1 else 3840, image.width)
        height = round(image.height * width / image.width)
        resized = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    resized.save(out, "WEBP", quality=75)
    return len(out.getvalue())


def browser_bytes(base: str, path: str, viewport: dict[str, int], dpr: int) -> tuple[int, list[str]]:
    """Image bytes Chromium downloads for ``path``, scrolled to the end; and their URLs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = browser.new_context(viewport=viewport, device_scale_factor=dpr, is_mobile=dpr > 1)
            page = context.new_page()
            seen: dict[str, int] = {}
            page.on(
                "requestfinished",
                lambda r: r.resource_type == "image" and seen.__setitem__(r.url, r.sizes()["responseBodySize"]),
            )
            page.goto(base + path, wait_until="networkidle")
            height = page.evaluate("document.documentElement.scrollHeight")
            for y in range(0, height + viewport["height"], viewport["height"] // 2):
                page.evaluate(f"window.scrollTo(0, {y})")
                page.wait_for_timeout(100)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(500)
        finally:
            browser.close()
    return sum(seen.values()), sorted(seen)


def time_variants(cover: Path, rounds: int = 3) -> tuple[list[float], int]:
    """Seconds to make every variant of ``cover`` its pages link (every slot, both modern
    formats, and the share image), ``rounds`` times; and how many variants that is."""
    from blogapp.images import pixels as images

    source = images.probe(str(cover))
    assert source is not None and source.resizable
    wanted = sorted({w for slot in images.SLOT_WIDTHS for w in source.widths(slot)})
    jobs = [(w, f) for w in wanted for f in images.MODERN] + [(source.og_width, source.og_format)]
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        for width, fmt in jobs:
            images.make_variant(str(cover), width, fmt)
        seconds.append(time.perf_counter() - started)
    return seconds, len(jobs)


def image_bench(tmp: Path) -> ImageResult:
    """Run the whole image benchmark in ``tmp``."""
    result = ImageResult()
    log("images: writing the photo site")
    covers = write_site(tmp / "images-site")
    result.source_bytes = {slug: path.stat().st_size for slug, path in covers.items()}
    log("images: making one 2,400-px source's variants")
    result.make_seconds, result.variants_made = time_variants(covers["post-00"])
    env = {
        "FLASK_BLOG_POSTS_DIR": str(tmp / "images-site" / "posts"),
        "FLASK_BLOG_PUBLIC_DIR": str(tmp / "images-site" / "public"),
        "FLASK_BLOG_IMAGE_CACHE_DIR": str(tmp / "images-site" / "cache"),
    }
    with Server("images", "wsgi:app", tmp, env=env) as server:
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        for name, (path, viewport, dpr) in VIEWS.items():
            browser_bytes(base, path, viewport, dpr)  # first visit makes the variants
            log(f"images: {name}")
            result.ours[name], result.requests[name] = browser_bytes(base, path, viewport, dpr)
            shown = list(covers) if path == "/" else [path.rsplit("/", 1)[1]]
            result.next_image[name] = sum(next_image_bytes(covers[slug], dpr) for slug in shown)
    return result


def image_report(result: ImageResult) -> list[str]:
    """The Markdown lines of the image section of the report."""
    targets = {
        "home, desktop 1280x800 DPR 1": 0.35,
        "home, phone 390x844 DPR 3": 0.6,
    }
    out = ["", "## Images (bench/images.py)", ""]
    total = sum(result.source_bytes.values())
    out.append(f"- {len(result.source_bytes)} covers, {total / 1e6:.1f} MB of source files; AVIF/WebP variants")
    out += ["", "| view | ours (KB) | next/image replay (KB) | ratio | target |", "|---|---:|---:|---:|---|"]
    for name in result.ours:
        ours, theirs = result.ours[name], result.next_image[name]
        if name in targets:
            goal = f"≤ {targets[name]:g}× {'met' if ours <= targets[name] * theirs else 'MISSED'}"
        else:
            goal = f"≤ 250 KB {'met' if ours <= 250_000 else 'MISSED'}"
        out.append(f"| {name} | {ours / 1000:,.1f} | {theirs / 1000:,.1f} | {ours / theirs:.2f} | {goal} |")
    med = statistics.median(result.make_seconds)
    out.append("")
    out.append(
        f"- making all {result.variants_made} variants of one 2,400-px PNG (every slot's widths in AVIF and "
        f"WebP, plus the 1200-px share image): median {med:.2f} s over {len(result.make_seconds)} runs"
    )
    return out

"""Image variants: pixels, ladder and markup, the bounded store, refused URLs, hostile files."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from blogapp import create_app
from blogapp.config import ROOT
from blogapp.config import ConfigError
from blogapp.images import pictures
from blogapp.images import pixels as images
from blogapp.images import variantstore as imagecache
from blogapp.images.variantstore import VariantStore
from tests.conftest import post_text
from tests.imagefiles import bomb_png
from tests.imagefiles import exif_with_gps
from tests.imagefiles import flat_png
from tests.imagefiles import halves
from tests.imagefiles import photo
from tests.imagefiles import save
from tests.imagefiles import save_photo
from tests.imagefiles import swapped_primaries_icc
from tests.imagefiles import truncated_jpeg

NEWEST = "2026-11-01T10:00:00Z"


def fetch(client, url: str, **kwargs):
    """GET ``url`` and read the whole answer (a sent file is closed again)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
    return response


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- pixels ------------------------------------------------------------------------------


def test_variant_has_the_width_asked_the_format_and_the_aspect(tmp_path: Path):
    source = save_photo(tmp_path / "big.jpg", 2400, 1260, "JPEG", quality=90)
    for fmt, name in (("avif", "AVIF"), ("webp", "WEBP"), ("jpg", "JPEG"), ("png", "PNG")):
        image = decode(images.make_variant(str(source), 640, fmt))
        assert image.format == name
        assert image.size == (640, 336)


def test_exif_orientation_is_applied_and_metadata_dropped(tmp_path: Path):
    # Stored sideways, red on the left; orientation 6 says "turn 90 degrees clockwise".
    source = save(halves(400, 200, (255, 0, 0), (0, 0, 255)), tmp_path / "phone.jpg", "JPEG", exif=exif_with_gps(6))
    found = images.probe(str(source))
    assert (found.width, found.height) == (200, 400)
    for fmt in ("avif", "webp", "jpg"):
        image = decode(images.make_variant(str(source), 100, fmt))
        assert image.size == (100, 200)
        top, bottom = image.convert("RGB").getpixel((50, 20)), image.convert("RGB").getpixel((50, 180))
        assert top[0] > 200 and top[2] < 60, (fmt, top)  # the left half is now on top
        assert bottom[2] > 200 and bottom[0] < 60, (fmt, bottom)
        assert not image.getexif(), fmt  # no orientation, camera or GPS
        assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(image.info), (fmt, image.info.keys())


def test_colour_profile_converted_to_srgb(tmp_path: Path):
    # Red numbers in a profile whose red primary is sRGB's blue: the variant is blue.
    red = Image.new("RGB", (300, 200), (255, 0, 0))
    tagged = save(red, tmp_path / "tagged.jpg", "JPEG", quality=95, icc_profile=swapped_primaries_icc())
    plain = save(red, tmp_path / "plain.jpg", "JPEG", quality=95)
    for fmt in ("png", "webp", "avif"):
        shown = decode(images.make_variant(str(tagged), 120, fmt))
        assert "icc_profile" not in shown.info, fmt  # sRGB now, and said by saying nothing
        blue = shown.convert("RGB").getpixel((60, 40))
        assert blue[2] > 200 and blue[0] < 60, (fmt, blue)
    assert decode(images.make_variant(str(plain), 120, "png")).getpixel((60, 40))[0] > 200


def test_cmyk_16_bit_and_palette_sources(tmp_path: Path):
    cmyk = save(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), tmp_path / "cmyk.jpg", "JPEG")
    red = decode(images.make_variant(str(cmyk), 120, "webp")).convert("RGB").getpixel((60, 40))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60, red
    grey16 = save(Image.new("I;16", (300, 200), 32768), tmp_path / "grey16.png", "PNG")
    mid = decode(images.make_variant(str(grey16), 120, "png")).convert("L").getpixel((60, 40))
    assert 110 < mid < 145, mid  # scaled to 8 bits, not clipped to white
    palette = save(Image.new("RGB", (300, 200), (0, 128, 0)).convert("P"), tmp_path / "pal.gif", "GIF")
    assert decode(images.make_variant(str(palette), 120, "avif")).size == (120, 80)


def test_transparency_is_kept(tmp_path: Path):
    image = Image.new("RGBA", (400, 200), (255, 0, 0, 255))
    image.paste(Image.new("RGBA", (200, 200), (0, 0, 0, 0)), (200, 0))
    source = save(image, tmp_path / "logo.png", "PNG")
    found = images.probe(str(source))
    assert found.has_alpha and found.og_format == "png"
    for fmt in ("avif", "webp", "png"):
        out = decode(images.make_variant(str(source), 200, fmt)).convert("RGBA")
        assert out.getpixel((20, 50))[3] > 240 and out.getpixel((180, 50))[3] < 15, fmt


def test_animated_gif_and_svg_get_no_variants(tmp_path: Path):
    frames = [Image.new("RGB", (300, 200), c) for c in ("red", "green", "blue")]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    found = images.probe(str(gif))
    assert found is not None and not found.resizable and found.widths("cover") == ()
    (tmp_path / "x.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    assert images.probe(str(tmp_path / "x.svg")) is None


def test_ladder_never_wider_than_the_source():
    def source(width: int) -> images.Source:
        return images.Source(width, width // 2, "0" * 16, "JPEG", False, True)

    assert source(2400).widths("cover") == (240, 400, 560, 720, 960, 1280, 1600, 1920)
    assert source(1000).widths("cover") == (240, 400, 560, 720, 1000)
    assert source(128).widths("avatar") == (128,)
    assert source(100).widths("cover") == (100,)
    assert source(2400).allows(720, "avif") and source(2400).allows(1200, "jpg")
    assert not source(2400).allows(640, "avif") and not source(2400).allows(2400, "avif")
    assert not source(2400).allows(640, "jpg") and not source(2400).allows(640, "gif")
    assert not source(800).allows(800, "jpg")  # small enough: the file itself is the share image


# -- the store ------------------------------------------------------------------------------


def webp_bytes(width: int, seed: int = 1) -> bytes:
    out = io.BytesIO()
    photo(width, width // 2, seed).save(out, "WEBP", quality=90)
    return out.getvalue()


def test_store_keeps_under_its_bytes_and_evicts_least_recently_used(tmp_path: Path):
    blobs = [webp_bytes(200, seed) for seed in range(5)]
    store = VariantStore(tmp_path / "c", max_bytes=int(max(map(len, blobs)) * 3.5))
    for i, blob in enumerate(blobs[:3]):
        assert store.get_or_make(f"{i:016x}-200.webp", lambda b=blob: b) == str(tmp_path / "c" / f"{i:016x}-200.webp")
        os.utime(tmp_path / "c" / f"{i:016x}-200.webp", (1000 + i, 1000 + i))  # 0 oldest
    assert store.lookup(f"{0:016x}-200.webp")  # a hit: 0 is now the most recently used
    store.get_or_make(f"{3:016x}-200.webp", lambda: blobs[3])
    store.get_or_make(f"{4:016x}-200.webp", lambda: blobs[4])
    names = sorted(p.name for p in (tmp_path / "c").iterdir() if not p.name.startswith("."))
    assert names == [f"{i:016x}-200.webp" for i in (0, 3, 4)]
    assert store.usage()[0] <= store.max_bytes


def test_store_makes_once_and_heals_empty_or_truncated_files(tmp_path: Path):
    store = VariantStore(tmp_path, max_bytes=10**7)
    calls = []
    blob = webp_bytes(300)

    def make() -> bytes:
        calls.append(1)
        return blob

    name = "00000000000000ab-300.webp"
    assert store.get_or_make(name, make) == store.get_or_make(name, make)
    assert len(calls) == 1
    for broken in (b"", blob[: len(blob) // 2], b"RIFF" + b"\0" * 40):
        (tmp_path / name).write_bytes(broken)
        assert store.lookup(name) is None
        assert Path(store.get_or_make(name, make)).read_bytes() == blob
    avif = images.make_variant(str(save_photo(tmp_path / "s.png", 400, 200, "PNG")), 200, "avif")
    (tmp_path / "00000000000000ab-200.avif").write_bytes(avif[:-10])
    assert store.lookup("00000000000000ab-200.avif") is None
    (tmp_path / "00000000000000ab-200.avif").write_bytes(avif)
    assert store.lookup("00000000000000ab-200.avif")


def test_unusable_store_folder_makes_variants_in_memory(tmp_path: Path):
    (tmp_path / "not-a-folder").write_text("a file where the folder should be")
    store = VariantStore(tmp_path / "not-a-folder", max_bytes=10**7)
    assert store.get_or_make("00000000000000ab-300.webp", lambda: b"bytes") == b"bytes"
    assert store.problem


def test_variant_larger_than_the_store_is_not_kept(tmp_path: Path):
    store = VariantStore(tmp_path, max_bytes=10)
    blob = webp_bytes(100)
    assert store.get_or_make("00000000000000ab-100.webp", lambda: blob) == blob
    assert store.usage()[0] == 0


def test_cache_folder_inside_public_folder_is_refused(config: dict, public_dir: Path):
    with pytest.raises(ConfigError, match="BLOG_IMAGE_CACHE_DIR"):
        create_app({**config, "BLOG_IMAGE_CACHE_DIR": str(public_dir / "variants")})


# -- the store never deletes what it did not write (issue 20, item 1) ----------------------


def bystanders(folder: Path) -> dict[str, bytes]:
    """A user's files in ``folder``, old enough to be evicted first if they were counted."""
    files = {
        "thesis.docx": b"PK chapter one" * 5000,
        ".tmp-draft.txt": b"half a thought",
        "readme.txt": b"mine",
        "0123456789abcdef-720.avif.bak": b"named almost like a variant",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (1000, 1000))  # older than any variant, and than STALE_TEMP
    return files


def assert_survive(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert (folder / name).read_bytes() == data, name


def test_store_in_a_folder_of_user_files_deletes_none_of_them(tmp_path: Path):
    folder = tmp_path / "documents"
    files = bystanders(folder)
    store = VariantStore(folder, max_bytes=400_000)
    blob = webp_bytes(300)
    assert store.get_or_make("00000000000000ab-300.webp", lambda: blob) == blob  # made in memory
    assert store.evict() == 0 and store.usage() == (0, [])
    assert "holds files the blog did not make" in (store.problem or "")
    assert_survive(folder, files)
    assert sorted(os.listdir(folder)) == sorted(files)  # nothing written either


def test_store_evicts_only_variants_when_user_files_join_its_folder(tmp_path: Path):
    folder = tmp_path / "c"
    store = VariantStore(folder, max_bytes=1)
    store.get_or_make("00000000000000ab-300.webp", lambda: webp_bytes(300))  # makes the folder
    assert (folder / imagecache.MARKER).is_file()
    files = bystanders(folder)  # then someone saves files there
    blobs = [webp_bytes(300, seed) for seed in range(3)]
    store.max_bytes = max(map(len, blobs)) + 10  # room for one
    for seed, blob in enumerate(blobs):
        store.get_or_make(f"{seed:016x}-300.webp", lambda b=blob: b)
        os.utime(folder / f"{seed:016x}-300.webp", (2000 + seed, 2000 + seed))  # newer than the bystanders
    assert_survive(folder, files)
    assert store.usage()[0] <= store.max_bytes
    assert [e[2] for e in store.usage()[1]] == [f"{2:016x}-300.webp"]


def test_store_adopts_a_folder_holding_only_its_own_files(tmp_path: Path):
    folder = tmp_path / "c"
    (folder / ".locks").mkdir(parents=True)
    (folder / "00000000000000ab-300.webp").write_bytes(webp_bytes(300))  # written before the marker existed
    (folder / ".tmp-k2j3h4_x").write_bytes(b"left by a killed worker, before the marker")
    store = VariantStore(folder, max_bytes=10**7)
    assert store.lookup("00000000000000ab-300.webp")
    assert store.claim() and (folder / imagecache.MARKER).is_file()


def test_cache_folder_holding_user_files_is_refused_at_start_up(config: dict, tmp_path: Path):
    folder = tmp_path / "home"
    files = bystanders(folder)
    with pytest.raises(ConfigError, match=r"holds files the blog did not make.*\.blog-image-cache"):
        create_app({**config, "BLOG_IMAGE_CACHE_DIR": str(folder)})
    assert_survive(folder, files)


@pytest.mark.parametrize("where", ["posts", "inside posts", "public", "holds public", "templates", "static", "root"])
def test_cache_folder_among_the_blogs_own_files_is_refused(
    config: dict, posts_dir: Path, public_dir: Path, photo_post: Path, where: str
):
    folder = {
        "posts": posts_dir,
        "inside posts": posts_dir / "cache",
        "public": public_dir,
        "holds public": public_dir.parent,
        "templates": ROOT / "templates" / "images",
        "static": ROOT / "static",
        "root": ROOT,
    }[where]
    posts_before = sorted(p.name for p in posts_dir.iterdir())
    with pytest.raises(ConfigError, match="BLOG_IMAGE_CACHE_DIR"):
        app = create_app({**config, "BLOG_IMAGE_CACHE_DIR": str(folder), "BLOG_IMAGE_CACHE_BYTES": 20_000})
        if folder.is_relative_to(posts_dir.parent):  # never try it on the repository's own files
            client = app.test_client()
            for url in variant_urls(client.get("/posts/photo").get_data(as_text=True))[:3]:
                fetch(client, url)  # the old code: a variant request evicted whatever was there
    assert sorted(p.name for p in posts_dir.iterdir()) == posts_before
    assert (ROOT / "README.md").is_file() and (ROOT / "templates" / "base.html").is_file()


# -- pages and the route -----------------------------------------------------------------


@pytest.fixture
def photo_post(public_dir: Path, write_post) -> Path:
    """The newest post (the home page's hero) with a 2400-px JPEG cover and a body image."""
    cover = save_photo(public_dir / "assets" / "big" / "cover.jpg", 2400, 1260, "JPEG", quality=90)
    save_photo(public_dir / "assets" / "big" / "inline.png", 1600, 900, "PNG", seed=2)
    body = "Text.\n\n![A chart](/assets/big/inline.png)\n\n![Remote](https://cdn.example.com/x.jpg)\n"
    write_post("photo.md", post_text("Photo", NEWEST, body, coverImage="/assets/big/cover.jpg"))
    return cover


def variant_urls(html: str) -> list[str]:
    return re.findall(r"(/_img/[^\s\"]+) \d+w", html)


def test_home_hero_and_cards_offer_variants_with_sizes(app: Flask, client, photo_post: Path):
    html = client.get("/").get_data(as_text=True)
    hero = re.search(r'<section class="hero".*?</section>', html, re.S).group()
    assert '<source type="image/avif" srcset="' in hero and '<source type="image/webp"' in hero
    assert f'sizes="{pictures.SIZES["hero"]}"' in hero
    img = re.search(r"<img [^>]*>", hero).group()
    assert 'src="/assets/big/cover.jpg"' in img  # the original is the fallback
    assert 'fetchpriority="high"' in img and "loading=" not in img
    assert 'width="1200" height="630"' in img
    widths = [int(w) for w in re.findall(r"-(\d+)\.avif \d+w", hero)]
    assert widths == list(images.SLOT_WIDTHS["cover"])
    for tag in re.findall(r"<img [^>]*>", html.split('<section class="hero"')[1].split("</section>", 1)[1]):
        assert 'loading="lazy"' in tag and 'decoding="async"' in tag and "width=" in tag, tag


def test_post_page_cover_body_and_share_image(app: Flask, client, photo_post: Path):
    html = client.get("/posts/photo").get_data(as_text=True)
    cover = re.search(r'<figure class="post-cover">.*?</figure>', html, re.S).group()
    assert f'sizes="{pictures.SIZES["post"]}"' in cover and 'fetchpriority="high"' in cover
    body = re.search(r"<picture>(?:(?!</picture>).)*alt=\"A chart\"[^>]*></picture>", html, re.S).group()
    assert f'sizes="{pictures.SIZES["body"]}"' in body and "/_img/assets/big/inline.png/" in body
    assert 'loading="lazy"' in body and 'width="1600" height="900"' in body
    assert 'src="https://cdn.example.com/x.jpg"' in html  # remote: untouched
    share = re.search(r'<meta property="og:image" content="([^"]+)"', html)[1]
    assert re.fullmatch(r"http://localhost/_img/assets/big/cover\.jpg/[0-9a-f]{16}-1200\.jpg", share)
    image = decode(fetch(client, share.removeprefix("http://localhost")).data)
    assert image.format == "JPEG" and image.size == (1200, 630)


def test_author_page_offers_the_pictures_variants(app: Flask, client, public_dir: Path, write_post):
    save_photo(public_dir / "assets" / "authors" / "big.jpg", 600, 600, "JPEG", quality=90)
    author = '{"name": "Big Picture", "picture": "/assets/authors/big.jpg"}'
    write_post("by-big.md", post_text("By Big", NEWEST, "Text.", author=author))
    html = client.get("/authors/big-picture").get_data(as_text=True)
    header = re.search(r'<header class="author-header">.*?</header>', html, re.S).group()
    assert f'sizes="{pictures.SIZES["profile"]}"' in header and '<source type="image/avif"' in header
    assert 'src="/assets/authors/big.jpg"' in header and 'width="72" height="72"' in header
    widths = [int(w) for w in re.findall(r"-(\d+)\.avif \d+w", header)]
    assert widths == list(images.SLOT_WIDTHS["avatar"])
    for url in variant_urls(header):  # every linked variant exists
        assert fetch(client, url).status_code == 200, url


def test_feeds_keep_plain_absolute_images(app: Flask, client, photo_post: Path):
    for path in ("/feed.xml", "/atom.xml", "/feed.json"):
        text = client.get(path).get_data(as_text=True)
        assert "srcset" not in text and "<picture" not in text.replace("&lt;picture", ""), path
    assert "/assets/big/inline.png" in client.get("/feed.xml").get_data(as_text=True)


def test_variant_route_headers_and_refusals(app: Flask, client, photo_post: Path, public_dir: Path):
    public_before = sorted(p.relative_to(public_dir) for p in public_dir.rglob("*"))
    html = client.get("/").get_data(as_text=True)
    url = next(u for u in variant_urls(html) if u.endswith("-720.avif"))
    response = fetch(client, url)
    assert response.status_code == 200 and response.mimetype == "image/avif"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert decode(response.data).size == (720, 378)
    assert fetch(client, url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    stem, version = url.rsplit("/", 1)[0], url.rsplit("/", 1)[1].split("-")[0]
    store = app.extensions["blog_images"].folder
    before = sorted(os.listdir(store))
    for bad in (
        f"{stem}/{version}-641.avif",  # a width no page links
        f"{stem}/{version}-2400.avif",  # as wide as the source: not offered
        f"{stem}/{version}-720.gif",
        f"{stem}/{version}-720.jpg",  # fallback formats are the file itself
        f"{stem}/{version}-0720.avif",
        f"{stem}/{version}-99999999.avif",
        f"{stem}/{version.upper()}-720.avif",
        f"/_img/assets/big/missing.jpg/{version}-720.avif",
        f"/_img/assets/big/../../posts/photo.md/{version}-720.avif",
        f"/_img/assets/big/.hidden/{version}-720.avif",
        f"/_img/assets/blog/x.svg/{version}-720.avif",
    ):
        assert client.get(bad).status_code == 404, bad
    assert sorted(os.listdir(store)) == before  # nothing made for refused requests
    wrong = client.get(f"{stem}/{'0' * 16}-720.avif")
    assert wrong.status_code == 404 and version not in wrong.get_data(as_text=True)  # no redirect to the digest
    assert sorted(p.relative_to(public_dir) for p in public_dir.rglob("*")) == public_before


def test_changed_source_changes_the_urls_and_a_former_digest_redirects(app: Flask, client, photo_post: Path):
    old = variant_urls(client.get("/").get_data(as_text=True))
    save_photo(photo_post, 2000, 1050, "JPEG", seed=7, quality=80)
    new = variant_urls(client.get("/").get_data(as_text=True))
    changed = [u for u in new if "/big/cover.jpg/" in u]
    assert changed and not set(changed) & set(old)
    stale = next(u for u in old if "/big/cover.jpg/" in u and u.endswith("-720.avif"))
    moved = client.get(stale)  # an old cached page's URL: sent on to the file's current one
    assert moved.status_code == 302 and moved.headers["Location"] in changed


# -- only linked sources, decoding bounded in bytes (issue 20, item 7) ------------------------


def test_only_images_a_visible_post_uses_get_variants(app: Flask, client, public_dir: Path, write_post):
    for seed, name in enumerate(("unlinked.jpg", "draft-cover.jpg", "later.jpg"), start=11):
        save_photo(public_dir / "assets" / name, 1600, 900, "JPEG", seed=seed, quality=90)  # three files
    draft = post_text("Draft", NEWEST, "Body.", coverImage="/assets/draft-cover.jpg")
    write_post("secret.md", draft.replace("---\n", "---\ndraft: true\n", 1))
    os.symlink(public_dir / "assets" / "later.jpg", public_dir / "assets" / "alias.jpg")
    store = app.extensions["blog_images"].folder

    def url(name: str) -> str:
        return f"/_img/assets/{name}/{images.probe(str(public_dir / 'assets' / name)).version}-720.avif"

    for name in ("unlinked.jpg", "draft-cover.jpg", "later.jpg"):
        assert client.get(url(name)).status_code == 404, name
        assert client.get(url(name).replace("-720.avif", "-1200.jpg")).status_code == 404, name
    assert not store.exists() or not [p for p in store.iterdir() if not p.name.startswith(".")]
    write_post("later.md", post_text("Later", NEWEST, "![a](/assets/alias.jpg)"))  # through a symlink
    html = client.get("/posts/later").get_data(as_text=True)
    assert url("later.jpg") in html
    assert fetch(client, url("later.jpg")).status_code == 200
    assert client.get(url("unlinked.jpg")).status_code == 404


def test_a_page_links_no_variant_that_answers_404(client, public_dir: Path, write_post):
    # publicwatch.references keeps at most MAX_REFS_PER_POST paths a post: past them, a page
    # shows the plain file rather than variants the route would refuse.
    for i in range(105):
        save_photo(public_dir / "many" / f"{i:03}.png", 500, 300, "PNG")
    write_post("many.md", post_text("Many", NEWEST, "\n\n".join(f"![{i}](/many/{i:03}.png)" for i in range(105))))
    html = client.get("/posts/many").get_data(as_text=True)
    assert "/_img/many/000.png/" in html and '<img src="/many/104.png"' in html
    for url in variant_urls(html)[-8:]:
        assert fetch(client, url).status_code == 200, url


def test_16_bit_grey_png_decodes_within_the_byte_budget(tmp_path: Path):
    """6,324 x 6,324 16-bit grey (40 MP, 91 KB): 80 MB decoded; the old pipeline converted it
    through 32-bit copies and took ~460 MB. Measured in a fresh process (peak RSS)."""
    source = tmp_path / "grey16.png"
    source.write_bytes(flat_png(6324, 6324, depth=16, colour=0))
    assert images.probe(str(source)).resizable  # within MAX_DECODE_BYTES: made, not refused
    script = (
        "import resource, sys; from blogapp.images import pixels as images\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "data = images.make_variant(sys.argv[1], 1920, 'webp')\n"
        "print(len(data), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(source)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert int(out[0]) > 0
    grew = int(out[1])
    assert grew <= 144 * 2**20, f"{grew / 2**20:.0f} MiB"  # MAX_DECODE_BYTES (128 MiB) and a little


def test_decode_bytes_counts_bit_depth_copies_and_the_jpeg_draft_scale():
    assert images.decode_bytes("I;16", 6324, 6324) == 6324 * 6324 * 2
    assert images.decode_bytes("L", 100, 100) == 10_000
    assert images.decode_bytes("RGB", 100, 100) == 40_000  # Pillow keeps 4 bytes a pixel
    assert images.decode_bytes("RGBA", 100, 100) == 80_000  # and a premultiplied copy to shrink
    assert images.decode_bytes("P", 100, 100) == 50_000  # and an RGB(A) copy
    # A 40 MP JPEG for a 1920-px variant decodes at 1/4 (2,000 px, still at least 1,920).
    assert images.decode_bytes("RGB", 8000, 5000, 1920 / 8000) == 2000 * 1250 * 4
    assert images.decode_bytes("RGB", 8000, 5000, 1 / 100) == 1000 * 625 * 4  # 1/8 at most


def test_source_over_the_decode_budget_is_served_as_it_is(client, public_dir: Path, write_post):
    # 4,500 x 4,500 RGBA: 20 MP, under the pixel limit, but 8 bytes a pixel to shrink.
    (public_dir / "assets" / "huge.png").write_bytes(flat_png(4500, 4500, depth=8, colour=6))
    write_post("huge.md", post_text("Huge", NEWEST, "Body.", coverImage="/assets/huge.png"))
    found = images.probe(str(public_dir / "assets" / "huge.png"))
    assert found is not None and not found.resizable
    html = client.get("/posts/huge").get_data(as_text=True)
    assert "/_img/assets/huge.png/" not in html and 'src="/assets/huge.png"' in html
    with pytest.raises(images.VariantError, match="MAX_DECODE_BYTES"):
        images.make_variant(str(public_dir / "assets" / "huge.png"), 720, "webp")


def test_unusable_cache_folder_still_serves_variants(config: dict, photo_post: Path, tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    client = create_app({**config, "BLOG_IMAGE_CACHE_DIR": str(blocker / "images")}).test_client()
    html = client.get("/").get_data(as_text=True)
    url = variant_urls(html)[0]
    response = fetch(client, url)
    assert response.status_code == 200 and decode(response.data).format == "AVIF"
    assert "immutable" in response.headers["Cache-Control"]


# -- hostile images ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),  # made when the test runs, not in every worker's collection
    [
        ("bomb.png", bomb_png),
        ("truncated.jpg", truncated_jpeg),
        ("text.jpg", lambda: b"this is not a picture\n" * 50),
        ("empty.png", lambda: b""),
    ],
)
def test_hostile_cover_never_breaks_a_page(client, public_dir: Path, write_post, name: str, data: Callable[[], bytes]):
    (public_dir / "assets" / name).write_bytes(data())
    write_post("hostile.md", post_text("Hostile", NEWEST, "![x](/assets/" + name + ")", coverImage="/assets/" + name))
    started = time.monotonic()
    for path in ("/", "/posts/hostile", "/feed.xml"):
        assert client.get(path).status_code == 200, path
    html = client.get("/posts/hostile").get_data(as_text=True)
    cover = re.search(r'<figure class="post-cover">.*?</figure>', html, re.S).group()
    assert f'src="/assets/{name}"' in cover or "cover.svg" in cover
    for url in {u for u in variant_urls(html) if f"/assets/{name}/" in u}:
        answer = fetch(client, url)
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/assets/{name}"), url
    assert time.monotonic() - started < 60  # generous: a decoded bomb would take minutes or die


def test_truncated_source_is_decoded_once(app: Flask, client, public_dir: Path, write_post, monkeypatch):
    (public_dir / "assets" / "cut.jpg").write_bytes(truncated_jpeg())
    write_post("cut.md", post_text("Cut", NEWEST, "Body.", coverImage="/assets/cut.jpg"))
    urls = [u for u in variant_urls(client.get("/posts/cut").get_data(as_text=True)) if "/cut.jpg/" in u]
    assert urls
    calls = []
    real = images.make_variant
    monkeypatch.setattr(images, "make_variant", lambda *a: calls.append(a) or real(*a))
    for url in urls:
        assert fetch(client, url).status_code == 302
    assert len(calls) == 1


# -- export, pre-generation, check --strict --------------------------------------------------


def test_export_writes_every_variant_its_pages_link(config: dict, photo_post: Path, tmp_path: Path):
    app = create_app({**config, "BLOG_SITE_URL": "https://blog.example.com"})
    target = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["export", str(target)])
    assert result.exit_code == 0, result.output
    linked = set()
    for page in target.rglob("*.html"):
        text = page.read_text()
        linked |= set(re.findall(r"(/_img/[^\s\"]+) \d+w", text))
        linked |= set(re.findall(r'og:image" content="https://blog\.example\.com(/_img/[^"]+)"', text))
    assert any("/big/cover.jpg/" in u and u.endswith("-1200.jpg") for u in linked)
    assert any("/big/inline.png/" in u for u in linked)
    for url in linked:
        path = target / url.lstrip("/")
        assert path.is_file() and path.stat().st_size > 0, url
        assert decode(path.read_bytes()).format in ("AVIF", "WEBP", "JPEG", "PNG"), url


def test_images_command_makes_every_linked_variant(config: dict, photo_post: Path, tmp_path: Path):
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["images"])
    assert result.exit_code == 0, result.output
    made = int(re.search(r"(\d+) image variant", result.output)[1])
    store = app.extensions["blog_images"]
    names = {e[2] for e in store.usage()[1]}
    assert made == len(names) and made > 20
    assert all(re.fullmatch(r"[0-9a-f]{16}-\d+\.(avif|webp|jpg|png)", n) for n in names)
    again = app.test_cli_runner().invoke(args=["images"])
    assert again.exit_code == 0 and {e[2] for e in store.usage()[1]} == names


def test_check_strict_warns_about_oversized_and_broken_images(runner, public_dir: Path, write_post):
    save_photo(public_dir / "assets" / "wide.jpg", 4200, 600, "JPEG", quality=60)
    (public_dir / "assets" / "bomb.png").write_bytes(bomb_png())
    write_post("wide.md", post_text("Wide", NEWEST, "![b](/assets/bomb.png)", coverImage="/assets/wide.jpg"))
    result = runner.invoke(args=["check", "--strict"])
    assert "wide.md: warning: coverImage /assets/wide.jpg is 4200 px wide, far more than" in result.output
    assert "wide.md: warning: body image /assets/bomb.png cannot be read as an image" in result.output


def test_body_images_relative_paths_and_an_authors_own_srcset(config: dict, public_dir: Path, write_post):
    save_photo(public_dir / "assets" / "big" / "inline.png", 1600, 900, "PNG")
    body = (
        "![rel](../assets/big/inline.png)\n\n"
        '<img src="/assets/big/inline.png" srcset="/assets/big/inline.png 1600w" alt="own">\n\n'
        "![svg](/assets/blog/x.svg)\n"
    )
    write_post("rel.md", post_text("Rel", NEWEST, body))
    (public_dir / "assets" / "blog" / "x.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"/>'
    )
    client = create_app({**config, "BLOG_TRUST_HTML": True}).test_client()
    html = client.get("/posts/rel").get_data(as_text=True)
    assert re.search(
        r'<picture><source type="image/avif" srcset="/_img/assets/big/inline\.png/[^"]+"[^>]*>'
        r'<source type="image/webp"[^>]*><img src="\.\./assets/big/inline\.png" alt="rel"',
        html,
    )
    after = html.split('alt="rel"', 1)[1].split('class="related"', 1)[0]
    assert "<picture><source" not in after  # own srcset and SVG left alone
    assert 'srcset="/assets/big/inline.png 1600w" alt="own"' in html

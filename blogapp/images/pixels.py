"""Image variants: which widths and formats a source gets, and how its pixels are made.

Pure of Flask: a source is a real file path. ``probe`` reads a source's header once per file
version (size as shown, format, whether it can be resized at all); ``make_variant`` decodes,
orients, converts to sRGB, resizes and encodes one variant, metadata left out. Both run for
any file a post names, so every limit a hostile file could push against is checked here
before any pixel is decoded.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
from dataclasses import dataclass

from PIL import Image
from PIL import ImageCms
from PIL import ImageOps

#: Every width a variant may have: the blog links no other (plus the source's own width
#: when it is narrower than a slot's widest, and OG_WIDTH for the share image).
#: Steps of at most ~1.35x from 400 px up: a browser never takes more than about 1.8 times
#: the pixels it draws (Lighthouse's "properly size images" on a 412-px phone at DPR 1.75).
LADDER = (120, 240, 400, 560, 720, 960, 1280, 1600, 1920)
#: Widths offered where each kind of image is drawn (see static/css/site.css).
SLOT_WIDTHS = {
    "avatar": (120, 240),
    "cover": (240, 400, 560, 720, 960, 1280, 1600, 1920),
    "body": (400, 560, 720, 960, 1280, 1600, 1920),
}
#: The share image (og:image): social sites take JPEG or PNG, 1200 wide.
OG_WIDTH = 1200
#: Modern formats offered as <source> types, best first.
MODERN = ("avif", "webp")
MIME = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}
#: Encoder settings; part of every variant's version, so a change gives new URLs. AVIF at
#: speed 8: several times faster to make than libavif's default 6, for slightly more bytes.
QUALITY = {"avif": 55, "webp": 75, "jpg": 82}
AVIF_SPEED = 8
#: Sources the blog resizes: anything larger is served as it is (decoding it would take
#: hundreds of megabytes), and so is any file bigger than MAX_SOURCE_BYTES.
MAX_SOURCE_PIXELS = 40_000_000
MAX_SOURCE_BYTES = 50 * 1024 * 1024
#: Most bytes one decode may hold: the source's pixels as decoded (a JPEG at the DCT scale
#: ``draft`` picks) times the bytes Pillow keeps per pixel of its mode (2 for 16-bit grey, 4
#: for RGB, RGBA, CMYK, 32-bit), plus the copy a palette, 1-bit or alpha source takes. A source
#: over it is served as it is: pixels alone do not bound memory (a 40 MP 16-bit grey PNG of
#: 91 KB would decode to 80 MB and convert through three times that).
MAX_DECODE_BYTES = 128 * 1024 * 1024
#: A picture is first shrunk (box filter) to within this many times the width asked, then
#: resized with Lanczos (Pillow's ``reducing_gap``).
REDUCING_GAP = 3
_RASTER = {"JPEG", "PNG", "WEBP", "GIF", "AVIF", "TIFF", "BMP", "MPO"}
_PIPELINE = f"v1 {sorted(QUALITY.items())} {AVIF_SPEED} {Image.__version__}".encode()
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class Source:
    """A source image as probed: what its variants can be."""

    width: int  #: as shown (EXIF orientation applied)
    height: int
    version: str  #: hex digest of the file's bytes and the pipeline settings
    format: str  #: Pillow's name: JPEG, PNG, ...
    has_alpha: bool
    resizable: bool  #: False: animated, too large, or not a raster format we resize

    def widths(self, slot: str) -> tuple[int, ...]:
        """The widths linked for this source in ``slot``: the slot's ladder below the
        source's width, then the source's own width if the ladder goes beyond it."""
        if not self.resizable:
            return ()
        ladder = SLOT_WIDTHS[slot]
        found = tuple(w for w in ladder if w * 1.25 <= self.width)
        return found + ((self.width,) if self.width <= ladder[-1] else ())

    @property
    def og_format(self) -> str:
        """``png`` for a source with transparency, else ``jpg``."""
        return "png" if self.has_alpha else "jpg"

    @property
    def og_width(self) -> int:
        return min(OG_WIDTH, self.width)

    @property
    def shareable(self) -> bool:
        """True when the file itself will do as og:image: JPEG or PNG, at most OG_WIDTH wide."""
        return self.format in ("JPEG", "PNG") and self.width <= OG_WIDTH

    def allows(self, width: int, fmt: str) -> bool:
        """True for a variant the blog itself links; every other one is refused."""
        if not self.resizable:
            return False
        if not self.shareable and fmt == self.og_format and width == self.og_width:
            return True
        return fmt in MODERN and any(width in self.widths(slot) for slot in SLOT_WIDTHS)

    def height_at(self, width: int) -> int:
        return max(1, round(self.height * width / self.width))


_PROBED: dict[tuple[str, int, int, int], Source | None] = {}
_PROBED_LOCK = threading.Lock()
_PROBED_MAX = 4096
#: {path: its last digests, newest last}: a digest a page made earlier may still be linked
#: (a cached page), so it may be sent on to the current one; any other is unknown.
_FORMER: dict[str, tuple[str, ...]] = {}
_FORMER_EACH = 4


def probe(path: str) -> Source | None:
    """The Source at ``path``, or None when it is no image Pillow reads (text named .jpg,
    a truncated header, SVG). Cached per (path, inode, mtime, size)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_ino, st.st_mtime_ns, st.st_size)
    if key in _PROBED:
        return _PROBED[key]
    found = _probe(path, st.st_size)
    with _PROBED_LOCK:
        if len(_PROBED) >= _PROBED_MAX:
            _PROBED.clear()
            _FORMER.clear()
        _PROBED[key] = found
        if found is not None and found.version:
            seen = tuple(v for v in _FORMER.get(path, ()) if v != found.version)
            _FORMER[path] = (*seen, found.version)[-_FORMER_EACH:]
    return found


def was_version(path: str, version: str) -> bool:
    """True when ``version`` was the digest of the file at ``path`` earlier in this process
    (a page made then may still link it)."""
    return version in _FORMER.get(path, ())


def _probe(path: str, size: int) -> Source | None:
    try:
        with Image.open(path) as image:
            width, height = image.size
            fmt = image.format
            animated = getattr(image, "n_frames", 1) > 1
            alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
            stored = image.size
            if fmt in ("JPEG", "MPO", "WEBP", "TIFF", "AVIF") and image.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
            # A JPEG is decoded at the DCT scale for its widest variant (make_variant's draft()).
            widest = min(width, max(LADDER[-1], OG_WIDTH))
            decoded = decode_bytes(image.mode, *stored, fmt == "JPEG" and widest / width)
    except Exception:  # not an image, truncated header, DecompressionBombError ...
        return None
    if width <= 0 or height <= 0:
        return None
    resizable = (
        fmt in _RASTER
        and not animated
        and width * height <= MAX_SOURCE_PIXELS
        and size <= MAX_SOURCE_BYTES
        and decoded <= MAX_DECODE_BYTES
    )
    version = _digest(path) if resizable else ""
    return Source(width, height, version, fmt or "", alpha, resizable)


#: Bytes Pillow keeps per pixel, by mode (every other mode: 4).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
#: Modes copied whole before shrinking: converted to RGB(A) (1-bit, palette), or with the
#: colour multiplied by alpha (Pillow shrinks RGBA and LA that way).
_COPIED = ("1", "P", "PA", "RGBA", "LA")


def decode_bytes(mode: str, width: int, height: int, scale: float | bool = False) -> int:
    """Bytes that decoding a ``width`` x ``height`` source of ``mode`` takes: at the JPEG DCT
    scale (1, 1/2, 1/4 or 1/8) still at least ``scale`` when one is given, plus the 4-byte
    copy some modes take (_COPIED)."""
    if scale:
        step = 1.0
        while step > 1 / 8 and step / 2 >= scale:
            step /= 2
        width, height = math.ceil(width * step), math.ceil(height * step)
    per_pixel = _PIXEL_BYTES.get(mode, 4) + (4 if mode in _COPIED else 0)
    return width * height * per_pixel


def _digest(path: str) -> str:
    digest = hashlib.sha256(_PIPELINE)
    with open(path, "rb") as fh:
        digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()[:16]


class VariantError(ValueError):
    """The source cannot be made into a variant (truncated, corrupt, changed meanwhile)."""


def make_variant(path: str, width: int, fmt: str) -> bytes:
    """Encode ``path`` at ``width`` pixels wide as ``fmt`` (a key of MIME): upright, sRGB,
    alpha kept where the format has it, and no metadata (EXIF, GPS, XMP, ICC) at all.

    :raise VariantError: the file does not decode (truncated, corrupt, too large).
    """
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise VariantError("too many pixels")
            image = _upright_srgb(image, width)
            height = max(1, round(image.height * width / image.width))
            if (width, height) != image.size:
                image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
            return _encode(image, fmt)
    except VariantError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError ... on bad data
        raise VariantError(f"{type(exc).__name__}: {exc}") from None


def _upright_srgb(image: Image.Image, width: int) -> Image.Image:
    """Decode ``image`` (JPEGs at the smallest DCT scale still wider than ``width``), turned
    upright, in 8-bit sRGB, as RGB or RGBA.

    :raise VariantError: decoding would take more than MAX_DECODE_BYTES.
    """
    if image.format == "JPEG":  # its EXIF is in the header (a PNG's getexif() would decode it)
        turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
        scale = width / (image.height if turned else image.width)
        image.draft(image.mode, (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    if decode_bytes(image.mode, image.width, image.height) > MAX_DECODE_BYTES:
        raise VariantError(f"decoding {image.mode} {image.width}x{image.height} takes more than MAX_DECODE_BYTES")
    icc = image.info.get("icc_profile")
    image.load()
    turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
    # Shrink in the source's own mode first, so no conversion below copies the full-size
    # picture: 16-bit grey to the width asked (its conversion takes 8 bytes a pixel), others
    # by a box filter to within REDUCING_GAP times it.
    shown = image.height if turned else image.width
    factor = shown // (width * REDUCING_GAP)
    if image.mode.startswith("I;16") and shown > width:
        scale = width / shown
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if factor >= 2:  # reduce() and reducing_gap do not take 16-bit: a box filter first
            image = image.resize(
                (math.ceil(image.width / factor), math.ceil(image.height / factor)), Image.Resampling.BOX
            )
        image = image.resize(size, Image.Resampling.LANCZOS)
    elif factor >= 2 and image.mode not in ("1", "P", "PA"):
        image = image.reduce(factor)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit grey: scale down to 8 bits (convert("L") would clip everything above 255).
        image = image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa")
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if alpha else "RGB"
            rgb = image if image.mode in ("RGB", "RGBA", "CMYK") else image.convert(mode)
            return ImageCms.profileToProfile(rgb, source, _SRGB, outputMode=mode) or rgb
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: take the numbers as sRGB, as browsers do
    return image.convert("RGBA" if alpha else "RGB")


def _encode(image: Image.Image, fmt: str) -> bytes:
    image.info = {}  # nothing from the source (EXIF, XMP, ICC, comments) reaches the file
    out = io.BytesIO()
    if fmt == "avif":
        image.save(out, "AVIF", quality=QUALITY["avif"], speed=AVIF_SPEED)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=QUALITY["webp"], method=4)
    elif fmt == "jpg":
        image.convert("RGB").save(out, "JPEG", quality=QUALITY["jpg"], optimize=True, progressive=True)
    elif fmt == "png":
        image.save(out, "PNG", optimize=True)
    else:
        raise VariantError(f"unknown format {fmt!r}")
    return out.getvalue()

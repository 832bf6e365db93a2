"""Image files for the image tests: photo-like sources and hostile ones, written to disk."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like RGB picture: gradients, blotches and grain (compresses like a photo)."""
    return _photo(width, height, seed).copy()  # made once per size; each caller gets its own


@functools.cache
def _photo(width: int, height: int, seed: int) -> Image.Image:
    base = Image.linear_gradient("L").resize((width, height))
    red = base
    green = base.rotate(90).resize((width, height))
    blue = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (red, green, blue))
    grain = Image.effect_noise((width, height), 40 + seed).convert("RGB")
    image = Image.blend(image, grain, 0.25)
    blotches = Image.effect_noise((max(1, width // 40), max(1, height // 40)), 120).convert("RGB")
    return Image.blend(image, blotches.resize((width, height), Image.Resampling.BICUBIC), 0.3)


def save(image: Image.Image, path: Path, fmt: str, **params: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, **params)
    return path


def save_photo(path: Path, width: int, height: int, fmt: str, seed: int = 1, **params: object) -> Path:
    """``save(photo(width, height, seed), path, fmt, **params)``, encoded once per session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_photo_bytes(width, height, seed, fmt, tuple(sorted(params.items()))))
    return path


@functools.cache
def _photo_bytes(width: int, height: int, seed: int, fmt: str, params: tuple[tuple[str, object], ...]) -> bytes:
    out = io.BytesIO()
    _photo(width, height, seed).save(out, fmt, **dict(params))
    return out.getvalue()


def halves(width: int, height: int, left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    """Left half one colour, right half another: shows which way a picture was turned."""
    image = Image.new("RGB", (width, height), left)
    image.paste(Image.new("RGB", (width - width // 2, height), right), (width // 2, 0))
    return image


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    """EXIF with an orientation, a camera name and GPS coordinates, as a phone writes it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0110] = "Phone 15"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    return exif


@functools.cache
def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` 1-bit pixels, all zero: a few
    hundred KB on disk, gigabytes once decoded."""
    return flat_png(width, height, depth=1, colour=0)


#: Samples per pixel of each PNG colour type (0 grey, 2 RGB, 4 grey + alpha, 6 RGBA).
_PNG_SAMPLES = {0: 1, 2: 3, 4: 2, 6: 4}


def flat_png(width: int, height: int, depth: int, colour: int) -> bytes:
    """A valid PNG of ``width`` x ``height`` zero pixels at ``depth`` bits a sample, colour
    type ``colour``: kilobytes on disk, as large as its pixels once decoded."""
    row = b"\x00" * (1 + (width * depth * _PNG_SAMPLES[colour] + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def truncated_jpeg(width: int = 1600, height: int = 900) -> bytes:
    """The first half of a JPEG: its header reads fine, its pixels do not."""
    out = io.BytesIO()
    photo(width, height).save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


def swapped_primaries_icc() -> bytes:
    """An RGB matrix profile whose red is sRGB's blue and whose blue is sRGB's red: pixel
    numbers tagged with it mean other colours, so a variant shows whether it was converted."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue (D50)
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0\0\0\0"
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data

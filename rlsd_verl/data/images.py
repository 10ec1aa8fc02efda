"""Image decoding, verification, RGB conversion and pixel capping for the data builders.

Source rows carry images in several shapes: ``{"bytes": ..., "path": ...}`` dicts (raw parquet /
``Image(decode=False)``), PIL images (``datasets`` with HF metadata), raw bytes, or a relative path
string (MathVision's GitHub ``test.jsonl`` + ``images/``). :func:`prepare_image` turns any of them into
verified RGB bytes: every image is fully decoded (truncated / corrupt data raises
:class:`BadImageError`), the first frame of animations is used, transparency is composited on white,
and images above ``max_pixels`` are shrunk keeping the aspect ratio (LANCZOS). Already-RGB PNG/JPEG
images that need no resize keep their original bytes; everything else is re-encoded as PNG.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from PIL import Image, ImageFile

# Never accept silently truncated files.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Benchmarks contain large scans; the cap below (not PIL's bomb guard) decides the size.
Image.MAX_IMAGE_PIXELS = None

KEEP_FORMATS = ("PNG", "JPEG")


class BadImageError(ValueError):
    """An image that cannot be read or decoded; the message names the row id and the column."""


@dataclass
class PreparedImage:
    data: bytes
    width: int
    height: int
    orig_width: int
    orig_height: int
    resized: bool
    converted: bool  # re-encoded (mode or format change, or resize)


def load_image_bytes(value: Any, *, base_dir: str | os.PathLike | None = None) -> bytes:
    """Return the encoded bytes of one image given as dict / bytes / PIL image / path string."""
    if value is None:
        raise BadImageError("image is missing (null)")
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return bytes(value["bytes"])
        if value.get("path"):
            return _read_path(value["path"], base_dir)
        raise BadImageError("image dict has neither bytes nor path")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, Image.Image):
        buf = BytesIO()
        img = value
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P", "I", "I;16", "1", "CMYK"):
            img = img.convert("RGB")
        img.save(buf, format="PNG")
        return buf.getvalue()
    if isinstance(value, (str, os.PathLike)):
        return _read_path(value, base_dir)
    raise BadImageError(f"unsupported image value of type {type(value).__name__}")


def _read_path(path, base_dir) -> bytes:
    path = os.fspath(path)
    candidates = [path] if os.path.isabs(path) or base_dir is None else [os.path.join(os.fspath(base_dir), path)]
    for cand in candidates:
        if os.path.isfile(cand):
            with open(cand, "rb") as f:
                return f.read()
    raise BadImageError(f"image file not found: {candidates[0]}")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16/32-bit greyscale: scale to 8 bit before converting.
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        return Image.fromarray(arr.astype("uint8"), mode="L").convert("RGB")
    return img.convert("RGB")


def capped_size(width: int, height: int, max_pixels: int | None) -> tuple[int, int]:
    """(w, h) scaled down so that w*h <= max_pixels, aspect ratio kept; unchanged if within the cap."""
    if not max_pixels or width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / float(width * height))
    w, h = max(1, int(width * scale)), max(1, int(height * scale))
    while w * h > max_pixels:  # guard against rounding
        if w >= h and w > 1:
            w -= 1
        elif h > 1:
            h -= 1
        else:
            break
    return w, h


def prepare_image(value: Any, *, max_pixels: int | None = None, base_dir=None, what: str = "image") -> PreparedImage:
    """Decode and verify one image, convert it to RGB and cap its pixel count.

    Raises :class:`BadImageError` (with ``what`` in the message) when the image is missing, unreadable
    or truncated.
    """
    try:
        raw = load_image_bytes(value, base_dir=base_dir)
    except BadImageError as e:
        raise BadImageError(f"{what}: {e}") from None
    try:
        img = Image.open(BytesIO(raw))
        fmt = img.format
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)
        img.load()
    except Exception as e:  # noqa: BLE001 - PIL raises many types
        raise BadImageError(f"{what}: cannot decode ({len(raw)} bytes): {type(e).__name__}: {e}") from None
    ow, oh = img.size
    if ow < 1 or oh < 1:
        raise BadImageError(f"{what}: empty image ({ow}x{oh})")
    rgb = _to_rgb(img)
    w, h = capped_size(ow, oh, max_pixels)
    resized = (w, h) != (ow, oh)
    if resized:
        rgb = rgb.resize((w, h), Image.Resampling.LANCZOS)
    keep = not resized and img.mode == "RGB" and fmt in KEEP_FORMATS and getattr(img, "n_frames", 1) == 1
    if keep:
        data = raw
    else:
        buf = BytesIO()
        rgb.save(buf, format="PNG")
        data = buf.getvalue()
    return PreparedImage(data=data, width=w, height=h, orig_width=ow, orig_height=oh, resized=resized,
                         converted=not keep)

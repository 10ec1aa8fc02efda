"""Image verification, RGB conversion and pixel capping."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from fixtures import jpeg, png
from PIL import Image

from rlsd_verl.data.images import BadImageError, capped_size, prepare_image


def _open(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


def _encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_rgb_png_and_jpeg_bytes_are_kept():
    for data in (png((1, 2, 3)), jpeg((200, 100, 50))):
        out = prepare_image({"bytes": data, "path": "x"})
        assert out.data == data and not out.converted and not out.resized


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "1", "CMYK", "I;16"])
def test_non_rgb_modes_become_rgb(mode):
    base = Image.new("RGB", (10, 4), (30, 60, 90))
    src = base.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = prepare_image(_encoded(src, fmt))
    im = _open(out.data)
    assert im.mode == "RGB" and im.size == (10, 4) and out.converted


def test_transparent_pixels_go_white_not_black():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    out = _open(prepare_image(_encoded(img, "PNG")).data)
    assert out.getpixel((1, 1)) == (255, 255, 255)


def test_sixteen_bit_greyscale_is_scaled():
    arr = np.array([[0, 65535], [30000, 65535]], dtype=np.uint16)
    out = _open(prepare_image(_encoded(Image.fromarray(arr), "PNG")).data)
    assert out.getpixel((0, 0)) == (0, 0, 0) and out.getpixel((1, 0)) == (255, 255, 255)


def test_gif_uses_first_frame():
    frames = [Image.new("RGB", (6, 6), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = _open(prepare_image(buf.getvalue()).data)
    assert out.mode == "RGB" and out.getpixel((3, 3))[0] > 200


@pytest.mark.parametrize("w, h, cap", [(1000, 500, 20000), (37, 1001, 3000), (640, 480, 640 * 480), (5, 5, 1)])
def test_pixel_cap_keeps_aspect(w, h, cap):
    out = prepare_image(png(size=(w, h)), max_pixels=cap)
    assert out.width * out.height <= cap
    assert (out.orig_width, out.orig_height) == (w, h)
    if w * h > cap:
        assert out.resized
        assert abs(out.width / out.height - w / h) / (w / h) < 0.25 or min(out.width, out.height) <= 3
    else:
        assert not out.resized and out.data == png(size=(w, h))
    assert _open(out.data).size == (out.width, out.height)


def test_capped_size_is_exact():
    assert capped_size(2000, 1000, 500_000) == (1000, 500)
    assert capped_size(10, 10, None) == (10, 10)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"bytes": png()[:30], "path": "x"}, "cannot decode"),
        (b"definitely not an image", "cannot decode"),
        (None, "missing"),
        ({"bytes": None, "path": None}, "neither bytes nor path"),
        (12, "unsupported"),
    ],
)
def test_bad_images_raise_with_context(value, message):
    with pytest.raises(BadImageError) as e:
        prepare_image(value, what="row id=7, column image_1")
    assert message in str(e.value) and "row id=7, column image_1" in str(e.value)


def test_truncated_jpeg_is_an_error():
    data = jpeg(size=(64, 64))
    with pytest.raises(BadImageError, match="cannot decode"):
        prepare_image(data[: len(data) // 2])


def test_relative_path_resolution(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "1.jpg").write_bytes(jpeg((0, 0, 255)))
    out = prepare_image("images/1.jpg", base_dir=str(tmp_path))
    assert _open(out.data).getpixel((2, 2))[2] > 200
    with pytest.raises(BadImageError, match="not found"):
        prepare_image("images/2.jpg", base_dir=str(tmp_path))

"""Signature appearances as small raster images: a typed name, a handwritten PNG, a red seal.

Images, not pyHanko text stamps: a text stamp embeds the CJK font again in every signature
(~0.6 s each); an image costs a few milliseconds and a few kilobytes. Images are cached per
name, so a committee's seal is drawn once per process.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from documents.errors import SigningError
from documents.fonts import CJK_FAMILY, find_cjk_font

SEAL_RED = (214, 0, 15, 255)
INK = (20, 24, 60, 255)
_SEAL_PX = 320
_NAME_SIZE = (360, 120)


@lru_cache(maxsize=32)
def _font(path: Path, size: int, family: str = CJK_FAMILY) -> ImageFont.FreeTypeFont:
    """The face of `family` inside a TrueType collection (its index differs between builds)."""
    for index in range(16):
        try:
            font = ImageFont.truetype(str(path), size=size, index=index)
        except OSError:
            break
        if font.getname()[0] == family:
            return font
    return ImageFont.truetype(str(path), size=size)


def _cjk_font(size: int) -> ImageFont.FreeTypeFont:
    return _font(find_cjk_font().path, size)


@lru_cache(maxsize=256)
def typed_name(name: str) -> Image.Image:
    """The signer's name set in the CJK font, for signers without a handwritten image."""
    width, height = _NAME_SIZE
    image = Image.new("LA", (width, height), (0, 0))
    draw = ImageDraw.Draw(image)
    size = 84 if len(name) <= 3 else max(28, int(84 * 3 / len(name)))
    font = _cjk_font(size)
    left, top, right, bottom = draw.textbbox((0, 0), name, font=font)
    x = (width - (right - left)) / 2 - left
    y = (height - (bottom - top)) / 2 - top
    draw.text((x, y), name, font=font, fill=(20, 255))
    return image


def handwritten(png: bytes) -> Image.Image:
    """A handwritten signature image as the party drew it (any mode; kept small).

    Raises:
        SigningError: the bytes are not an image Pillow can read.
    """
    try:
        image: Image.Image = Image.open(io.BytesIO(png))
        image.load()
    except (OSError, ValueError) as exc:
        raise SigningError("手写签名图片无法读取，请上传 PNG 图片") from exc
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    image.thumbnail((480, 160))
    return image


@lru_cache(maxsize=32)
def seal(text: str) -> Image.Image:
    """A round red seal: double ring, five-pointed star, `text` along the upper arc."""
    scale = 2  # draw large, then downsample for smooth edges
    size = _SEAL_PX * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre = size / 2
    outer = size / 2 - 6 * scale
    draw.ellipse(
        (centre - outer, centre - outer, centre + outer, centre + outer),
        outline=SEAL_RED,
        width=11 * scale,
    )
    star_r = size * 0.15
    points = []
    for i in range(10):
        radius = star_r if i % 2 == 0 else star_r * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((centre + radius * math.cos(angle), centre + radius * math.sin(angle)))
    draw.polygon(points, fill=SEAL_RED)

    chars = list(text)
    font_size = int(size * (0.15 if len(chars) <= 10 else 0.15 * 10 / len(chars)))
    font = _cjk_font(max(font_size, 18))
    text_radius = outer - 14 * scale - font_size * 0.6
    span = min(math.radians(240), math.radians(24) * len(chars))
    for i, char in enumerate(chars):
        angle = -math.pi / 2 - span / 2 + (span * (i + 0.5) / len(chars))
        glyph = Image.new("RGBA", (font_size * 2, font_size * 2), (0, 0, 0, 0))
        glyph_draw = ImageDraw.Draw(glyph)
        glyph_draw.text((font_size, font_size), char, font=font, fill=SEAL_RED, anchor="mm")
        rotated = glyph.rotate(math.degrees(angle + math.pi / 2), resample=Image.Resampling.BICUBIC)
        x = centre + text_radius * math.cos(angle) - rotated.width / 2
        y = centre + text_radius * math.sin(angle) - rotated.height / 2
        image.alpha_composite(rotated, (int(x), int(y)))
    return image.resize((_SEAL_PX, _SEAL_PX), Image.Resampling.LANCZOS)


def to_png(image: Image.Image) -> bytes:
    """PNG bytes, for previews and tests."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

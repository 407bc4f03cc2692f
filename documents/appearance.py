"""Signature appearances as small raster images: a typed name, a handwritten PNG, a red seal.

Images, not pyHanko text stamps: a text stamp embeds the CJK font again in every signature
(~0.6 s each); an image costs a few milliseconds and a few kilobytes. Images are cached per
name, so a committee's seal is drawn once per process.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SealLayout:
    """Where the characters of a seal's text go: evenly spaced along the upper arc."""

    size: int  # the drawing's side in pixels
    font_size: int
    radius: float  # of the circle through the characters' centres
    angles: tuple[float, ...]  # radians, clockwise from the positive x axis (screen y down)

    @property
    def advance(self) -> float:
        """Distance between neighbouring characters' centres (the chord)."""
        if len(self.angles) < 2:
            return math.inf
        step = self.angles[1] - self.angles[0]
        return 2 * self.radius * math.sin(step / 2)


_MAX_SPAN = math.radians(250)  # a seal's text runs round at most ~250°, leaving the foot free
_GAP = 1.12  # centre-to-centre distance as a multiple of the character size


def seal_layout(text: str, size: int) -> SealLayout:
    """Fit `text` on the ring: the largest characters (up to 15 % of the seal) that keep a
    gap between neighbours within a 250° arc, spread evenly and centred on the top."""
    count = max(len(text), 1)
    outer = size / 2 - size * 0.019
    ring = size * 0.034
    font_size = size * 0.15
    for _ in range(8):  # the radius depends on the size and the size on the radius
        radius = outer - ring - font_size * 0.62
        per_char = _GAP * font_size / radius  # the angle one character needs
        span = min(_MAX_SPAN, per_char * count)
        step = span / count
        fits = 2 * radius * math.sin(step / 2) / _GAP
        if fits >= font_size - 0.5:
            break
        font_size = fits
    start = -math.pi / 2 - span / 2
    angles = tuple(start + step * (i + 0.5) for i in range(count))
    return SealLayout(size=size, font_size=int(font_size), radius=radius, angles=angles)


@lru_cache(maxsize=32)
def seal(text: str, dated: str | None = None) -> Image.Image:
    """A round red seal: double ring, five-pointed star, `text` along the upper arc, and
    (`dated`, e.g. 2026年11月30日) the date it was applied, in black under the star."""
    scale = 2  # draw large, then downsample for smooth edges
    size = _SEAL_PX * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre = size / 2
    outer = size / 2 - 6 * scale
    if dated:
        date_font = _cjk_font(int(size * 0.075))
        draw.text((centre, centre + size * 0.27), dated, font=date_font, fill=INK, anchor="mm")
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

    layout = seal_layout(text, size)
    font_size = max(layout.font_size, 18)
    font = _cjk_font(font_size)
    for char, angle in zip(text, layout.angles, strict=False):
        glyph = Image.new("RGBA", (font_size * 2, font_size * 2), (0, 0, 0, 0))
        glyph_draw = ImageDraw.Draw(glyph)
        glyph_draw.text((font_size, font_size), char, font=font, fill=SEAL_RED, anchor="mm")
        tilt = -math.degrees(angle + math.pi / 2)
        rotated = glyph.rotate(tilt, resample=Image.Resampling.BICUBIC)
        x = centre + layout.radius * math.cos(angle) - rotated.width / 2
        y = centre + layout.radius * math.sin(angle) - rotated.height / 2
        image.alpha_composite(rotated, (int(x), int(y)))
    return image.resize((_SEAL_PX, _SEAL_PX), Image.Resampling.LANCZOS)


@lru_cache(maxsize=32)
def thumbprint(name: str) -> Image.Image:
    """A pressed fingerprint in red ink (whorl ridges), the signer's name printed beside it."""
    width, height = _NAME_SIZE
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    cx, cy = height * 0.55, height / 2
    for ridge in range(9):
        rx, ry = 8 + ridge * 4.2, 11 + ridge * 5.2
        skew = 0.4 * math.sin(ridge * 1.7)
        draw.arc(
            (cx - rx + skew, cy - ry, cx + rx + skew, cy + ry),
            start=15 * (ridge % 3),
            end=360 - 25 * ((ridge + 1) % 2),
            fill=SEAL_RED,
            width=2,
        )
    font = _cjk_font(max(14, min(32, int((width - height * 1.25) // (len(name) + 4)))))
    draw.text((height * 1.2, cy), f"{name}（指印）", font=font, fill=INK, anchor="lm")
    return image


def to_png(image: Image.Image) -> bytes:
    """PNG bytes, for previews and tests."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

"""Preview images with Pillow: recognised by content, decoded, re-encoded from pixels only.

Nothing of the upload but its pixels survives: EXIF (GPS included), XMP, comments, text
chunks, ICC profiles and anything appended after the image's end are gone, because a new
image is built from the decoded pixels and encoded afresh. The EXIF orientation is applied
first (else dropping it would turn the picture), and an ICC profile is converted to sRGB
before it is dropped (else wide-gamut pictures would look washed out).

Bounds: the byte cap is checked before anything is parsed; the pixel count is read from
the header and checked before a single pixel is allocated (decompression bombs: a PNG of
one colour compresses 400 megapixels into a few KB), so decoding time and memory are
linear in a count we cap; large JPEGs decode at a reduced scale (libjpeg's DCT scaling).
Decoding runs in the API process, not a sandboxed worker like mesh analysis: with the
pixel cap the worst case is known (about 4 bytes a pixel), and the router's gate bounds
how many decodes run at once. Animated PNG/WebP keep their first frame.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

from application.ports import CleanImage
from domain.errors import FileTooLarge, InvalidInput
from domain.model_media import IMAGE_FORMATS, MAX_IMAGE_BYTES, NOT_AN_IMAGE
from infra.mesh.gate import UploadGate

MAX_PIXELS = 40_000_000  # 40 megapixels (e.g. 7744 x 5164): at most ~160 MB decoded
MAX_SIDE = 2048  # previews are scaled down to fit this square
# Decodes at once per API process (each up to ~160 MB), callers queued behind them, and
# how long one waits before a 503: the worst case stays near 2 x 160 MB.
DECODERS, QUEUED, QUEUE_SECONDS = 2, 8, 20.0
_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_REASON_CHARS = 120
_GREY_16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def image_gate() -> UploadGate:
    """The gate a request passes before it reads and decodes a preview image."""
    return UploadGate(
        DECODERS, QUEUED, QUEUE_SECONDS, busy="every image decoder is busy; try again shortly"
    )


def sniff(data: bytes) -> str | None:
    """The format its magic bytes say (jpeg, png, webp), or None; never the name or type."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class PillowImageSanitiser:
    """Turns an uploaded JPEG, PNG or WebP into a clean one of the same format."""

    def __init__(
        self,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_pixels: int = MAX_PIXELS,
        max_side: int = MAX_SIDE,
        quality: int = 85,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.max_side = max_side
        self.quality = quality

    def clean(self, data: bytes) -> CleanImage:
        """The re-encoded image, or FileTooLarge / InvalidInput saying what is wrong."""
        if len(data) > self.max_bytes:
            megabytes = self.max_bytes / (1024 * 1024)
            raise FileTooLarge(f"image: larger than the {megabytes:g} MB limit")
        file_format = sniff(data)
        if file_format is None:
            raise InvalidInput(NOT_AN_IMAGE)
        try:
            picture = self._decode(data, file_format)
        except InvalidInput:
            raise
        except Image.DecompressionBombError:  # Pillow's own cap, past ours: same refusal
            raise InvalidInput(self._too_many_pixels()) from None
        except MemoryError:
            raise InvalidInput("image: too large to decode") from None
        except Exception as exc:
            # Any decoder complaint about hostile or broken input is the file's fault.
            raise InvalidInput(f"image: cannot be decoded ({_reason(exc)})") from exc
        encoded = self._encode(picture, file_format)
        return CleanImage(
            format=file_format,
            width=picture.width,
            height=picture.height,
            data=encoded,
            sha256=hashlib.sha256(encoded).hexdigest(),
        )

    def _decode(self, data: bytes, file_format: str) -> Image.Image:
        """The pixels, upright, in sRGB, fitted to max_side, in a new image with no info."""
        # formats=: only the decoder its magic bytes named may read it.
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[file_format]]) as opened:
            width, height = opened.size  # from the header: nothing decoded yet
            if width < 1 or height < 1 or width * height > self.max_pixels:
                raise InvalidInput(self._too_many_pixels(width, height))
            if file_format == "jpeg":
                # Decode at 1/2, 1/4 or 1/8 scale when the preview needs no more pixels.
                opened.draft(None, _fitted(width, height, self.max_side))
            opened.load()  # decodes the whole (first) frame: truncated data fails here
            picture = _upright(opened)
            picture = _in_srgb(_usable_mode(picture, file_format))
            if max(picture.size) > self.max_side:  # bicubic: 25% quicker than Lanczos
                picture.thumbnail((self.max_side, self.max_side), Image.Resampling.BICUBIC)
            # A new image holds the pixels and nothing else: no info, EXIF, ICC, palette.
            fresh = Image.new(picture.mode, picture.size)
            fresh.paste(picture)
            return fresh

    def _encode(self, picture: Image.Image, file_format: str) -> bytes:
        out = io.BytesIO()
        if file_format == "jpeg":
            picture.save(out, "JPEG", quality=self.quality)
        elif file_format == "png":
            # Level 3: a 3 MP photo saved as PNG encodes 4x quicker than at 6, a little larger.
            picture.save(out, "PNG", compress_level=3)
        else:
            picture.save(out, "WEBP", quality=self.quality, method=2)  # 3x quicker than 4
        return out.getvalue()

    def _too_many_pixels(self, width: int | None = None, height: int | None = None) -> str:
        limit = f"the {self.max_pixels / 1e6:g}-megapixel limit"
        if width is None:  # Pillow refused it before we saw the header (a bomb)
            return f"image: more pixels than {limit}"
        return f"image: {width} x {height} pixels is more than {limit}"


def _fitted(width: int, height: int, side: int) -> tuple[int, int]:
    """The size of (width, height) scaled to fit a side x side square (never enlarged)."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _upright(picture: Image.Image) -> Image.Image:
    """The picture turned as its EXIF orientation says (the orientation is dropped later)."""
    # A broken EXIF block must not refuse a good picture: it is dropped anyway.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(picture, in_place=True)  # no copy when already upright
    return picture


def _usable_mode(picture: Image.Image, file_format: str) -> Image.Image:
    """Pixels in a mode the output format stores: L, RGB or (PNG, WebP) RGBA."""
    mode = picture.mode
    if mode in _GREY_16:  # 16-bit grey: scale to 8 bits (a plain convert clips instead)
        return picture.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if file_format == "jpeg":
        return picture if mode in ("L", "RGB", "CMYK") else picture.convert("RGB")
    alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in picture.info
    if alpha:
        return picture if mode == "RGBA" else picture.convert("RGBA")
    return picture if mode in ("L", "RGB") else picture.convert("RGB")


def _in_srgb(picture: Image.Image) -> Image.Image:
    """Colour profile converted to sRGB (CMYK always ends RGB); the profile itself goes."""
    profile = picture.info.get("icc_profile")
    if profile and picture.mode in ("RGB", "RGBA", "CMYK"):
        try:
            converted = ImageCms.profileToProfile(
                picture,
                ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if picture.mode == "RGBA" else "RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # an unusable profile: keep the pixels as they are
        if converted is not None:  # None only when asked to convert in place
            return converted
    return picture.convert("RGB") if picture.mode == "CMYK" else picture


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:_REASON_CHARS]


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FileImageStore:
    """Sanitised images under <data dir>/images/<ab>/<sha256>.<ext>, written once."""

    def __init__(self, root: Path) -> None:
        self.root = root / "images"
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, image: CleanImage) -> None:
        """Write the bytes once under their hash (atomic rename: no torn files)."""
        path = self._path(image.sha256, image.format)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(image.data)
        os.replace(tmp, path)

    def read(self, sha256: str, format: str) -> bytes | None:
        """The stored bytes, or None when missing (or the name is not a hash)."""
        if not _SHA256.match(sha256) or format not in IMAGE_FORMATS:
            return None
        path = self._path(sha256, format)
        return path.read_bytes() if path.exists() else None

    def _path(self, sha256: str, format: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{IMAGE_FORMATS[format][1]}"

"""Story: whatever is uploaded as a preview image, only its pixels come out.

Real images made with Pillow here: metadata (EXIF GPS, text chunks) and trailing payloads
are gone, formats are told by content, everything that is not a whole JPEG, PNG or WebP
is refused, and a decompression bomb is refused without its pixels ever being allocated.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin
from PIL.ExifTags import GPS, IFD, Base

from application.ports import CleanImage
from domain.errors import FileTooLarge, InvalidInput
from infra.images import FileImageStore, PillowImageSanitiser, sniff

NOT_AN_IMAGE = "image: must be a JPEG, PNG or WebP image"
SANITISER = PillowImageSanitiser()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def opened(clean: CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(clean.data))
    image.load()
    return image


def spy_exif() -> Image.Exif:
    """EXIF a phone writes: where the picture was taken, the camera, and a rotation."""
    exif = Image.Exif()
    exif[Base.Make] = "SpyCam"
    exif[Base.Orientation] = 6  # stored sideways: viewers turn it 90 degrees clockwise
    exif.get_ifd(IFD.GPSInfo).update(
        {
            GPS.GPSLatitudeRef: "N",
            GPS.GPSLatitude: (12.0, 58.0, 17.0),
            GPS.GPSLongitudeRef: "E",
            GPS.GPSLongitude: (77.0, 35.0, 40.0),
        }
    )
    return exif


def refusal(data: bytes) -> str:
    with pytest.raises(InvalidInput) as refused:
        SANITISER.clean(data)
    return refused.value.message


def test_a_jpeg_loses_its_exif_and_gps_but_keeps_its_orientation() -> None:
    picture = Image.new("RGB", (40, 20), "red")
    upload = encoded(picture, "JPEG", exif=spy_exif().tobytes())
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(IFD.GPSInfo)  # it was there

    clean = SANITISER.clean(upload)

    out = opened(clean)
    assert (clean.format, out.format) == ("jpeg", "JPEG")
    assert dict(out.getexif()) == {}
    assert out.getexif().get_ifd(IFD.GPSInfo) == {}
    assert b"SpyCam" not in clean.data and b"Exif" not in clean.data
    assert (clean.width, clean.height) == out.size == (20, 40)  # turned upright, not sideways


def test_webp_and_png_metadata_is_dropped_too() -> None:
    picture = Image.new("RGB", (30, 30), "blue")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-note")
    for fmt, options in (
        ("PNG", {"pnginfo": info, "exif": spy_exif().tobytes()}),
        ("WEBP", {"exif": spy_exif().tobytes(), "xmp": b"<x:xmpmeta>secret-note</x:xmpmeta>"}),
    ):
        clean = SANITISER.clean(encoded(picture, fmt, **options))
        out = opened(clean)
        assert dict(out.getexif()) == {}, fmt
        assert b"secret-note" not in clean.data and b"SpyCam" not in clean.data, fmt
        assert not {"exif", "xmp", "Comment", "icc_profile"} & set(out.info), (fmt, out.info)


def test_a_payload_after_the_image_end_is_gone() -> None:
    payload = b"<script>alert(document.cookie)</script>" * 50
    upload = encoded(Image.new("RGB", (16, 16), "green"), "PNG") + payload

    clean = SANITISER.clean(upload)

    assert payload[:40] not in clean.data
    assert clean.data.endswith(b"IEND\xaeB`\x82")  # ends where a PNG ends
    assert opened(clean).getpixel((0, 0)) == (0, 128, 0)


def test_formats_are_told_by_their_bytes_and_kept() -> None:
    picture = Image.new("RGB", (8, 8), "white")
    for fmt, name in (("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")):
        data = encoded(picture, fmt)
        assert sniff(data) == name
        clean = SANITISER.clean(data)
        assert clean.format == name and opened(clean).format == fmt


@pytest.mark.parametrize(
    "data",
    [
        encoded(Image.new("RGB", (8, 8)), "GIF"),
        encoded(Image.new("RGB", (8, 8)), "BMP"),
        encoded(Image.new("RGB", (8, 8)), "TIFF"),
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"GIF89a/*\x00\x00*/=alert(1);//",  # a GIF/JavaScript polyglot
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but not WebP
        b"%PDF-1.7\n",
        b"\x00" * 64,
    ],
    ids=["gif", "bmp", "tiff", "svg", "html", "gif-js-polyglot", "wav", "pdf", "zeros"],
)
def test_anything_but_jpeg_png_or_webp_is_refused(data: bytes) -> None:
    assert refusal(data) == NOT_AN_IMAGE


def test_a_polyglot_with_an_image_magic_but_no_image_is_refused() -> None:
    fake_png = b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"
    fake_jpeg = b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>"
    fake_webp = b"RIFF\x30\x00\x00\x00WEBP<html><script>alert(1)</script></html>"
    for data in (fake_png, fake_jpeg, fake_webp):
        assert refusal(data).startswith("image: cannot be decoded"), data[:12]


def test_a_truncated_image_is_refused() -> None:
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")  # incompressible: real IDAT
    for fmt in ("PNG", "JPEG", "WEBP"):
        data = encoded(noisy, fmt)
        assert refusal(data[: len(data) // 2]).startswith("image: cannot be decoded"), fmt


def test_more_than_ten_megabytes_is_refused_before_decoding() -> None:
    header = encoded(Image.new("RGB", (8, 8)), "PNG")
    with pytest.raises(FileTooLarge) as refused:
        SANITISER.clean(header + b"\x00" * (10 * 1024 * 1024))
    assert refused.value.message == "image: larger than the 10 MB limit"
    assert SANITISER.clean(header + b"\x00" * 1000).format == "png"  # trailing zeros: fine


def test_pictures_larger_than_a_preview_are_scaled_to_fit() -> None:
    clean = SANITISER.clean(encoded(Image.new("RGB", (5000, 1000), "white"), "JPEG"))
    assert (clean.width, clean.height) == (2048, 410)
    assert opened(clean).size == (2048, 410)


def test_modes_become_ones_the_format_stores() -> None:
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    transparent = opened(SANITISER.clean(encoded(palette, "PNG", transparency=0)))
    assert transparent.mode == "RGBA"
    grey16 = Image.new("I;16", (4, 4), 40000)
    assert opened(SANITISER.clean(encoded(grey16, "PNG"))).getpixel((0, 0)) == 156  # not 255
    cmyk = opened(SANITISER.clean(encoded(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG")))
    assert cmyk.mode == "RGB"
    red, green, blue = cmyk.getpixel((4, 4))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


# Run in a child process whose address space is capped a little above what it has once
# Pillow is imported: allocating the bomb's pixels (400 MB as one byte each) would fail
# there with MemoryError, or kill the child, instead of refusing cleanly.
BOMB_CHILD = textwrap.dedent(
    """
    import io, resource, sys
    from PIL import Image
    from domain.errors import InvalidInput
    from infra.images import PillowImageSanitiser

    def png(size):
        out = io.BytesIO()
        Image.new("1", size, 1).save(out, "PNG")
        return out.getvalue()

    bombs = [png((20000, 20000)), png((9000, 9000))]  # past Pillow's cap; under it, past ours
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + 120 * 2**20, used + 120 * 2**20))
    sanitiser = PillowImageSanitiser()
    for bomb in bombs:
        try:
            sanitiser.clean(bomb)
        except InvalidInput as refused:
            print(len(bomb), refused.message)
        else:
            sys.exit("bomb accepted")
    """
)


def test_a_decompression_bomb_is_refused_without_allocating_its_pixels() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    sizes = [int(line.split()[0]) for line in lines]
    assert all(size < 100_000 for size in sizes), sizes  # a few KB each
    assert lines[0].endswith("image: more pixels than the 40-megapixel limit")
    assert lines[1].endswith("image: 9000 x 9000 pixels is more than the 40-megapixel limit")


def test_the_store_keeps_each_image_once_under_its_hash(tmp_path: Path) -> None:
    store = FileImageStore(tmp_path)
    clean = SANITISER.clean(encoded(Image.new("RGB", (8, 8), "red"), "WEBP"))
    store.put(clean)
    store.put(clean)
    files = list((tmp_path / "images").rglob("*.*"))
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        f"images/{clean.sha256[:2]}/{clean.sha256}.webp"
    ]
    assert store.read(clean.sha256, "webp") == clean.data
    assert store.read(clean.sha256, "png") is None
    assert store.read("../../etc/passwd", "png") is None


def test_a_colour_profile_is_applied_then_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for fmt in ("JPEG", "PNG", "WEBP"):
        upload = encoded(Image.new("RGB", (8, 8), (30, 120, 220)), fmt, icc_profile=srgb)
        assert Image.open(io.BytesIO(upload)).info.get("icc_profile"), fmt
        out = opened(SANITISER.clean(upload))
        assert "icc_profile" not in out.info, fmt
        red, green, blue = out.getpixel((4, 4))  # type: ignore[misc]
        assert abs(red - 30) + abs(green - 120) + abs(blue - 220) < 20, (fmt, red, green, blue)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow says so; we go on
def test_a_broken_exif_block_does_not_refuse_a_good_picture() -> None:
    jpeg = encoded(Image.new("RGB", (10, 6), "red"), "JPEG")
    junk = b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff" + b"\x00" * 20  # offsets to nowhere
    segment = b"\xff\xe1" + (len(junk) + 2).to_bytes(2, "big") + junk
    clean = SANITISER.clean(jpeg[:2] + segment + jpeg[2:])
    assert (clean.width, clean.height) == (10, 6)
    assert dict(opened(clean).getexif()) == {}

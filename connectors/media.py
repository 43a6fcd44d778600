"""What an image's first bytes say: its type and its size in pixels, read from the header without decoding it.

Connectors use it to refuse an image a network will not take before uploading anything (LinkedIn's pixel limit) and
to tell Bluesky an image's aspect ratio; the sandbox networks use it to find the type of what was uploaded, as the
networks sniff it rather than trust the ``Content-Type`` they were sent. PNG, JPEG, GIF and WebP (the four
``connectors.base.IMAGE_TYPES``) are understood; anything else is ``None``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageInfo:
    """The sniffed type of an image and, when its header says, its width and height in pixels."""

    content_type: str
    width: int | None = None
    height: int | None = None

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width is not None and self.height is not None else None


def image_info(data: bytes) -> ImageInfo | None:
    """The type (and dimensions) of a PNG, JPEG, GIF or WebP image; ``None`` for anything else.

    Args:
        data: the image's bytes (only the header is read).
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return ImageInfo("image/png", width, height)
        return ImageInfo("image/png")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        if len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return ImageInfo("image/gif", width, height)
        return ImageInfo("image/gif")
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> ImageInfo:
    """Walk the JPEG's marker segments to the frame header (SOFn), which holds height then width."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return ImageInfo("image/jpeg", width, height)
        if marker == 0xDA or length < 2:  # start of scan: no frame header before it
            break
        pos += 2 + length
    return ImageInfo("image/jpeg")


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return ImageInfo("image/webp", width, height)
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("image/webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo("image/webp", 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    return ImageInfo("image/webp")

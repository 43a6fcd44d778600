"""Real image files for the connector media tests, built byte by byte (no imaging library needed)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(
    width: int = 4, height: int = 3, *, size: int | None = None, rgb: tuple[int, int, int] = (200, 30, 90)
) -> bytes:
    """A valid PNG of one colour, ``width`` × ``height`` pixels; ``size`` pads it to exactly that many bytes with an
    ancillary chunk viewers skip (how a test makes a large file without drawing a large picture).

    Args:
        width: pixels across.
        height: pixels down.
        size: the exact file size wanted, in bytes.
        rgb: the colour.
    """
    row = b"\x00" + bytes(rgb) * width
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body = _chunk(b"IDAT", zlib.compress(row * height)) + _chunk(b"IEND", b"")
    if size is None:
        return head + body
    padding = size - len(head) - len(body) - 12
    if padding < 0:
        raise ValueError(f"a {width}x{height} PNG is already larger than {size} bytes")
    return head + _chunk(b"pADd", b"\x00" * padding) + body


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with a tiny picture: a very large image's first bytes.

    Args:
        width: pixels across, as the header says.
        height: pixels down, as the header says.
    """
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return head + _chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00")) + _chunk(b"IEND", b"")

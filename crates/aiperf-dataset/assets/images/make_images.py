#!/usr/bin/env python3
"""Writes the four bundled source images of `--image-source assets` (deterministic, standard
library only): python3 make_images.py (in this directory)."""
import math
import struct
import zlib

W, H = 160, 120


def png(path, pixel):
    rows = []
    for y in range(H):
        line = [pixel(x, y) for x in range(W)]
        raw = bytes(c for p in line for c in p)
        # Filter 1 (Sub): each byte minus the same channel of the pixel to its left.
        sub = bytes((raw[i] - (raw[i - 3] if i >= 3 else 0)) & 0xFF for i in range(len(raw)))
        rows.append(b"\x01" + sub)
    data = zlib.compress(b"".join(rows), 9)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", data))
        f.write(chunk(b"IEND", b""))


def sunset(x, y):
    if (x - 110) ** 2 + (y - 70) ** 2 < 22 ** 2:
        return (255, 200, 60)
    if y > 90:
        return (20, 60 + (y - 90), 110)
    t = y / 90
    return (int(250 - 120 * t), int(120 - 60 * t), int(60 + 100 * t))


def tiles(x, y):
    colors = [(200, 60, 60), (60, 160, 80), (60, 90, 200), (230, 210, 80)]
    c = colors[((x // 40) + 2 * (y // 40)) % 4]
    return c if (x % 40) > 2 and (y % 40) > 2 else (30, 30, 30)


def rings(x, y):
    d = math.hypot(x - W / 2, y - H / 2)
    band = int(d // 12) % 3
    return [(240, 240, 240), (80, 150, 220), (20, 40, 90)][band]


def stripes(x, y):
    if ((x + y) // 16) % 2:
        return (int(255 * x / W), 90, int(255 * y / H))
    return (250, 250, 235)


for name, f in [("sunset", sunset), ("tiles", tiles), ("rings", rings), ("stripes", stripes)]:
    png(f"{name}.png", f)

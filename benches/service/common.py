"""Small HTTP helpers for the service benchmarks (standard library only)."""

import json
import struct
import urllib.request
import uuid
import zlib


def png(width, height, depth, rows):
    """A greyscale PNG from raw rows (each without the filter byte)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def png8(n):
    return png(n, n, 8, [bytes((x + y) % 256 for x in range(n)) for y in range(n)])


def api(base, method, path, body=None, key=None, cookie=None, origin=False, want_cookie=False):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if cookie:
        request.add_header("Cookie", cookie)
    if origin:
        request.add_header("Origin", base)
    with urllib.request.urlopen(request) as response:
        if want_cookie:
            return response.headers["Set-Cookie"].split(";")[0]
        return json.loads(response.read() or b"null")


def upload(base, key, content, name):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/api/v1/uploads", data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())

"""Writes a 1024^3 (or N^3) u8 volume, plane by plane: the gyroid over [0, 4 pi]^3 mapped to
0..255 (isovalue 127.5), for the bounded-memory figure.

    python3 benches/peers/make_volume_u8.py 1024 /tmp/gyroid1024_u8.raw
"""

import sys

import numpy as np


def main() -> None:
    n, path = int(sys.argv[1]), sys.argv[2]
    t = np.linspace(0.0, 4.0 * np.pi, n)
    y, x = np.meshgrid(t, t, indexing="ij")
    with open(path, "wb") as out:
        for z in t:
            f = np.sin(x) * np.cos(y) + np.sin(y) * np.cos(z) + np.sin(z) * np.cos(x)
            out.write(np.clip(127.5 + 84.0 * f, 0, 255).astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()

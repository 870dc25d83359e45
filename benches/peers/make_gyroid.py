"""Writes the gyroid sin x cos y + sin y cos z + sin z cos x over [0, 4 pi]^3 as raw
little-endian f32, x fastest: the volume the isosurface benchmarks share.

    python3 benches/peers/make_gyroid.py 256 /tmp/gyroid256.raw
"""

import sys

import numpy as np


def main() -> None:
    n, path = int(sys.argv[1]), sys.argv[2]
    t = np.linspace(0.0, 4.0 * np.pi, n, dtype=np.float64)
    # Index order (z, y, x) so that x varies fastest in the file.
    z, y, x = np.meshgrid(t, t, t, indexing="ij")
    f = np.sin(x) * np.cos(y) + np.sin(y) * np.cos(z) + np.sin(z) * np.cos(x)
    f.astype("<f4").tofile(path)


if __name__ == "__main__":
    main()

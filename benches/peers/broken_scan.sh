# Sourced by compare_inspect.sh and compare_repair.sh: builds Lithos, installs admesh and
# trimesh when missing, writes the broken 2.2-million-triangle scan to "$dir/broken.stl"
# (make_broken_scan.py on camera.png's relief on a 1000 grid), and defines `run CMD...`, which
# prints CMD's wall time and peak RSS and leaves its output in "$dir/out.txt".
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --release --quiet --bin lithos
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
command -v admesh >/dev/null || as_root apt-get install -y -qq admesh
python3 -c "import trimesh" 2>/dev/null || python3 -m pip install -q trimesh numpy
dir=${DIR:-$(mktemp -d)}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
lithos=target/release/lithos
$lithos convert tests/data/camera.png --mode relief --grid 1000 -o "$dir/scan.stl" > /dev/null
python3 benches/peers/make_broken_scan.py "$dir/scan.stl" "$dir/broken.stl"
run() {
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > "$dir/out.txt" 2>&1 || true
  read -r wall kb < "$dir/time"
  echo "$wall s, $((kb / 1024)) MiB"
}

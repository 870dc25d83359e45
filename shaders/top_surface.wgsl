// The top surface of a heightfield as binary STL records, two triangles per grid cell.
//
// Cell (i, j) has corners a = (i, j), b = (i + 1, j), c = (i, j + 1), d = (i + 1, j + 1). Grid row
// j lies at y = (height - 1 - j) * pitch so the model is not mirrored when seen from above. The
// triangles are (a, c, d) and (a, d, b), counter-clockwise from above, with their face normals.
//
// Each cell writes 100 bytes, exactly the two 50-byte STL records, as 25 little-endian words:
// the second record starts at byte 50, so its floats straddle word boundaries and are spliced
// from half-words. The host streams these words to the file without touching them.
// CPU twin: engine/src/cpu/top_surface.rs.

struct SurfaceConfig {
    count: u32,
    width: u32,
    height: u32,
    row0: u32,
    pitch_mm: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> config: SurfaceConfig;
@group(0) @binding(1) var<storage, read> thickness: array<f32>;
@group(0) @binding(2) var<storage, read_write> records: array<u32>;

const WORKGROUP_SIZE: u32 = 256u;
const WORDS_PER_CELL: u32 = 25u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    let cells_per_row = config.width - 1u;
    let i = index % cells_per_row;
    let row = index / cells_per_row;
    let j = config.row0 + row;

    let top = row * config.width + i;
    let ta = thickness[top];
    let tb = thickness[top + 1u];
    let tc = thickness[top + config.width];
    let td = thickness[top + config.width + 1u];

    let p = config.pitch_mm;
    let x0 = f32(i) * p;
    let x1 = f32(i + 1u) * p;
    let y0 = f32(config.height - 1u - j) * p;
    let y1 = f32(config.height - 2u - j) * p;

    let n1 = normalize(vec3<f32>(tc - td, tc - ta, p));
    let n2 = normalize(vec3<f32>(ta - tb, td - tb, p));

    // Record 1 (a, c, d) fills words 0..12; record 2 (a, d, b) starts at byte 50.
    let first = array<f32, 12>(n1.x, n1.y, n1.z, x0, y0, ta, x0, y1, tc, x1, y1, td);
    let second = array<f32, 12>(n2.x, n2.y, n2.z, x0, y0, ta, x1, y1, td, x1, y0, tb);

    let base = index * WORDS_PER_CELL;
    for (var k = 0u; k < 12u; k++) {
        records[base + k] = bitcast<u32>(first[k]);
    }
    // Word 12: record 1's attribute (0) in the low half, record 2's first half-word above it.
    var previous = 0u;
    for (var k = 0u; k < 12u; k++) {
        let bits = bitcast<u32>(second[k]);
        records[base + 12u + k] = previous | (bits << 16u);
        previous = bits >> 16u;
    }
    // Word 24: the last half-word, then record 2's attribute (0).
    records[base + 24u] = previous;
}

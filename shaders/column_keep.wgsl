// Which points of each grid column an adaptive bent panel keeps (engine/src/mesh/adaptive/
// columns.rs): one invocation per column walks it from the top row, greedily keeping the far
// end of the longest run from the last kept row whose chord holds every point between within
// `bound` height steps, and ending a run early at a row that must stay (`forced`, a foot's
// first row; every row of the first and last columns when `walled`).
//
// A chord from row `a` holds point `k` when its slope lies in `k`'s window,
// `(t(k) - t(a) -+ bound) / (k - a)`; a run goes on while the next row's slope lies in every
// window so far. Slopes are compared as fractions, cross-multiplied in i32: heights are
// integer steps (at most `i32::MAX / (4 height)`, and the bound no more than the largest), so
// no product overflows and GPU and CPU keep the same points.
//
// `heights` is row-major, `width` x `height`; `keep` is column-major: column `x`'s rows from
// `x * height`, 1 where kept and 0 where not. CPU twin: engine/src/cpu/column_keep.rs.

struct ColumnConfig {
    width: u32,
    height: u32,
    bound: u32,
    forced: u32,
    walled: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> config: ColumnConfig;
@group(0) @binding(1) var<storage, read> heights: array<u32>;
@group(0) @binding(2) var<storage, read_write> keep: array<u32>;

const WORKGROUP_SIZE: u32 = 256u;

fn height_at(x: u32, y: u32) -> i32 {
    return i32(heights[y * config.width + x]);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let x = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if x >= config.width {
        return;
    }
    let h = config.height;
    let base = x * h;
    let every = config.walled != 0u && (x == 0u || x == config.width - 1u);
    for (var y = 0u; y < h; y++) {
        keep[base + y] = select(0u, 1u, every || y == 0u);
    }
    let bound = i32(config.bound);
    var a = 0u;
    loop {
        if a + 1u >= h {
            break;
        }
        let ta = height_at(x, a);
        // The windows' tightest ends, lo_n / lo_d and hi_n / hi_d, none yet.
        var open = true;
        var lo_n = 0;
        var lo_d = 1;
        var hi_n = 0;
        var hi_d = 1;
        var b = a + 1u;
        loop {
            if b + 1u >= h || every || b == config.forced {
                break;
            }
            let run = i32(b - a);
            let low = height_at(x, b) - bound - ta;
            let high = height_at(x, b) + bound - ta;
            if open || low * lo_d > lo_n * run {
                lo_n = low;
                lo_d = run;
            }
            if open || high * hi_d < hi_n * run {
                hi_n = high;
                hi_d = run;
            }
            open = false;
            let rise = height_at(x, b + 1u) - ta;
            let next = i32(b + 1u - a);
            if rise * lo_d < lo_n * next || rise * hi_d > hi_n * next {
                break;
            }
            b += 1u;
        }
        keep[base + b] = 1u;
        a = b;
    }
}

// One level of the adaptive mesher's error pyramid over a right-triangulated irregular network
// (RTIN) on a padded square grid of `size` = 2^k + 1 points.
//
// A level's triangles split at the midpoint of their hypotenuse. On even levels those are the
// centres of squares of side `square`, each square cut by a diagonal ("\" where the square's
// column plus row is even, "/" where odd) into two triangles; on odd levels they are the
// midpoints of the squares' sides, each side the hypotenuse of the triangles from it to the
// centres of the squares on either side. One invocation per midpoint writes its error: the
// largest of its triangles' exact errors and its children's errors, so that wherever a child
// must split, so must its parents (which keeps the extracted mesh free of cracks).
//
// A triangle's exact error is the largest vertical distance, over every grid point in it
// (edges included), between the point's height and the triangle's plane, in whole quanta of
// height rounded up. Heights are 16-bit integers and the plane is scaled by the triangle's
// leg, so the arithmetic is exact in i32 and GPU and CPU agree to the bit. A triangle with
// both solid and empty cells, or with a point of the outline other than its corners, is forced
// to split (`ERROR_FORCED`); one with no solid cell has error 0 and is later dropped.
//
// With `estimate`, a midpoint first tries a bound without scanning: its children's errors plus
// its own distance from its hypotenuse. Where that stays within the cap it is stored instead
// (an upper bound); which errors exceed the cap is unchanged, and so is the mesh extracted.
//
// Each point word holds the height in its low 16 bits and the point's kind above them.
// CPU twin: engine/src/cpu/rtin_error.rs.

struct RtinConfig {
    count: u32,
    size: u32,
    square: u32,
    squares: u32,
    odd: u32,
    cap: u32,
    estimate: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> config: RtinConfig;
@group(0) @binding(1) var<storage, read> points: array<u32>;
@group(0) @binding(2) var<storage, read_write> errors: array<u32>;

const WORKGROUP_SIZE: u32 = 256u;
const POINT_OUTSIDE: u32 = 0u;
const POINT_INTERIOR: u32 = 2u;
const ERROR_FORCED: u32 = 0xffffffffu;

struct Scan {
    worst: u32,
    not_interior: bool,
    all_outside: bool,
}

fn scan_add(scan: ptr<function, Scan>, difference: i32, kind: u32, corner: bool) {
    (*scan).worst = max((*scan).worst, u32(abs(difference)));
    if !corner {
        (*scan).not_interior = (*scan).not_interior || kind != POINT_INTERIOR;
        (*scan).all_outside = (*scan).all_outside && kind == POINT_OUTSIDE;
    }
}

fn scan_error(scan: Scan, scale: u32) -> u32 {
    if !scan.not_interior {
        return (scan.worst + scale - 1u) / scale;
    }
    if scan.all_outside {
        return 0u;
    }
    return ERROR_FORCED;
}

fn height(word: u32) -> i32 {
    return i32(word & 0xffffu);
}

// A triangle's error without scanning it (with `estimate`), from its children's midpoints `c0`
// and `c1` (none for the finest triangles), within the cap and so not forced, and its own
// midpoint `middle` on the hypotenuse from height `qa` to `qb`. Forced and empty are exactly
// what a scan finds: its points other than corners are its children's and the midpoint.
// Otherwise the result is at most the children's largest error plus the midpoint's distance
// from the hypotenuse, rounded up: the triangle's plane and a child's differ by a linear
// function that is zero at their shared corners and that distance at the midpoint.
fn estimate(middle: u32, qa: i32, qb: i32, c0: u32, c1: u32, has_children: bool) -> u32 {
    var not_interior = (middle >> 16u) != POINT_INTERIOR;
    var all_outside = (middle >> 16u) == POINT_OUTSIDE;
    var worst = 0u;
    if has_children {
        // A child that is not forced is either all interior or all outside, as its midpoint.
        for (var k = 0u; k < 2u; k++) {
            let c = select(c1, c0, k == 0u);
            let kind = points[c] >> 16u;
            not_interior = not_interior || kind != POINT_INTERIOR;
            all_outside = all_outside && kind == POINT_OUTSIDE;
            worst = max(worst, errors[c]);
        }
    }
    if !not_interior {
        return worst + (u32(abs(2 * height(middle) - qa - qb)) + 1u) / 2u;
    }
    if all_outside {
        return 0u;
    }
    return ERROR_FORCED;
}

fn at(x: u32, y: u32) -> u32 {
    return y * config.size + x;
}

fn centre(index: u32) {
    let s = config.square;
    let h = s / 2u;
    let g = config.squares;
    let x0 = (index % g) * s;
    let y0 = (index / g) * s;
    let m = at(x0 + h, y0 + h);
    let top = at(x0 + h, y0);
    let bottom = at(x0 + h, y0 + s);
    let left = at(x0, y0 + h);
    let right = at(x0 + s, y0 + h);
    let worst = max(max(errors[top], errors[bottom]), max(errors[left], errors[right]));
    if worst > config.cap {
        errors[m] = worst;
        return;
    }
    let q00 = height(points[at(x0, y0)]);
    let q10 = height(points[at(x0 + s, y0)]);
    let q01 = height(points[at(x0, y0 + s)]);
    let q11 = height(points[at(x0 + s, y0 + s)]);
    let back = ((index % g) + (index / g)) % 2u == 0u;
    if config.estimate != 0u {
        // Each half's children: the sides it has.
        let middle = points[m];
        var bound = worst;
        if back {
            bound = max(bound, estimate(middle, q00, q11, left, bottom, true));
            bound = max(bound, estimate(middle, q00, q11, top, right, true));
        } else {
            bound = max(bound, estimate(middle, q10, q01, top, left, true));
            bound = max(bound, estimate(middle, q10, q01, right, bottom, true));
        }
        if bound <= config.cap || bound == ERROR_FORCED {
            errors[m] = bound;
            return;
        }
    }
    let si = i32(s);
    var first = Scan(0u, false, true);
    var second = Scan(0u, false, true);
    for (var v = 0u; v <= s; v++) {
        for (var u = 0u; u <= s; u++) {
            let word = points[at(x0 + u, y0 + v)];
            let q = height(word);
            let kind = word >> 16u;
            let corner = (u == 0u || u == s) && (v == 0u || v == s);
            let ui = i32(u);
            let vi = i32(v);
            if back {
                if u <= v {
                    let plane = (vi - ui) * q01 + ui * q11 + (si - vi) * q00;
                    scan_add(&first, si * q - plane, kind, corner);
                }
                if u >= v {
                    let plane = (ui - vi) * q10 + (si - ui) * q00 + vi * q11;
                    scan_add(&second, si * q - plane, kind, corner);
                }
            } else {
                if u + v <= s {
                    let plane = (si - ui - vi) * q00 + ui * q10 + vi * q01;
                    scan_add(&first, si * q - plane, kind, corner);
                }
                if u + v >= s {
                    let plane = (ui + vi - si) * q11 + (si - ui) * q01 + (si - vi) * q10;
                    scan_add(&second, si * q - plane, kind, corner);
                }
            }
        }
    }
    errors[m] = max(worst, max(scan_error(first, s), scan_error(second, s)));
}

fn at_i(x: i32, y: i32) -> u32 {
    return u32(y) * config.size + u32(x);
}

fn side(index: u32) {
    let s = config.square;
    let h = s / 2u;
    let g = config.squares;
    let horizontal = index < g * (g + 1u);
    var mx: u32;
    var my: u32;
    var along: vec2<i32>;
    var before: bool;
    var after: bool;
    if horizontal {
        let i = index % g;
        let j = index / g;
        mx = i * s + h;
        my = j * s;
        along = vec2<i32>(1, 0);
        before = j > 0u;
        after = j < g;
    } else {
        let k = index - g * (g + 1u);
        let i = k % (g + 1u);
        let j = k / (g + 1u);
        mx = i * s;
        my = j * s + h;
        along = vec2<i32>(0, 1);
        before = i > 0u;
        after = i < g;
    }
    let m = my * config.size + mx;
    let mxi = i32(mx);
    let myi = i32(my);
    let hi = i32(h);
    let qa = height(points[at_i(mxi - along.x * hi, myi - along.y * hi)]);
    let qb = height(points[at_i(mxi + along.x * hi, myi + along.y * hi)]);
    // Each triangle's children, the centres of the half squares toward its apex (none for the
    // finest): their errors are its least, and under `estimate` they bound its own.
    let middle = points[m];
    var worst = 0u;
    var bound = 0u;
    for (var a = 0; a < 2; a++) {
        let apex = 2 * a - 1;
        let exists = select(after, before, a == 0);
        if !exists {
            continue;
        }
        // Toward the apex: across the side.
        let dx = apex * along.y;
        let dy = apex * along.x;
        let c0 = at_i(mxi + dx * hi / 2 - along.x * hi / 2, myi + dy * hi / 2 - along.y * hi / 2);
        let c1 = at_i(mxi + dx * hi / 2 + along.x * hi / 2, myi + dy * hi / 2 + along.y * hi / 2);
        if h >= 2u {
            worst = max(worst, max(errors[c0], errors[c1]));
        }
        if config.estimate != 0u {
            bound = max(bound, estimate(middle, qa, qb, c0, c1, h >= 2u));
        }
    }
    if worst > config.cap {
        errors[m] = worst;
        return;
    }
    bound = max(bound, worst);
    if config.estimate != 0u && (bound <= config.cap || bound == ERROR_FORCED) {
        errors[m] = bound;
        return;
    }
    var error = worst;
    for (var a = 0; a < 2; a++) {
        let apex = 2 * a - 1;
        let exists = select(after, before, a == 0);
        if !exists {
            continue;
        }
        let dx = apex * along.y;
        let dy = apex * along.x;
        let qc = height(points[at_i(mxi + dx * hi, myi + dy * hi)]);
        var scan = Scan(0u, false, true);
        for (var t = 0; t <= hi; t++) {
            for (var w = t - hi; w <= hi - t; w++) {
                let word = points[at_i(mxi + dx * t + along.x * w, myi + dy * t + along.y * w)];
                let plane = 2 * t * qc + (hi - t - w) * qa + (hi - t + w) * qb;
                let corner = t == hi || (t == 0 && (w == hi || w == -hi));
                scan_add(&scan, 2 * hi * height(word) - plane, word >> 16u, corner);
            }
        }
        error = max(error, scan_error(scan, s));
    }
    errors[m] = error;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    if config.odd == 0u {
        centre(index);
    } else {
        side(index);
    }
}

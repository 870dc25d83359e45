//! Repair: a 3D file's mesh made printable, step by step, each step counting what it changed.
//!
//! 1. Weld corners within a tolerance (exactly equal ones always).
//! 2. Drop faces with a repeated corner once welded, and faces that repeat another's corners.
//! 3. Orient each patch of faces consistently, flipping the fewer.
//! 4. Fill each hole with a triangulation of its boundary loop: a planar loop by ear clipping
//!    in its plane (exactly flat), any other by the triangulation of least area, and a very
//!    long one by a fan around its centre.
//! 5. Turn closed shells that enclose negative volume outward, unless they are cavities inside
//!    another shell.
//! 6. Drop shells smaller than a volume.
//! 7. Resolve faces that cross each other (a shell folded through itself, or shells that
//!    overlap) into the one solid they enclose: the closed mesh is rebuilt by manifold-rust's
//!    robust boolean engine (exact arithmetic on the mesh's arrangement, every wall with
//!    material on both sides dissolved), only when crossings are found, and kept only when the
//!    result is itself closed, manifold and oriented (a union whose pieces touch at a point is
//!    not: the crossings are then left, and reported), in models of at most
//!    [`MAX_RESOLVE_TRIANGLES`].

use std::collections::HashMap;

use rayon::prelude::*;

use super::analysis::edges;

use super::Model;
use super::vector::{cross, dot, norm, sub};
use crate::sets::Sets;

/// Holes with more corners than this are filled by a fan around their centre: the least-area
/// triangulation takes the cube of the corners' count.
const MAX_DP_LOOP: usize = 256;
/// Crossing faces are resolved in models of at most this many triangles.
pub const MAX_RESOLVE_TRIANGLES: usize = 500_000;

/// What [`repair`] changed, step by step.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Repairs {
    /// Corners merged into another within the weld tolerance (beyond exact matches).
    pub welded_vertices: u64,
    /// Faces dropped for a repeated corner (after welding).
    pub degenerate_faces_removed: u64,
    /// Faces dropped for repeating another face's corners.
    pub duplicate_faces_removed: u64,
    /// Faces turned to agree with their neighbours.
    pub faces_flipped: u64,
    /// Holes closed, and the faces added to close them.
    pub holes_filled: u64,
    pub faces_added: u64,
    /// Closed shells turned outward (they enclosed negative volume).
    pub shells_turned_out: u64,
    /// Shells dropped as smaller than `min_shell_mm3`.
    pub shells_removed: u64,
    /// Pairs of crossing faces resolved into one solid, and the shells that became one.
    #[serde(default)]
    pub intersections_resolved: u64,
    #[serde(default)]
    pub shells_merged: u64,
}

/// How to repair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepairOptions {
    /// Corners closer than this, in millimetres, become one.
    pub weld_mm: f32,
    /// Shells enclosing less than this, in cubic millimetres, are dropped.
    pub min_shell_mm3: f64,
}

/// Repairs `model` in place; returns what changed.
pub fn repair(model: &mut Model, options: RepairOptions) -> Repairs {
    repair_until(model, options, &|| false)
}

/// [`repair`], whose last step (the rebuild of crossing faces, which can take seconds) stops
/// when `canceled` says so, leaving the crossings as they were.
pub fn repair_until(
    model: &mut Model,
    options: RepairOptions,
    canceled: &(dyn Fn() -> bool + Sync),
) -> Repairs {
    let mut repairs = Repairs::default();
    let (faces, positions) = super::analysis::weld(model);
    model.positions = positions;
    model.triangles = faces;
    repairs.welded_vertices = weld_within(model, options.weld_mm);
    let (degenerate, duplicate) = drop_degenerate_and_duplicate(model);
    repairs.degenerate_faces_removed = degenerate;
    repairs.duplicate_faces_removed = duplicate;
    repairs.faces_flipped = orient(model);
    let (holes, added) = fill_holes(model);
    repairs.holes_filled = holes;
    repairs.faces_added = added;
    let (turned, removed) = outward_and_small(model, options.min_shell_mm3);
    repairs.shells_turned_out = turned;
    repairs.shells_removed = removed;
    compact(model);
    (repairs.intersections_resolved, repairs.shells_merged) =
        resolve_intersections(model, canceled);
    repairs
}

/// Step 7: crossing faces resolved through the robust boolean engine, when there are any and
/// the mesh is closed (winding numbers need a closed surface; a hole repair could not fill
/// stays reported). Returns the crossing pairs resolved and the shells merged; the mesh is
/// left as it was when the engine cannot rebuild it.
fn resolve_intersections(model: &mut Model, canceled: &(dyn Fn() -> bool + Sync)) -> (u64, u64) {
    // The exact rebuild takes about 25 µs and 1 KiB a triangle (a 2.2 M-triangle scan: a
    // minute and 2.7 GiB); past this its crossings stay, reported, as a slicer takes them.
    if model.triangles.len() > MAX_RESOLVE_TRIANGLES {
        return (0, 0);
    }
    let all = |_: usize| true;
    let crossings = super::intersections::count(&model.triangles, &model.positions, &all);
    if crossings == 0 {
        return (0, 0);
    }
    let shells_before = super::analysis::analyse(model).shells;
    // Corners snapped to a grid of 2^-24 of the model's size, about its centre: as precise as
    // the f32 they are stored in, while the exact arithmetic stays on small integers (corners
    // near 1e35 and 1e-38 together made its rationals huge: 3.6 s for 80 faces).
    let (lo, hi) =
        model.positions.iter().fold(([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]), |(lo, hi), p| {
            (
                std::array::from_fn(|k| lo[k].min(f64::from(p[k]))),
                std::array::from_fn(|k| hi[k].max(f64::from(p[k]))),
            )
        });
    let extent = (0..3).map(|k| hi[k] - lo[k]).fold(0.0, f64::max);
    if !(extent.is_finite() && extent > 0.0) {
        return (0, 0);
    }
    let quantum = 2f64.powi(extent.log2().ceil() as i32 - 24);
    let centre: [f64; 3] =
        std::array::from_fn(|k| ((lo[k] + hi[k]) / 2.0 / quantum).round() * quantum);
    let snap = |p: &[f32; 3]| {
        [0, 1, 2].map(|k| (((f64::from(p[k]) - centre[k]) / quantum).round() * quantum) as f32)
    };
    let mesh = manifold_rust::types::MeshGL {
        num_prop: 3,
        vert_properties: model.positions.iter().flat_map(snap).collect(),
        tri_verts: model.triangles.iter().flatten().copied().collect(),
        ..Default::default()
    };
    let soup = manifold_rust::manifold::Manifold::from_mesh_gl_robust(&mesh);
    if soup.status() != manifold_rust::types::Error::NoError || soup.is_empty() {
        return (0, 0);
    }
    // The rebuild polls its token; a watcher thread cancels it when `canceled` says so.
    let token = manifold_rust::cancel::CancelToken::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let solid = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if canceled() {
                    token.cancel();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let rule = manifold_rust::types::WindingRule::Positive;
        let solid = soup.rebuild_solid_with_token(rule, Some(&token));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        solid
    });
    if solid.status() != manifold_rust::types::Error::NoError || solid.is_empty() {
        return (0, 0);
    }
    let out = solid.get_mesh_gl(-1);
    let stride = out.num_prop as usize;
    let positions: Vec<[f32; 3]> = out
        .vert_properties
        .chunks_exact(stride)
        .map(|p| [0, 1, 2].map(|k| (f64::from(p[k]) + centre[k]) as f32))
        .collect();
    let triangles: Vec<[u32; 3]> =
        out.tri_verts.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
    // Welded by position, as a slicer reads it. Solids that the union leaves touching at a
    // point or along an edge would read as pinched there: then the mesh stays as it was, its
    // crossings reported, rather than trading them for a fault a slicer refuses.
    let (faces, positions) = super::analysis::weld(&Model { positions, triangles });
    let rebuilt = Model { positions, triangles: faces };
    let after = super::analysis::analyse(&rebuilt);
    let sound = after.is_closed()
        && after.is_manifold()
        && after.is_oriented()
        && after.duplicate_faces == 0;
    if !sound {
        return (0, 0);
    }
    *model = rebuilt;
    (crossings as u64, shells_before.saturating_sub(after.shells) as u64)
}

/// Merges corners within `tolerance` of each other (through cells of that size and their
/// neighbours), each into the lowest-numbered of its group. Returns how many were merged.
fn weld_within(model: &mut Model, tolerance: f32) -> u64 {
    if tolerance <= 0.0 || model.positions.is_empty() {
        return 0;
    }
    let cell = |p: [f32; 3]| p.map(|v| (v / tolerance).floor() as i64);
    let mut cells: HashMap<[i64; 3], Vec<u32>> = HashMap::new();
    for (i, &p) in model.positions.iter().enumerate() {
        cells.entry(cell(p)).or_default().push(i as u32);
    }
    let mut sets = Sets::new(model.positions.len());
    let close = |a: [f32; 3], b: [f32; 3]| {
        let d: f32 = (0..3).map(|k| (a[k] - b[k]) * (a[k] - b[k])).sum();
        d <= tolerance * tolerance
    };
    for (i, &p) in model.positions.iter().enumerate() {
        let c = cell(p);
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    // Saturating: corners far out (1e30) sit in the last cell.
                    let key =
                        [c[0].saturating_add(dx), c[1].saturating_add(dy), c[2].saturating_add(dz)];
                    let Some(near) = cells.get(&key) else {
                        continue;
                    };
                    for &j in near {
                        if (j as usize) < i && close(p, model.positions[j as usize]) {
                            sets.join(i as u32, j);
                        }
                    }
                }
            }
        }
    }
    let mut merged = 0;
    for v in 0..model.positions.len() as u32 {
        merged += u64::from(sets.root(v) != v);
    }
    if merged > 0 {
        for t in &mut model.triangles {
            *t = t.map(|v| sets.root(v));
        }
    }
    merged
}

/// Drops faces with a repeated corner, then faces with the same corners as an earlier one.
fn drop_degenerate_and_duplicate(model: &mut Model) -> (u64, u64) {
    let before = model.triangles.len();
    model.triangles.retain(|&[a, b, c]| a != b && b != c && a != c);
    let degenerate = (before - model.triangles.len()) as u64;
    let mut keys: Vec<([u32; 3], u32)> = model
        .triangles
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            let mut k = *t;
            k.sort_unstable();
            (k, i as u32)
        })
        .collect();
    keys.par_sort_unstable();
    let mut keep = vec![true; model.triangles.len()];
    for w in keys.windows(2) {
        if w[0].0 == w[1].0 {
            keep[w[1].1 as usize] = false;
        }
    }
    let mut i = 0;
    model.triangles.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    (degenerate, (keys.len() - model.triangles.len()) as u64)
}

/// Flips faces so that neighbours across each edge of two faces agree, in each patch the
/// fewer of its two windings. Returns the faces flipped.
fn orient(model: &mut Model) -> u64 {
    let n = model.triangles.len();
    let mut adjacency: Vec<Vec<(u32, bool)>> = vec![Vec::new(); n];
    for run in edges(&model.triangles, &|_| true).chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        if let [x, y] = run {
            // The same direction along the edge: wound against each other.
            let against = x.3 == y.3;
            adjacency[x.2 as usize].push((y.2, against));
            adjacency[y.2 as usize].push((x.2, against));
        }
    }
    let mut flip: Vec<Option<bool>> = vec![None; n];
    let mut flipped = 0u64;
    let mut stack = Vec::new();
    for start in 0..n {
        if flip[start].is_some() {
            continue;
        }
        flip[start] = Some(false);
        stack.push(start as u32);
        let mut patch = Vec::new();
        while let Some(f) = stack.pop() {
            patch.push(f);
            let here = flip[f as usize] == Some(true);
            for &(g, against) in &adjacency[f as usize] {
                if flip[g as usize].is_none() {
                    flip[g as usize] = Some(here ^ against);
                    stack.push(g);
                }
            }
        }
        let turned = patch.iter().filter(|&&f| flip[f as usize] == Some(true)).count();
        // Flip the fewer: the majority's winding is the patch's.
        let minority = turned * 2 > patch.len();
        for &f in &patch {
            if (flip[f as usize] == Some(true)) != minority {
                model.triangles[f as usize].swap(1, 2);
                flipped += 1;
            }
        }
    }
    flipped
}

/// Fills each hole: each loop of edges with one face, triangulated to run against them.
/// Returns the holes filled and the faces added.
fn fill_holes(model: &mut Model) -> (u64, u64) {
    // Boundary edges a -> b of the faces; a fill runs b -> a.
    let mut from: HashMap<u32, Vec<u32>> = HashMap::new();
    let all = edges(&model.triangles, &|_| true);
    for run in all.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        if let [(lo, hi, _, forward)] = *run {
            let (a, b) = if forward { (lo, hi) } else { (hi, lo) };
            from.entry(b).or_default().push(a);
        }
    }
    // Edges between boundary corners, which a fill must not add again.
    let mut existing: std::collections::HashSet<(u32, u32)> = all
        .iter()
        .filter(|e| from.contains_key(&e.0) && from.contains_key(&e.1))
        .map(|e| (e.0, e.1))
        .collect();
    drop(all);
    let (mut holes, mut added) = (0u64, 0u64);
    let starts: Vec<u32> = {
        let mut s: Vec<u32> = from.keys().copied().collect();
        s.sort_unstable();
        s
    };
    for start in starts {
        while from.get(&start).is_some_and(|next| !next.is_empty()) {
            // Walk b -> a along boundary edges until the walk returns to a corner it passed.
            let mut walk = vec![start];
            let mut at = start;
            let closed = loop {
                let Some(next) = from.get_mut(&at).and_then(|n| n.pop()) else { break None };
                if let Some(k) = walk.iter().position(|&v| v == next) {
                    break Some(k);
                }
                walk.push(next);
                at = next;
            };
            let Some(k) = closed else { break };
            // The loop is walk[k..]; corners before it are left for another walk.
            // Edges walked before the loop go back for another walk.
            for w in walk[..=k].windows(2) {
                from.entry(w[0]).or_default().push(w[1]);
            }
            let faces = triangulate(&model.positions, &walk[k..], &existing);
            if !faces.is_empty() {
                holes += 1;
                added += faces.len() as u64;
                for &[a, b, c] in &faces {
                    for (p, q) in [(a, b), (b, c), (c, a)] {
                        existing.insert((p.min(q), p.max(q)));
                    }
                }
                model.triangles.extend(faces);
            }
        }
    }
    (holes, added)
}

/// Faces over the loop `ring` (consecutive corners joined by fill edges `ring[i] ->
/// ring[i + 1]`, closing back to the first) that add no edge in `existing` (which would then
/// have three faces); none when there is no such triangulation.
fn triangulate(
    positions: &[[f32; 3]],
    ring: &[u32],
    existing: &std::collections::HashSet<(u32, u32)>,
) -> Vec<[u32; 3]> {
    let n = ring.len();
    if n < 3 {
        return Vec::new();
    }
    // Whether the chord between ring corners i and j may be added.
    let free = |i: usize, j: usize| {
        let (a, b) = (ring[i], ring[j]);
        (i + 1) % n == j || (j + 1) % n == i || !existing.contains(&(a.min(b), a.max(b)))
    };
    let points: Vec<[f64; 3]> =
        ring.iter().map(|&v| positions[v as usize].map(f64::from)).collect();
    let faces = planar_ears(&points, &free)
        .or_else(|| (n <= MAX_DP_LOOP).then(|| least_area(&points, &free)).flatten())
        .or_else(|| {
            // A fan from a corner whose chords are all free: a long, warped hole is rare.
            let from = (0..n).find(|&i| (0..n).all(|j| j == i || free(i, j)))?;
            Some((1..n - 1).map(|k| [from, (from + k) % n, (from + k + 1) % n]).collect())
        });
    faces.unwrap_or_default().into_iter().map(|t| t.map(|i| ring[i])).collect()
}

/// Ear clipping in the loop's plane, when every corner lies within a thousandth of the loop's
/// size of it: the fill is then exactly the flat polygon. `None` when the loop is not planar
/// or not simple in its plane.
fn planar_ears(
    points: &[[f64; 3]],
    free: &dyn Fn(usize, usize) -> bool,
) -> Option<Vec<[usize; 3]>> {
    let n = points.len();
    // Newell's normal: the loop's area vector, pointing where the fill faces will.
    let mut normal = [0.0; 3];
    for i in 0..n {
        let (p, q) = (points[i], points[(i + 1) % n]);
        normal[0] += (p[1] - q[1]) * (p[2] + q[2]);
        normal[1] += (p[2] - q[2]) * (p[0] + q[0]);
        normal[2] += (p[0] - q[0]) * (p[1] + q[1]);
    }
    let length = norm(normal);
    if length == 0.0 {
        return None;
    }
    let normal = normal.map(|c| c / length);
    let centre = points.iter().fold([0.0; 3], |s, p| [s[0] + p[0], s[1] + p[1], s[2] + p[2]]);
    let centre = centre.map(|c| c / n as f64);
    let size = points.iter().map(|&p| norm(sub(p, centre))).fold(0.0, f64::max);
    if points.iter().any(|&p| dot(sub(p, centre), normal).abs() > 1e-3 * size) {
        return None;
    }
    // Coordinates in the plane, counter-clockwise about the normal.
    let u = {
        let axis = if normal[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
        let u = cross(axis, normal);
        u.map(|c| c / norm(u))
    };
    let v = cross(normal, u);
    let flat: Vec<[f64; 2]> =
        points.iter().map(|&p| [dot(sub(p, centre), u), dot(sub(p, centre), v)]).collect();
    let area2 = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    };
    let mut left: Vec<usize> = (0..n).collect();
    let mut faces = Vec::with_capacity(n - 2);
    while left.len() > 3 {
        let m = left.len();
        let ear = (0..m).find(|&i| {
            let (a, b, c) = (left[(i + m - 1) % m], left[i], left[(i + 1) % m]);
            if area2(flat[a], flat[b], flat[c]) <= 0.0 || !free(a, c) {
                return false;
            }
            // No other corner inside the ear.
            left.iter().all(|&p| {
                p == a
                    || p == b
                    || p == c
                    || area2(flat[a], flat[b], flat[p]) < 0.0
                    || area2(flat[b], flat[c], flat[p]) < 0.0
                    || area2(flat[c], flat[a], flat[p]) < 0.0
            })
        })?;
        let (a, b, c) = (left[(ear + m - 1) % m], left[ear], left[(ear + 1) % m]);
        faces.push([a, b, c]);
        left.remove(ear);
    }
    faces.push([left[0], left[1], left[2]]);
    Some(faces)
}

/// The triangulation of the loop with the least total area whose chords are all `free`
/// (dynamic programming over its corners, O(n^3)); `None` when there is none.
fn least_area(points: &[[f64; 3]], free: &dyn Fn(usize, usize) -> bool) -> Option<Vec<[usize; 3]>> {
    let n = points.len();
    // A face with no area (three corners in a line) is a sliver slicers and the analysis call
    // degenerate: it costs more than any real face, so it is taken only when nothing else fits.
    let size: f64 = points.iter().map(|&p| norm(sub(p, points[0]))).fold(0.0, f64::max);
    let area = |a: usize, b: usize, c: usize| {
        let area = norm(cross(sub(points[b], points[a]), sub(points[c], points[a]))) / 2.0;
        if area <= 1e-12 * size * size { area + 1e6 * size * size } else { area }
    };
    let mut best = vec![0.0f64; n * n];
    let mut split = vec![0usize; n * n];
    for gap in 2..n {
        for i in 0..n - gap {
            let j = i + gap;
            if !free(i, j) {
                best[i * n + j] = f64::INFINITY;
                continue;
            }
            let (mut lowest, mut at) = (f64::INFINITY, i + 1);
            for k in i + 1..j {
                let total = best[i * n + k] + best[k * n + j] + area(i, k, j);
                if total < lowest {
                    (lowest, at) = (total, k);
                }
            }
            best[i * n + j] = lowest;
            split[i * n + j] = at;
        }
    }
    if !best[n - 1].is_finite() {
        return None;
    }
    let mut faces = Vec::with_capacity(n - 2);
    let mut stack = vec![(0, n - 1)];
    while let Some((i, j)) = stack.pop() {
        if j - i < 2 {
            continue;
        }
        let k = split[i * n + j];
        faces.push([i, k, j]);
        stack.push((i, k));
        stack.push((k, j));
    }
    Some(faces)
}

/// Turns closed shells with negative volume outward and drops shells enclosing less than
/// `min_mm3`. Returns the shells turned and dropped.
fn outward_and_small(model: &mut Model, min_mm3: f64) -> (u64, u64) {
    let mut sets = Sets::new(model.positions.len());
    for t in &model.triangles {
        sets.join(t[0], t[1]);
        sets.join(t[0], t[2]);
    }
    let mut volume: HashMap<u32, f64> = HashMap::new();
    for t in &model.triangles {
        let [a, b, c] = t.map(|v| model.positions[v as usize].map(f64::from));
        *volume.entry(sets.root(t[0])).or_default() += dot(a, cross(b, c)) / 6.0;
    }
    // Only closed shells can be judged inside out.
    let mut open: std::collections::HashSet<u32> = std::collections::HashSet::new();
    for run in edges(&model.triangles, &|_| true).chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        if run.len() == 1 {
            open.insert(sets.root(run[0].0));
        }
    }
    // Negative closed shells, and a corner of each; those inside another shell are cavities.
    let mut negative: Vec<([f64; 3], u32)> = Vec::new();
    let mut asked = std::collections::HashSet::new();
    for t in &model.triangles {
        let root = sets.root(t[0]);
        if volume[&root] < 0.0 && !open.contains(&root) && asked.insert(root) {
            negative.push((model.positions[t[0] as usize].map(f64::from), root));
        }
    }
    let triangles = &model.triangles;
    let mut faces = |each: &mut dyn FnMut([u32; 3], u32)| {
        for t in triangles {
            each(*t, sets.root(t[0]));
        }
    };
    let cavity = super::nesting::enclosed(&model.positions, &mut faces, &negative);
    let inverted: std::collections::HashSet<u32> =
        negative.iter().zip(&cavity).filter(|(_, c)| !**c).map(|(q, _)| q.1).collect();
    let small: std::collections::HashSet<u32> =
        volume.iter().filter(|(_, v)| v.abs() < min_mm3).map(|(root, _)| *root).collect();
    for t in &mut model.triangles {
        if inverted.contains(&sets.root(t[0])) {
            t.swap(1, 2);
        }
    }
    if !small.is_empty() && small.len() < volume.len() {
        model.triangles.retain(|t| !small.contains(&sets.root(t[0])));
    }
    let removed = if small.len() < volume.len() { small.len() } else { 0 };
    (inverted.len() as u64, removed as u64)
}

/// Drops vertices no face uses, renumbering the rest in order.
fn compact(model: &mut Model) {
    let mut number = vec![u32::MAX; model.positions.len()];
    for t in &model.triangles {
        for &v in t {
            number[v as usize] = 0;
        }
    }
    let mut positions = Vec::new();
    for (v, n) in number.iter_mut().enumerate() {
        if *n == 0 {
            *n = positions.len() as u32;
            positions.push(model.positions[v]);
        }
    }
    for t in &mut model.triangles {
        *t = t.map(|v| number[v as usize]);
    }
    model.positions = positions;
}

//! Pairs of faces that cross each other, found through a uniform grid of cells over the
//! bounds: each face is listed in the cells its box overlaps, each pair is tested once (in
//! the cell holding the low corner of their boxes' overlap), and faces that share a corner
//! are not tested (neighbours meet along their edges by design). The test separates the two
//! triangles along their normals, the cross products of their edges, and each normal crossed
//! with its own edges (for triangles in one plane): touching is not crossing.

use rayon::prelude::*;

type Box3 = ([f64; 3], [f64; 3]);

/// Cells per face, about: small enough lists, few enough empty cells.
const FACES_PER_CELL: f64 = 2.0;
/// A face listed in more cells than this (a huge face) is tested against every face.
const MAX_CELLS_PER_FACE: u64 = 4096;

pub(super) fn count(
    faces: &[[u32; 3]],
    positions: &[[f32; 3]],
    live: &(dyn Fn(usize) -> bool + Sync),
) -> usize {
    let corner = |v: u32| positions[v as usize].map(f64::from);
    let boxes: Vec<Option<Box3>> = faces
        .par_iter()
        .enumerate()
        .map(|(f, t)| {
            live(f).then(|| {
                let p = t.map(corner);
                (
                    std::array::from_fn(|k| p[0][k].min(p[1][k]).min(p[2][k])),
                    std::array::from_fn(|k| p[0][k].max(p[1][k]).max(p[2][k])),
                )
            })
        })
        .collect();
    let Some((lo, hi)) = boxes.iter().flatten().copied().reduce(|a, b| {
        (std::array::from_fn(|k| a.0[k].min(b.0[k])), std::array::from_fn(|k| a.1[k].max(b.1[k])))
    }) else {
        return 0;
    };
    let live_faces = boxes.iter().flatten().count() as f64;
    let extent: [f64; 3] = std::array::from_fn(|k| (hi[k] - lo[k]).max(1e-9));
    let volume = extent[0] * extent[1] * extent[2];
    let side = (volume * FACES_PER_CELL / live_faces).cbrt();
    let cells: [u64; 3] =
        std::array::from_fn(|k| ((extent[k] / side).ceil() as u64).clamp(1, 1024));
    let cell_of = |p: [f64; 3]| -> [u64; 3] {
        std::array::from_fn(|k| {
            (((p[k] - lo[k]) / extent[k] * cells[k] as f64) as u64).min(cells[k] - 1)
        })
    };
    let index = |c: [u64; 3]| (c[2] * cells[1] + c[1]) * cells[0] + c[0];
    // (cell, face) for every cell a face's box overlaps; huge faces go on their own list.
    let mut listed: Vec<(u64, u32)> = Vec::new();
    let mut huge = Vec::new();
    for (f, b) in boxes.iter().enumerate() {
        let Some((a, z)) = b else { continue };
        let (c0, c1) = (cell_of(*a), cell_of(*z));
        let span: u64 = (0..3).map(|k| c1[k] - c0[k] + 1).product();
        if span > MAX_CELLS_PER_FACE {
            huge.push(f as u32);
            continue;
        }
        for z in c0[2]..=c1[2] {
            for y in c0[1]..=c1[1] {
                for x in c0[0]..=c1[0] {
                    listed.push((index([x, y, z]), f as u32));
                }
            }
        }
    }
    listed.par_sort_unstable();
    let runs: Vec<&[(u64, u32)]> = listed.chunk_by(|a, b| a.0 == b.0).collect();
    let crossing = |f: u32, g: u32| {
        let (a, b) = (faces[f as usize], faces[g as usize]);
        !a.iter().any(|v| b.contains(v)) && {
            let (p, q) = (boxes[f as usize].unwrap(), boxes[g as usize].unwrap());
            (0..3).all(|k| p.0[k] <= q.1[k] && q.0[k] <= p.1[k])
                && crosses(a.map(corner), b.map(corner))
        }
    };
    let in_cells: usize = runs
        .par_iter()
        .map(|run| {
            let cell = run[0].0;
            let mut found = 0;
            for (i, &(_, f)) in run.iter().enumerate() {
                for &(_, g) in &run[i + 1..] {
                    // Tested only in the cell of the low corner of the boxes' overlap.
                    let (p, q) = (boxes[f as usize].unwrap(), boxes[g as usize].unwrap());
                    let low: [f64; 3] = std::array::from_fn(|k| p.0[k].max(q.0[k]));
                    if index(cell_of(low)) == cell && crossing(f, g) {
                        found += 1;
                    }
                }
            }
            found
        })
        .sum();
    let huge_set: std::collections::HashSet<u32> = huge.iter().copied().collect();
    let with_huge: usize = huge
        .par_iter()
        .map(|&f| {
            (0..faces.len() as u32)
                .filter(|&g| {
                    boxes[g as usize].is_some() && g != f && (!huge_set.contains(&g) || g > f)
                })
                .filter(|&g| crossing(f, g))
                .count()
        })
        .sum();
    in_cells + with_huge
}

/// Whether triangles `a` and `b` overlap with positive depth along every separating axis.
fn crosses(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> bool {
    let sub = |p: [f64; 3], q: [f64; 3]| [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
    let cross = |u: [f64; 3], v: [f64; 3]| {
        [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
    };
    let dot = |u: [f64; 3], v: [f64; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    let ea = [sub(a[1], a[0]), sub(a[2], a[1]), sub(a[0], a[2])];
    let eb = [sub(b[1], b[0]), sub(b[2], b[1]), sub(b[0], b[2])];
    let (na, nb) = (cross(ea[0], ea[1]), cross(eb[0], eb[1]));
    let scale = a.iter().chain(&b).flatten().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    let separates = |axis: [f64; 3]| {
        let length = dot(axis, axis).sqrt();
        if length <= 1e-12 * scale * scale {
            return false;
        }
        let (mut a0, mut a1, mut b0, mut b1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in a {
            let d = dot(axis, p);
            (a0, a1) = (a0.min(d), a1.max(d));
        }
        for p in b {
            let d = dot(axis, p);
            (b0, b1) = (b0.min(d), b1.max(d));
        }
        // Touching, to rounding, separates.
        let slack = 1e-9 * length * scale;
        a1 <= b0 + slack || b1 <= a0 + slack
    };
    if separates(na) || separates(nb) {
        return false;
    }
    for u in ea {
        for v in eb {
            if separates(cross(u, v)) {
                return false;
            }
        }
    }
    for (n, edges) in [(na, ea), (nb, eb)] {
        for e in edges {
            if separates(cross(n, e)) {
                return false;
            }
        }
    }
    true
}

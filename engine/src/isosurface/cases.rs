//! The marching-cubes case table, derived from one rule instead of typed in.
//!
//! Hand-typed tables (Lorensen's, and the complementary-symmetric ones derived from it) resolve
//! an ambiguous face one way in one cube and the other way in its neighbour, which opens holes.
//! This table is built from marching squares on each face with a single rule for ambiguous
//! faces — the two inside corners are always cut apart — so two cubes sharing a face always
//! agree on the segments there, and every surface closes.
//!
//! For each of the 256 corner configurations the face segments chain into closed loops; each
//! loop is one polygon of the surface, triangulated without any diagonal that would lie in a
//! cube face (such a diagonal could be shared with the neighbouring cube and make the mesh
//! non-manifold). Loops are wound counter-clockwise seen from outside, so triangles face out.
//!
//! Corners are numbered by their bits, `x | y << 1 | z << 2`. Edge `axis * 4 + k` runs along
//! `axis` from the corner with that bit clear; `k` holds the other two coordinates, lower axis
//! first. A corner is inside when its value is at least the isovalue.

use std::sync::OnceLock;

/// The triangles of every case, as cube edge numbers.
#[derive(Debug)]
pub struct CaseTable {
    /// Case `c`'s triangles are `triangles[offsets[c]..offsets[c + 1]]`.
    pub offsets: [u32; 257],
    pub triangles: Vec<[u8; 3]>,
}

impl CaseTable {
    pub fn triangles(&self, case: usize) -> &[[u8; 3]] {
        &self.triangles[self.offsets[case] as usize..self.offsets[case + 1] as usize]
    }

    /// The table as the GPU kernels read it: 257 offsets, then one word per triangle with the
    /// three edge numbers in its low three bytes.
    pub fn gpu_words(&self) -> Vec<u32> {
        self.offsets
            .iter()
            .copied()
            .chain(
                self.triangles
                    .iter()
                    .map(|&[a, b, c]| u32::from(a) | u32::from(b) << 8 | u32::from(c) << 16),
            )
            .collect()
    }
}

/// The table, built on first use.
pub fn case_table() -> &'static CaseTable {
    static TABLE: OnceLock<CaseTable> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// Where edge `edge`'s owner sits relative to the cell's first corner, and the owner's axis:
/// every grid edge belongs to the grid point at its lower end.
pub const fn edge_owner(edge: usize) -> ([usize; 3], usize) {
    let axis = edge / 4;
    let (a, b) = (edge & 1, (edge >> 1) & 1);
    let offset = match axis {
        0 => [0, a, b],
        1 => [a, 0, b],
        _ => [a, b, 0],
    };
    (offset, axis)
}

fn corner(bits: [usize; 3]) -> usize {
    bits[0] | bits[1] << 1 | bits[2] << 2
}

/// The edge joining two corners that differ in exactly one coordinate.
fn edge_between(a: usize, b: usize) -> usize {
    let axis = (a ^ b).trailing_zeros() as usize;
    let low = a & b;
    let others: Vec<usize> = (0..3).filter(|&i| i != axis).map(|i| (low >> i) & 1).collect();
    axis * 4 + (others[0] | others[1] << 1)
}

/// The faces (axis, side) an edge lies on.
fn edge_faces(edge: usize) -> [(usize, usize); 2] {
    let ([x, y, z], axis) = edge_owner(edge);
    let position = [x, y, z];
    let others: Vec<usize> = (0..3).filter(|&i| i != axis).collect();
    [(others[0], position[others[0]]), (others[1], position[others[1]])]
}

/// A face's corners, counter-clockwise seen from outside the cube.
fn face_corners(axis: usize, side: usize) -> [usize; 4] {
    let (mut u, mut v) = ((axis + 1) % 3, (axis + 2) % 3);
    if side == 0 {
        std::mem::swap(&mut u, &mut v);
    }
    [(0, 0), (1, 0), (1, 1), (0, 1)].map(|(du, dv)| {
        let mut bits = [0; 3];
        bits[axis] = side;
        bits[u] = du;
        bits[v] = dv;
        corner(bits)
    })
}

fn build() -> CaseTable {
    let mut offsets = [0u32; 257];
    let mut triangles = Vec::new();
    for case in 0..256usize {
        for polygon in loops(case) {
            triangulate(&polygon, &mut triangles);
        }
        offsets[case + 1] = triangles.len() as u32;
    }
    CaseTable { offsets, triangles }
}

/// The surface polygons of one case, each a loop of cube edges.
fn loops(case: usize) -> Vec<Vec<usize>> {
    let inside = |c: usize| case >> c & 1 == 1;
    // next[e]: the loop goes from edge e's point to next[e]'s.
    let mut next = [usize::MAX; 12];
    for axis in 0..3 {
        for side in 0..2 {
            let corners = face_corners(axis, side);
            let crossed = |k: usize| inside(corners[k]) != inside(corners[(k + 1) % 4]);
            for k in 0..4 {
                // Walking the face counter-clockwise, the boundary of the inside part leaves
                // it at an exit; the surface polygon runs the other way, into the exit from
                // the nearest entry behind it, which cuts each inside corner off on its own.
                if !inside(corners[k]) || inside(corners[(k + 1) % 4]) {
                    continue;
                }
                let entry = (1..4).map(|step| (k + 4 - step) % 4).find(|&j| crossed(j));
                let entry = entry.expect("a face with an exit has an entry");
                let from = edge_between(corners[entry], corners[(entry + 1) % 4]);
                let to = edge_between(corners[k], corners[(k + 1) % 4]);
                debug_assert_eq!(next[from], usize::MAX, "one way out of each point");
                next[from] = to;
            }
        }
    }
    let mut seen = [false; 12];
    let mut polygons = Vec::new();
    for start in 0..12 {
        if next[start] == usize::MAX || seen[start] {
            continue;
        }
        let mut polygon = Vec::new();
        let mut edge = start;
        while !seen[edge] {
            seen[edge] = true;
            polygon.push(edge);
            edge = next[edge];
        }
        debug_assert_eq!(edge, start, "face segments chain into closed loops");
        polygons.push(polygon);
    }
    polygons
}

fn midpoint(edge: usize) -> [f64; 3] {
    let (offset, axis) = edge_owner(edge);
    let mut point = offset.map(|o| o as f64);
    point[axis] += 0.5;
    point
}

/// Triangulates a loop with the shortest total diagonal length, never using a diagonal whose
/// ends share a cube face.
fn triangulate(polygon: &[usize], out: &mut Vec<[u8; 3]>) {
    let n = polygon.len();
    let allowed = |i: usize, j: usize| {
        let adjacent = j == i + 1 || (i == 0 && j == n - 1);
        adjacent || {
            let (a, b) = (edge_faces(polygon[i]), edge_faces(polygon[j]));
            !a.iter().any(|face| b.contains(face))
        }
    };
    let length = |i: usize, j: usize| {
        let (a, b) = (midpoint(polygon[i]), midpoint(polygon[j]));
        (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt()
    };
    // cost[i][j]: cheapest triangulation of the sub-polygon i..=j, given chord (i, j).
    let mut cost = vec![vec![f64::INFINITY; n]; n];
    let mut split = vec![vec![usize::MAX; n]; n];
    for i in 0..n - 1 {
        cost[i][i + 1] = 0.0;
    }
    for span in 2..n {
        for i in 0..n - span {
            let j = i + span;
            if !allowed(i, j) {
                continue;
            }
            for k in i + 1..j {
                let c = cost[i][k] + cost[k][j] + length(i, j);
                if c < cost[i][j] {
                    cost[i][j] = c;
                    split[i][j] = k;
                }
            }
        }
    }
    assert!(cost[0][n - 1].is_finite(), "every marching-cubes loop has an allowed triangulation");
    let mut stack = vec![(0, n - 1)];
    while let Some((i, j)) = stack.pop() {
        if j < i + 2 {
            continue;
        }
        let k = split[i][j];
        out.push([polygon[i], polygon[k], polygon[j]].map(|e| e as u8));
        stack.push((i, k));
        stack.push((k, j));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_crossed_edge_is_used_exactly_once_per_loop_and_triangle_counts_are_n_minus_two() {
        let table = case_table();
        assert_eq!(table.triangles(0).len(), 0);
        assert_eq!(table.triangles(255).len(), 0);
        assert_eq!(table.triangles(1).len(), 1, "one corner in: one triangle");
        for case in 0..256 {
            let crossed: Vec<usize> = (0..12)
                .filter(|&e| {
                    let (offset, axis) = edge_owner(e);
                    let a = corner(offset);
                    let b = a | 1 << axis;
                    (case >> a & 1) != (case >> b & 1)
                })
                .collect();
            let polygons = loops(case);
            let mut used: Vec<usize> = polygons.iter().flatten().copied().collect();
            used.sort_unstable();
            assert_eq!(used, crossed, "case {case}");
            let expected: usize = polygons.iter().map(|p| p.len() - 2).sum();
            assert_eq!(table.triangles(case).len(), expected, "case {case}");
            for t in table.triangles(case) {
                assert!(t[0] != t[1] && t[1] != t[2] && t[0] != t[2], "case {case}");
            }
        }
        // The largest case (alternating corners) still fits in a few triangles.
        let most = (0..256).map(|c| table.triangles(c).len()).max().unwrap();
        assert!(most <= 12, "{most}");
    }
}

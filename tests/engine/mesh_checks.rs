//! Properties of indexed meshes, checked independently of how they were made.

use std::collections::{HashMap, HashSet};

use lithos_engine::IndexedMesh;

/// What [`assert_closed_manifold`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Topology {
    pub components: usize,
    pub euler: i64,
}

/// Closed, oriented 2-manifold: every directed edge once and its reverse once, every vertex's
/// link one cycle; no degenerate, duplicate or unused anything; unit normals.
pub fn assert_closed_manifold(label: &str, mesh: &IndexedMesh) -> Topology {
    let n = mesh.positions.len();
    assert_eq!(mesh.normals.len(), n, "{label}: one normal per vertex");
    let mut directed = HashSet::with_capacity(mesh.triangles.len() * 3);
    let mut seen = HashSet::with_capacity(mesh.triangles.len());
    let mut used = vec![false; n];
    // (vertex, from, to): the edge of the vertex's link that each corner contributes.
    let mut links = Vec::with_capacity(mesh.triangles.len() * 3);
    for (i, t) in mesh.triangles.iter().enumerate() {
        assert!(t.iter().all(|&v| (v as usize) < n), "{label}: triangle {i} index out of range");
        assert!(t[0] != t[1] && t[1] != t[2] && t[0] != t[2], "{label}: triangle {i} repeats");
        let mut key = *t;
        key.sort_unstable();
        assert!(seen.insert(key), "{label}: triangle {i} duplicates another");
        let area = area2(mesh, t);
        assert!(area > 0.0, "{label}: triangle {i} {t:?} has zero area");
        for k in 0..3 {
            let (a, b, c) = (t[k], t[(k + 1) % 3], t[(k + 2) % 3]);
            assert!(directed.insert((a, b)), "{label}: edge {a}->{b} used twice the same way");
            used[a as usize] = true;
            links.push((a, b, c));
        }
    }
    for &(a, b) in &directed {
        assert!(directed.contains(&(b, a)), "{label}: edge {a}-{b} is open (a hole)");
    }
    assert!(used.iter().all(|&u| u), "{label}: unused vertices");
    let mut positions: Vec<[u32; 3]> = mesh.positions.iter().map(|p| p.map(f32::to_bits)).collect();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions.len(), n, "{label}: two vertices share a position (not welded)");
    for (i, normal) in mesh.normals.iter().enumerate() {
        let length = normal.iter().map(|c| c * c).sum::<f32>().sqrt();
        assert!((length - 1.0).abs() < 1e-3, "{label}: normal {i} has length {length}");
    }

    links.sort_unstable();
    for group in links.chunk_by(|a, b| a.0 == b.0) {
        let next: HashMap<u32, u32> = group.iter().map(|&(_, b, c)| (b, c)).collect();
        assert_eq!(next.len(), group.len(), "{label}: vertex {} is pinched", group[0].0);
        let start = group[0].1;
        let (mut at, mut steps) = (start, 0);
        loop {
            at = next[&at];
            steps += 1;
            if at == start {
                break;
            }
        }
        assert_eq!(steps, group.len(), "{label}: vertex {} joins two sheets", group[0].0);
    }

    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for t in &mesh.triangles {
        for k in 1..3 {
            let (a, b) = (root(&mut parent, t[0] as usize), root(&mut parent, t[k] as usize));
            parent[a] = b;
        }
    }
    let components = (0..n).filter(|&i| root(&mut parent, i) == i).count();
    let euler = n as i64 - (directed.len() / 2) as i64 + mesh.triangles.len() as i64;
    Topology { components, euler }
}

fn area2(mesh: &IndexedMesh, t: &[u32; 3]) -> f64 {
    let [a, b, c] = t.map(|v| mesh.positions[v as usize].map(f64::from));
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt()
}

/// Enclosed volume and surface area, with positions mapped through `to_world`.
pub fn volume_and_area(mesh: &IndexedMesh, to_world: impl Fn([f32; 3]) -> [f64; 3]) -> (f64, f64) {
    let world: Vec<[f64; 3]> = mesh.positions.iter().map(|&p| to_world(p)).collect();
    let (mut volume, mut area) = (0.0, 0.0);
    for t in &mesh.triangles {
        let [a, b, c] = t.map(|v| world[v as usize]);
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        area += (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt() / 2.0;
        volume += (a[0] * n[0] + a[1] * n[1] + a[2] * n[2]) / 6.0;
    }
    (volume, area)
}

/// Asserts that no two triangles that share no vertex intersect: each one's edges are tested
/// against the other with orientation predicates in f64 (a segment crosses a triangle when it
/// straddles its plane and passes inside all three of its edges). Candidate pairs come from a
/// uniform grid of triangle boxes. Triangles that share a vertex meet there by construction.
pub fn assert_no_self_intersection(label: &str, mesh: &IndexedMesh) {
    let p: Vec<[f64; 3]> = mesh.positions.iter().map(|v| v.map(f64::from)).collect();
    let boxes: Vec<([f64; 3], [f64; 3])> = mesh
        .triangles
        .iter()
        .map(|t| {
            let c = t.map(|v| p[v as usize]);
            let lo = [0, 1, 2].map(|k| c[0][k].min(c[1][k]).min(c[2][k]));
            let hi = [0, 1, 2].map(|k| c[0][k].max(c[1][k]).max(c[2][k]));
            (lo, hi)
        })
        .collect();
    let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
    for (a, b) in &boxes {
        for k in 0..3 {
            lo[k] = lo[k].min(a[k]);
            hi[k] = hi[k].max(b[k]);
        }
    }
    let cells = (mesh.triangles.len() as f64).cbrt().ceil().max(1.0) * 2.0;
    let size = [0, 1, 2].map(|k| ((hi[k] - lo[k]) / cells).max(1e-9));
    let cell = |v: f64, k: usize| (((v - lo[k]) / size[k]) as i64).min(cells as i64 - 1);
    let mut grid: HashMap<[i64; 3], Vec<u32>> = HashMap::new();
    for (i, (a, b)) in boxes.iter().enumerate() {
        for x in cell(a[0], 0)..=cell(b[0], 0) {
            for y in cell(a[1], 1)..=cell(b[1], 1) {
                for z in cell(a[2], 2)..=cell(b[2], 2) {
                    grid.entry([x, y, z]).or_default().push(i as u32);
                }
            }
        }
    }
    let mut tested = HashSet::new();
    for members in grid.values() {
        for (k, &i) in members.iter().enumerate() {
            for &j in &members[k + 1..] {
                let (i, j) = (i.min(j), i.max(j));
                let (ti, tj) = (mesh.triangles[i as usize], mesh.triangles[j as usize]);
                if ti.iter().any(|v| tj.contains(v)) || !tested.insert((i, j)) {
                    continue;
                }
                let (a, b) = (boxes[i as usize], boxes[j as usize]);
                if (0..3).any(|k| a.1[k] < b.0[k] || b.1[k] < a.0[k]) {
                    continue;
                }
                let ci = ti.map(|v| p[v as usize]);
                let cj = tj.map(|v| p[v as usize]);
                assert!(
                    !triangles_cross(ci, cj),
                    "{label}: triangles {i} {ti:?} and {j} {tj:?} intersect"
                );
            }
        }
    }
}

fn orient(a: [f64; 3], b: [f64; 3], c: [f64; 3], d: [f64; 3]) -> f64 {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let w = [d[0] - a[0], d[1] - a[1], d[2] - a[2]];
    u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0])
        + u[2] * (v[0] * w[1] - v[1] * w[0])
}

/// The orientation of `d` against the plane `a b c`, zero within rounding: f32 positions
/// of points that lie in one plane (a cylinder's flat facets) are a few ulps off it.
fn side(a: [f64; 3], b: [f64; 3], c: [f64; 3], d: [f64; 3]) -> f64 {
    let o = orient(a, b, c, d);
    let scale = [b, c, d]
        .iter()
        .map(|p| (0..3).map(|k| (p[k] - a[k]).abs()).fold(0.0, f64::max))
        .fold(0.0, f64::max);
    if o.abs() <= 1e-9 * scale.powi(3) { 0.0 } else { o }
}

/// Whether segment `p q` passes through the inside of triangle `t`. A segment in the
/// triangle's plane is the coplanar case, left to [`coplanar_overlap`].
fn segment_crosses([p, q]: [[f64; 3]; 2], t: [[f64; 3]; 3]) -> bool {
    let (sp, sq) = (side(t[0], t[1], t[2], p), side(t[0], t[1], t[2], q));
    if sp * sq > 0.0 || (sp == 0.0 && sq == 0.0) {
        return false;
    }
    let s = [orient(p, q, t[0], t[1]), orient(p, q, t[1], t[2]), orient(p, q, t[2], t[0])];
    s.iter().all(|&v| v > 0.0) || s.iter().all(|&v| v < 0.0)
}

/// For triangles in one plane: whether their insides overlap (edges crossing properly, or
/// a corner strictly inside the other), in the projection that drops the normal's largest
/// axis.
fn coplanar_overlap(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> bool {
    let u = [0, 1, 2].map(|k| a[1][k] - a[0][k]);
    let v = [0, 1, 2].map(|k| a[2][k] - a[0][k]);
    let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    let drop = (0..3).max_by(|&i, &j| n[i].abs().total_cmp(&n[j].abs())).unwrap();
    let (i, j) = ((drop + 1) % 3, (drop + 2) % 3);
    let flat = |t: [[f64; 3]; 3]| t.map(|p| [p[i], p[j]]);
    let (a, b) = (flat(a), flat(b));
    let cross = |o: [f64; 2], p: [f64; 2], q: [f64; 2]| {
        let c = (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]);
        let scale = (p[0] - o[0])
            .abs()
            .max((p[1] - o[1]).abs())
            .max((q[0] - o[0]).abs())
            .max((q[1] - o[1]).abs());
        if c.abs() <= 1e-9 * scale * scale { 0.0 } else { c }
    };
    let inside = |t: [[f64; 2]; 3], p: [f64; 2]| {
        let s = [cross(t[0], t[1], p), cross(t[1], t[2], p), cross(t[2], t[0], p)];
        s.iter().all(|&v| v > 0.0) || s.iter().all(|&v| v < 0.0)
    };
    for k in 0..3 {
        let (p, q) = (a[k], a[(k + 1) % 3]);
        for m in 0..3 {
            let (r, s) = (b[m], b[(m + 1) % 3]);
            let (d1, d2) = (cross(p, q, r), cross(p, q, s));
            let (d3, d4) = (cross(r, s, p), cross(r, s, q));
            if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
                return true;
            }
        }
    }
    a.iter().any(|&p| inside(b, p)) || b.iter().any(|&p| inside(a, p))
}

fn triangles_cross(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> bool {
    if b.iter().all(|&p| side(a[0], a[1], a[2], p) == 0.0) {
        return coplanar_overlap(a, b);
    }
    let edges = |t: [[f64; 3]; 3]| [[t[0], t[1]], [t[1], t[2]], [t[2], t[0]]];
    edges(a).into_iter().any(|e| segment_crosses(e, b))
        || edges(b).into_iter().any(|e| segment_crosses(e, a))
}

#[test]
fn crossing_triangles_are_found_and_apart_ones_are_not() {
    let t = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    let through = [[0.2, 0.2, -1.0], [0.2, 0.2, 1.0], [0.3, 0.25, 1.0]];
    let above = [[0.2, 0.2, 0.5], [0.2, 0.3, 1.0], [0.3, 0.25, 1.0]];
    assert!(triangles_cross(t, through));
    assert!(!triangles_cross(t, above));
    // In one plane: overlapping, and side by side.
    let overlapping = [[0.2, 0.2, 0.0], [1.2, 0.2, 0.0], [0.2, 1.2, 0.0]];
    let beside = [[1.0, 1.0, 0.0], [2.0, 1.0, 0.0], [1.0, 2.0, 0.0]];
    assert!(triangles_cross(t, overlapping));
    assert!(!triangles_cross(t, beside));
}

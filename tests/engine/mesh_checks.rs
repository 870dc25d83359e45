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

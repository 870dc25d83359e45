//! What is wrong with a mesh, as a slicer would find it: corners welded by exact position,
//! then open edges and the holes they bound, edges and vertices that are not manifold,
//! faces wound against their neighbours, shells turned inside out, degenerate and duplicate
//! faces, and faces that cross each other; with the shells, volume, area and bounds.
//!
//! Edges are found by sorting, not hashing, and every pass is parallel, so that a
//! 2-million-triangle scan takes a fraction of a second.

use rayon::prelude::*;

use super::Model;

use super::intersections;
use super::vector::{cross, dot, sub};
use crate::sets::Sets;

/// What [`analyse`] found. Counts are of welded vertices and undirected edges.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Analysis {
    pub triangles: usize,
    /// Distinct corner positions.
    pub vertices: usize,
    /// Pieces joined through shared edges.
    pub shells: usize,
    /// Edges with one face: the rims of holes.
    pub open_edges: usize,
    /// Loops of open edges.
    pub holes: usize,
    /// Edges shared by more than two faces.
    pub non_manifold_edges: usize,
    /// Vertices whose faces make more than one fan (two pieces touching at a point).
    pub non_manifold_vertices: usize,
    /// Faces wound against the rest of their patch (the fewer of the two windings).
    pub flipped_faces: usize,
    /// Closed shells wound inside out (negative volume).
    pub inverted_shells: usize,
    /// Faces with a repeated corner or no area.
    pub degenerate_faces: usize,
    /// Faces with the same corners as an earlier one.
    pub duplicate_faces: usize,
    /// Pairs of faces, sharing no corner, that cross each other.
    pub self_intersections: usize,
    /// Signed volume as wound, in cubic millimetres: positive when faces point out.
    pub volume_mm3: f64,
    pub area_mm2: f64,
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Analysis {
    /// Every edge has two faces: no holes, no seams with more.
    pub fn is_closed(&self) -> bool {
        self.triangles > 0 && self.open_edges == 0
    }

    /// Every edge has at most two faces, every vertex one fan, and no face is degenerate.
    pub fn is_manifold(&self) -> bool {
        self.non_manifold_edges == 0
            && self.non_manifold_vertices == 0
            && self.degenerate_faces == 0
    }

    /// Neighbours agree on their winding and closed shells face out.
    pub fn is_oriented(&self) -> bool {
        self.flipped_faces == 0 && self.inverted_shells == 0
    }

    /// Printable as it is: closed, manifold, oriented and not crossing itself.
    pub fn is_printable(&self) -> bool {
        self.is_closed()
            && self.is_manifold()
            && self.is_oriented()
            && self.duplicate_faces == 0
            && self.self_intersections == 0
    }
}

/// Corners welded by exact position: each face's welded corners, and the distinct positions.
pub(crate) fn weld(model: &Model) -> (Vec<[u32; 3]>, Vec<[f32; 3]>) {
    // Sort corner positions (-0 as 0) and number the distinct ones.
    let key = |p: [f32; 3]| p.map(|v| if v == 0.0 { 0 } else { v.to_bits() });
    let mut order: Vec<u32> = (0..model.positions.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| key(model.positions[i as usize]));
    let mut number = vec![0u32; model.positions.len()];
    let mut positions = Vec::new();
    let mut last = None;
    for &i in &order {
        let k = key(model.positions[i as usize]);
        if last != Some(k) {
            positions.push(model.positions[i as usize]);
            last = Some(k);
        }
        number[i as usize] = positions.len() as u32 - 1;
    }
    let faces = model.triangles.par_iter().map(|t| t.map(|v| number[v as usize])).collect();
    (faces, positions)
}

/// The `live` faces' edges, keyed by their ends, lower first, and sorted:
/// `(lo, hi, face, forward)`.
pub(super) fn edges(
    faces: &[[u32; 3]],
    live: &(dyn Fn(usize) -> bool + Sync),
) -> Vec<(u32, u32, u32, bool)> {
    let mut edges: Vec<(u32, u32, u32, bool)> = faces
        .par_iter()
        .enumerate()
        .filter(|&(f, _)| live(f))
        .flat_map_iter(|(f, &[a, b, c])| {
            [(a, b), (b, c), (c, a)].map(|(p, q)| (p.min(q), p.max(q), f as u32, p < q))
        })
        .collect();
    edges.par_sort_unstable();
    edges
}

/// Analyses `model`.
pub fn analyse(model: &Model) -> Analysis {
    let (faces, positions) = weld(model);
    let point = |v: u32| positions[v as usize].map(f64::from);
    // Degenerate faces take no part in the topology.
    let geometry: Vec<(bool, f64, f64)> = faces
        .par_iter()
        .map(|&[a, b, c]| {
            let (pa, pb, pc) = (point(a), point(b), point(c));
            let n = cross(sub(pb, pa), sub(pc, pa));
            let twice = dot(n, n).sqrt();
            let degenerate = a == b || b == c || a == c || twice == 0.0;
            (degenerate, twice / 2.0, dot(pa, cross(pb, pc)) / 6.0)
        })
        .collect();
    let degenerate_faces = geometry.iter().filter(|g| g.0).count();
    let area_mm2 = geometry.par_iter().map(|g| g.1).sum();
    let volume_mm3 = geometry.par_iter().map(|g| g.2).sum();
    let live = |f: usize| !geometry[f].0;

    let mut sorted: Vec<[u32; 3]> = faces
        .par_iter()
        .enumerate()
        .filter(|&(f, _)| live(f))
        .map(|(_, t)| {
            let mut s = *t;
            s.sort_unstable();
            s
        })
        .collect();
    sorted.par_sort_unstable();
    let duplicate_faces = sorted.windows(2).filter(|w| w[0] == w[1]).count();
    drop(sorted);

    // Every live face's edges, keyed by their ends, lower first: (lo, hi, face, forward).
    let edges = edges(&faces, &live);
    let mut shells = Sets::new(faces.len());
    let mut boundary = Vec::new();
    // Manifold edges' two faces, and whether they run the same way (wound against each other).
    let mut pairs: Vec<(u32, u32, bool)> = Vec::new();
    let mut non_manifold_edges = 0;
    for run in edges.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        match run {
            [one] => boundary.push((one.0, one.1, one.2)),
            [x, y] => pairs.push((x.2, y.2, x.3 == y.3)),
            _ => non_manifold_edges += 1,
        }
        for w in run.windows(2) {
            shells.join(w[0].2, w[1].2);
        }
    }
    drop(edges);
    let open_edges = boundary.len();

    // Holes: loops of open edges, joined through their shared ends.
    let holes = {
        let mut ends: Vec<u32> = boundary.iter().flat_map(|&(a, b, _)| [a, b]).collect();
        ends.sort_unstable();
        ends.dedup();
        let at = |v: u32| ends.binary_search(&v).unwrap_or(0) as u32;
        let mut loops = Sets::new(ends.len());
        for &(a, b, _) in &boundary {
            loops.join(at(a), at(b));
        }
        (0..ends.len() as u32).filter(|&i| loops.root(i) == i).count()
    };

    // Orientation: patches of faces joined by manifold edges, each face flipped or not
    // against its patch's first face.
    let (flipped_faces, inverted_shells, shell_count) = {
        let mut adjacency: Vec<Vec<(u32, bool)>> = vec![Vec::new(); faces.len()];
        for &(f, g, against) in &pairs {
            adjacency[f as usize].push((g, against));
            adjacency[g as usize].push((f, against));
        }
        let mut flip: Vec<Option<bool>> = vec![None; faces.len()];
        let mut flipped_faces = 0;
        // Per shell: its volume with each patch turned to its majority, and whether it is one
        // closed patch.
        let mut shell_volume = std::collections::HashMap::<u32, (f64, u32)>::new();
        let mut stack = Vec::new();
        for start in 0..faces.len() {
            if !live(start) || flip[start].is_some() {
                continue;
            }
            flip[start] = Some(false);
            stack.push(start as u32);
            let mut patch = Vec::new();
            while let Some(f) = stack.pop() {
                patch.push(f);
                let here = flip[f as usize].unwrap_or(false);
                for &(g, against) in &adjacency[f as usize] {
                    if flip[g as usize].is_none() {
                        flip[g as usize] = Some(here ^ against);
                        stack.push(g);
                    }
                }
            }
            let turned = patch.iter().filter(|&&f| flip[f as usize] == Some(true)).count();
            let majority_flipped = turned * 2 > patch.len();
            flipped_faces += turned.min(patch.len() - turned);
            let volume: f64 = patch
                .iter()
                .map(|&f| {
                    let v = geometry[f as usize].2;
                    if (flip[f as usize] == Some(true)) != majority_flipped { -v } else { v }
                })
                .sum();
            let entry = shell_volume.entry(shells.root(start as u32)).or_default();
            entry.0 += volume;
            entry.1 += 1;
        }
        // Shells with an open edge cannot be inside out, and one inside another is a cavity.
        let open_shells: std::collections::HashSet<u32> =
            boundary.iter().map(|&(_, _, f)| shells.root(f)).collect();
        let negative: Vec<u32> = shell_volume
            .iter()
            .filter(|(root, (volume, patches))| {
                *patches == 1 && *volume < 0.0 && !open_shells.contains(root)
            })
            .map(|(root, _)| *root)
            .collect();
        let queries: Vec<([f64; 3], u32)> =
            negative.iter().map(|&f| (point(faces[f as usize][0]), f)).collect();
        let mut each_face = |each: &mut dyn FnMut([u32; 3], u32)| {
            for (f, t) in faces.iter().enumerate() {
                if live(f) {
                    each(*t, shells.root(f as u32));
                }
            }
        };
        let cavity = super::nesting::enclosed(&positions, &mut each_face, &queries);
        let inverted = cavity.iter().filter(|&&c| !c).count();
        (flipped_faces, inverted, shell_volume.len())
    };

    let non_manifold_vertices = non_manifold_vertices(&faces, positions.len(), &live);
    let self_intersections = intersections::count(&faces, &positions, &live);
    let (min, max) =
        positions.iter().fold(([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]), |(lo, hi), p| {
            (std::array::from_fn(|k| lo[k].min(p[k])), std::array::from_fn(|k| hi[k].max(p[k])))
        });
    Analysis {
        triangles: faces.len(),
        vertices: positions.len(),
        shells: shell_count,
        open_edges,
        holes,
        non_manifold_edges,
        non_manifold_vertices,
        flipped_faces,
        inverted_shells,
        degenerate_faces,
        duplicate_faces,
        self_intersections,
        volume_mm3,
        area_mm2,
        min,
        max,
    }
}

/// Vertices whose live faces make more than one fan: faces around a vertex are one fan when
/// they join through edges at the vertex that have exactly two faces.
fn non_manifold_vertices(
    faces: &[[u32; 3]],
    vertices: usize,
    live: &(dyn Fn(usize) -> bool + Sync),
) -> usize {
    // Each vertex's faces, as a compressed list.
    let mut degree = vec![0u32; vertices + 1];
    for (f, t) in faces.iter().enumerate() {
        if live(f) {
            t.iter().for_each(|&v| degree[v as usize + 1] += 1);
        }
    }
    for i in 1..degree.len() {
        degree[i] += degree[i - 1];
    }
    let offsets = degree;
    let mut fill = offsets.clone();
    let mut around = vec![0u32; *offsets.last().unwrap_or(&0) as usize];
    for (f, t) in faces.iter().enumerate() {
        if live(f) {
            for &v in t {
                around[fill[v as usize] as usize] = f as u32;
                fill[v as usize] += 1;
            }
        }
    }
    (0..vertices)
        .into_par_iter()
        .filter(|&v| {
            let fan = &around[offsets[v] as usize..offsets[v + 1] as usize];
            if fan.len() < 2 {
                return false;
            }
            // The other corners of each face, and which faces hold each.
            let mut others: Vec<(u32, usize)> = fan
                .iter()
                .enumerate()
                .flat_map(|(k, &f)| {
                    faces[f as usize]
                        .into_iter()
                        .filter(move |&x| x != v as u32)
                        .map(move |x| (x, k))
                })
                .collect();
            others.sort_unstable();
            let mut sets = Sets::new(fan.len());
            for run in others.chunk_by(|a, b| a.0 == b.0) {
                if let [a, b] = run {
                    sets.join(a.1 as u32, b.1 as u32);
                }
            }
            (0..fan.len() as u32).filter(|&k| sets.root(k) == k).count() > 1
        })
        .count()
}

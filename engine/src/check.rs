//! The check every output passes before it ships: closed, manifold, oriented, its shells and
//! its volume, counted exactly on the indexed mesh the writers write ([`Parts`]).
//!
//! Each vertex gets the list of its corners, `(b, c)` for a face `(v, b, c)`, in one
//! compressed array. Everything about the edges at `v` is in that list: faces running `v -> u`
//! have `b == u`, faces running `u -> v` have `c == u`. An edge is counted at its lower end, so
//! the vertices are checked in parallel with no shared state. Parts too large for
//! [`CORNER_BUDGET`] are checked in bands of vertices, reading their triangles once per band,
//! so that the check's memory stays bounded whatever the mesh.

use std::io;
use std::ops::Range;

use rayon::prelude::*;

use crate::export::Parts;
use crate::sets::Sets;

/// Corners held at once: 16 M corners at 8 bytes is 128 MiB.
pub const CORNER_BUDGET: usize = 16 << 20;

/// What the check of an output found.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Check {
    /// Every edge has two faces.
    pub closed: bool,
    /// No edge has more than two faces, every vertex's faces make one fan, and no face repeats
    /// a corner.
    pub manifold: bool,
    /// Every edge's two faces run it opposite ways, and every closed shell faces out: it
    /// encloses positive volume, or negative volume as a cavity inside another shell.
    pub oriented: bool,
    /// Pieces joined through shared vertices.
    pub shells: u64,
    /// Signed volume, in cubic millimetres.
    pub volume_mm3: f64,
    pub triangles: u64,
    /// Edges with one face.
    pub open_edges: u64,
    /// Edges with more than two faces.
    pub non_manifold_edges: u64,
    /// Vertices whose faces make more than one fan.
    pub non_manifold_vertices: u64,
    /// Faces with a repeated corner.
    pub degenerate_faces: u64,
    /// Edges whose two faces run it the same way.
    pub misoriented_edges: u64,
    /// Closed shells with negative volume that are not cavities inside another shell.
    pub inverted_shells: u64,
}

impl Check {
    /// Closed, manifold and oriented, with at least one face.
    pub fn passed(&self) -> bool {
        self.triangles > 0 && self.closed && self.manifold && self.oriented
    }

    /// What is wrong, in words, when the check failed.
    pub fn problems(&self) -> Option<String> {
        if self.passed() {
            return None;
        }
        let counts = [
            (self.open_edges, "open edges"),
            (self.non_manifold_edges, "edges with more than two faces"),
            (self.non_manifold_vertices, "vertices where pieces touch"),
            (self.degenerate_faces, "faces with a repeated corner"),
            (self.misoriented_edges, "edges between faces wound opposite ways"),
            (self.inverted_shells, "shells turned inside out"),
        ];
        let found: Vec<String> =
            counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
        Some(if found.is_empty() { "no faces".into() } else { found.join(", ") })
    }

    /// Checks the parts of a mesh, as the writers read them, holding at most `budget`
    /// corners at once.
    pub fn of_parts(parts: &dyn Parts, budget: usize) -> io::Result<Check> {
        let mut check = Check { closed: true, manifold: true, oriented: true, ..Check::default() };
        for part in 0..parts.sizes().len() {
            let mut positions = Vec::with_capacity(parts.sizes()[part].vertices as usize);
            parts.positions(part, &mut |p| {
                positions.push(p);
                Ok(())
            })?;
            check.add(&part_check(
                &positions,
                &mut |band, each| match band {
                    Some(band) => parts.triangles_touching(part, band, each),
                    None => parts.triangles(part, each),
                },
                budget,
            )?);
        }
        Ok(check)
    }

    /// Checks a relief's or lithophane's mesh as the indexed writers read it: the same
    /// triangles as its STL stream.
    ///
    /// A flat panel with two triangles per cell is checked from its structure: a grid point
    /// inside the cells makes one closed fan of six triangles by the way every cell is split,
    /// so only the rim (the points at the outline, the walls and the floor) is checked as any
    /// mesh is, and the volume summed cell by cell. That finds a sound panel sound in a
    /// fraction of the general check's time and memory; when it finds anything wrong, the
    /// general check runs and says what.
    pub fn of_heightfield(hf: &crate::Heightfield) -> crate::Result<Check> {
        match Self::of_heightfield_by_structure(hf) {
            Some(check) => Ok(check),
            None => Self::of_heightfield_in_bands(hf, CORNER_BUDGET),
        }
    }

    /// The check of a flat panel with two triangles per cell from its structure, when it
    /// passes; `None` for a panel it does not apply to, or one it cannot find sound.
    pub fn of_heightfield_by_structure(hf: &crate::Heightfield) -> Option<Check> {
        if hf.bend.is_some() || hf.surface.is_some() {
            return None;
        }
        crate::mesh::IndexedHeightfield::new(hf).check_by_structure()
    }

    /// [`Check::of_heightfield`], holding at most `budget` corners at once (the tests use
    /// small bands to check that banding changes nothing).
    pub fn of_heightfield_in_bands(hf: &crate::Heightfield, budget: usize) -> crate::Result<Check> {
        let checked = match hf.bend {
            Some(bend) => Self::of_parts(&crate::mesh::Curved::new(hf, bend), budget),
            None => Self::of_parts(&crate::mesh::IndexedHeightfield::new(hf), budget),
        };
        checked.map_err(|e| crate::EngineError::FailedCheck { problems: e.to_string() })
    }

    /// Checks an indexed mesh whole.
    pub fn of_mesh(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Check {
        Self::of_mesh_in_bands(positions, triangles, CORNER_BUDGET)
    }

    /// [`Check::of_mesh`], holding at most `budget` corners at once.
    pub fn of_mesh_in_bands(
        positions: &[[f32; 3]],
        triangles: &[[u32; 3]],
        budget: usize,
    ) -> Check {
        let mut read = |_, each: &mut Each<'_>| triangles.iter().try_for_each(|&t| each(t));
        let check = part_check(positions, &mut read, budget);
        check.unwrap_or_else(|_| Check { triangles: triangles.len() as u64, ..Check::default() })
    }

    pub(crate) fn add(&mut self, part: &Check) {
        self.closed &= part.closed;
        self.manifold &= part.manifold;
        self.oriented &= part.oriented;
        self.shells += part.shells;
        self.volume_mm3 += part.volume_mm3;
        self.triangles += part.triangles;
        self.open_edges += part.open_edges;
        self.non_manifold_edges += part.non_manifold_edges;
        self.non_manifold_vertices += part.non_manifold_vertices;
        self.degenerate_faces += part.degenerate_faces;
        self.misoriented_edges += part.misoriented_edges;
        self.inverted_shells += part.inverted_shells;
    }
}

/// Triangles, read as often as the check needs: every one, or (given a band of vertices) at
/// least those with a corner in it.
type Triangles<'a> = dyn FnMut(Option<Range<u32>>, &mut Each<'_>) -> io::Result<()> + 'a;

/// Called with each triangle.
type Each<'a> = dyn FnMut([u32; 3]) -> io::Result<()> + 'a;

pub(crate) fn degenerate([a, b, c]: [u32; 3]) -> bool {
    a == b || b == c || a == c
}

/// Counts at one vertex, summed over vertices.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counts {
    open: u64,
    non_manifold_edges: u64,
    non_manifold_vertices: u64,
    misoriented: u64,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            open: self.open + o.open,
            non_manifold_edges: self.non_manifold_edges + o.non_manifold_edges,
            non_manifold_vertices: self.non_manifold_vertices + o.non_manifold_vertices,
            misoriented: self.misoriented + o.misoriented,
        }
    }
}

impl Counts {
    /// Nothing wrong: every edge two faces, wound opposite ways, and every fan one.
    pub(crate) fn is_clean(&self) -> bool {
        self.open == 0
            && self.non_manifold_edges == 0
            && self.non_manifold_vertices == 0
            && self.misoriented == 0
    }
}

/// The edges owned by vertex `v` (those to higher vertices) and its fans, from its corners.
pub(crate) fn vertex_counts(v: u32, corners: &[(u32, u32)]) -> Counts {
    if is_one_closed_fan(corners) {
        return Counts::default();
    }
    let mut counts = Counts::default();
    let mut all_two = true;
    let neighbours = corners.iter().flat_map(|&(b, c)| [b, c]);
    for (k, u) in neighbours.clone().enumerate() {
        // Each neighbour once: at its first appearance.
        if neighbours.clone().take(k).any(|w| w == u) {
            continue;
        }
        let out = corners.iter().filter(|&&(b, _)| b == u).count();
        let into = corners.iter().filter(|&&(_, c)| c == u).count();
        all_two &= out == 1 && into == 1;
        if u < v {
            continue;
        }
        match out + into {
            1 => counts.open += 1,
            2 if out != 1 => counts.misoriented += 1,
            2 => {}
            _ => counts.non_manifold_edges += 1,
        }
    }
    // A closed, well-wound vertex's faces chain b -> c around it; more than one cycle is two
    // pieces touching at the point.
    if all_two && corners.len() > 2 {
        let (mut at, mut steps) = (corners[0].1, 1);
        while at != corners[0].0 && steps <= corners.len() {
            at = corners.iter().find(|&&(b, _)| b == at).map_or(corners[0].0, |&(_, c)| c);
            steps += 1;
        }
        if steps != corners.len() {
            counts.non_manifold_vertices += 1;
        }
    }
    counts
}

/// Whether a vertex's corners chain `b -> c` into one cycle through every corner, each
/// neighbour once as `b`: then each of its edges has one face each way and its faces make one
/// fan. Nearly every vertex of a sound mesh is one, found in a few dozen comparisons.
fn is_one_closed_fan(corners: &[(u32, u32)]) -> bool {
    let Some(&(first, mut at)) = corners.first() else { return true };
    for (k, &(b, _)) in corners.iter().enumerate() {
        if corners[..k].iter().any(|&(x, _)| x == b) {
            return false;
        }
    }
    // With distinct `b`s the walk is a permutation's cycle: back at `first` after exactly
    // every corner, or not one fan.
    for _ in 1..corners.len() {
        match corners.iter().find(|&&(b, _)| b == at) {
            Some(&(b, c)) if b != first => at = c,
            _ => return false,
        }
    }
    at == first && corners.len() > 2
}

/// Checks one part: `positions`, and its triangles read by `triangles`, holding at most
/// `budget` corners at once.
fn part_check(
    positions: &[[f32; 3]],
    triangles: &mut Triangles<'_>,
    budget: usize,
) -> io::Result<Check> {
    let n = positions.len();
    let out_of_range = || io::Error::other("a triangle refers to a vertex its part lacks");
    // First reading: corners per vertex, shells and degenerate faces.
    let mut degree = vec![0u32; n + 1];
    let mut sets = Sets::new(n);
    let (mut faces, mut degenerate_faces) = (0u64, 0u64);
    triangles(None, &mut |t| {
        if t.iter().any(|&v| v as usize >= n) {
            return Err(out_of_range());
        }
        faces += 1;
        if degenerate(t) {
            degenerate_faces += 1;
            return Ok(());
        }
        t.iter().for_each(|&v| degree[v as usize] += 1);
        sets.join(t[0], t[1]);
        sets.join(t[0], t[2]);
        Ok(())
    })?;
    // Each vertex's shell, numbered in order of its lowest vertex (a set's root is its lowest,
    // so it is numbered before the rest).
    // Parents are lower vertices, so in ascending order each vertex's parent is a root.
    for v in 0..n {
        sets.0[v] = sets.root(v as u32);
    }
    let mut shells = 0u32;
    for (v, &corners) in degree.iter().take(n).enumerate() {
        let root = sets.0[v] as usize;
        sets.0[v] = match (root == v, corners > 0) {
            (true, true) => {
                shells += 1;
                shells - 1
            }
            (true, false) => u32::MAX,
            (false, _) => sets.0[root],
        };
    }
    let shell_of = sets.0;
    // Offsets: degree[v] becomes where v's corners start.
    let mut total = 0u64;
    for d in degree.iter_mut() {
        let here = u64::from(*d);
        *d = u32::try_from(total).map_err(|_| io::Error::other("too many corners"))?;
        total += here;
    }
    let offsets = degree;
    // Bands of vertices whose corners fit the budget, each read from the triangles; a face's
    // volume is added in the band of its first corner.
    let mut counts = Counts::default();
    let mut shell_volume = vec![0.0f64; shells as usize];
    let (mut corners, mut fill) = (Vec::new(), Vec::new());
    let mut lo = 0usize;
    while lo < n {
        let start = offsets[lo] as usize;
        let mut hi = lo + 1;
        while hi < n && offsets[hi + 1] as usize - start <= budget {
            hi += 1;
        }
        corners.clear();
        corners.resize(offsets[hi] as usize - start, (0u32, 0u32));
        fill.clear();
        fill.extend(offsets[lo..hi].iter().map(|&o| o - start as u32));
        let band = lo as u32..hi as u32;
        let mut add = |v: u32, b: u32, c: u32| {
            if band.contains(&v) {
                let slot = &mut fill[(v - band.start) as usize];
                corners[*slot as usize] = (b, c);
                *slot += 1;
            }
        };
        triangles(Some(band.clone()), &mut |t| {
            let [a, b, c] = t;
            if degenerate(t) {
                return Ok(());
            }
            add(a, b, c);
            add(b, c, a);
            add(c, a, b);
            if band.contains(&a) {
                let [a, b, c] = t.map(|v| positions[v as usize].map(f64::from));
                let volume = a[0] * (b[1] * c[2] - b[2] * c[1])
                    - a[1] * (b[0] * c[2] - b[2] * c[0])
                    + a[2] * (b[0] * c[1] - b[1] * c[0]);
                shell_volume[shell_of[t[0] as usize] as usize] += volume / 6.0;
            }
            Ok(())
        })?;
        counts = counts
            + (lo..hi)
                .into_par_iter()
                .map(|v| {
                    let range = offsets[v] as usize - start..offsets[v + 1] as usize - start;
                    vertex_counts(v as u32, &corners[range])
                })
                .reduce(Counts::default, |a, b| a + b);
        lo = hi;
    }
    let closed = counts.open == 0;
    // A closed shell with negative volume is inside out unless it is a cavity, inside another.
    let mut inverted_shells = 0;
    if closed && shell_volume.iter().any(|&v| v < 0.0) {
        let mut queries: Vec<([f64; 3], u32)> = Vec::new();
        let mut asked = vec![false; shell_volume.len()];
        for v in 0..n {
            let shell = shell_of[v];
            if shell != u32::MAX && shell_volume[shell as usize] < 0.0 && !asked[shell as usize] {
                asked[shell as usize] = true;
                queries.push((positions[v].map(f64::from), shell));
            }
        }
        let mut faces = |each: &mut dyn FnMut([u32; 3], u32)| {
            let _ = triangles(None, &mut |t| {
                if !degenerate(t) {
                    each(t, shell_of[t[0] as usize]);
                }
                Ok(())
            });
        };
        let inside = crate::model::nesting::enclosed(positions, &mut faces, &queries);
        inverted_shells = inside.iter().filter(|&&enclosed| !enclosed).count() as u64;
    }
    Ok(Check {
        closed,
        manifold: counts.non_manifold_edges == 0
            && counts.non_manifold_vertices == 0
            && degenerate_faces == 0,
        oriented: counts.misoriented == 0 && inverted_shells == 0,
        shells: u64::from(shells),
        volume_mm3: shell_volume.iter().sum(),
        triangles: faces,
        open_edges: counts.open,
        non_manifold_edges: counts.non_manifold_edges,
        non_manifold_vertices: counts.non_manifold_vertices,
        degenerate_faces,
        misoriented_edges: counts.misoriented,
        inverted_shells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit cube's corners and its 12 faces, wound outwards.
    fn cube(offset: [f32; 3]) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        sized_cube(offset, 1.0)
    }

    fn sized_cube(offset: [f32; 3], size: f32) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let positions = (0..8)
            .map(|i| [0, 1, 2].map(|k| offset[k] + if i >> k & 1 == 1 { size } else { 0.0 }))
            .collect();
        let quads = [
            [0, 2, 3, 1], // bottom, z = 0, facing down
            [4, 5, 7, 6], // top
            [0, 1, 5, 4], // y = 0
            [2, 6, 7, 3], // y = 1
            [0, 4, 6, 2], // x = 0
            [1, 3, 7, 5], // x = 1
        ];
        let triangles =
            quads.iter().flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]]).collect();
        (positions, triangles)
    }

    fn join(
        (mut p, mut t): (Vec<[f32; 3]>, Vec<[u32; 3]>),
        (q, u): (Vec<[f32; 3]>, Vec<[u32; 3]>),
    ) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let base = p.len() as u32;
        p.extend(q);
        t.extend(u.into_iter().map(|f| f.map(|v| v + base)));
        (p, t)
    }

    #[test]
    fn a_cube_passes_with_its_volume() {
        let (p, t) = cube([0.0; 3]);
        let check = Check::of_mesh(&p, &t);
        assert!(check.passed(), "{check:?}");
        assert_eq!((check.shells, check.triangles), (1, 12));
        assert!((check.volume_mm3 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn each_fault_is_named() {
        let (p, t) = cube([0.0; 3]);
        let mut open = t.clone();
        open.pop();
        let check = Check::of_mesh(&p, &open);
        assert!(!check.closed && check.manifold && check.open_edges == 3, "{check:?}");

        let mut flipped = t.clone();
        flipped[0].swap(1, 2);
        let check = Check::of_mesh(&p, &flipped);
        assert!(check.closed && !check.oriented && check.misoriented_edges == 3, "{check:?}");

        let inside_out: Vec<_> = t.iter().map(|f| [f[0], f[2], f[1]]).collect();
        let check = Check::of_mesh(&p, &inside_out);
        assert!(check.closed && !check.oriented && check.inverted_shells == 1, "{check:?}");
        assert!((check.volume_mm3 + 1.0).abs() < 1e-12);

        // A hollow cube: its cavity's shell faces into the cavity, which is right; the same
        // shell outside the cube is inside out.
        let turned = |(p, t): (Vec<[f32; 3]>, Vec<[u32; 3]>)| {
            (p, t.into_iter().map(|f| [f[0], f[2], f[1]]).collect::<Vec<_>>())
        };
        let hollow = join(sized_cube([0.0; 3], 3.0), turned(cube([1.0; 3])));
        let check = Check::of_mesh(&hollow.0, &hollow.1);
        assert!(check.passed() && check.shells == 2, "{check:?}");
        assert!((check.volume_mm3 - 26.0).abs() < 1e-9);
        let beside = join(sized_cube([0.0; 3], 3.0), turned(cube([5.0; 3])));
        let check = Check::of_mesh(&beside.0, &beside.1);
        assert_eq!(check.inverted_shells, 1, "{check:?}");

        // Two cubes sharing a corner: every edge is fine, the corner is not.
        let (mut p2, mut t2) = join(cube([0.0; 3]), cube([1.0; 3]));
        // The second cube's origin corner (its vertex 0, 8 in all) is the first's (1, 1, 1).
        let shared = 8;
        t2.iter_mut().flatten().filter(|v| **v == shared).for_each(|v| *v = 7);
        p2[shared as usize] = [f32::NAN; 3];
        let check = Check::of_mesh(&p2, &t2);
        assert!(check.closed && check.oriented, "{check:?}");
        assert_eq!((check.non_manifold_vertices, check.shells), (1, 1), "{check:?}");
        assert!(!check.passed());

        // A face doubled: its edges have three faces.
        let mut doubled = t.clone();
        doubled.push(t[0]);
        let check = Check::of_mesh(&p, &doubled);
        assert!(!check.manifold && check.non_manifold_edges == 3, "{check:?}");
    }

    #[test]
    fn bands_count_as_the_whole_does() {
        // Fifty cubes, checked whole and in bands of a few vertices, sound or not.
        let mut mesh = cube([0.0; 3]);
        for i in 1..50 {
            mesh = join(mesh, cube([2.0 * i as f32, 0.0, 0.0]));
        }
        let whole = Check::of_mesh(&mesh.0, &mesh.1);
        assert!(whole.passed());
        assert_eq!(whole.shells, 50);
        assert!((whole.volume_mm3 - 50.0).abs() < 1e-9);
        // Volumes are summed in another order.
        let same = |a: Check, b: Check| {
            assert!((a.volume_mm3 - b.volume_mm3).abs() < 1e-9);
            assert_eq!(Check { volume_mm3: 0.0, ..a }, Check { volume_mm3: 0.0, ..b });
        };
        for budget in [1, 7, 100] {
            same(Check::of_mesh_in_bands(&mesh.0, &mesh.1, budget), whole);
        }
        mesh.1[5].swap(0, 1);
        let whole = Check::of_mesh(&mesh.0, &mesh.1);
        same(Check::of_mesh_in_bands(&mesh.0, &mesh.1, 5), whole);
        assert_eq!(whole.misoriented_edges, 3);
    }
}

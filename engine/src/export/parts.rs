//! A mesh as the indexed writers read it: closed parts, each with its own vertices and then
//! its triangles, streamed.

use std::io;

use crate::isosurface::IndexedMesh;

/// The size and extent of one part, known before any of it is written (GLB and PLY headers
/// state them first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartSize {
    pub vertices: u64,
    pub triangles: u64,
    /// The smallest and largest coordinates of its vertices, in millimetres.
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl PartSize {
    pub(crate) fn empty() -> Self {
        Self { vertices: 0, triangles: 0, min: [f32::INFINITY; 3], max: [f32::NEG_INFINITY; 3] }
    }

    pub(crate) fn include(&mut self, p: [f32; 3]) {
        for ((lo, hi), c) in self.min.iter_mut().zip(&mut self.max).zip(p) {
            *lo = lo.min(c);
            *hi = hi.max(c);
        }
    }
}

/// A mesh in closed parts (a 3MF object each). Vertex indices are local to their part;
/// triangles are counter-clockwise seen from outside.
pub trait Parts {
    fn sizes(&self) -> &[PartSize];
    /// Calls `each` with the position (millimetres) and unit normal of every vertex of `part`,
    /// in index order.
    fn vertices(
        &self,
        part: usize,
        each: &mut dyn FnMut([f32; 3], [f32; 3]) -> io::Result<()>,
    ) -> io::Result<()>;
    /// Calls `each` with the position of every vertex of `part`, in index order: what
    /// [`Parts::vertices`] gives, for readers that need no normals.
    fn positions(
        &self,
        part: usize,
        each: &mut dyn FnMut([f32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.vertices(part, &mut |p, _| each(p))
    }
    /// Calls `each` with at least every triangle of `part` with a corner in `vertices` (and
    /// maybe others): what a reader of one band of vertices needs. By default, every one.
    fn triangles_touching(
        &self,
        part: usize,
        vertices: std::ops::Range<u32>,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        let _ = vertices;
        self.triangles(part, each)
    }
    /// Calls `each` with every triangle of `part`.
    fn triangles(
        &self,
        part: usize,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()>;
}

/// An [`IndexedMesh`] split into its edge-connected shells, each keeping the mesh's order of
/// vertices and triangles.
#[derive(Debug)]
pub struct MeshParts<'a> {
    mesh: &'a IndexedMesh,
    /// Per part, its vertices (mesh indices, ascending).
    vertices: Vec<Vec<u32>>,
    /// Per part, its triangles (mesh indices, ascending).
    triangles: Vec<Vec<u32>>,
    /// Per mesh vertex, its index within its part.
    local: Vec<u32>,
    sizes: Vec<PartSize>,
}

impl<'a> MeshParts<'a> {
    pub fn new(mesh: &'a IndexedMesh) -> Self {
        let n = mesh.positions.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut v: u32) -> u32 {
            while parent[v as usize] != v {
                let up = parent[parent[v as usize] as usize];
                parent[v as usize] = up;
                v = up;
            }
            v
        }
        for t in &mesh.triangles {
            let a = root(&mut parent, t[0]);
            for &v in &t[1..] {
                let b = root(&mut parent, v);
                if a != b {
                    parent[b as usize] = a;
                }
            }
        }
        // Parts numbered by their first vertex; a vertex no triangle uses is left out.
        let mut used = vec![false; n];
        for t in &mesh.triangles {
            for &v in t {
                used[v as usize] = true;
            }
        }
        let mut part_of_root = vec![u32::MAX; n];
        let mut vertices: Vec<Vec<u32>> = Vec::new();
        let mut local = vec![u32::MAX; n];
        let mut sizes = Vec::new();
        for v in 0..n as u32 {
            if !used[v as usize] {
                continue;
            }
            let r = root(&mut parent, v) as usize;
            if part_of_root[r] == u32::MAX {
                part_of_root[r] = vertices.len() as u32;
                vertices.push(Vec::new());
                sizes.push(PartSize::empty());
            }
            let part = part_of_root[r] as usize;
            local[v as usize] = vertices[part].len() as u32;
            vertices[part].push(v);
            sizes[part].vertices += 1;
            sizes[part].include(mesh.positions[v as usize]);
        }
        let mut triangles = vec![Vec::new(); vertices.len()];
        for (i, t) in mesh.triangles.iter().enumerate() {
            let part = part_of_root[root(&mut parent, t[0]) as usize] as usize;
            triangles[part].push(i as u32);
            sizes[part].triangles += 1;
        }
        Self { mesh, vertices, triangles, local, sizes }
    }
}

impl Parts for MeshParts<'_> {
    fn sizes(&self) -> &[PartSize] {
        &self.sizes
    }

    fn vertices(
        &self,
        part: usize,
        each: &mut dyn FnMut([f32; 3], [f32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        for &v in &self.vertices[part] {
            each(self.mesh.positions[v as usize], self.mesh.normals[v as usize])?;
        }
        Ok(())
    }

    fn triangles(
        &self,
        part: usize,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        for &t in &self.triangles[part] {
            each(self.mesh.triangles[t as usize].map(|v| self.local[v as usize]))?;
        }
        Ok(())
    }
}

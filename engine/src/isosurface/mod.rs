//! Isosurfaces: marching cubes over a scalar field, in slabs, into one welded, indexed mesh.
//!
//! The field is padded with one layer of "outside" on every side, so every surface closes at
//! the boundary. Grid points are numbered in the padded grid, x fastest; each point owns the
//! three edges that leave it towards +x, +y and +z, and the vertex on a crossed edge is made
//! once, by its owner, so triangles share vertices and the mesh is welded by construction.
//! Vertices are ordered by owner point, then axis; triangles by cell, then case-table order.
//! Both backends produce exactly this order, so their meshes compare index for index.
//!
//! The volume is processed in slabs of point planes sized to a memory budget (and, on the GPU,
//! to the adapter's binding limits). A slab numbers its vertices on from the previous slab's,
//! and its last cell layer refers to vertices on the next slab's first plane by the indices the
//! next slab will give them, so the seams are stitched without any search.
//!
//! The per-slab work lives in the `mc_classify`, `scan`, `scan_add`, `mc_compact`,
//! `mc_vertices` and `mc_triangles` kernels, and on the CPU in `cpu::marching_cubes`.

pub mod cases;
mod field;
pub(crate) mod gpu;

pub use field::{ScalarField, SlabValues};

/// How far (in voxels) a vertex keeps from an edge's ends, so that values equal to the
/// isovalue never collapse two vertices into one point and a triangle to nothing.
pub const EDGE_MARGIN: f32 = 1.0 / 1024.0;

/// A welded triangle mesh with one normal per vertex.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexedMesh {
    pub positions: Vec<[f32; 3]>,
    /// Unit vertex normals from the field's gradient, pointing out of the solid.
    pub normals: Vec<[f32; 3]>,
    /// Counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
}

impl IndexedMesh {
    pub fn triangle_count(&self) -> u64 {
        self.triangles.len() as u64
    }

    /// Maps every position through `f`, an affine map, and re-derives the normals' directions
    /// from it (through the inverse transpose of its linear part).
    pub fn transform(&mut self, f: impl Fn([f32; 3]) -> [f32; 3] + Sync) {
        use rayon::prelude::*;
        let origin = f([0.0; 3]);
        let column = |k: usize| {
            let mut e = [0.0; 3];
            e[k] = 1.0;
            let p = f(e);
            [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]]
        };
        let [a, b, c] = [column(0), column(1), column(2)];
        // Rows of the inverse transpose are the cross products of the columns (up to scale).
        let cross = |u: [f32; 3], v: [f32; 3]| {
            [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
        };
        let det = a[0] * (b[1] * c[2] - b[2] * c[1]) - b[0] * (a[1] * c[2] - a[2] * c[1])
            + c[0] * (a[1] * b[2] - a[2] * b[1]);
        let sign = if det < 0.0 { -1.0 } else { 1.0 };
        let (ra, rb, rc) = (cross(b, c), cross(c, a), cross(a, b));
        self.positions.par_iter_mut().for_each(|p| *p = f(*p));
        self.normals.par_iter_mut().for_each(|n| {
            let m = [0, 1, 2].map(|i| sign * (ra[i] * n[0] + rb[i] * n[1] + rc[i] * n[2]));
            let length = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt();
            if length > 0.0 {
                *n = m.map(|v| v / length);
            }
        });
    }

    /// Reverses every triangle's winding, after a map that mirrored the mesh.
    pub fn reflect(&mut self) {
        for t in &mut self.triangles {
            t.swap(1, 2);
        }
    }

    /// Moves the mesh so that its bounding box starts at the origin.
    pub fn move_to_origin(&mut self) {
        let (lo, _) = self.bounds();
        if lo[0].is_finite() {
            for p in &mut self.positions {
                for k in 0..3 {
                    p[k] -= lo[k];
                }
            }
        }
    }

    /// The smallest and largest corner of the bounding box.
    pub fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for p in &self.positions {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        (lo, hi)
    }

    /// Drops every connected piece but the one with the most triangles.
    pub fn keep_largest_component(&mut self) {
        let n = self.positions.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                parent[i as usize] = parent[parent[i as usize] as usize];
                i = parent[i as usize];
            }
            i
        }
        for t in &self.triangles {
            let a = root(&mut parent, t[0]);
            for &v in &t[1..] {
                let b = root(&mut parent, v);
                parent[b as usize] = a;
            }
        }
        let mut triangles_of = vec![0u32; n];
        for t in &self.triangles {
            triangles_of[root(&mut parent, t[0]) as usize] += 1;
        }
        let Some(best) = (0..n).max_by_key(|&i| triangles_of[i]) else { return };
        let mut new_index = vec![u32::MAX; n];
        let mut kept = 0;
        for (v, new) in new_index.iter_mut().enumerate() {
            if root(&mut parent, v as u32) == best as u32 {
                *new = kept;
                self.positions[kept as usize] = self.positions[v];
                self.normals[kept as usize] = self.normals[v];
                kept += 1;
            }
        }
        self.positions.truncate(kept as usize);
        self.normals.truncate(kept as usize);
        self.triangles.retain(|t| new_index[t[0] as usize] != u32::MAX);
        for t in &mut self.triangles {
            *t = t.map(|v| new_index[v as usize]);
        }
    }
}

/// One slab: the point planes `p0..=p1` of the padded grid and the voxel values it reads.
/// Its cells are the layers `p0..p1`; it makes the vertices of planes `p0..p1`, and refers to
/// those on plane `p1` by the numbers the next slab will give them.
#[derive(Debug)]
pub struct Slab<'a> {
    /// The field's size in voxels, unpadded.
    pub dims: [usize; 3],
    pub p0: usize,
    pub p1: usize,
    pub iso: f32,
    /// Voxel planes `values.z0..` of the unpadded field.
    pub values: &'a SlabValues<'a>,
}

impl Slab<'_> {
    /// Points across and down the padded grid.
    pub fn padded(&self) -> [usize; 3] {
        self.dims.map(|n| n + 2)
    }

    /// The value at padded point `p`, or `None` in the padding.
    #[inline]
    pub fn value(&self, p: [usize; 3]) -> Option<f32> {
        let [nx, ny, nz] = self.dims;
        if p[0] == 0 || p[1] == 0 || p[2] == 0 || p[0] > nx || p[1] > ny || p[2] > nz {
            return None;
        }
        Some(self.voxel([p[0] - 1, p[1] - 1, p[2] - 1]))
    }

    /// The value of voxel `v` (unpadded), which must lie in this slab's planes.
    #[inline]
    pub fn voxel(&self, v: [usize; 3]) -> f32 {
        let [nx, ny, _] = self.dims;
        self.values.data[((v[2] - self.values.z0) * ny + v[1]) * nx + v[0]]
    }

    /// The field's gradient at voxel `v`, by central differences clamped at the volume's edge.
    #[inline]
    pub fn gradient(&self, v: [usize; 3]) -> [f32; 3] {
        let mut g = [0.0; 3];
        for (axis, g) in g.iter_mut().enumerate() {
            let n = self.dims[axis];
            let (lo, hi) = (v[axis].saturating_sub(1), (v[axis] + 1).min(n - 1));
            if hi > lo {
                let (mut a, mut b) = (v, v);
                a[axis] = lo;
                b[axis] = hi;
                *g = (self.voxel(b) - self.voxel(a)) / (hi - lo) as f32;
            }
        }
        g
    }

    /// The vertex on the edge from padded point `p` along `axis`, which must be crossed:
    /// its position in voxel coordinates and its outward unit normal. The same arithmetic as
    /// `shaders/mc_vertices.wgsl`.
    pub fn vertex(&self, p: [usize; 3], axis: usize) -> ([f32; 3], [f32; 3]) {
        let mut q = p;
        q[axis] += 1;
        let mut position = [p[0] as f32 - 1.0, p[1] as f32 - 1.0, p[2] as f32 - 1.0];
        let mut normal = [0.0; 3];
        match (self.value(p), self.value(q)) {
            (Some(v0), Some(v1)) => {
                let t = ((self.iso - v0) / (v1 - v0)).clamp(EDGE_MARGIN, 1.0 - EDGE_MARGIN);
                position[axis] += t;
                let g0 = self.gradient([p[0] - 1, p[1] - 1, p[2] - 1]);
                let g1 = self.gradient([q[0] - 1, q[1] - 1, q[2] - 1]);
                let g = [0, 1, 2].map(|k| g0[k] + t * (g1[k] - g0[k]));
                let length = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
                if length > 0.0 {
                    normal = g.map(|c| -c / length);
                } else {
                    normal[axis] = if v0 >= self.iso { 1.0 } else { -1.0 };
                }
            }
            // An edge into the padding: the surface closes half a voxel beyond the last one.
            (v0, _) => {
                position[axis] += 0.5;
                normal[axis] = if v0.is_some() { 1.0 } else { -1.0 };
            }
        }
        (position, normal)
    }
}

/// What to extract, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IsoOptions {
    /// Points with values at or above this are inside.
    pub iso: f32,
    /// Standard deviation of a Gaussian pre-smoothing, in voxels; 0 for none.
    pub smooth_voxels: f32,
    /// Bytes of working memory per slab; `None` for the backend's default. Small values force
    /// many slabs, which tests use to check the seams. A slab costs about 8 bytes per padded
    /// grid point on the CPU and 32 on the GPU.
    pub slab_bytes: Option<u64>,
}

impl IsoOptions {
    pub fn new(iso: f32) -> Self {
        Self { iso, smooth_voxels: 0.0, slab_bytes: None }
    }
}

/// Cell layers per slab: as many as `bytes` allows at `per_point` working bytes per padded
/// grid point, at least one.
pub(crate) fn slab_layers(dims: [usize; 3], bytes: u64, per_point: u64) -> usize {
    let plane = ((dims[0] + 2) * (dims[1] + 2)) as u64 * per_point;
    ((bytes / plane.max(1)).saturating_sub(3) as usize).max(1)
}

/// The Gaussian's radius in voxels: three standard deviations.
pub(crate) fn smoothing_radius(sigma: f32) -> usize {
    if sigma > 0.0 { (3.0 * sigma).ceil() as usize } else { 0 }
}

/// Runs marching cubes over `field`, slab by slab, with `run_slab` doing each slab's work.
pub(crate) fn extract(
    field: &dyn ScalarField,
    options: &IsoOptions,
    (slab_bytes, per_point): (u64, u64),
    mut smooth: impl FnMut(&mut SlabValues<'_>, [usize; 3], usize) -> crate::Result<()>,
    mut run_slab: impl FnMut(&Slab<'_>, u32, &mut IndexedMesh) -> crate::Result<Option<u32>>,
    progress: &dyn crate::Progress,
) -> crate::Result<IndexedMesh> {
    let dims = field.dims();
    let [_, _, nz] = dims;
    let npz = nz + 2;
    let mut layers = slab_layers(dims, options.slab_bytes.unwrap_or(slab_bytes), per_point);
    let radius = smoothing_radius(options.smooth_voxels);
    let mut mesh = IndexedMesh::default();
    let mut base = 0u32;
    let mut p0 = 0;
    while p0 < npz - 1 {
        progress.check_canceled()?;
        let p1 = (p0 + layers).min(npz - 1);
        // Voxel planes this slab reads: vertices' ends and their gradients' neighbours.
        let z_first = p0.saturating_sub(2).min(nz - 1);
        let z_last = p1.min(nz - 1);
        let (read_first, read_last) =
            (z_first.saturating_sub(radius), (z_last + radius).min(nz - 1));
        let mut values = SlabValues::read(field, read_first, read_last + 1);
        if radius > 0 {
            smooth(&mut values, dims, radius)?;
            let plane = dims[0] * dims[1];
            let data = values.data.to_mut();
            data.truncate((z_last + 1 - read_first) * plane);
            data.drain(..(z_first - read_first) * plane);
            values.z0 = z_first;
        }
        let slab = Slab { dims, p0, p1, iso: options.iso, values: &values };
        let Some(made) = run_slab(&slab, base, &mut mesh)? else {
            // Too much output for one pass: the same planes again in thinner slabs.
            if layers == 1 {
                return Err(crate::EngineError::Gpu(
                    "one layer of cells makes more triangles than the GPU can hold; use the \
                     CPU backend"
                        .into(),
                ));
            }
            layers /= 2;
            continue;
        };
        base = base.checked_add(made).ok_or(crate::EngineError::MeshTooLarge)?;
        progress.advance(p1 as f64 / (npz - 1) as f64);
        p0 = p1;
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::marching_cubes;
    use crate::progress::Silent;

    /// A ball of radius 9 voxels in a 24-voxel cube: positive inside.
    struct Ball;

    impl ScalarField for Ball {
        fn dims(&self) -> [usize; 3] {
            [24; 3]
        }

        fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]) {
            let points =
                (z0..z1).flat_map(|z| (0..24).flat_map(move |y| (0..24).map(move |x| [x, y, z])));
            for (v, [x, y, z]) in out.iter_mut().zip(points) {
                let d = [x, y, z].map(|c| c as f32 - 11.5);
                *v = 9.0 - (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            }
        }
    }

    fn extract_with(
        run_slab: impl FnMut(&Slab<'_>, u32, &mut IndexedMesh) -> crate::Result<Option<u32>>,
    ) -> crate::Result<IndexedMesh> {
        // Slabs of 8 cell layers to start with.
        let options = IsoOptions { slab_bytes: Some(26 * 26 * 8 * 11), ..IsoOptions::new(0.0) };
        extract(&Ball, &options, (0, 8), |_, _, _| Ok(()), run_slab, &Silent)
    }

    /// The GPU path answers `None` when a slab's output would not fit the device's bindings;
    /// the same planes then go again in thinner slabs, which must stitch into the same mesh.
    #[test]
    fn slabs_whose_output_does_not_fit_are_cut_thinner_into_the_same_mesh() {
        let whole =
            extract_with(|slab, base, mesh| Ok(Some(marching_cubes::slab(slab, base, mesh))))
                .unwrap();
        assert!(whole.triangles.len() > 500, "a real ball ({} triangles)", whole.triangles.len());
        let (mut refused, mut thickest) = (0, 0);
        let cut = extract_with(|slab, base, mesh| {
            // A device that holds the output of at most 3 cell layers at once.
            if slab.p1 - slab.p0 > 3 {
                refused += 1;
                return Ok(None);
            }
            thickest = thickest.max(slab.p1 - slab.p0);
            Ok(Some(marching_cubes::slab(slab, base, mesh)))
        })
        .unwrap();
        assert_eq!((refused, thickest), (2, 2), "8 layers refused, then 4, then slabs of 2");
        assert_eq!(cut, whole, "the thinner slabs stitch into exactly the same mesh");
    }

    #[test]
    fn a_single_layer_whose_output_does_not_fit_is_a_clear_error() {
        let error = extract_with(|_, _, _| Ok(None)).unwrap_err();
        assert!(error.to_string().contains("use the CPU backend"), "{error}");
    }
}

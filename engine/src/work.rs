//! What a job implies before it runs: grid points, voxels, output bytes and memory.
//!
//! Every size is computed in `u64` with saturating arithmetic (and lengths in `f64`, clamped
//! before they become integers), so no parameter can wrap a size into a small number: a
//! pixel of 2e-16 mm makes a layer count that saturates, not one that wraps to 16,384. The
//! service checks a job's [`Work`] against its [`WorkLimits`] before any credit is taken, and
//! the engine checks the voxel count again before it allocates.

use crate::params::{ConvertParams, Detail};
use crate::solid::{MARGIN, SolidParams};
use crate::stl::MeshFormat;

/// The most voxels a solid's field may have: beyond it, lower the resolution.
pub const MAX_SOLID_VOXELS: u64 = 1 << 31;

/// What a job would compute and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Work {
    /// Grid vertices across and down.
    pub grid: [u32; 2],
    /// `grid[0] * grid[1]`.
    pub grid_points: u64,
    /// A solid's field, across, down and through (with its margins); `None` for heightfields.
    pub voxel_dims: Option<[u64; 3]>,
    /// The product of `voxel_dims`, saturating; 0 for heightfields.
    pub voxels: u64,
    /// Triangles the mesh is expected to have (an estimate for solids and masked reliefs).
    pub triangles: u64,
    /// Bytes of the output file, from `triangles` and the format.
    pub output_bytes: u64,
    /// Peak memory of the run beyond the decoded image: planes, slabs and indexed meshes.
    pub memory_bytes: u64,
}

/// The most work one job may imply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkLimits {
    pub max_grid_points: u64,
    pub max_voxels: u64,
    pub max_output_bytes: u64,
    pub max_memory_bytes: u64,
}

impl WorkLimits {
    /// 2^28 grid points (16384 x 16384, the decoder's pixel cap).
    pub const DEFAULT_MAX_GRID_POINTS: u64 = 1 << 28;
    /// 8 GiB of output: a 8192 x 8192 relief as binary STL is 6.7 GB.
    pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 8 << 30;
    /// 8 GiB of working memory.
    pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 8 << 30;
}

impl Default for WorkLimits {
    fn default() -> Self {
        Self {
            max_grid_points: Self::DEFAULT_MAX_GRID_POINTS,
            max_voxels: MAX_SOLID_VOXELS,
            max_output_bytes: Self::DEFAULT_MAX_OUTPUT_BYTES,
            max_memory_bytes: Self::DEFAULT_MAX_MEMORY_BYTES,
        }
    }
}

/// A job that would do more than its limits allow, saying what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {amount} is over the limit of {limit}; {advice}")]
pub struct TooMuchWork {
    pub what: &'static str,
    pub amount: u64,
    pub limit: u64,
    pub advice: &'static str,
}

/// Layers of a solid `depth_mm` deep at `pitch_mm` per voxel, saturating (a zero or subnormal
/// pitch gives `u64::MAX`, never a wrapped count).
pub fn solid_layers(depth_mm: f32, pitch_mm: f32) -> u64 {
    let layers = (f64::from(depth_mm) / f64::from(pitch_mm)).ceil();
    if layers.is_nan() || layers >= u64::MAX as f64 { u64::MAX } else { layers.max(0.0) as u64 }
}

/// The field a solid of `gw` x `gh` grid points is meshed from, margins included.
pub fn solid_dims(gw: u32, gh: u32, layers: u64) -> [u64; 3] {
    let margins = 2 * MARGIN as u64;
    [
        u64::from(gw).saturating_add(margins),
        u64::from(gh).saturating_add(margins),
        layers.saturating_add(margins),
    ]
}

/// Bytes per triangle of each format: exact for binary STL, typical for the others (indexed
/// formats share each vertex among about six triangles).
/// About how many bytes a triangle takes in `format`.
pub fn bytes_per_triangle(format: MeshFormat) -> u64 {
    match format {
        MeshFormat::Stl => 50,
        MeshFormat::StlAscii => 260,
        MeshFormat::Ply => 26,
        MeshFormat::Obj => 64,
        // About 75 bytes of XML, deflated five to six times.
        MeshFormat::ThreeMf => 14,
        MeshFormat::Glb => 24,
    }
}

/// The work of converting a `width` x `height` image under `params` (and `solid`, for a
/// solid) to `format`.
pub fn estimate(
    params: &ConvertParams,
    solid: Option<&SolidParams>,
    format: MeshFormat,
    width: u32,
    height: u32,
) -> Work {
    let (gw, gh) = params.grid_dimensions(width.max(2), height.max(2));
    let grid_points = u64::from(gw).saturating_mul(u64::from(gh));
    let cells = u64::from(gw - 1).saturating_mul(u64::from(gh - 1));
    let rim = 2 * (u64::from(gw) + u64::from(gh));
    // Luma, alpha, thickness and the mask, as f32 or u32 per grid point, and the source
    // pixels as floats once.
    let planes = grid_points.saturating_mul(16);
    let (voxel_dims, voxels, triangles, memory) = match solid {
        Some(solid) => {
            let pitch = params.pitch_mm(gw);
            let dims = solid_dims(gw, gh, solid_layers(solid.depth_mm.get(), pitch));
            let voxels = dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d));
            // Top and bottom, two per cell each, and walls around the outline on every layer.
            let triangles = cells
                .saturating_mul(4)
                .saturating_add(rim.saturating_mul(2).saturating_mul(dims[2]));
            // The 2-D distance fields, and the mesh held whole: positions, normals, indices.
            let mesh = triangles.saturating_mul(36);
            (Some(dims), voxels, triangles, planes.saturating_add(mesh))
        }
        None => {
            // Two per cell on top; two per boundary edge on the walls, and about one per
            // boundary vertex where the floor meets them. A mask adds outlines inside: count
            // its floor like its top.
            let top = cells.saturating_mul(if params.mask.is_some() { 4 } else { 2 });
            let mut triangles = top.saturating_add(rim.saturating_mul(3));
            // The mesh streams out: only the planes stay. An adaptive surface is held: its
            // pyramid (two words per point of the padded square), and its triangles and
            // vertices while they are simplified, at most the full grid's.
            let mut memory = planes;
            if params.detail != Detail::Full && !params.shape.is_bent() {
                let side = u64::from((gw.max(gh) - 1).next_power_of_two() + 1);
                let pyramid = side.saturating_mul(side).saturating_mul(8);
                memory = memory.saturating_add(pyramid.max(top.saturating_mul(40)));
            }
            if let Detail::MaxTriangles(n) = params.detail {
                triangles = triangles.min(n);
            }
            (None, 0, triangles, memory)
        }
    };
    Work {
        grid: [gw, gh],
        grid_points,
        voxel_dims,
        voxels,
        triangles,
        output_bytes: triangles.saturating_mul(bytes_per_triangle(format)),
        memory_bytes: memory.saturating_add(check_memory(grid_points, triangles)),
    }
}

/// What checking a mesh of `vertices` and `triangles` holds ([`crate::check`]): per vertex its
/// position, corner count, shell and index, and a band of at most
/// [`crate::check::CORNER_BUDGET`] corners.
fn check_memory(vertices: u64, triangles: u64) -> u64 {
    let corners = triangles.saturating_mul(3).min(crate::check::CORNER_BUDGET as u64);
    vertices.saturating_mul(24).saturating_add(corners.saturating_mul(8))
}

/// The work of meshing a volume of `dims` voxels (after any crop) to `format`: its samples
/// held as f32 at worst, the mesh held whole, and about twelve triangles per boundary voxel
/// of the volume's faces (a CT's skin and skull stay under it), never more than marching cubes'
/// five per voxel.
pub fn estimate_volume(dims: [u64; 3], format: MeshFormat) -> Work {
    let [x, y, z] = dims;
    let voxels = x.saturating_mul(y).saturating_mul(z);
    let faces =
        x.saturating_mul(y).saturating_add(y.saturating_mul(z)).saturating_add(x.saturating_mul(z));
    let triangles = faces.saturating_mul(12).min(voxels.saturating_mul(5)).max(1);
    Work {
        grid: [u32::try_from(x).unwrap_or(u32::MAX), u32::try_from(y).unwrap_or(u32::MAX)],
        grid_points: x.saturating_mul(y),
        voxel_dims: Some(dims),
        voxels,
        triangles,
        output_bytes: triangles.saturating_mul(bytes_per_triangle(format)),
        memory_bytes: voxels
            .saturating_mul(4)
            .saturating_add(triangles.saturating_mul(36))
            .saturating_add(check_memory(triangles / 2, triangles)),
    }
}

/// The work of a 3D file of `triangles` triangles: reading, analysing and repairing it holds
/// its mesh several times over (welds, sorted edges, adjacency), about 200 bytes a triangle.
pub fn estimate_model(triangles: u64, format: MeshFormat) -> Work {
    Work {
        grid: [0, 0],
        grid_points: 0,
        voxel_dims: None,
        voxels: 0,
        triangles,
        output_bytes: triangles.saturating_mul(bytes_per_triangle(format)),
        memory_bytes: triangles.saturating_mul(200),
    }
}

impl Work {
    /// Whether it is a 3D file's ([`estimate_model`]): no grid and no voxels.
    pub fn is_model(&self) -> bool {
        self.grid_points == 0 && self.voxel_dims.is_none()
    }

    /// The first limit this work is over, if any.
    pub fn check(&self, limits: &WorkLimits) -> Result<(), TooMuchWork> {
        let checks = [
            ("grid points", self.grid_points, limits.max_grid_points, "lower `max_grid` or `grid`"),
            (
                "voxels",
                self.voxels,
                limits.max_voxels,
                "use a larger `pixel_mm` or `width_mm`, a smaller `depth_mm`, or a lower `max_grid`",
            ),
            (
                "estimated output bytes",
                self.output_bytes,
                limits.max_output_bytes,
                "lower `max_grid` or `grid`, or choose binary stl",
            ),
            (
                "estimated memory bytes",
                self.memory_bytes,
                limits.max_memory_bytes,
                "lower `max_grid` or `grid`, or use a larger `pixel_mm`",
            ),
        ];
        match checks.into_iter().find(|(_, amount, limit, _)| amount > limit) {
            Some((what, amount, limit, advice)) => Err(TooMuchWork { what, amount, limit, advice }),
            None => Ok(()),
        }
    }

    /// Whether this is a solid's or a volume's work (counted in voxels) rather than a
    /// heightfield's.
    pub fn is_solid(&self) -> bool {
        self.voxel_dims.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Millimetres, PhysicalSize};
    use crate::{Cells, Heightfield};

    #[test]
    fn a_tiny_pixel_saturates_instead_of_wrapping() {
        let params = ConvertParams {
            size: PhysicalSize::PixelMm(Millimetres::new(1e-3).unwrap()),
            ..ConvertParams::default()
        };
        let solid = SolidParams { depth_mm: Millimetres::new(1.0).unwrap(), ..Default::default() };
        let work = estimate(&params, Some(&solid), MeshFormat::Stl, 60, 60);
        assert_eq!(work.voxel_dims, Some([64, 64, 1004]));
        assert_eq!(work.voxels, 64 * 64 * 1004);
        assert_eq!(solid_layers(1.0, 2.220446e-16), 4503599627370496);
        assert_eq!(solid_layers(1.0, 0.0), u64::MAX);
        assert_eq!(solid_dims(60, 60, u64::MAX)[2], u64::MAX, "margins saturate");
        let huge = Work { voxels: u64::MAX, ..work };
        let error = huge.check(&WorkLimits::default()).unwrap_err();
        assert_eq!(error.what, "voxels");
    }

    #[test]
    fn a_relief_estimate_covers_the_mesher_s_triangles() {
        let params = ConvertParams::default();
        for (w, h) in [(2, 2), (100, 60), (37, 301)] {
            let (gw, gh) = params.grid_dimensions(w, h);
            let inside = vec![1; (gw * gh) as usize];
            let hf = Heightfield {
                width: gw,
                height: gh,
                pitch_mm: 1.0,
                thickness: vec![1.0; (gw * gh) as usize],
                cells: Cells::from_inside(&inside, gw, gh),
                bend: None,
                surface: None,
                columns: None,
            };
            let work = estimate(&params, None, MeshFormat::Stl, w, h);
            let exact = hf.triangle_count();
            assert!(work.triangles >= exact, "{w}x{h}: {} < {exact}", work.triangles);
            assert!(work.triangles <= exact + 4 * u64::from(gw + gh), "{w}x{h}: close to exact");
            assert_eq!(work.output_bytes, work.triangles * 50, "binary STL is 50 bytes each");
        }
    }
}

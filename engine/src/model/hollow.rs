//! Hollowing: a closed model made a shell of a given wall thickness, with drain holes, to save
//! the resin or filament its inside would take.
//!
//! The cavity is the set of points deeper inside than the wall: the model's distance field is
//! sampled on a grid (the distance to the nearest face, through a hierarchy of the faces'
//! boxes, and the sign from a flood fill of the outside), and the engine's marching cubes
//! meshes the level at the wall's depth. The cavity's surface, turned to face into the
//! cavity, joins the model's own: one closed solid with a void inside, its walls everywhere at
//! least the wall thick (within a sample). Drain holes are then drilled straight down from the
//! cavity's lowest points through the bottom wall by a mesh boolean (manifold-rust), so that
//! resin can run out and air in.

use rayon::prelude::*;

use super::Model;
use super::vector::{dot, sub};
use crate::isosurface::ScalarField;
use crate::params::ParamError;
use crate::{Engine, EngineError, IsoOptions, Progress, Result};

/// The most samples the distance field may take: 8 M, a few seconds of queries.
pub const MAX_VOXELS: u64 = 8 << 20;
/// The fewest samples across the wall: finer than a third of it.
const SAMPLES_PER_WALL: f64 = 3.0;
/// Sides of a drain hole's cylinder.
const DRAIN_SEGMENTS: i32 = 32;

/// How to hollow.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct HollowParams {
    pub wall_mm: f64,
    /// Each drain hole's diameter.
    pub drain_mm: f64,
    /// How many drain holes (0 leaves the cavity sealed).
    pub drains: u32,
}

/// What hollowing did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Hollowed {
    pub wall_mm: f64,
    /// The volume taken out: material saved.
    pub cavity_mm3: f64,
    /// Drain holes drilled, and their diameter.
    pub drains: u32,
    pub drain_mm: f64,
    /// The distance field's spacing: the cavity's surface is within half of it.
    pub pitch_mm: f64,
}

impl Engine {
    /// Hollows the closed `model` in place.
    pub fn hollow(
        &self,
        model: &mut Model,
        params: HollowParams,
        progress: &dyn Progress,
    ) -> Result<Hollowed> {
        let (lo, hi) = bounds(model);
        let extent = [0, 1, 2].map(|k| f64::from(hi[k] - lo[k]));
        let box_mm3: f64 = extent.iter().map(|e| e + 2.0 * params.wall_mm).product();
        let pitch = (params.wall_mm / SAMPLES_PER_WALL).max((box_mm3 / MAX_VOXELS as f64).cbrt());
        // A sample of outside all around.
        let origin = [0, 1, 2].map(|k| f64::from(lo[k]) - 2.0 * pitch);
        let dims = [0, 1, 2].map(|k| ((extent[k] + 4.0 * pitch) / pitch).ceil() as usize + 1);
        let faces = Faces::new(model);
        let reach = params.wall_mm + 2.0 * pitch;
        let plane = dims[0] * dims[1];
        let mut distance = vec![0f32; plane * dims[2]];
        distance.par_chunks_mut(plane).enumerate().for_each(|(z, values)| {
            for y in 0..dims[1] {
                for x in 0..dims[0] {
                    let p = [
                        origin[0] + x as f64 * pitch,
                        origin[1] + y as f64 * pitch,
                        origin[2] + z as f64 * pitch,
                    ];
                    values[y * dims[0] + x] = faces.distance(p, reach) as f32;
                }
            }
        });
        if progress.is_canceled() {
            return Err(EngineError::Canceled);
        }
        let outside = flood_outside(&distance, dims, (0.87 * pitch) as f32);
        // Depth inside, less the wall: positive in the cavity.
        let values: Vec<f32> = distance
            .par_iter()
            .zip(&outside)
            .map(|(&d, &out)| if out { -d } else { d } - params.wall_mm as f32)
            .collect();
        let field = Grid { dims, values };
        let mut cavity = match self.isosurface(&field, &IsoOptions::new(0.0), progress) {
            Ok(mesh) => mesh,
            Err(EngineError::EmptySurface | EngineError::EmptyVolume) => {
                return Err(no_room(params.wall_mm));
            }
            Err(e) => return Err(e),
        };
        if cavity.triangles.is_empty() {
            return Err(no_room(params.wall_mm));
        }
        cavity.transform(|p| [0, 1, 2].map(|k| (origin[k] + f64::from(p[k]) * pitch) as f32));
        // Facing into the cavity: the wall's inner side.
        cavity.reflect();
        let cavity_mm3 = -signed_volume(&cavity.positions, &cavity.triangles);
        let base = model.positions.len() as u32;
        model.positions.extend_from_slice(&cavity.positions);
        model.triangles.extend(cavity.triangles.iter().map(|t| t.map(|v| v + base)));
        let drains = match params.drains {
            0 => 0,
            n => drill(model, &cavity.positions, n, params.drain_mm, pitch, lo[2])?,
        };
        Ok(Hollowed {
            wall_mm: params.wall_mm,
            cavity_mm3,
            drains,
            drain_mm: params.drain_mm,
            pitch_mm: pitch,
        })
    }
}

fn no_room(wall_mm: f64) -> EngineError {
    EngineError::InvalidParameter(ParamError::new(
        "hollow_mm",
        format!(
            "leaves no room for a cavity: the model is nowhere thicker than two {wall_mm} mm \
             walls; use a thinner wall, or leave it solid"
        ),
    ))
}

fn bounds(model: &Model) -> ([f32; 3], [f32; 3]) {
    model.positions.iter().fold(([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]), |(lo, hi), p| {
        (std::array::from_fn(|k| lo[k].min(p[k])), std::array::from_fn(|k| hi[k].max(p[k])))
    })
}

fn signed_volume(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> f64 {
    triangles
        .iter()
        .map(|t| {
            let [a, b, c] = t.map(|v| positions[v as usize].map(f64::from));
            (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0]))
                / 6.0
        })
        .sum()
}

/// The voxels joined to the grid's border through voxels at least `clear` from every face:
/// the outside (the model is closed, so nothing inside is reached).
fn flood_outside(distance: &[f32], dims: [usize; 3], clear: f32) -> Vec<bool> {
    let [nx, ny, nz] = dims;
    let index = |x: usize, y: usize, z: usize| (z * ny + y) * nx + x;
    let mut outside = vec![false; distance.len()];
    let mut stack = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let border =
                    x == 0 || y == 0 || z == 0 || x == nx - 1 || y == ny - 1 || z == nz - 1;
                if border && distance[index(x, y, z)] >= clear {
                    outside[index(x, y, z)] = true;
                    stack.push([x, y, z]);
                }
            }
        }
    }
    while let Some([x, y, z]) = stack.pop() {
        let mut visit = |x: usize, y: usize, z: usize| {
            let i = index(x, y, z);
            if !outside[i] && distance[i] >= clear {
                outside[i] = true;
                stack.push([x, y, z]);
            }
        };
        if x > 0 {
            visit(x - 1, y, z);
        }
        if x + 1 < nx {
            visit(x + 1, y, z);
        }
        if y > 0 {
            visit(x, y - 1, z);
        }
        if y + 1 < ny {
            visit(x, y + 1, z);
        }
        if z > 0 {
            visit(x, y, z - 1);
        }
        if z + 1 < nz {
            visit(x, y, z + 1);
        }
    }
    outside
}

/// Drills up to `count` drain holes of `diameter` straight down from the cavity's floor (its
/// lowest points, within a sample `pitch`) to below the model's bottom at `floor`: the first
/// nearest the floor's middle, each next the farthest from those before, all clear of the
/// cavity's side walls where the floor is wide enough. Returns how many were drilled.
fn drill(
    model: &mut Model,
    cavity: &[[f32; 3]],
    count: u32,
    diameter: f64,
    pitch: f64,
    floor: f32,
) -> Result<u32> {
    use manifold_rust::linalg::Vec3;
    use manifold_rust::manifold::Manifold;
    use manifold_rust::types::{Error, MeshGL};
    let lowest = cavity.iter().map(|p| p[2]).fold(f32::INFINITY, f32::min);
    let on_floor: Vec<[f32; 3]> =
        cavity.iter().copied().filter(|p| p[2] <= lowest + pitch as f32).collect();
    let (lo, hi) =
        on_floor.iter().fold(([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]), |(lo, hi), p| {
            ([lo[0].min(p[0]), lo[1].min(p[1])], [hi[0].max(p[0]), hi[1].max(p[1])])
        });
    let margin = (diameter / 2.0 + pitch) as f32;
    let clear: Vec<[f32; 3]> = on_floor
        .iter()
        .copied()
        .filter(|p| (0..2).all(|k| p[k] >= lo[k] + margin && p[k] <= hi[k] - margin))
        .collect();
    let candidates = if clear.is_empty() { on_floor } else { clear };
    let flat = |a: [f32; 3], b: [f32; 3]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let middle = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, lowest];
    let mut sites: Vec<[f32; 3]> = Vec::new();
    if let Some(&first) =
        candidates.iter().min_by(|a, b| flat(**a, middle).total_cmp(&flat(**b, middle)))
    {
        sites.push(first);
    }
    while (sites.len() as u32) < count {
        let gap = |p: [f32; 3]| sites.iter().map(|&s| flat(s, p)).fold(f32::INFINITY, f32::min);
        let Some(&next) = candidates.iter().max_by(|a, b| gap(**a).total_cmp(&gap(**b))) else {
            break;
        };
        // Holes closer than half a diameter apart would all but be one.
        if f64::from(gap(next)) < 1.5 * diameter {
            break;
        }
        sites.push(next);
    }
    let mesh = MeshGL {
        num_prop: 3,
        vert_properties: model.positions.iter().flatten().copied().collect(),
        tri_verts: model.triangles.iter().flatten().copied().collect(),
        ..Default::default()
    };
    let mut body = Manifold::from_mesh_gl(&mesh);
    if body.status() != Error::NoError {
        return Err(EngineError::ModelNotPrintable {
            problems: format!("hollowing it: {:?}", body.status()),
            repaired: true,
        });
    }
    let radius = diameter / 2.0;
    for site in &sites {
        // From below the model's bottom to a little inside the cavity.
        let bottom = f64::from(floor) - 1.0;
        let top = f64::from(site[2]) + radius.max(0.5);
        let drill = Manifold::cylinder(top - bottom, radius, radius, DRAIN_SEGMENTS)
            .translate(Vec3::new(f64::from(site[0]), f64::from(site[1]), bottom));
        body = body.difference(&drill);
    }
    if body.status() != Error::NoError || body.is_empty() {
        return Err(EngineError::ModelNotPrintable {
            problems: format!("drilling its drain holes: {:?}", body.status()),
            repaired: true,
        });
    }
    let out = body.get_mesh_gl(-1);
    let stride = out.num_prop as usize;
    let positions = out.vert_properties.chunks_exact(stride).map(|p| [p[0], p[1], p[2]]).collect();
    let triangles = out.tri_verts.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
    *model = Model { positions, triangles };
    Ok(sites.len() as u32)
}

/// Samples of the field, x fastest.
struct Grid {
    dims: [usize; 3],
    values: Vec<f32>,
}

impl ScalarField for Grid {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]) {
        let plane = self.dims[0] * self.dims[1];
        out.copy_from_slice(&self.values[z0 * plane..z1 * plane]);
    }

    fn borrow_planes(&self, z0: usize, z1: usize) -> Option<&[f32]> {
        let plane = self.dims[0] * self.dims[1];
        Some(&self.values[z0 * plane..z1 * plane])
    }
}

/// The faces in a hierarchy of their boxes, for nearest-face queries.
struct Faces {
    corners: Vec<[[f64; 3]; 3]>,
    nodes: Vec<Node>,
    order: Vec<u32>,
}

struct Node {
    lo: [f64; 3],
    hi: [f64; 3],
    /// A leaf's faces are `order[start..start + count]`; an inner node's children are
    /// `first` and `first + 1`.
    start: u32,
    count: u32,
    first: u32,
}

const LEAF: usize = 4;

impl Faces {
    fn new(model: &Model) -> Self {
        let corners: Vec<[[f64; 3]; 3]> = model
            .triangles
            .iter()
            .map(|t| t.map(|v| model.positions[v as usize].map(f64::from)))
            .collect();
        let order = (0..corners.len() as u32).collect();
        let mut faces = Faces { corners, nodes: Vec::new(), order };
        if !faces.corners.is_empty() {
            faces.nodes.push(Node { lo: [0.0; 3], hi: [0.0; 3], start: 0, count: 0, first: 0 });
            faces.build(0, 0, faces.order.len());
        }
        faces
    }

    fn build(&mut self, node: usize, start: usize, end: usize) {
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for &f in &self.order[start..end] {
            for c in self.corners[f as usize] {
                for k in 0..3 {
                    lo[k] = lo[k].min(c[k]);
                    hi[k] = hi[k].max(c[k]);
                }
            }
        }
        (self.nodes[node].lo, self.nodes[node].hi) = (lo, hi);
        if end - start <= LEAF {
            (self.nodes[node].start, self.nodes[node].count) = (start as u32, (end - start) as u32);
            return;
        }
        let axis = (0..3).max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b]))).unwrap();
        let mid = (start + end) / 2;
        let corners = &self.corners;
        let centre = |f: u32| corners[f as usize].iter().map(|c| c[axis]).sum::<f64>();
        self.order[start..end]
            .select_nth_unstable_by(mid - start, |&a, &b| centre(a).total_cmp(&centre(b)));
        let first = self.nodes.len();
        self.nodes[node].first = first as u32;
        for _ in 0..2 {
            self.nodes.push(Node { lo: [0.0; 3], hi: [0.0; 3], start: 0, count: 0, first: 0 });
        }
        self.build(first, start, mid);
        self.build(first + 1, mid, end);
    }

    /// The distance from `p` to the nearest face, or `reach` when none is nearer.
    fn distance(&self, p: [f64; 3], reach: f64) -> f64 {
        let gap = |node: &Node| -> f64 {
            (0..3)
                .map(|k| {
                    let d = (node.lo[k] - p[k]).max(p[k] - node.hi[k]).max(0.0);
                    d * d
                })
                .sum()
        };
        let mut best = reach * reach;
        let mut stack = vec![(0usize, 0.0)];
        while let Some((n, near)) = stack.pop() {
            if near >= best {
                continue;
            }
            let node = &self.nodes[n];
            if node.count > 0 {
                for &f in &self.order[node.start as usize..(node.start + node.count) as usize] {
                    best = best.min(squared_distance(p, self.corners[f as usize]));
                }
                continue;
            }
            // The nearer child on top, so the best found early prunes the farther.
            let (a, b) = (node.first as usize, node.first as usize + 1);
            let (ga, gb) = (gap(&self.nodes[a]), gap(&self.nodes[b]));
            let (near, far) = if ga <= gb { ((a, ga), (b, gb)) } else { ((b, gb), (a, ga)) };
            stack.push(far);
            stack.push(near);
        }
        best.sqrt()
    }
}

/// The squared distance from `p` to the triangle `[a, b, c]` (Ericson, Real-Time Collision
/// Detection, 5.1.5).
fn squared_distance(p: [f64; 3], triangle: [[f64; 3]; 3]) -> f64 {
    let d = sub(p, closest_point(p, triangle));
    dot(d, d)
}

/// The point of the triangle `[a, b, c]` nearest `p`: a corner, a point of an edge, or of the
/// face, by the region of the triangle's plane `p` projects into.
fn closest_point(p: [f64; 3], [a, b, c]: [[f64; 3]; 3]) -> [f64; 3] {
    let along = |from: [f64; 3], edge: [f64; 3], t: f64| [0, 1, 2].map(|k| from[k] + t * edge[k]);
    let (ab, ac) = (sub(b, a), sub(c, a));
    let ap = sub(p, a);
    let (d1, d2) = (dot(ab, ap), dot(ac, ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = sub(p, b);
    let (d3, d4) = (dot(ab, bp), dot(ac, bp));
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return along(a, ab, d1 / (d1 - d3));
    }
    let cp = sub(p, c);
    let (d5, d6) = (dot(ab, cp), dot(ac, cp));
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return along(a, ac, d2 / (d2 - d6));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && d4 - d3 >= 0.0 && d5 - d6 >= 0.0 {
        return along(b, sub(c, b), (d4 - d3) / ((d4 - d3) + (d5 - d6)));
    }
    let (v, w) = (vb / (va + vb + vc), vc / (va + vb + vc));
    [0, 1, 2].map(|k| a[k] + ab[k] * v + ac[k] * w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_point_of_a_triangle_is_found_in_each_region() {
        let t = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]];
        // Above the face, beyond an edge, beyond a corner.
        assert!((squared_distance([0.5, 0.5, 3.0], t) - 9.0).abs() < 1e-12);
        assert!((squared_distance([1.0, -1.0, 0.0], t) - 1.0).abs() < 1e-12);
        assert!((squared_distance([-1.0, -1.0, 0.0], t) - 2.0).abs() < 1e-12);
        assert!((squared_distance([2.0, 2.0, 0.0], t) - 2.0).abs() < 1e-12);
    }
}

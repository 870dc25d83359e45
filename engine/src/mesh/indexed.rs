//! A heightfield's mesh with shared vertices, for the formats that keep them (PLY, OBJ, 3MF,
//! GLB): the same triangles as the STL stream, one part per region of solid cells.
//!
//! Top vertices are the grid points around a region's solid cells (of an adaptive surface,
//! those its triangles use), numbered row by row; floor vertices are the points its walls and
//! floor use, numbered after them. Only an index per grid point and the walls' and floor's
//! triangles (a rim's worth) are held; a full top surface is produced again, cell by cell, as
//! it is written, and an adaptive one's triangles are listed by region.

use std::collections::HashMap;
use std::io;

use super::cells::Regions;
use super::{Corner, Face, Heightfield, bottom, walls};
use crate::export::{PartSize, Parts};

pub(crate) struct IndexedHeightfield<'a> {
    hf: &'a Heightfield,
    regions: Regions,
    /// Per grid point, its index within its region's part (`u32::MAX` when unused).
    top: Vec<u32>,
    /// Per region: its floor points in index order, after its top vertices.
    floors: Vec<Vec<(u32, u32)>>,
    /// Per floor point, its index within its region's part.
    floor_index: HashMap<(u32, u32), u32>,
    /// Per region: its wall and floor triangles.
    faces: Vec<Vec<[Corner; 3]>>,
    /// Per region: its adaptive surface's triangles, by their index in it.
    adaptive: Vec<Vec<u32>>,
    sizes: Vec<PartSize>,
    /// Per region, an adaptive surface's points (grid indices) in index order; `None` for a
    /// full grid, whose points are every corner of its cells.
    used: Option<Vec<Vec<u32>>>,
    /// Per region, per grid row from its box's first: the index of its first top vertex at or
    /// after that row (the top vertices are numbered row by row). Empty for an adaptive
    /// surface, whose bands read every triangle.
    row_starts: Vec<Vec<u32>>,
}

/// The grid points an adaptive surface's `triangles` use, each once, marked in `top` (which
/// they are numbered in next).
fn surface_points(top: &mut [u32], triangles: &[[u32; 3]], w: usize) -> Vec<u32> {
    let mut points = Vec::with_capacity(triangles.len() / 2 + w);
    for &g in triangles.iter().flatten() {
        if top[g as usize] == u32::MAX {
            top[g as usize] = u32::MAX - 1;
            points.push(g);
        }
    }
    points
}

impl<'a> IndexedHeightfield<'a> {
    pub fn new(hf: &'a Heightfield) -> Self {
        let regions = hf.cells.regions();
        let cells = &hf.cells;
        let count = regions.boxes.len();
        let w = hf.width as usize;
        let mut top = vec![u32::MAX; w * hf.height as usize];
        let mut adaptive = vec![Vec::new(); count];
        let mut sizes = vec![PartSize::empty(); count];
        let mut row_starts = vec![Vec::new(); count];
        let mut used = None;
        let number = |top: &mut [u32], sizes: &mut [PartSize], region: usize, x: u32, y: u32| {
            let size = &mut sizes[region];
            top[y as usize * w + x as usize] = size.vertices as u32;
            size.vertices += 1;
            size.include(hf.position(Corner::top((x, y))));
        };
        match &hf.surface {
            // An adaptive surface's points, and only those, in row-major order: the work is the
            // surface's, not the grid's.
            Some(surface) if matches!(cells, super::cells::Cells::Full { .. }) => {
                // No mask: one region, every point of the surface in it.
                adaptive[0] = (0..surface.triangles.len() as u32).collect();
                let mut points = surface_points(&mut top, &surface.triangles, w);
                rayon::slice::ParallelSliceMut::par_sort_unstable(&mut points[..]);
                for &g in &points {
                    number(&mut top, &mut sizes, 0, g % hf.width, g / hf.width);
                }
                used = Some(vec![points]);
            }
            Some(surface) => {
                for (i, t) in surface.triangles.iter().enumerate() {
                    let (x, y) = (
                        t.iter().map(|g| g % hf.width).sum::<u32>(),
                        t.iter().map(|g| g / hf.width).sum::<u32>(),
                    );
                    // The cell under the triangle's centroid is one of its solid cells.
                    let region = regions
                        .of(cells, i64::from(x / 3), i64::from(y / 3))
                        .expect("a solid cell");
                    adaptive[region as usize].push(i as u32);
                }
                let mut points = surface_points(&mut top, &surface.triangles, w);
                rayon::slice::ParallelSliceMut::par_sort_unstable(&mut points[..]);
                let mut by_region = vec![Vec::new(); count];
                for g in points {
                    let (x, y) = (g % hf.width, g / hf.width);
                    let (xi, yi) = (i64::from(x), i64::from(y));
                    // The regions it is a corner of, each once, in order.
                    let mut near = [(xi - 1, yi - 1), (xi, yi - 1), (xi - 1, yi), (xi, yi)]
                        .map(|(cx, cy)| regions.of(cells, cx, cy));
                    near.sort_unstable();
                    for k in 0..near.len() {
                        if let Some(region) = near[k]
                            && !near[..k].contains(&near[k])
                        {
                            number(&mut top, &mut sizes, region as usize, x, y);
                            by_region[region as usize].push(g);
                        }
                    }
                }
                used = Some(by_region);
            }
            // Every corner of the cells, region by region, noting where each row starts.
            None => {
                for (region, &[x0, y0, x1, y1]) in regions.boxes.iter().enumerate() {
                    for y in y0..=y1 + 1 {
                        row_starts[region].push(sizes[region].vertices as u32);
                        for x in x0..=x1 + 1 {
                            if belongs(&regions, cells, region, x, y) {
                                number(&mut top, &mut sizes, region, x, y);
                            }
                        }
                    }
                }
            }
        }
        let mut floors = vec![Vec::new(); count];
        let mut floor_index = HashMap::new();
        let mut faces = vec![Vec::new(); count];
        let mut add = |face: &Face| {
            let (cx, cy) = face.cell;
            let region =
                regions.of(cells, i64::from(cx), i64::from(cy)).expect("a solid cell") as usize;
            for corner in face.corners.iter().filter(|c| !c.top) {
                floor_index.entry((corner.x, corner.y)).or_insert_with(|| {
                    let size = &mut sizes[region];
                    size.include(hf.position(*corner));
                    size.vertices += 1;
                    floors[region].push((corner.x, corner.y));
                    size.vertices as u32 - 1
                });
            }
            faces[region].push(face.corners);
        };
        walls::emit(hf, &mut add);
        bottom::emit(hf, &mut add);
        for (region, size) in sizes.iter_mut().enumerate() {
            if hf.surface.is_some() {
                size.triangles = (adaptive[region].len() + faces[region].len()) as u64;
                continue;
            }
            let [x0, y0, x1, y1] = regions.boxes[region];
            let mut solid = 0u64;
            for y in y0..=y1 {
                for x in x0..=x1 {
                    solid += u64::from(
                        regions.of(cells, i64::from(x), i64::from(y)) == Some(region as u32),
                    );
                }
            }
            size.triangles = 2 * solid + faces[region].len() as u64;
        }
        Self { hf, regions, top, floors, floor_index, faces, adaptive, sizes, used, row_starts }
    }

    fn index(&self, corner: Corner) -> u32 {
        if corner.top {
            self.top[corner.y as usize * self.hf.width as usize + corner.x as usize]
        } else {
            self.floor_index[&(corner.x, corner.y)]
        }
    }
}

/// The unit normal of the top surface at grid point `(x, y)`, from the thickness's slope.
pub(super) fn top_normal(hf: &Heightfield, x: u32, y: u32) -> [f32; 3] {
    let t = |x: u32, y: u32| hf.thickness_at(x, y);
    let (xl, xr) = (x.saturating_sub(1), (x + 1).min(hf.width - 1));
    let (yu, yd) = (y.saturating_sub(1), (y + 1).min(hf.height - 1));
    // World +y is grid row -1.
    let dx = (t(xr, y) - t(xl, y)) / ((xr - xl).max(1) as f32 * hf.pitch_mm);
    let dy = (t(x, yu) - t(x, yd)) / ((yd - yu).max(1) as f32 * hf.pitch_mm);
    let n = [-dx, -dy, 1.0];
    let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    n.map(|c| c / length)
}

impl IndexedHeightfield<'_> {
    /// Calls `each` with every vertex of `part` as a grid corner, in index order.
    fn points(
        &self,
        part: usize,
        each: &mut dyn FnMut(Corner) -> io::Result<()>,
    ) -> io::Result<()> {
        // In the order `new` numbered them.
        if let Some(used) = &self.used {
            for &g in &used[part] {
                each(Corner::top((g % self.hf.width, g / self.hf.width)))?;
            }
        } else {
            let [x0, y0, x1, y1] = self.regions.boxes[part];
            for y in y0..=y1 + 1 {
                for x in x0..=x1 + 1 {
                    if belongs(&self.regions, &self.hf.cells, part, x, y) {
                        each(Corner::top((x, y)))?;
                    }
                }
            }
        }
        for &(x, y) in &self.floors[part] {
            each(Corner::floor((x, y)))?;
        }
        Ok(())
    }
}

impl Parts for IndexedHeightfield<'_> {
    fn sizes(&self) -> &[PartSize] {
        &self.sizes
    }

    fn vertices(
        &self,
        part: usize,
        each: &mut dyn FnMut([f32; 3], [f32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.points(part, &mut |corner| {
            let normal =
                if corner.top { top_normal(self.hf, corner.x, corner.y) } else { [0.0, 0.0, -1.0] };
            each(self.hf.position(corner), normal)
        })
    }

    fn positions(
        &self,
        part: usize,
        each: &mut dyn FnMut([f32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.points(part, &mut |corner| each(self.hf.position(corner)))
    }

    fn triangles(
        &self,
        part: usize,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        let [_, y0, _, y1] = self.regions.boxes[part];
        if let Some(surface) = &self.hf.surface {
            for &t in &self.adaptive[part] {
                each(surface.triangles[t as usize].map(|g| self.top[g as usize]))?;
            }
            for corners in &self.faces[part] {
                each(corners.map(|c| self.index(c)))?;
            }
            return Ok(());
        }
        self.cells(part, y0..=y1, each)?;
        for corners in &self.faces[part] {
            each(corners.map(|c| self.index(c)))?;
        }
        Ok(())
    }

    fn triangles_touching(
        &self,
        part: usize,
        vertices: std::ops::Range<u32>,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.hf.surface.is_some() || vertices.is_empty() {
            return self.triangles(part, each);
        }
        // The rows holding the band's top vertices, and the cells around them.
        let [_, y0, _, y1] = self.regions.boxes[part];
        let starts = &self.row_starts[part];
        let row = |v: u32| y0 + starts.partition_point(|&s| s <= v).saturating_sub(1) as u32;
        let tops = self.sizes[part].vertices as u32 - self.floors[part].len() as u32;
        if vertices.start < tops {
            let (first, last) = (row(vertices.start), row((vertices.end - 1).min(tops - 1)));
            self.cells(part, first.saturating_sub(1).max(y0)..=last.min(y1), each)?;
        }
        for corners in &self.faces[part] {
            each(corners.map(|c| self.index(c)))?;
        }
        Ok(())
    }
}

impl IndexedHeightfield<'_> {
    /// Calls `each` with the top-surface triangles of `part`'s cells in `rows`.
    fn cells(
        &self,
        part: usize,
        rows: std::ops::RangeInclusive<u32>,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        let [x0, _, x1, _] = self.regions.boxes[part];
        let w = self.hf.width as usize;
        let cells = &self.hf.cells;
        for y in rows {
            for x in x0..=x1 {
                if self.regions.of(cells, i64::from(x), i64::from(y)) != Some(part as u32) {
                    continue;
                }
                // As the top-surface kernel splits a cell: (a, c, d) and (a, d, b).
                let at = |dx: u32, dy: u32| self.top[(y + dy) as usize * w + (x + dx) as usize];
                let (a, b, c, d) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
                each([a, c, d])?;
                each([a, d, b])?;
            }
        }
        Ok(())
    }
}

/// Whether grid point `(x, y)` is a corner of a cell of region `part`.
fn belongs(regions: &Regions, cells: &super::Cells, part: usize, x: u32, y: u32) -> bool {
    let (xi, yi) = (i64::from(x), i64::from(y));
    [(xi - 1, yi - 1), (xi, yi - 1), (xi - 1, yi), (xi, yi)]
        .iter()
        .any(|&(cx, cy)| regions.of(cells, cx, cy) == Some(part as u32))
}

/// The check of a flat panel with two triangles per cell from its structure.
///
/// Every cell is split the same way, `(a, c, d)` and `(a, d, b)` with `a` its corner at `(x,
/// y)`, `b` at `(x + 1, y)`, `c` at `(x, y + 1)` and `d` at `(x + 1, y + 1)`, so a grid point
/// whose four cells are all its part's is a corner of exactly six triangles, which chain into
/// one closed fan with each edge run once each way; no wall or floor face reaches it. Such
/// points are sound by construction. The rest, the rim, is checked as any mesh is: the points
/// at the outline (with every cell around them), the walls and the floor. The part's top is
/// connected (its cells are edge-connected), so its shells are the top and what the rim joins
/// to it.
impl IndexedHeightfield<'_> {
    /// The check, when the panel passes it; `None` when anything is wrong (or cannot be proved
    /// here), for the general check to say what.
    pub(crate) fn check_by_structure(&self) -> Option<crate::check::Check> {
        use crate::check::Check;
        if self.hf.surface.is_some() {
            return None;
        }
        let mut check = Check { closed: true, manifold: true, oriented: true, ..Check::default() };
        for part in 0..self.sizes.len() {
            check.add(&self.part_by_structure(part)?);
        }
        Some(check)
    }

    fn part_by_structure(&self, part: usize) -> Option<crate::check::Check> {
        use rayon::prelude::*;

        use crate::check::{Check, Counts, degenerate, vertex_counts};
        use crate::sets::Sets;

        let [x0, y0, x1, y1] = self.regions.boxes[part];
        let (cells, w) = (&self.hf.cells, self.hf.width as usize);
        let ours = |x: i64, y: i64| self.regions.of(cells, x, y) == Some(part as u32);
        // A point is regular when its four cells are the part's.
        let regular = |x: u32, y: u32| {
            let (x, y) = (i64::from(x), i64::from(y));
            ours(x - 1, y - 1) && ours(x, y - 1) && ours(x - 1, y) && ours(x, y)
        };
        // Row by row: the cells' volume, and the rim's cells and points.
        struct Row {
            solid: u64,
            volume: f64,
            triangles: Vec<[u32; 3]>,
            points: Vec<u32>,
        }
        let rows: Vec<Row> = (y0..=y1)
            .into_par_iter()
            .map(|y| {
                let mut row =
                    Row { solid: 0, volume: 0.0, triangles: Vec::new(), points: Vec::new() };
                for x in x0..=x1 {
                    if !ours(i64::from(x), i64::from(y)) {
                        continue;
                    }
                    row.solid += 1;
                    let at = |dx: u32, dy: u32| self.top[(y + dy) as usize * w + (x + dx) as usize];
                    let (a, b, c, d) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
                    let p = |dx: u32, dy: u32| self.hf.position(Corner::top((x + dx, y + dy)));
                    let (pa, pb, pc, pd) = (p(0, 0), p(1, 0), p(0, 1), p(1, 1));
                    row.volume += lifted(pa, pc, pd) + lifted(pa, pd, pb);
                    let corners = [(0, 0, a), (1, 0, b), (0, 1, c), (1, 1, d)];
                    let mut rim = false;
                    for (dx, dy, v) in corners {
                        if !regular(x + dx, y + dy) {
                            rim = true;
                            row.points.push(v);
                        }
                    }
                    if rim {
                        row.triangles.extend([[a, c, d], [a, d, b]]);
                    }
                }
                row
            })
            .collect();
        let faces: Vec<[u32; 3]> =
            self.faces[part].iter().map(|corners| corners.map(|c| self.index(c))).collect();
        let mut volume: f64 = rows.iter().map(|r| r.volume).sum();
        for corners in &self.faces[part] {
            let [p, q, r] = corners.map(|c| self.hf.position(c));
            volume += lifted(p, q, r);
        }
        let solid: u64 = rows.iter().map(|r| r.solid).sum();
        let tops = self.sizes[part].vertices as u32 - self.floors[part].len() as u32;
        let mut rim_points: Vec<u32> = rows.iter().flat_map(|r| r.points.iter().copied()).collect();
        rim_points.sort_unstable();
        rim_points.dedup();
        let is_rim = |v: u32| v >= tops || rim_points.binary_search(&v).is_ok();
        let rim = rows.iter().flat_map(|r| r.triangles.iter()).chain(&faces);
        // Shells: the top is one node, each floor point another.
        let node = |v: u32| if v < tops { 0 } else { 1 + v - tops };
        let mut sets = Sets::new(1 + self.floors[part].len());
        let mut corners: Vec<(u32, u32, u32)> = Vec::new();
        for &t in rim.clone() {
            if degenerate(t) {
                return None;
            }
            sets.join(node(t[0]), node(t[1]));
            sets.join(node(t[0]), node(t[2]));
            let [a, b, c] = t;
            for (v, b, c) in [(a, b, c), (b, c, a), (c, a, b)] {
                if is_rim(v) {
                    corners.push((v, b, c));
                }
            }
        }
        let shells = (0..1 + self.floors[part].len() as u32).filter(|&n| sets.root(n) == n).count();
        if shells != 1 || volume <= 0.0 {
            return None;
        }
        corners.par_sort_unstable();
        let fans: Vec<(u32, Vec<(u32, u32)>)> = corners
            .chunk_by(|p, q| p.0 == q.0)
            .map(|fan| (fan[0].0, fan.iter().map(|&(_, b, c)| (b, c)).collect()))
            .collect();
        let counts = fans
            .par_iter()
            .map(|(v, fan)| vertex_counts(*v, fan))
            .reduce(Counts::default, |a, b| a + b);
        counts.is_clean().then_some(Check {
            closed: true,
            manifold: true,
            oriented: true,
            shells: 1,
            volume_mm3: volume,
            triangles: 2 * solid + faces.len() as u64,
            ..Check::default()
        })
    }
}

/// A face's share of the volume under it: its mean height times its area seen from above,
/// signed by its winding (the divergence theorem with the field `(0, 0, z)`; walls, seen
/// edge on, add nothing).
fn lifted(p: [f32; 3], q: [f32; 3], r: [f32; 3]) -> f64 {
    let [p, q, r] = [p, q, r].map(|v| v.map(f64::from));
    let twice_area = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
    twice_area * (p[2] + q[2] + r[2]) / 6.0
}

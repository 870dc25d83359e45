//! Vertex removal: rounds of exactly checked half-edge collapses.
//!
//! Collapsing vertex `v` into a neighbour `u` replaces `v` by `u` in every triangle around `v`
//! and drops the two that held both. It is kept only when every new triangle keeps its
//! orientation (so they tile the hole `v` leaves exactly) and every grid point under them lies
//! within the bound of their planes, checked exactly in integers. Vertices on the outline and
//! the grid's border are locked. A round tries every queued vertex in parallel against the
//! mesh as the round found it, then applies the successes in order, each only if no collapse
//! before it touched its star (then its try still holds); the rest wait for the next round.
//! A collapse queues its neighbours again; a vertex that failed is tried again only when its
//! neighbourhood changes.

use rayon::prelude::*;
use smallvec::SmallVec;

use super::Grid;
use crate::kernels::POINT_INTERIOR;

type Point = [i32; 2];

const DEAD: [u32; 3] = [u32::MAX; 3];
const NONE: u32 = u32::MAX;
/// Rounds after which what is left stays: each later round removes very little.
const MAX_ROUNDS: u32 = 200;

/// Twice the signed area of `(a, b, c)`, positive when counter-clockwise from above (grid
/// rows run down).
fn orient(a: Point, b: Point, c: Point) -> i64 {
    let (ax, ay) = (i64::from(a[0]), i64::from(a[1]));
    (i64::from(b[1]) - ay) * (i64::from(c[0]) - ax)
        - (i64::from(b[0]) - ax) * (i64::from(c[1]) - ay)
}

/// Grid heights, in steps, to check planes against.
struct Heights<'a> {
    steps: &'a [u16],
    width: u32,
}

impl Heights<'_> {
    fn at(&self, p: Point) -> i64 {
        i64::from(self.steps[p[1] as usize * self.width as usize + p[0] as usize])
    }

    /// Whether every grid point of triangle `t` (counter-clockwise, edges included, its
    /// corners' heights `q`) lies within `bound` steps of its plane. The three edge functions
    /// and the plane are linear in the point: each row's span inside all three edges is found
    /// by division, and each step along it adds a constant to the plane.
    fn within(&self, t: [Point; 3], q: [i64; 3], bound: i64) -> bool {
        let [a, b, c] = t;
        let area = orient(a, b, c);
        // orient(p, q, r) over p is k + x (r.y - q.y) + y (q.x - r.x).
        let edge = |q: Point, r: Point| {
            let (qx, qy) = (i64::from(q[0]), i64::from(q[1]));
            let (rx, ry) = (i64::from(r[0]), i64::from(r[1]));
            (qy * rx - qx * ry, ry - qy, qx - rx)
        };
        let edges = [edge(b, c), edge(c, a), edge(a, b)];
        // The plane, scaled by the area: the edge functions weigh the corners' heights.
        let (p0, px, py) =
            edges.iter().zip(q).fold((0, 0, 0), |(p0, px, py), (&(k, dx, dy), q)| {
                (p0 + k * q, px + dx * q, py + dy * q)
            });
        let (x0, x1) = (a[0].min(b[0]).min(c[0]), a[0].max(b[0]).max(c[0]));
        let (y0, y1) = (a[1].min(b[1]).min(c[1]), a[1].max(b[1]).max(c[1]));
        let limit = bound * area;
        let width = self.width as usize;
        'rows: for y in y0..=y1 {
            let y = i64::from(y);
            let (mut lo, mut hi) = (i64::from(x0), i64::from(x1));
            for &(k, dx, dy) in &edges {
                // Inside this edge: k + y dy + x dx >= 0.
                let at = k + y * dy;
                match dx.signum() {
                    1 => lo = lo.max(-at.div_euclid(dx)),
                    -1 => hi = hi.min(at.div_euclid(-dx)),
                    _ if at < 0 => continue 'rows,
                    _ => {}
                }
            }
            if lo > hi {
                continue;
            }
            let row = y as usize * width;
            let mut plane = p0 + lo * px + y * py;
            for &h in &self.steps[row + lo as usize..=row + hi as usize] {
                if (area * i64::from(h) - plane).abs() > limit {
                    return false;
                }
                plane += px;
            }
        }
        true
    }
}

/// A triangle around the vertex being tried, `[v, p, q]`: its far corners' numbers, places
/// and heights, looked up once.
#[derive(Clone, Copy)]
struct Around {
    p: u32,
    q: u32,
    at: [Point; 2],
    height: [i64; 2],
}

/// The error at `p` (height `own`) of the triangle of `fan` that holds it, scaled to compare
/// across triangles; `None` when none does.
fn error_at(p: Point, own: i64, fan: &[([Point; 3], [i64; 3])]) -> Option<f64> {
    fan.iter().find_map(|&([a, b, c], q)| {
        let (wa, wb, wc) = (orient(p, b, c), orient(a, p, c), orient(a, b, p));
        if wa < 0 || wb < 0 || wc < 0 {
            return None;
        }
        let area = orient(a, b, c);
        let difference = area * own - (wa * q[0] + wb * q[1] + wc * q[2]);
        Some(difference.abs() as f64 / area as f64)
    })
}

/// The triangles around a vertex, each turned to start at it.
type Star = SmallVec<[[u32; 3]; 16]>;

/// The mesh being simplified: triangles over compact vertex numbers, and each vertex's
/// triangles as chains of lists (a collapse appends the removed vertex's chain to its target's).
struct Mesh {
    triangles: Vec<[u32; 3]>,
    points: Vec<Point>,
    locked: Vec<bool>,
    removed: Vec<bool>,
    offsets: Vec<u32>,
    lists: Vec<u32>,
    next: Vec<u32>,
    tail: Vec<u32>,
}

impl Mesh {
    fn new(triangles: &[[u32; 3]], grid: &Grid) -> (Self, Vec<u32>) {
        use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
        let w = grid.width as usize;
        // Vertices are the grid points triangles use, numbered in grid order.
        let used: Vec<AtomicU32> =
            (0..w * grid.height as usize).map(|_| AtomicU32::new(0)).collect();
        triangles.par_iter().for_each(|t| {
            for &g in t {
                used[g as usize].store(1, Relaxed);
            }
        });
        let mut number: Vec<u32> = used.into_iter().map(AtomicU32::into_inner).collect();
        let mut grid_index = Vec::new();
        for (g, n) in number.iter_mut().enumerate() {
            if *n != 0 {
                *n = grid_index.len() as u32;
                grid_index.push(g as u32);
            }
        }
        let triangles: Vec<[u32; 3]> =
            triangles.par_iter().map(|t| t.map(|g| number[g as usize])).collect();
        drop(number);
        let count = grid_index.len();
        let points: Vec<Point> = grid_index
            .par_iter()
            .map(|&g| [(g as usize % w) as i32, (g as usize / w) as i32])
            .collect();
        let locked = points
            .par_iter()
            .map(|p| {
                grid.points[p[1] as usize * grid.size as usize + p[0] as usize] >> 16
                    != POINT_INTERIOR
            })
            .collect();
        // Each vertex's triangles, counted and placed in parallel: their order within a list
        // does not change what a collapse finds.
        let degree: Vec<AtomicU32> = (0..count).map(|_| AtomicU32::new(0)).collect();
        triangles.par_iter().for_each(|t| {
            for &v in t {
                degree[v as usize].fetch_add(1, Relaxed);
            }
        });
        let mut offsets = vec![0u32; count + 1];
        for (i, d) in degree.iter().enumerate() {
            offsets[i + 1] = offsets[i] + d.load(Relaxed);
        }
        let fill: Vec<AtomicU32> = offsets[..count].iter().map(|&o| AtomicU32::new(o)).collect();
        let lists: Vec<AtomicU32> = (0..triangles.len() * 3).map(|_| AtomicU32::new(0)).collect();
        triangles.par_iter().enumerate().for_each(|(i, t)| {
            for &v in t {
                lists[fill[v as usize].fetch_add(1, Relaxed) as usize].store(i as u32, Relaxed);
            }
        });
        let lists = lists.into_iter().map(AtomicU32::into_inner).collect();
        let mesh = Mesh {
            triangles,
            points,
            locked,
            removed: vec![false; count],
            offsets,
            lists,
            next: vec![NONE; count],
            tail: (0..count as u32).collect(),
        };
        (mesh, grid_index)
    }

    /// The live triangles around `v`, each turned to start at `v`.
    fn star(&self, v: u32, out: &mut Star, ids: Option<&mut Vec<u32>>) {
        out.clear();
        let mut ids = ids;
        if let Some(ids) = ids.as_deref_mut() {
            ids.clear();
        }
        let mut list = v;
        while list != NONE {
            let (start, end) = (self.offsets[list as usize], self.offsets[list as usize + 1]);
            for &t in &self.lists[start as usize..end as usize] {
                let [a, b, c] = self.triangles[t as usize];
                let turned = if a == v {
                    [a, b, c]
                } else if b == v {
                    [b, c, a]
                } else if c == v {
                    [c, a, b]
                } else {
                    continue;
                };
                out.push(turned);
                if let Some(ids) = ids.as_deref_mut() {
                    ids.push(t);
                }
            }
            list = self.next[list as usize];
        }
    }

    /// The neighbour `v` collapses into, if any keeps the bound.
    fn target(&self, v: u32, heights: &Heights<'_>, bound: i64) -> Option<u32> {
        let mut star = Star::new();
        self.star(v, &mut star, None);
        let around: SmallVec<[Around; 16]> = star
            .iter()
            .map(|&[_, p, q]| {
                let at = [self.points[p as usize], self.points[q as usize]];
                Around { p, q, at, height: at.map(|a| heights.at(a)) }
            })
            .collect();
        // Whatever the collapse, the surface at v interpolates its neighbours: v above the
        // highest or below the lowest by more than the bound cannot go.
        let (at_v, own) = (self.points[v as usize], heights.at(self.points[v as usize]));
        let (lo, hi) = around
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), a| (lo.min(a.height[0]), hi.max(a.height[0])));
        if own > hi + bound || own < lo - bound {
            return None;
        }
        let mut fan: SmallVec<[([Point; 3], [i64; 3]); 16]> = SmallVec::new();
        let mut options: SmallVec<[(f64, usize); 16]> = SmallVec::new();
        for (k, target) in around.iter().enumerate() {
            let (u, at_u, height_u) = (target.p, target.at[0], target.height[0]);
            fan.clear();
            let mut folds = false;
            for a in around.iter().filter(|a| a.p != u && a.q != u) {
                let t = [at_u, a.at[0], a.at[1]];
                if orient(t[0], t[1], t[2]) <= 0 {
                    folds = true;
                    break;
                }
                fan.push((t, [height_u, a.height[0], a.height[1]]));
            }
            if folds {
                continue;
            }
            // A cheap test first: the removed vertex's own point.
            match error_at(at_v, own, &fan) {
                Some(error) if error <= bound as f64 => options.push((error, k)),
                _ => {}
            }
        }
        options.sort_by(|a, b| a.0.total_cmp(&b.0).then(around[a.1].p.cmp(&around[b.1].p)));
        options.into_iter().map(|(_, k)| around[k]).map(|target| target.p).find(|&u| {
            let (at_u, height_u) = (self.points[u as usize], heights.at(self.points[u as usize]));
            around.iter().filter(|a| a.p != u && a.q != u).all(|a| {
                heights.within(
                    [at_u, a.at[0], a.at[1]],
                    [height_u, a.height[0], a.height[1]],
                    bound,
                )
            })
        })
    }

    /// Collapses `v` into `u`, leaving `v`'s star as it was in `star` (and its triangles'
    /// numbers in `ids`).
    fn collapse(&mut self, v: u32, u: u32, star: &mut Star, ids: &mut Vec<u32>) {
        self.star(v, star, Some(ids));
        for &t in ids.iter() {
            let triangle = &mut self.triangles[t as usize];
            if triangle.contains(&u) {
                *triangle = DEAD;
            } else {
                for corner in triangle.iter_mut() {
                    if *corner == v {
                        *corner = u;
                    }
                }
            }
        }
        let end = self.tail[u as usize];
        self.next[end as usize] = v;
        self.tail[u as usize] = self.tail[v as usize];
        self.removed[v as usize] = true;
    }
}

/// `triangles` (grid indices) with as many interior vertices removed as `bound` steps allow.
pub(super) fn simplify(
    triangles: Vec<[u32; 3]>,
    grid: &Grid,
    steps: &[u16],
    bound: i64,
) -> Vec<[u32; 3]> {
    let (mut mesh, grid_index) = Mesh::new(&triangles, grid);
    drop(triangles);
    let heights = Heights { steps, width: grid.width };
    let count = mesh.points.len();
    let mut queued: Vec<bool> = mesh.locked.iter().map(|&l| !l).collect();
    let mut queue: Vec<u32> = (0..count as u32).filter(|&v| queued[v as usize]).collect();
    let mut touched = vec![false; count];
    let (mut star, mut ids) = (Star::new(), Vec::new());
    for round in 0..MAX_ROUNDS {
        if queue.is_empty() {
            break;
        }
        tracing::trace!(round, queued = queue.len(), "vertex removal");
        // Every queued vertex tried against the mesh as the round found it.
        let targets: Vec<Option<u32>> =
            queue.par_iter().map(|&v| mesh.target(v, &heights, bound)).collect();
        for (&v, target) in queue.iter().zip(&targets) {
            if target.is_none() {
                queued[v as usize] = false;
            }
        }
        // Then applied in order, each only if no collapse before it changed its star; the
        // others are tried again next round.
        let mut rest = Vec::new();
        let mut marked = Vec::new();
        for (&v, target) in queue.iter().zip(targets) {
            let Some(u) = target else { continue };
            if touched[v as usize] {
                rest.push(v);
                continue;
            }
            mesh.collapse(v, u, &mut star, &mut ids);
            queued[v as usize] = false;
            for &[_, p, q] in &star {
                for x in [p, q] {
                    let x = x as usize;
                    if !touched[x] {
                        touched[x] = true;
                        marked.push(x);
                    }
                    if !mesh.locked[x] && !mesh.removed[x] && !queued[x] {
                        queued[x] = true;
                        rest.push(x as u32);
                    }
                }
            }
        }
        for x in marked {
            touched[x] = false;
        }
        // In vertex order, whatever order the lists found them in: the mesh is the same on
        // every run and backend.
        rest.par_sort_unstable();
        queue = rest;
    }
    mesh.triangles
        .into_par_iter()
        .filter(|t| *t != DEAD)
        .map(|t| t.map(|v| grid_index[v as usize]))
        .collect()
}

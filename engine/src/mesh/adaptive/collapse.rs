//! Vertex removal: rounds of half-edge collapses over independent vertices.
//!
//! Collapsing vertex `v` into a neighbour `u` replaces `v` by `u` in every triangle around `v`
//! and drops the two that held both. It is kept only when every new triangle keeps its
//! orientation (so they tile the hole `v` leaves exactly) and every grid point under them lies
//! within the bound of their planes, checked exactly in integers. Vertices on the outline and
//! the grid's border are locked. A round picks a maximal set of unlocked vertices no two of
//! which are neighbours, tries them in parallel (their stars do not overlap, so each try sees
//! the mesh the others leave), applies the successes, and queues their neighbours again;
//! a vertex that failed is tried again only when its neighbourhood changes.

use rayon::prelude::*;

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

    /// Whether every grid point of triangle `t` (counter-clockwise, edges included) lies
    /// within `bound` steps of its plane.
    fn within(&self, t: [Point; 3], bound: i64) -> bool {
        let [a, b, c] = t;
        let area = orient(a, b, c);
        let (qa, qb, qc) = (self.at(a), self.at(b), self.at(c));
        let (x0, x1) = (a[0].min(b[0]).min(c[0]), a[0].max(b[0]).max(c[0]));
        let (y0, y1) = (a[1].min(b[1]).min(c[1]), a[1].max(b[1]).max(c[1]));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let p = [x, y];
                let (wa, wb, wc) = (orient(p, b, c), orient(a, p, c), orient(a, b, p));
                if wa < 0 || wb < 0 || wc < 0 {
                    continue;
                }
                let difference = area * self.at(p) - (wa * qa + wb * qb + wc * qc);
                if difference.abs() > bound * area {
                    return false;
                }
            }
        }
        true
    }

    /// The error at `p` of the triangle of `fan` that holds it, scaled to compare across
    /// triangles; `None` when none does.
    fn at_point(&self, p: Point, fan: &[[Point; 3]]) -> Option<f64> {
        fan.iter().find_map(|&[a, b, c]| {
            let (wa, wb, wc) = (orient(p, b, c), orient(a, p, c), orient(a, b, p));
            if wa < 0 || wb < 0 || wc < 0 {
                return None;
            }
            let area = orient(a, b, c);
            let difference =
                area * self.at(p) - (wa * self.at(a) + wb * self.at(b) + wc * self.at(c));
            Some(difference.abs() as f64 / area as f64)
        })
    }
}

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
        let w = grid.width as usize;
        let mut number = vec![NONE; w * grid.height as usize];
        for t in triangles {
            for &g in t {
                number[g as usize] = 0;
            }
        }
        let mut grid_index = Vec::new();
        for (g, n) in number.iter_mut().enumerate() {
            if *n != NONE {
                *n = grid_index.len() as u32;
                grid_index.push(g as u32);
            }
        }
        let triangles: Vec<[u32; 3]> =
            triangles.par_iter().map(|t| t.map(|g| number[g as usize])).collect();
        drop(number);
        let count = grid_index.len();
        let points: Vec<Point> = grid_index
            .iter()
            .map(|&g| [(g as usize % w) as i32, (g as usize / w) as i32])
            .collect();
        let locked = points
            .iter()
            .map(|p| {
                grid.points[p[1] as usize * grid.size as usize + p[0] as usize] >> 16
                    != POINT_INTERIOR
            })
            .collect();
        let mut offsets = vec![0u32; count + 1];
        for t in &triangles {
            for &v in t {
                offsets[v as usize + 1] += 1;
            }
        }
        for i in 0..count {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut lists = vec![0u32; triangles.len() * 3];
        for (i, t) in triangles.iter().enumerate() {
            for &v in t {
                lists[fill[v as usize] as usize] = i as u32;
                fill[v as usize] += 1;
            }
        }
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
    fn star(&self, v: u32, out: &mut Vec<[u32; 3]>, ids: Option<&mut Vec<u32>>) {
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
        let mut star = Vec::with_capacity(12);
        self.star(v, &mut star, None);
        let at = |i: u32| self.points[i as usize];
        let mut fan: Vec<[Point; 3]> = Vec::with_capacity(12);
        let mut options: Vec<(f64, u32)> = Vec::with_capacity(12);
        for &[_, u, _] in &star {
            fan.clear();
            let mut folds = false;
            for &[_, p, q] in &star {
                if p == u || q == u {
                    continue;
                }
                let t = [at(u), at(p), at(q)];
                if orient(t[0], t[1], t[2]) <= 0 {
                    folds = true;
                    break;
                }
                fan.push(t);
            }
            if folds {
                continue;
            }
            // A cheap test first: the removed vertex's own point.
            match heights.at_point(at(v), &fan) {
                Some(error) if error <= bound as f64 => options.push((error, u)),
                _ => {}
            }
        }
        options.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        options.into_iter().map(|(_, u)| u).find(|&u| {
            star.iter()
                .filter(|&&[_, p, q]| p != u && q != u)
                .all(|&[_, p, q]| heights.within([at(u), at(p), at(q)], bound))
        })
    }

    /// Collapses `v` into `u`; returns `v`'s neighbours.
    fn collapse(&mut self, v: u32, u: u32, star: &mut Vec<[u32; 3]>, ids: &mut Vec<u32>) {
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
    let mut blocked = vec![false; count];
    let (mut star, mut ids) = (Vec::new(), Vec::new());
    for _ in 0..MAX_ROUNDS {
        if queue.is_empty() {
            break;
        }
        // A maximal independent set of the queue, in order.
        let mut chosen = Vec::new();
        let mut rest = Vec::new();
        let mut touched = Vec::new();
        for &v in &queue {
            if blocked[v as usize] {
                rest.push(v);
                continue;
            }
            chosen.push(v);
            mesh.star(v, &mut star, None);
            for &[_, p, q] in &star {
                for x in [v, p, q] {
                    if !blocked[x as usize] {
                        blocked[x as usize] = true;
                        touched.push(x);
                    }
                }
            }
        }
        for x in touched {
            blocked[x as usize] = false;
        }
        let targets: Vec<Option<u32>> =
            chosen.par_iter().map(|&v| mesh.target(v, &heights, bound)).collect();
        for &v in &chosen {
            queued[v as usize] = false;
        }
        for (&v, target) in chosen.iter().zip(targets) {
            let Some(u) = target else { continue };
            mesh.collapse(v, u, &mut star, &mut ids);
            for &[_, p, q] in &star {
                for x in [p, q] {
                    let x = x as usize;
                    if !mesh.locked[x] && !mesh.removed[x] && !queued[x] {
                        queued[x] = true;
                        rest.push(x as u32);
                    }
                }
            }
        }
        queue = rest;
    }
    mesh.triangles
        .into_par_iter()
        .filter(|t| *t != DEAD)
        .map(|t| t.map(|v| grid_index[v as usize]))
        .collect()
}

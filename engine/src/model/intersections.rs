//! Pairs of faces that cross each other, found through bounding volume hierarchies over the
//! faces' boxes, one for each size of face (a relief's floor spans the model in long thin
//! triangles and its walls stand tall; mixed in with the rest, they would swell every box of
//! one tree). Each face asks its own tree and those of larger faces for the faces whose boxes
//! overlap its own, so each pair is tested once. Faces that share a corner are not tested (neighbours meet along their
//! edges by design). The test separates the two triangles along their normals, the cross
//! products of their edges, and each normal crossed with its own edges (for triangles in one
//! plane): touching is not crossing.

use rayon::prelude::*;

type Box3 = ([f64; 3], [f64; 3]);

/// Faces a leaf holds at most.
const LEAF: usize = 4;
/// Trees by face size: up to 2x the median box, then each 4x larger, the last open-ended.
const TIERS: usize = 6;

struct Node {
    bounds: Box3,
    /// A leaf's faces are `order[start..start + count]`; an inner node's children are
    /// `first` and `first + 1`.
    start: u32,
    count: u32,
    first: u32,
}

struct Hierarchy {
    nodes: Vec<Node>,
    order: Vec<u32>,
}

fn overlap(p: &Box3, q: &Box3) -> bool {
    (0..3).all(|k| p.0[k] <= q.1[k] && q.0[k] <= p.1[k])
}

fn union(p: &Box3, q: &Box3) -> Box3 {
    (std::array::from_fn(|k| p.0[k].min(q.0[k])), std::array::from_fn(|k| p.1[k].max(q.1[k])))
}

impl Hierarchy {
    /// The tree over the faces of `boxes` that `holds`.
    fn new(boxes: &[Option<Box3>], holds: impl Fn(u32) -> bool) -> Self {
        let order: Vec<u32> =
            (0..boxes.len() as u32).filter(|&f| boxes[f as usize].is_some() && holds(f)).collect();
        let mut tree = Hierarchy { nodes: Vec::new(), order };
        if !tree.order.is_empty() {
            tree.nodes.push(Node { bounds: ([0.0; 3], [0.0; 3]), start: 0, count: 0, first: 0 });
            tree.build(0, 0, tree.order.len(), boxes);
        }
        tree
    }

    fn build(&mut self, node: usize, start: usize, end: usize, boxes: &[Option<Box3>]) {
        let of = |f: u32| boxes[f as usize].unwrap_or_default();
        let bounds =
            self.order[start..end].iter().map(|&f| of(f)).reduce(|a, b| union(&a, &b)).unwrap();
        self.nodes[node].bounds = bounds;
        if end - start <= LEAF {
            (self.nodes[node].start, self.nodes[node].count) = (start as u32, (end - start) as u32);
            return;
        }
        // Split at the median centre along the widest axis.
        let axis = (0..3)
            .max_by(|&a, &b| (bounds.1[a] - bounds.0[a]).total_cmp(&(bounds.1[b] - bounds.0[b])))
            .unwrap_or(0);
        let centre = |f: u32| {
            let b = of(f);
            b.0[axis] + b.1[axis]
        };
        let middle = (end - start) / 2;
        self.order[start..end]
            .select_nth_unstable_by(middle, |&a, &b| centre(a).total_cmp(&centre(b)));
        let first = self.nodes.len();
        self.nodes[node].first = first as u32;
        for _ in 0..2 {
            self.nodes.push(Node { bounds, start: 0, count: 0, first: 0 });
        }
        self.build(first, start, start + middle, boxes);
        self.build(first + 1, start + middle, end, boxes);
    }

    /// Calls `visit` with every face whose box overlaps `query`.
    fn each_overlapping(&self, query: &Box3, boxes: &[Option<Box3>], mut visit: impl FnMut(u32)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack: smallvec::SmallVec<[usize; 64]> = smallvec::smallvec![0];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n];
            if !overlap(&node.bounds, query) {
                continue;
            }
            if node.count > 0 {
                let faces = &self.order[node.start as usize..(node.start + node.count) as usize];
                for &f in faces {
                    if boxes[f as usize].is_some_and(|b| overlap(&b, query)) {
                        visit(f);
                    }
                }
            } else {
                stack.extend([node.first as usize, node.first as usize + 1]);
            }
        }
    }
}

pub(super) fn count(
    faces: &[[u32; 3]],
    positions: &[[f32; 3]],
    live: &(dyn Fn(usize) -> bool + Sync),
) -> usize {
    let corner = |v: u32| positions[v as usize].map(f64::from);
    let boxes: Vec<Option<Box3>> = faces
        .par_iter()
        .enumerate()
        .map(|(f, t)| {
            live(f).then(|| {
                let p = t.map(corner);
                (
                    std::array::from_fn(|k| p[0][k].min(p[1][k]).min(p[2][k])),
                    std::array::from_fn(|k| p[0][k].max(p[1][k]).max(p[2][k])),
                )
            })
        })
        .collect();
    // Tiers by size: a box's longest side over the median's, in powers of 4.
    let side = |b: &Box3| (0..3).map(|k| b.1[k] - b.0[k]).fold(0.0, f64::max);
    let mut sides: Vec<f64> = boxes.iter().flatten().map(side).collect();
    let median = if sides.is_empty() {
        0.0
    } else {
        let middle = sides.len() / 2;
        *sides.select_nth_unstable_by(middle, f64::total_cmp).1
    };
    let tier_of = |b: &Box3| {
        let ratio = side(b) / median.max(f64::MIN_POSITIVE);
        if ratio <= 2.0 { 0 } else { ((ratio / 2.0).log(4.0) as usize + 1).min(TIERS - 1) }
    };
    let tiers: Vec<u8> = boxes.iter().map(|b| b.as_ref().map_or(0, |b| tier_of(b) as u8)).collect();
    let trees: Vec<Hierarchy> =
        (0..TIERS).map(|t| Hierarchy::new(&boxes, |f| tiers[f as usize] as usize == t)).collect();
    (0..faces.len())
        .into_par_iter()
        .filter_map(|f| boxes[f].map(|b| (f, b)))
        .map(|(f, query)| {
            let a = faces[f];
            let mut found = 0;
            let mut test = |g: u32| {
                let b = faces[g as usize];
                if !a.iter().any(|v| b.contains(v)) && crosses(a.map(corner), b.map(corner)) {
                    found += 1;
                }
            };
            // Each pair once: within a tier from its lower face, across tiers from the smaller.
            let own = tiers[f] as usize;
            trees[own].each_overlapping(&query, &boxes, |g| {
                if g as usize > f {
                    test(g);
                }
            });
            for tree in &trees[own + 1..] {
                tree.each_overlapping(&query, &boxes, &mut test);
            }
            found
        })
        .sum()
}

fn sub(p: [f64; 3], q: [f64; 3]) -> [f64; 3] {
    [p[0] - q[0], p[1] - q[1], p[2] - q[2]]
}
/// Whether triangles `a` and `b` overlap with positive depth along every separating axis.
fn crosses(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> bool {
    let cross = |u: [f64; 3], v: [f64; 3]| {
        [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
    };
    let dot = |u: [f64; 3], v: [f64; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    let ea = [sub(a[1], a[0]), sub(a[2], a[1]), sub(a[0], a[2])];
    let eb = [sub(b[1], b[0]), sub(b[2], b[1]), sub(b[0], b[2])];
    let (na, nb) = (cross(ea[0], ea[1]), cross(eb[0], eb[1]));
    let scale = a.iter().chain(&b).flatten().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    // Most pairs end here: one triangle wholly to one side of the other's plane.
    let beside = |n: [f64; 3], on: [f64; 3], other: &[[f64; 3]; 3]| {
        let slack = 1e-9 * scale * (n[0].abs() + n[1].abs() + n[2].abs());
        let d = other.map(|p| dot(n, sub(p, on)));
        d.iter().all(|&d| d >= -slack) || d.iter().all(|&d| d <= slack)
    };
    if beside(na, a[0], &b) || beside(nb, b[0], &a) {
        // Unless both lie in one plane, where the in-plane axes below decide.
        let flat = |n: [f64; 3], on: [f64; 3], other: &[[f64; 3]; 3]| {
            let slack = 1e-9 * scale * (n[0].abs() + n[1].abs() + n[2].abs());
            other.iter().all(|&p| dot(n, sub(p, on)).abs() <= slack)
        };
        if !flat(na, a[0], &b) {
            return false;
        }
    }
    let separates = |axis: [f64; 3]| {
        let length = dot(axis, axis).sqrt();
        if length <= 1e-12 * scale * scale {
            return false;
        }
        let (mut a0, mut a1, mut b0, mut b1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in a {
            let d = dot(axis, p);
            (a0, a1) = (a0.min(d), a1.max(d));
        }
        for p in b {
            let d = dot(axis, p);
            (b0, b1) = (b0.min(d), b1.max(d));
        }
        // Touching, to rounding, separates.
        let slack = 1e-9 * length * scale;
        a1 <= b0 + slack || b1 <= a0 + slack
    };
    if separates(na) || separates(nb) {
        return false;
    }
    for u in ea {
        for v in eb {
            if separates(cross(u, v)) {
                return false;
            }
        }
    }
    for (n, edges) in [(na, ea), (nb, eb)] {
        for e in edges {
            if separates(cross(n, e)) {
                return false;
            }
        }
    }
    true
}

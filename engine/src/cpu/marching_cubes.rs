//! The CPU counterpart of the marching-cubes kernels `shaders/mc_classify.wgsl`,
//! `shaders/scan.wgsl`, `shaders/scan_add.wgsl`, `shaders/mc_compact.wgsl`,
//! `shaders/mc_vertices.wgsl` and `shaders/mc_triangles.wgsl`, in the flying-edges style rather
//! than loop for loop.
//!
//! It makes the same vertices and triangles in the same order as the kernels (see
//! `isosurface`), but works on rows of grid points held as bitsets: one bit per point says
//! "inside". XOR of a row with itself shifted, with the next row or with the next plane gives
//! the crossed x, y and z edges 64 points at a time; popcounts of those masks number the
//! vertices; only cells whose corners differ are ever visited. Rows run in parallel; one
//! prefix sum over rows gives each its first vertex and triangle.

use rayon::prelude::*;

use crate::isosurface::cases::{case_table, edge_owner};
use crate::isosurface::{EDGE_MARGIN, IndexedMesh, Slab};

/// Bitsets of one slab: a row of `words` u64 per (plane, y), the last word always zero so a
/// shifted read past the row's end stays in bounds.
struct Rows {
    words: usize,
    ny: usize,
    data: Vec<u64>,
}

impl Rows {
    #[inline]
    fn row(&self, plane: usize, y: usize) -> &[u64] {
        let start = (plane * self.ny + y) * self.words;
        &self.data[start..start + self.words]
    }
}

/// Word `i` of `row >> 1`.
#[inline]
fn shifted(row: &[u64], i: usize) -> u64 {
    row[i] >> 1 | row.get(i + 1).map_or(0, |w| w << 63)
}

/// Bits `x` and `x + 1` of a row, in the low two bits.
#[inline]
fn two_bits(row: &[u64], x: usize) -> usize {
    let (w, b) = (x / 64, x % 64);
    let low = row[w] >> b;
    let high = if b == 63 { row[w + 1] << 1 } else { 0 };
    ((low | high) & 3) as usize
}

/// Runs one slab, numbering its vertices from `base`, and appends them and its triangles to
/// `mesh`. Returns how many vertices it made.
pub fn slab(slab: &Slab<'_>, base: u32, mesh: &mut IndexedMesh) -> u32 {
    let [npx, npy, npz] = slab.padded();
    let [nx, _, _] = slab.dims;
    let words = npx.div_ceil(64) + 1;
    let (p0, p1) = (slab.p0, slab.p1);
    // Inside bits for planes p0..=p1 + 1 (the z edges of plane p1 need the plane above).
    let bit_planes = (p1 + 1).min(npz - 1) - p0 + 1;
    let mut inside = Rows { words, ny: npy, data: vec![0; bit_planes * npy * words] };
    inside.data.par_chunks_mut(words).enumerate().for_each(|(r, row)| {
        let (plane, y) = (p0 + r / npy, r % npy);
        if y == 0 || y == npy - 1 || plane == 0 || plane == npz - 1 {
            return;
        }
        let start = ((plane - 1 - slab.values.z0) * slab.dims[1] + y - 1) * nx;
        let values = &slab.values.data[start..start + nx];
        // Point x + 1 is voxel x.
        for (chunk, word) in values.chunks(64).zip(0..) {
            let mut bits = 0u64;
            for (i, &v) in chunk.iter().enumerate() {
                bits |= u64::from(v >= slab.iso) << i;
            }
            row[word] |= bits << 1;
            row[word + 1] |= (bits >> 63) & 1;
        }
    });

    // Crossed-edge masks of every point row in planes p0..=p1, and vertices per row.
    let point_planes = p1 - p0 + 1;
    let rows = point_planes * npy;
    let mut masks = vec![0u64; rows * 3 * words];
    let mut word_starts = vec![0u32; rows * words];
    let mut vertex_counts = vec![0u32; rows];
    masks
        .par_chunks_mut(3 * words)
        .zip(word_starts.par_chunks_mut(words))
        .zip(vertex_counts.par_iter_mut())
        .enumerate()
        .for_each(|(r, ((mask, starts), count))| {
            let (plane, y) = (r / npy, r % npy);
            let b = inside.row(plane, y);
            let next_y = (y + 1 < npy).then(|| inside.row(plane, y + 1));
            let next_z = (plane + 1 < bit_planes).then(|| inside.row(plane + 1, y));
            let mut total = 0;
            for i in 0..words {
                let x = b[i] ^ shifted(b, i);
                let yy = next_y.map_or(0, |n| b[i] ^ n[i]);
                let zz = next_z.map_or(0, |n| b[i] ^ n[i]);
                mask[i] = x;
                mask[words + i] = yy;
                mask[2 * words + i] = zz;
                starts[i] = total;
                total += x.count_ones() + yy.count_ones() + zz.count_ones();
            }
            *count = total;
        });

    // Triangles per cell row (cells of layers p0..p1 - 1).
    let table = case_table();
    let triangle_counts: Vec<u32> = (0..rows)
        .into_par_iter()
        .map(|r| {
            let mut count = 0;
            let (plane, y) = (r / npy, r % npy);
            if plane + 1 < point_planes && y + 1 < npy {
                active_cells(&inside, plane, y, |_, case| {
                    count += table.triangles(case).len() as u32;
                });
            }
            count
        })
        .collect();

    // One prefix sum over rows.
    let mut vertex_starts = Vec::with_capacity(rows);
    let mut total = base;
    for &count in &vertex_counts {
        vertex_starts.push(total);
        total += count;
    }
    let made = vertex_counts[..(point_planes - 1) * npy].iter().sum::<u32>();
    let triangles: usize = triangle_counts.iter().map(|&c| c as usize).sum();

    // Vertices of planes p0..p1 - 1.
    // Zeroed allocations come straight from the OS, so pages are first touched by the
    // parallel writers below rather than by one thread filling them with zeros.
    let mut new_positions = vec![[0.0f32; 3]; made as usize];
    let mut new_normals = vec![[0.0f32; 3]; made as usize];
    let emitting = (point_planes - 1) * npy;
    let positions = split(&mut new_positions, &vertex_counts[..emitting]);
    let normals = split(&mut new_normals, &vertex_counts[..emitting]);
    let [nx, ny, nz] = slab.dims;
    let plane_len = nx * ny;
    positions.into_par_iter().zip(normals).enumerate().for_each(|(r, (positions, normals))| {
        let (plane, y) = (r / npy, r % npy);
        let z = p0 + plane;
        let mask = &masks[r * 3 * words..(r + 1) * 3 * words];
        // Rows whose neighbours in y and z are all real voxels take the fast path below.
        let inner_row = (2..ny).contains(&y) && (2..nz).contains(&z);
        let row_start = if inner_row { ((z - 1 - slab.values.z0) * ny + y - 1) * nx } else { 0 };
        let mut k = 0;
        for i in 0..words {
            let mut any = mask[i] | mask[words + i] | mask[2 * words + i];
            while any != 0 {
                let b = any.trailing_zeros() as usize;
                any &= any - 1;
                let x = i * 64 + b;
                for axis in 0..3 {
                    if mask[axis * words + i] >> b & 1 == 1 {
                        let far = match axis {
                            0 => x + 1 < nx && inner_row && z < nz && y < ny,
                            1 => y + 1 < ny && inner_row,
                            _ => z + 1 < nz && inner_row,
                        };
                        let (position, normal) = if far && (2..nx).contains(&x) {
                            let stride = [1, nx, plane_len][axis];
                            interior_vertex(
                                &slab.values.data,
                                row_start + x - 1,
                                [1, nx, plane_len],
                                stride,
                                axis,
                                slab.iso,
                                [x, y, z],
                            )
                        } else {
                            slab.vertex([x, y, z], axis)
                        };
                        positions[k] = position;
                        normals[k] = normal;
                        k += 1;
                    }
                }
            }
        }
    });

    append(&mut mesh.positions, new_positions);
    append(&mut mesh.normals, new_normals);

    // Triangles.
    let mut new_triangles = vec![[0u32; 3]; triangles];
    let out = split(&mut new_triangles, &triangle_counts);
    out.into_par_iter().enumerate().for_each(|(r, out)| {
        if out.is_empty() {
            return;
        }
        let (plane, y) = (r / npy, r % npy);
        // The four point rows around this cell row: (dy, dz) = (0,0), (1,0), (0,1), (1,1).
        let neighbours = [r, r + 1, r + npy, r + npy + 1];
        let mut k = 0;
        // Per word of the row: each corner row's first vertex at the word's start, and its
        // x, y, z masks there and one word on (for the cell's second corner at bit 63).
        let mut word = usize::MAX;
        let mut start = [0u32; 4];
        let mut m = [[[0u64; 2]; 3]; 4];
        active_cells(&inside, plane, y, |x, case| {
            let (w, b) = (x / 64, x % 64);
            if w != word {
                word = w;
                for (n, &row) in neighbours.iter().enumerate() {
                    let mask = &masks[row * 3 * words..(row + 1) * 3 * words];
                    start[n] = vertex_starts[row] + word_starts[row * words + w];
                    for (axis, m) in m[n].iter_mut().enumerate() {
                        let at = axis * words + w;
                        *m = [mask[at], mask.get(at + 1).copied().unwrap_or(0)];
                    }
                }
            }
            let below = (1u64 << b) - 1;
            // First vertex, and the crossed x and y edges, of each corner point (dx = 0, 1).
            let mut first = [[0u32; 2]; 4];
            let mut x_bit = [[0u32; 2]; 4];
            let mut y_bit = [[0u32; 2]; 4];
            for n in 0..4 {
                let [mx, my, mz] = m[n];
                let at = start[n]
                    + (mx[0] & below).count_ones()
                    + (my[0] & below).count_ones()
                    + (mz[0] & below).count_ones();
                let here = |mask: [u64; 2]| (mask[0] >> b) as u32 & 1;
                let next = |mask: [u64; 2]| {
                    if b == 63 { mask[1] as u32 & 1 } else { (mask[0] >> (b + 1)) as u32 & 1 }
                };
                let (hx, hy, hz) = (here(mx), here(my), here(mz));
                first[n] = [at, at + hx + hy + hz];
                x_bit[n] = [hx, next(mx)];
                y_bit[n] = [hy, next(my)];
            }
            for tri in table.triangles(case) {
                out[k] = tri.map(|edge| {
                    let (n, dx, axis) = EDGES[edge as usize];
                    let mut index = first[n][dx];
                    if axis >= 1 {
                        index += x_bit[n][dx];
                    }
                    if axis == 2 {
                        index += y_bit[n][dx];
                    }
                    index
                });
                k += 1;
            }
        });
        debug_assert_eq!(k, out.len(), "row {plane},{y}");
    });
    append(&mut mesh.triangles, new_triangles);
    debug_assert_eq!(total - base, vertex_counts.iter().sum::<u32>());
    made
}

/// Calls `visit(x, case)` for every cell of the row at (`plane`, `y`) whose corners are not
/// all inside or all outside, in order of x.
#[inline]
fn active_cells(inside: &Rows, plane: usize, y: usize, mut visit: impl FnMut(usize, usize)) {
    let corners = [
        inside.row(plane, y),
        inside.row(plane, y + 1),
        inside.row(plane + 1, y),
        inside.row(plane + 1, y + 1),
    ];
    let b0 = corners[0];
    let differ = |i: usize| {
        let word = |row: &[u64]| row.get(i).copied().unwrap_or(0);
        (word(corners[1]) ^ word(b0))
            | (word(corners[2]) ^ word(b0))
            | (word(corners[3]) ^ word(b0))
    };
    let mut d_next = differ(0);
    for i in 0..inside.words {
        let d = d_next;
        d_next = differ(i + 1);
        let mut active = d | (d >> 1 | d_next << 63) | (b0[i] ^ shifted(b0, i));
        while active != 0 {
            let x = i * 64 + active.trailing_zeros() as usize;
            active &= active - 1;
            let case = two_bits(corners[0], x)
                | two_bits(corners[1], x) << 2
                | two_bits(corners[2], x) << 4
                | two_bits(corners[3], x) << 6;
            visit(x, case);
        }
    }
}

/// For each cube edge: which of the cell row's four point rows owns it ((dy, dz) as
/// `dy + 2 dz`), whether it is the point at x or x + 1, and its axis.
const EDGES: [(usize, usize, usize); 12] = {
    let mut table = [(0, 0, 0); 12];
    let mut e = 0;
    while e < 12 {
        let ([dx, dy, dz], axis) = edge_owner(e);
        table[e] = (dy + 2 * dz, dx, axis);
        e += 1;
    }
    table
};

/// Appends `items` to `all`, taking the allocation over when `all` is empty.
fn append<T>(all: &mut Vec<T>, mut items: Vec<T>) {
    if all.is_empty() {
        *all = items;
    } else {
        all.append(&mut items);
    }
}

/// [`Slab::vertex`] for an edge whose ends and their neighbours are all real voxels, with the
/// same arithmetic but plain offsets: `at` is the first end's index in the slab's values.
#[inline]
fn interior_vertex(
    values: &[f32],
    at: usize,
    strides: [usize; 3],
    stride: usize,
    axis: usize,
    iso: f32,
    p: [usize; 3],
) -> ([f32; 3], [f32; 3]) {
    let (v0, v1) = (values[at], values[at + stride]);
    let t = ((iso - v0) / (v1 - v0)).clamp(EDGE_MARGIN, 1.0 - EDGE_MARGIN);
    let mut position = [p[0] as f32 - 1.0, p[1] as f32 - 1.0, p[2] as f32 - 1.0];
    position[axis] += t;
    let gradient = |i: usize| strides.map(|s| (values[i + s] - values[i - s]) / 2.0);
    let (g0, g1) = (gradient(at), gradient(at + stride));
    let g = [0, 1, 2].map(|k| g0[k] + t * (g1[k] - g0[k]));
    let length = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
    let mut normal = [0.0; 3];
    if length > 0.0 {
        normal = g.map(|c| -c / length);
    } else {
        normal[axis] = if v0 >= iso { 1.0 } else { -1.0 };
    }
    (position, normal)
}

/// Cuts `items` into consecutive pieces of the given lengths.
fn split<'a, T>(mut items: &'a mut [T], lengths: &[u32]) -> Vec<&'a mut [T]> {
    let mut pieces = Vec::with_capacity(lengths.len());
    for &length in lengths {
        let (piece, rest) = items.split_at_mut(length as usize);
        pieces.push(piece);
        items = rest;
    }
    pieces
}

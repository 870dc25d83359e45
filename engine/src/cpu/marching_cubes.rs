//! The CPU counterpart of the marching-cubes kernels `shaders/mc_classify.wgsl`,
//! `shaders/scan.wgsl`, `shaders/scan_add.wgsl`, `shaders/mc_vertices.wgsl` and
//! `shaders/mc_triangles.wgsl`, in the flying-edges style rather than loop for loop.
//!
//! It makes the same vertices and triangles in the same order as the kernels (see
//! `isosurface`), but works on rows of grid points held as bitsets: one bit per point says
//! "inside". XOR of a row with itself shifted, with the next row or with the next plane gives
//! the crossed x, y and z edges 64 points at a time; popcounts of those masks number the
//! vertices; only cells whose corners differ are ever visited. Rows run in parallel; one
//! prefix sum over rows gives each its first vertex and triangle.

use rayon::prelude::*;

use crate::isosurface::cases::{case_table, edge_owner};
use crate::isosurface::{IndexedMesh, Slab};

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

#[inline]
fn bit(row: &[u64], x: usize) -> u32 {
    (row[x / 64] >> (x % 64)) as u32 & 1
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
    let cell_row = |r: usize, visit: &mut dyn FnMut(usize, usize)| {
        let (plane, y) = (r / npy, r % npy);
        if plane + 1 >= point_planes || y + 1 >= npy {
            return;
        }
        let corners = [
            inside.row(plane, y),
            inside.row(plane, y + 1),
            inside.row(plane + 1, y),
            inside.row(plane + 1, y + 1),
        ];
        let b0 = corners[0];
        for i in 0..words {
            let d = (corners[1][i] ^ b0[i]) | (corners[2][i] ^ b0[i]) | (corners[3][i] ^ b0[i]);
            let d_next = (corners[1].get(i + 1).copied().unwrap_or(0)
                ^ b0.get(i + 1).copied().unwrap_or(0))
                | (corners[2].get(i + 1).copied().unwrap_or(0)
                    ^ b0.get(i + 1).copied().unwrap_or(0))
                | (corners[3].get(i + 1).copied().unwrap_or(0)
                    ^ b0.get(i + 1).copied().unwrap_or(0));
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
    };
    let triangle_counts: Vec<u32> = (0..rows)
        .into_par_iter()
        .map(|r| {
            let mut count = 0;
            cell_row(r, &mut |_, case| count += table.triangles(case).len() as u32);
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
    let first_vertex = mesh.positions.len();
    mesh.positions.resize(first_vertex + made as usize, [0.0; 3]);
    mesh.normals.resize(first_vertex + made as usize, [0.0; 3]);
    let emitting = (point_planes - 1) * npy;
    let positions = split(&mut mesh.positions[first_vertex..], &vertex_counts[..emitting]);
    let normals = split(&mut mesh.normals[first_vertex..], &vertex_counts[..emitting]);
    positions.into_par_iter().zip(normals).enumerate().for_each(|(r, (positions, normals))| {
        let (plane, y) = (r / npy, r % npy);
        let mask = &masks[r * 3 * words..(r + 1) * 3 * words];
        let mut k = 0;
        for i in 0..words {
            let mut any = mask[i] | mask[words + i] | mask[2 * words + i];
            while any != 0 {
                let b = any.trailing_zeros() as usize;
                any &= any - 1;
                let x = i * 64 + b;
                for axis in 0..3 {
                    if mask[axis * words + i] >> b & 1 == 1 {
                        let (position, normal) = slab.vertex([x, y, p0 + plane], axis);
                        positions[k] = position;
                        normals[k] = normal;
                        k += 1;
                    }
                }
            }
        }
    });

    // Triangles.
    let first_triangle = mesh.triangles.len();
    mesh.triangles.resize(first_triangle + triangles, [0; 3]);
    let out = split(&mut mesh.triangles[first_triangle..], &triangle_counts);
    out.into_par_iter().enumerate().for_each(|(r, out)| {
        if out.is_empty() {
            return;
        }
        let (plane, y) = (r / npy, r % npy);
        // The four point rows around this cell row: (dy, dz) = (0,0), (1,0), (0,1), (1,1).
        let neighbours = [r, r + 1, r + npy, r + npy + 1];
        let mut k = 0;
        cell_row(r, &mut |x, case| {
            // First vertex and crossed x/y bits of each corner point's edges.
            let mut first = [[0u32; 2]; 4];
            let mut x_bit = [[0u32; 2]; 4];
            let mut y_bit = [[0u32; 2]; 4];
            for (n, &row) in neighbours.iter().enumerate() {
                let mask = &masks[row * 3 * words..(row + 1) * 3 * words];
                let starts = &word_starts[row * words..(row + 1) * words];
                let (w, b) = (x / 64, x % 64);
                let below = (1u64 << b) - 1;
                let at = vertex_starts[row]
                    + starts[w]
                    + (mask[w] & below).count_ones()
                    + (mask[words + w] & below).count_ones()
                    + (mask[2 * words + w] & below).count_ones();
                let here = [bit(mask, x), bit(&mask[words..], x), bit(&mask[2 * words..], x)];
                first[n] = [at, at + here[0] + here[1] + here[2]];
                x_bit[n] = [here[0], bit(mask, x + 1)];
                y_bit[n] = [here[1], bit(&mask[words..], x + 1)];
            }
            for tri in table.triangles(case) {
                out[k] = tri.map(|edge| {
                    let ([dx, dy, dz], axis) = edge_owner(edge as usize);
                    let n = dy + 2 * dz;
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
    debug_assert_eq!(total - base, vertex_counts.iter().sum::<u32>());
    made
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

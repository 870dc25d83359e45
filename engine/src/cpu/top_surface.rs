//! CPU twin of `shaders/top_surface.wgsl`.

use super::for_each_invocation;
use crate::kernels::{SurfaceConfig, WORDS_PER_CELL};

pub fn top_surface(config: &SurfaceConfig, thickness: &[f32], records: &mut [u32]) {
    let records = &mut records[..config.count as usize * WORDS_PER_CELL];
    // One invocation per cell: a cell owns 25 consecutive words.
    let cells = bytemuck::cast_slice_mut::<u32, [u32; WORDS_PER_CELL]>(records);
    for_each_invocation(cells, |index, cell| main(config, thickness, index as u32, cell));
}

fn normalize(v: [f32; 3]) -> [f32; 3] {
    let inv = 1.0 / (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] * inv, v[1] * inv, v[2] * inv]
}

fn main(config: &SurfaceConfig, thickness: &[f32], index: u32, records: &mut [u32; 25]) {
    let cells_per_row = config.width - 1;
    let i = index % cells_per_row;
    let row = index / cells_per_row;
    let j = config.row0 + row;

    let top = (row * config.width + i) as usize;
    let width = config.width as usize;
    let ta = thickness[top];
    let tb = thickness[top + 1];
    let tc = thickness[top + width];
    let td = thickness[top + width + 1];

    let p = config.pitch_mm;
    let x0 = i as f32 * p;
    let x1 = (i + 1) as f32 * p;
    let y0 = (config.height - 1 - j) as f32 * p;
    let y1 = (config.height - 2 - j) as f32 * p;

    let n1 = normalize([tc - td, tc - ta, p]);
    let n2 = normalize([ta - tb, td - tb, p]);

    let first = [n1[0], n1[1], n1[2], x0, y0, ta, x0, y1, tc, x1, y1, td];
    let second = [n2[0], n2[1], n2[2], x0, y0, ta, x1, y1, td, x1, y0, tb];

    for k in 0..12 {
        records[k] = first[k].to_bits();
    }
    let mut previous = 0;
    for k in 0..12 {
        let bits = second[k].to_bits();
        records[12 + k] = previous | (bits << 16);
        previous = bits >> 16;
    }
    records[24] = previous;
}

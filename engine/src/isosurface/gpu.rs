//! One marching-cubes slab on the GPU: classify, scan, compact, then vertices and triangles,
//! with every intermediate buffer left on the device and only the totals and the mesh read
//! back.

use crate::error::{EngineError, Result};
use crate::gpu::{DeviceBuffer, Gpu};
use crate::isosurface::cases::case_table;
use crate::isosurface::{IndexedMesh, Slab};
use crate::kernels::{
    MC_CLASSIFY, MC_COMPACT, MC_TRIANGLES, MC_VERTICES, McConfig, SCAN, SCAN_ADD, ScanConfig,
    WORKGROUP_SIZE,
};

/// Runs one slab, numbering its vertices from `base`, and appends them and its triangles to
/// `mesh`. Returns how many vertices it made, or `None` when its output would not fit the
/// device's bindings and the slab must be cut smaller.
pub fn slab(gpu: &Gpu, slab: &Slab<'_>, base: u32, mesh: &mut IndexedMesh) -> Result<Option<u32>> {
    let [npx, npy, npz] = slab.padded();
    let planes = slab.p1 - slab.p0 + 1;
    let plane = npx * npy;
    let points = plane * planes;
    let too_big =
        || EngineError::Gpu("a slab has more grid points than one dispatch allows".into());
    let config = McConfig {
        count: u32::try_from(points).map_err(|_| too_big())?,
        npx: npx as u32,
        npy: npy as u32,
        npz: npz as u32,
        p0: slab.p0 as u32,
        planes: planes as u32,
        nx: slab.dims[0] as u32,
        ny: slab.dims[1] as u32,
        nz: slab.dims[2] as u32,
        z0: slab.values.z0 as u32,
        iso: slab.iso,
        base,
    };
    let table = gpu.upload(bytemuck::cast_slice(&case_table().gpu_words()));
    let values = gpu.upload(bytemuck::cast_slice(&slab.values.data));
    let info = gpu.zeroed(points as u64 * 4)?;
    // Per point: vertices, triangles, active (0 or 1), and a pad word. One element past the
    // end, left zero, so the scan leaves the grand totals there.
    let counts = gpu.zeroed((points as u64 + 1) * 16)?;
    gpu.dispatch(
        &MC_CLASSIFY,
        bytemuck::bytes_of(&config),
        config.count,
        &[&table, &values, &info, &counts],
    )?;
    scan(gpu, &counts, points as u64 + 1)?;

    // Vertices of planes p0..p1 - 1 come before the first point of plane p1; so do the
    // active points that emit anything.
    let emitting = plane * (planes - 1);
    let [made, _, active_points, _] = read_counts(gpu, &counts, emitting)?;
    let triangles = read_counts(gpu, &counts, points)?[1];
    let vertex_bytes = u64::from(made) * 24;
    let triangle_bytes = u64::from(triangles) * 12;
    if vertex_bytes.max(triangle_bytes) > gpu.max_binding_bytes() {
        return Ok(None);
    }
    let compact = McConfig { count: emitting as u32, ..config };
    let active = gpu.zeroed(u64::from(active_points) * 4)?;
    gpu.dispatch(&MC_COMPACT, bytemuck::bytes_of(&compact), compact.count, &[&counts, &active])?;
    let emit = McConfig { count: active_points, ..config };
    let vertices = gpu.zeroed(vertex_bytes)?;
    gpu.dispatch(
        &MC_VERTICES,
        bytemuck::bytes_of(&emit),
        emit.count,
        &[&values, &info, &counts, &active, &vertices],
    )?;
    let indices = gpu.zeroed(triangle_bytes)?;
    gpu.dispatch(
        &MC_TRIANGLES,
        bytemuck::bytes_of(&emit),
        emit.count,
        &[&table, &info, &counts, &active, &indices],
    )?;

    let vertex_data: Vec<f32> =
        bytemuck::pod_collect_to_vec(&gpu.download(&vertices, 0, vertex_bytes)?);
    for v in vertex_data.chunks_exact(6) {
        mesh.positions.push([v[0], v[1], v[2]]);
        mesh.normals.push([v[3], v[4], v[5]]);
    }
    let index_data: Vec<u32> =
        bytemuck::pod_collect_to_vec(&gpu.download(&indices, 0, triangle_bytes)?);
    mesh.triangles.extend(index_data.chunks_exact(3).map(|t| [t[0], t[1], t[2]]));
    Ok(Some(made))
}

fn read_counts(gpu: &Gpu, buffer: &DeviceBuffer, index: usize) -> Result<[u32; 4]> {
    let bytes = gpu.download(buffer, index as u64 * 16, 16)?;
    Ok(bytemuck::pod_read_unaligned(&bytes))
}

/// Exclusive scan of `count` groups of four counts in place: blocks of one workgroup, then the
/// block sums scanned the same way, then added back.
fn scan(gpu: &Gpu, data: &DeviceBuffer, count: u64) -> Result<()> {
    let blocks = count.div_ceil(u64::from(WORKGROUP_SIZE));
    let sums = gpu.zeroed(blocks * 16)?;
    let config = ScanConfig { count: count as u32, ..Default::default() };
    gpu.dispatch(&SCAN, bytemuck::bytes_of(&config), config.count, &[data, &sums])?;
    if blocks > 1 {
        scan(gpu, &sums, blocks)?;
        gpu.dispatch(&SCAN_ADD, bytemuck::bytes_of(&config), config.count, &[&sums, data])?;
    }
    Ok(())
}

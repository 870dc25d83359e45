//! Each marching-cubes kernel run alone on the GPU, on inputs its twin's previous step made,
//! and compared buffer by buffer with its loop-for-loop CPU twin: when GPU and CPU disagree,
//! the failing test's message names the kernel.

use lithos_engine::cpu::{
    each_invocation, mc_classify, mc_compact, mc_triangles, mc_vertices, scan, scan_add,
};
use lithos_engine::gpu::{DeviceBuffer, Gpu};
use lithos_engine::isosurface::cases::case_table;
use lithos_engine::kernels::{
    MC_CLASSIFY, MC_COMPACT, MC_TRIANGLES, MC_VERTICES, McConfig, SCAN, SCAN_ADD, ScanConfig,
    WORKGROUP_SIZE,
};
use lithos_engine::volume::Voxels;
use lithos_engine::{IsoOptions, Silent, Volume};

/// The raw device, or `None` when the run says it has no GPU (as `helpers::gpu` does).
fn device() -> Option<Gpu> {
    match Gpu::open(false, None) {
        Ok(Some(gpu)) => Some(gpu),
        _ if std::env::var_os("LITHOS_SKIP_GPU_TESTS").is_some() => None,
        other => panic!("no GPU adapter ({:?}); set LITHOS_SKIP_GPU_TESTS=1 to skip", other.err()),
    }
}

/// A xorshift64 stream: repeatable random words for test data.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

fn bytes<T: bytemuck::Pod>(data: &[T]) -> &[u8] {
    bytemuck::cast_slice(data)
}

fn read<T: bytemuck::Pod>(gpu: &Gpu, buffer: &DeviceBuffer, len: usize) -> Vec<T> {
    let size = (len * size_of::<T>()) as u64;
    bytemuck::pod_collect_to_vec(&gpu.download(buffer, 0, size).unwrap())
}

/// Two blobs and a ripple in a 21 x 19 x 17 volume: crossings everywhere, some exactly at the
/// isovalue, and the surface cut by the volume's faces.
fn volume() -> ([u32; 3], Vec<f32>) {
    let dims = [21u32, 19, 17];
    let mut values = Vec::new();
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let [fx, fy, fz] = [x as f32, y as f32, z as f32];
                let blob = |cx: f32, cy: f32, cz: f32, r: f32| {
                    r * r / ((fx - cx).powi(2) + (fy - cy).powi(2) + (fz - cz).powi(2) + 1.0)
                };
                let v = blob(6.0, 8.0, 8.0, 6.0)
                    + blob(15.0, 10.0, 9.0, 5.0)
                    + 0.2 * (fx * 0.9).sin() * (fz * 0.7).cos();
                // Some samples land exactly on the isovalue.
                values.push(if (x + y + z) % 23 == 0 { 1.0 } else { v });
            }
        }
    }
    (dims, values)
}

/// The whole volume as one slab, or the planes from `p0` on, numbering vertices from `base`.
fn config(dims: [u32; 3], p0: u32, planes: Option<u32>, base: u32) -> McConfig {
    let [npx, npy, npz] = dims.map(|d| d + 2);
    let planes = planes.unwrap_or(npz - p0);
    McConfig {
        count: npx * npy * planes,
        npx,
        npy,
        npz,
        p0,
        planes,
        nx: dims[0],
        ny: dims[1],
        nz: dims[2],
        z0: 0,
        iso: 1.0,
        base,
    }
}

/// Runs the six kernels one by one, each on the twin chain's inputs, and compares outputs.
fn compare_every_kernel(gpu: &Gpu, config: McConfig, values: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let table = case_table().gpu_words();
    let points = config.count as usize;
    let what = format!("slab from plane {} of {} planes", config.p0, config.planes);

    // mc_classify.
    let mut info = vec![0u32; points];
    let mut counts = vec![[0u32; 4]; points + 1];
    each_invocation(config.count, |i| {
        mc_classify::main(&config, &table, values, &mut info, &mut counts, i);
    });
    let (table_buf, values_buf) = (gpu.upload(bytes(&table)), gpu.upload(bytes(values)));
    let info_buf = gpu.zeroed(points as u64 * 4).unwrap();
    let counts_buf = gpu.zeroed((points as u64 + 1) * 16).unwrap();
    let buffers = [&table_buf, &values_buf, &info_buf, &counts_buf];
    gpu.dispatch(&MC_CLASSIFY, bytemuck::bytes_of(&config), config.count, &buffers).unwrap();
    assert_eq!(read::<u32>(gpu, &info_buf, points), info, "mc_classify: info, {what}");
    assert_eq!(
        read::<[u32; 4]>(gpu, &counts_buf, points + 1),
        counts,
        "mc_classify: counts, {what}"
    );
    assert!(counts.iter().any(|c| c[2] == 1), "the surface crosses the slab");

    // scan: one level, blocks and their sums.
    let elements = points as u32 + 1;
    let blocks = elements.div_ceil(WORKGROUP_SIZE) as usize;
    assert!(blocks > 2, "several blocks, so the block sums matter");
    let scan_config = ScanConfig { count: elements, ..Default::default() };
    let mut scanned = counts.clone();
    let mut sums = vec![[0u32; 4]; blocks];
    scan::run(&scan_config, &mut scanned, &mut sums);
    let data_buf = gpu.upload(bytes(&counts));
    let sums_buf = gpu.zeroed(blocks as u64 * 16).unwrap();
    gpu.dispatch(&SCAN, bytemuck::bytes_of(&scan_config), elements, &[&data_buf, &sums_buf])
        .unwrap();
    assert_eq!(read::<[u32; 4]>(gpu, &data_buf, points + 1), scanned, "scan: blocks, {what}");
    assert_eq!(read::<[u32; 4]>(gpu, &sums_buf, blocks), sums, "scan: sums, {what}");

    // scan_add, with the block sums scanned (as the host's recursion leaves them).
    let mut block_offsets = sums.clone();
    let mut running = [0u32; 4];
    for offset in &mut block_offsets {
        let total = *offset;
        *offset = running;
        running = [0, 1, 2, 3].map(|k| running[k] + total[k]);
    }
    let mut offsets = scanned.clone();
    each_invocation(elements, |i| scan_add::main(&scan_config, &block_offsets, &mut offsets, i));
    let offsets_buf = gpu.upload(bytes(&scanned));
    let block_buf = gpu.upload(bytes(&block_offsets));
    let add_buffers = [&block_buf, &offsets_buf];
    gpu.dispatch(&SCAN_ADD, bytemuck::bytes_of(&scan_config), elements, &add_buffers).unwrap();
    assert_eq!(read::<[u32; 4]>(gpu, &offsets_buf, points + 1), offsets, "scan_add: {what}");
    // The chain is an exclusive scan: its last element is the grand total.
    let totals = counts.iter().fold([0u32; 4], |t, c| [0, 1, 2, 3].map(|k| t[k] + c[k]));
    assert_eq!(offsets[points], totals, "scan and scan_add: totals, {what}");

    // mc_compact, over the points that emit (all planes but the last).
    let emitting = config.npx * config.npy * (config.planes - 1);
    let active_count = offsets[emitting as usize][2] as usize;
    let compact = McConfig { count: emitting, ..config };
    let mut active = vec![0u32; active_count];
    each_invocation(emitting, |i| mc_compact::main(&compact, &offsets, &mut active, i));
    let active_buf = gpu.zeroed(active_count as u64 * 4).unwrap();
    gpu.dispatch(&MC_COMPACT, bytemuck::bytes_of(&compact), emitting, &[&offsets_buf, &active_buf])
        .unwrap();
    assert_eq!(read::<u32>(gpu, &active_buf, active_count), active, "mc_compact: {what}");
    assert!(active.windows(2).all(|w| w[0] < w[1]), "active points in grid order");

    // mc_vertices: positions and normals, to float rounding.
    let emit = McConfig { count: active_count as u32, ..config };
    let vertex_count = offsets[emitting as usize][0] as usize;
    let mut vertices = vec![0f32; vertex_count * 6];
    each_invocation(emit.count, |i| {
        mc_vertices::main(&emit, values, &info, &offsets, &active, &mut vertices, i);
    });
    let info_in = gpu.upload(bytes(&info));
    let vertices_buf = gpu.zeroed(vertices.len() as u64 * 4).unwrap();
    let vertex_buffers = [&values_buf, &info_in, &offsets_buf, &active_buf, &vertices_buf];
    gpu.dispatch(&MC_VERTICES, bytemuck::bytes_of(&emit), emit.count, &vertex_buffers).unwrap();
    let gpu_vertices = read::<f32>(gpu, &vertices_buf, vertices.len());
    for (k, (g, c)) in gpu_vertices.iter().zip(&vertices).enumerate() {
        assert!(
            (g - c).abs() <= 1e-5 * c.abs().max(1.0),
            "mc_vertices: float {k}: {g} != {c}, {what}"
        );
    }

    // mc_triangles: indices, exactly.
    let triangle_count = offsets[points][1] as usize;
    let mut triangles = vec![0u32; triangle_count * 3];
    each_invocation(emit.count, |i| {
        mc_triangles::main(&emit, &table, &info, &offsets, &active, &mut triangles, i);
    });
    let triangles_buf = gpu.zeroed(triangles.len() as u64 * 4).unwrap();
    let triangle_buffers = [&table_buf, &info_in, &offsets_buf, &active_buf, &triangles_buf];
    gpu.dispatch(&MC_TRIANGLES, bytemuck::bytes_of(&emit), emit.count, &triangle_buffers).unwrap();
    assert_eq!(
        read::<u32>(gpu, &triangles_buf, triangles.len()),
        triangles,
        "mc_triangles: {what}"
    );
    // Cells of the slab's last emitting plane use vertices on its last plane, which the next
    // slab makes, numbered straight after this one's.
    let (base, reachable) = (config.base as usize, offsets[points][0] as usize);
    assert!(
        triangles.iter().all(|&i| (base..base + reachable).contains(&(i as usize))),
        "every index names a vertex of this slab's planes, {what}"
    );
    (vertices, triangles)
}

#[test]
fn every_marching_cubes_kernel_matches_its_twin() {
    let Some(gpu) = device() else { return };
    let (dims, values) = volume();
    let (vertices, triangles) = compare_every_kernel(&gpu, config(dims, 0, None, 0), &values);
    // The twins, one after another, make the mesh that flying edges (the CPU backend's fast
    // path) makes: the same vertices in the same order, the same triangles.
    let volume = Volume::new(dims.map(|d| d as usize), Voxels::F32(values.clone()));
    let fast = crate::helpers::cpu().isosurface(&volume, &IsoOptions::new(1.0), &Silent).unwrap();
    assert_eq!(fast.positions.len() * 6, vertices.len(), "as many vertices");
    for (k, (p, v)) in fast.positions.iter().zip(vertices.chunks_exact(6)).enumerate() {
        assert!((0..3).all(|i| (p[i] - v[i]).abs() < 1e-5), "vertex {k}: {p:?} != {v:?}");
    }
    let flat: Vec<u32> = fast.triangles.iter().flatten().copied().collect();
    assert_eq!(flat, triangles, "the same triangles");
    // A slab in the middle, numbering its vertices after an earlier slab's.
    compare_every_kernel(&gpu, config(dims, 6, Some(7), 1000), &values);
}

/// The adaptive mesher's error pyramid, level by level: random heights over a mask with holes
/// and a padded margin (points outside the grid), on a 65-point square, GPU against the CPU
/// twin after every level, with every error left exact (no cap), with a cap, and estimated
/// under a cap; capped or estimated, which errors exceed the cap is as the exact ones say.
#[test]
fn rtin_error_matches_its_twin_level_by_level() {
    use lithos_engine::cpu::rtin_error;
    use lithos_engine::kernels::{POINT_INTERIOR, POINT_OUTSIDE, POINT_RIM, RTIN_ERROR};
    use lithos_engine::mesh::adaptive::levels;
    let Some(gpu) = device() else { return };
    let size = 65u32;
    let (w, h) = (53u32, 47u32);
    let mut random = xorshift(0x9e37_79b9);
    // Solid cells: all but two blobs; points classed from them as the engine does.
    let solid = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < i64::from(w) - 1
            && y < i64::from(h) - 1
            && (x - 20).pow(2) + (y - 15).pow(2) > 25
            && !(x > 35 && y > 30 && x < 40)
    };
    let mut points = vec![POINT_OUTSIDE; (size * size) as usize];
    for y in 0..h {
        for x in 0..w {
            let (xi, yi) = (i64::from(x), i64::from(y));
            let around = [(xi - 1, yi - 1), (xi, yi - 1), (xi - 1, yi), (xi, yi)];
            let kind = match around.iter().filter(|&&(cx, cy)| solid(cx, cy)).count() {
                0 => POINT_OUTSIDE,
                4 => POINT_INTERIOR,
                _ => POINT_RIM,
            };
            // Smooth with spikes, in 16-bit steps.
            let smooth =
                20_000.0 + 9_000.0 * (f64::from(x) * 0.2).sin() * (f64::from(y) * 0.15).cos();
            let spike = if random().is_multiple_of(17) { (random() % 30_000) as f64 } else { 0.0 };
            points[(y * size + x) as usize] = (smooth + spike) as u32 | kind << 16;
        }
    }
    let points_buf = gpu.upload(bytes(&points));
    let mut exact = Vec::new();
    for (cap, estimate) in [(u32::MAX - 1, false), (300, false), (300, true), (40, true)] {
        let mut errors = vec![0u32; points.len()];
        let errors_buf = gpu.zeroed(points.len() as u64 * 4).unwrap();
        for config in levels(size, cap, estimate) {
            rtin_error::rtin_error(&config, &points, &mut errors);
            gpu.dispatch(
                &RTIN_ERROR,
                bytemuck::bytes_of(&config),
                config.count,
                &[&points_buf, &errors_buf],
            )
            .unwrap();
            let what = format!("rtin_error: square {} odd {} cap {cap}", config.square, config.odd);
            assert_eq!(read::<u32>(&gpu, &errors_buf, points.len()), errors, "{what}");
        }
        assert!(errors.contains(&lithos_engine::kernels::ERROR_FORCED), "the mask forces splits");
        assert!(errors.iter().any(|&e| e > 0 && e < 1000), "some errors are exact and small");
        if cap == u32::MAX - 1 {
            exact = errors;
            continue;
        }
        // Capped or estimated, which errors exceed the cap is exactly as the exact pyramid
        // says, and an error within it is at least the exact one.
        for (i, (&e, &x)) in errors.iter().zip(&exact).enumerate() {
            assert_eq!(e > cap, x > cap, "point {i}: {e} against exact {x}, cap {cap}");
            assert!(e > cap || e >= x, "point {i}: {e} under exact {x}");
        }
        if estimate {
            let (different, within) = (0..exact.len()).fold((0, 0), |(d, w), i| {
                (d + usize::from(errors[i] != exact[i]), w + usize::from(errors[i] <= cap))
            });
            assert!(different > 0 && different < within, "some errors are estimated");
        }
    }
}

/// Which points each column of an adaptive bent panel keeps: smooth columns with spikes and
/// steps, walled and not, with a forced row, at several bounds, GPU against the CPU twin.
#[test]
fn column_keep_matches_its_twin() {
    use lithos_engine::cpu::column_keep::column_keep;
    use lithos_engine::kernels::{COLUMN_KEEP, ColumnConfig};
    let Some(gpu) = device() else { return };
    let (w, h) = (301u32, 257u32);
    let mut random = xorshift(0x9e37_79b9);
    let heights: Vec<u32> = (0..w * h)
        .map(|i| {
            let (x, y) = (f64::from(i % w), f64::from(i / w));
            let smooth = 30_000.0 + 20_000.0 * (x * 0.05).sin() * (y * 0.03).cos();
            let step = if y > 100.0 && x < 150.0 { 5_000.0 } else { 0.0 };
            let spike = if random().is_multiple_of(23) { (random() % 10_000) as f64 } else { 0.0 };
            (smooth + step + spike).min(65_535.0) as u32
        })
        .collect();
    let heights_buf = gpu.upload(bytes(&heights));
    for (bound, forced, walled) in
        [(0, u32::MAX, 0), (40, 200, 1), (900, u32::MAX, 1), (65_535, 5, 0)]
    {
        let config =
            ColumnConfig { width: w, height: h, bound, forced, walled, ..Default::default() };
        let mut expected = vec![0u32; heights.len()];
        column_keep(&config, &heights, &mut expected);
        let keep = gpu.zeroed(heights.len() as u64 * 4).unwrap();
        gpu.dispatch(&COLUMN_KEEP, bytemuck::bytes_of(&config), w, &[&heights_buf, &keep]).unwrap();
        let what = format!("column_keep: bound {bound} forced {forced} walled {walled}");
        assert_eq!(read::<u32>(&gpu, &keep, heights.len()), expected, "{what}");
        let kept = expected.iter().filter(|&&k| k != 0).count();
        assert!(kept > 2 * w as usize && kept < heights.len(), "{what}: {kept} kept");
    }
}

//! Work is cut to the device's limits: with buffers capped at a few KiB and dispatches at a
//! few workgroups, every stage runs in many bands and still matches the CPU exactly.

use lithos_engine::{BackendChoice, Engine, EngineOptions, GpuLimits};

use crate::helpers::{cpu, gpu};
use crate::parity::{assert_parity, cases};

/// A GPU engine whose device is opened with `limits` instead of the adapter's.
fn gpu_with(limits: GpuLimits) -> Engine {
    Engine::new(&EngineOptions { backend: BackendChoice::Gpu, gpu_limits: Some(limits) })
        .expect("a GPU device with small limits opens")
}

#[test]
fn tiny_limits_force_many_bands_and_change_nothing() {
    if gpu().is_none() {
        return;
    }
    let limits = GpuLimits { max_buffer_bytes: 24 << 10, max_workgroups_per_dimension: 4 };
    let small = gpu_with(limits);
    // Cases whose rows fit 24 KiB: a row of 100-byte cells must fit one buffer.
    for (label, image, params) in cases() {
        let grid = params.grid_dimensions(image.width(), image.height());
        if u64::from(grid.0 - 1) * 100 > limits.max_buffer_bytes {
            continue;
        }
        assert_parity(&format!("tiled {label}"), &small, &image, &params);
    }
}

#[test]
fn rows_too_wide_for_the_limits_give_a_clear_error() {
    if gpu().is_none() {
        return;
    }
    let limits = GpuLimits { max_buffer_bytes: 4 << 10, max_workgroups_per_dimension: 4 };
    let small = gpu_with(limits);
    let image = crate::helpers::random_gray(3, 300, 20);
    let error = small
        .heightfield(&image, &crate::helpers::relief(10.0), &lithos_engine::Silent, &mut Vec::new())
        .and_then(|hf| {
            small.write_mesh(
                &hf,
                lithos_engine::MeshFormat::Stl,
                std::io::sink(),
                &lithos_engine::Silent,
            )
        })
        .expect_err("a 300-wide grid cannot fit 4 KiB rows of cells");
    assert!(error.to_string().contains("does not fit this GPU's limits"), "{error}");
}

#[test]
fn marching_cubes_under_small_gpu_limits_cuts_slabs_and_changes_nothing() {
    use lithos_engine::{IsoOptions, Silent};

    use crate::isosurface::Analytic;
    if gpu().is_none() {
        return;
    }
    // 64 KiB buffers: a few point planes per slab, and slabs whose output would not fit are
    // cut again; 4 workgroups per dimension fold every dispatch.
    let small = gpu_with(GpuLimits { max_buffer_bytes: 64 << 10, max_workgroups_per_dimension: 4 });
    let field = Analytic {
        n: 40,
        lo: -1.0,
        hi: 1.0,
        f: |p| {
            0.3 * (4.0 * p[0]).sin() * (3.0 * p[1]).cos() + 0.8
                - p.iter().map(|c| c * c).sum::<f64>().sqrt()
        },
    };
    let expected = cpu().isosurface(&field, &IsoOptions::new(0.0), &Silent).unwrap();
    let got = small.isosurface(&field, &IsoOptions::new(0.0), &Silent).unwrap();
    assert!(expected.triangles.len() > 5000);
    assert!(got.triangles == expected.triangles, "same triangles");
    for (p, q) in got.positions.iter().zip(&expected.positions) {
        assert!((0..3).all(|k| (p[k] - q[k]).abs() <= 1e-4), "{p:?} vs {q:?}");
    }
}

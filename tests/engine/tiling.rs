//! Work is cut to the device's limits: with buffers capped at a few KiB and dispatches at a
//! few workgroups, every stage runs in many bands and still matches the CPU exactly.

use lithos_engine::{BackendChoice, Engine, EngineOptions, GpuLimits};

use crate::helpers::gpu;
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

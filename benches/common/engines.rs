//! What the engine benchmarks share: the engines to compare, a synthetic height map and the
//! gyroid volume.

use image::{DynamicImage, ImageBuffer, Luma};
use lithos_engine::{BackendChoice, Engine, EngineOptions};

/// The CPU engine, and the GPU's when wgpu finds an adapter (lavapipe counts).
#[allow(dead_code, reason = "the GPU table opens its own GPU engine")]
pub fn engines() -> Vec<(&'static str, Engine)> {
    let mut engines = vec![(
        "cpu",
        Engine::new(&EngineOptions { backend: BackendChoice::Cpu, gpu_limits: None }).unwrap(),
    )];
    if let Ok(gpu) = Engine::new(&EngineOptions { backend: BackendChoice::Gpu, gpu_limits: None }) {
        eprintln!("GPU adapter: {}", gpu.adapter());
        engines.push(("gpu", gpu));
    }
    engines
}

/// A 16-bit height map with smooth waves and fine noise, `n` x `n`.
#[allow(dead_code, reason = "not every benchmark draws height maps")]
pub fn synthetic(n: u32) -> DynamicImage {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let image = ImageBuffer::from_fn(n, n, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (u, v) = (x as f32 / n as f32, y as f32 / n as f32);
        let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let z = 0.5 + 0.25 * (12.0 * u).sin() * (9.0 * v).cos() + 0.15 * (40.0 * (u + v)).sin();
        Luma([((z + 0.04 * noise).clamp(0.0, 1.0) * 65535.0) as u16])
    });
    DynamicImage::ImageLuma16(image)
}

/// The gyroid `sin x cos y + sin y cos z + sin z cos x` sampled on an `n`^3 grid spanning
/// [0, 4 pi], x fastest.
#[allow(dead_code, reason = "not every benchmark meshes volumes")]
pub fn gyroid(n: usize) -> lithos_engine::Volume {
    use std::f32::consts::PI;
    let t: Vec<f32> = (0..n).map(|i| 4.0 * PI * i as f32 / (n - 1) as f32).collect();
    let (sin, cos): (Vec<f32>, Vec<f32>) = t.iter().map(|v| (v.sin(), v.cos())).unzip();
    let mut data = Vec::with_capacity(n * n * n);
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                data.push(sin[x] * cos[y] + sin[y] * cos[z] + sin[z] * cos[x]);
            }
        }
    }
    lithos_engine::Volume::new([n; 3], lithos_engine::volume::Voxels::F32(data))
}

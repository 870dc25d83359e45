//! GPU output equals CPU output: the same triangles in the same order and topology, every
//! coordinate within 1e-4 mm. Written once, run over every mode.

use lithos_engine::params::{Frame, GridSize, Mask, Outline, Shape, Tone};
use lithos_engine::{ConvertParams, Engine, Light, MaskSource, Mode, SourceImage};

use crate::helpers::*;

/// Largest allowed difference in any coordinate (mm) or normal component.
pub const TOLERANCE: f32 = 1e-4;

/// Triangles as (normal, corners) read from binary STL.
pub fn records(stl: &[u8]) -> Vec<[f32; 12]> {
    stl[84..]
        .chunks_exact(50)
        .map(|r| {
            std::array::from_fn(|k| f32::from_le_bytes(r[4 * k..4 * k + 4].try_into().unwrap()))
        })
        .collect()
}

/// Vertex indices per triangle after welding by exact position: the mesh's topology.
fn topology_of(records: &[[f32; 12]]) -> Vec<[u32; 3]> {
    let mut index = std::collections::HashMap::new();
    records
        .iter()
        .map(|r| {
            std::array::from_fn(|v| {
                let key = [r[3 + 3 * v].to_bits(), r[4 + 3 * v].to_bits(), r[5 + 3 * v].to_bits()];
                let next = index.len() as u32;
                *index.entry(key).or_insert(next)
            })
        })
        .collect()
}

/// Converts on both backends and compares; on a mismatch both meshes are written to files the
/// message names.
pub fn assert_parity(label: &str, gpu: &Engine, image: &SourceImage, params: &ConvertParams) {
    let (cpu_hf, cpu_stl) = convert(cpu(), image, params);
    let (gpu_hf, gpu_stl) = convert(gpu, image, params);
    let keep = || {
        let dir = output_dir("parity");
        let stem = label.replace([' ', '/'], "_");
        let (c, g) = (dir.join(format!("{stem}-cpu.stl")), dir.join(format!("{stem}-gpu.stl")));
        std::fs::write(&c, &cpu_stl).unwrap();
        std::fs::write(&g, &gpu_stl).unwrap();
        format!("{} and {}", c.display(), g.display())
    };
    assert_eq!(cpu_hf.cells, gpu_hf.cells, "{label}: same solid cells; meshes at {}", keep());
    let (c, g) = (records(&cpu_stl), records(&gpu_stl));
    assert_eq!(c.len(), g.len(), "{label}: triangle counts differ; meshes at {}", keep());
    assert!(topology_of(&c) == topology_of(&g), "{label}: topology differs; meshes at {}", keep());
    let mut worst = (0.0f32, 0);
    for (i, (a, b)) in c.iter().zip(&g).enumerate() {
        for k in 0..12 {
            let d = (a[k] - b[k]).abs();
            if d > worst.0 {
                worst = (d, i);
            }
        }
    }
    assert!(
        worst.0 <= TOLERANCE,
        "{label}: triangle {} differs by {} (> {TOLERANCE}); meshes at {}",
        worst.1,
        worst.0,
        keep()
    );
}

/// One case per mode and pipeline feature.
pub fn cases() -> Vec<(String, SourceImage, ConvertParams)> {
    let lithophane = ConvertParams {
        mode: Mode::Lithophane {
            min_mm: mm(0.8),
            max_mm: mm(3.2),
            frame: Some(Frame { width_mm: mm(3.0), thickness_mm: mm(4.0) }),
            light: Light::Linear,
        },
        ..relief(70.0)
    };
    let transmittance = ConvertParams {
        mode: Mode::Lithophane {
            min_mm: mm(0.8),
            max_mm: mm(3.2),
            frame: None,
            light: Light::Transmittance { td_mm: mm(3.0) },
        },
        ..relief(60.0)
    };
    let alpha = ConvertParams {
        mask: Some(Mask { source: MaskSource::Alpha, threshold: 0.5 }),
        ..relief(50.0)
    };
    let threshold = ConvertParams {
        mask: Some(Mask { source: MaskSource::Threshold, threshold: 0.6 }),
        ..relief(50.0)
    };
    let toned = ConvertParams {
        tone: Tone { invert: true, blur_px: 2.0, gamma: 0.7, auto_levels: true },
        grid: GridSize { max: 150, exact: None },
        ..relief(50.0)
    };
    let heart = ConvertParams {
        shape: Shape::Flat { outline: Outline::Heart, hanger_mm: 5.0, feet: false },
        ..lithophane
    };
    let oval = ConvertParams {
        shape: Shape::Flat { outline: Outline::Oval, hanger_mm: 0.0, feet: false },
        ..threshold
    };
    let enlarged = ConvertParams { grid: GridSize { max: 4096, exact: Some(173) }, ..relief(30.0) };
    vec![
        ("relief camera".into(), load("camera.png"), relief(100.0)),
        ("relief random".into(), random_gray(11, 77, 41), relief(20.0)),
        ("lithophane coins framed".into(), load("coins.png"), lithophane),
        ("transmittance lithophane camera".into(), load("camera.png"), transmittance),
        ("alpha horse".into(), horse_with_alpha(), alpha),
        ("alpha random".into(), random_rgba(5, 80, 60), alpha),
        ("threshold coins".into(), load("coins.png"), threshold),
        ("framed heart with a hanger".into(), load("camera.png"), heart),
        ("oval threshold random".into(), random_gray(13, 90, 70), oval),
        ("shrunk blurred toned camera".into(), load("camera.png"), toned),
        ("enlarged random".into(), random_gray(12, 40, 30), enlarged),
    ]
}

#[test]
fn gpu_matches_cpu_in_every_mode() {
    let Some(gpu) = gpu() else { return };
    for (label, image, params) in cases() {
        assert_parity(&label, gpu, &image, &params);
    }
}

//! Marching cubes on analytic volumes and noise, on both backends: closed, manifold, welded,
//! accurate, and identical between the GPU and the CPU and between one pass and many slabs.

use std::f64::consts::PI;

use lithos_engine::{BackendKind, Engine, IndexedMesh, IsoOptions, ScalarField, Silent};
use rand::{Rng, SeedableRng};

use crate::helpers::{cpu, engines, gpu};
use crate::mesh_checks::{assert_closed_manifold, volume_and_area};

/// `f` sampled on an `n`-point grid over `[lo, hi]` on every axis.
pub struct Analytic {
    pub n: usize,
    pub lo: f64,
    pub hi: f64,
    pub f: fn([f64; 3]) -> f64,
}

impl Analytic {
    fn step(&self) -> f64 {
        (self.hi - self.lo) / (self.n - 1) as f64
    }

    pub fn to_world(&self) -> impl Fn([f32; 3]) -> [f64; 3] + '_ {
        move |p| p.map(|c| self.lo + f64::from(c) * self.step())
    }
}

impl ScalarField for Analytic {
    fn dims(&self) -> [usize; 3] {
        [self.n; 3]
    }

    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]) {
        let n = self.n;
        let h = self.step();
        for z in z0..z1 {
            for y in 0..n {
                for x in 0..n {
                    let p = [x, y, z].map(|i| self.lo + i as f64 * h);
                    out[((z - z0) * n + y) * n + x] = (self.f)(p) as f32;
                }
            }
        }
    }
}

const R_SPHERE: f64 = 0.8;
const R_MAJOR: f64 = 0.6;
const R_MINOR: f64 = 0.25;

fn sphere(p: [f64; 3]) -> f64 {
    R_SPHERE - (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt()
}

fn torus(p: [f64; 3]) -> f64 {
    let ring = (p[0] * p[0] + p[1] * p[1]).sqrt() - R_MAJOR;
    R_MINOR - (ring * ring + p[2] * p[2]).sqrt()
}

fn gyroid(p: [f64; 3]) -> f64 {
    let [x, y, z] = p;
    x.sin() * y.cos() + y.sin() * z.cos() + z.sin() * x.cos()
}

/// The gyroid's solid half, clipped to the box [0, 4pi]^3 by the field itself (the distance
/// inside the box), so the caps are flat and exact.
fn gyroid_in_box(p: [f64; 3]) -> f64 {
    let inside_box = p.iter().map(|&c| c.min(4.0 * PI - c)).fold(f64::INFINITY, f64::min);
    gyroid(p).min(inside_box)
}

fn run(engine: &Engine, field: &dyn ScalarField, options: IsoOptions) -> IndexedMesh {
    engine.isosurface(field, &options, &Silent).expect("marching cubes runs")
}

/// The gyroid's area inside the box by an independent integration. Projecting onto each
/// coordinate plane, area = sum over axes i of the integral over columns along i of
/// sum over roots of |n_i| (the weights n_i^2 sum to one; each is over |n_i|, the projection's
/// Jacobian). The gyroid is the same under x -> y -> z -> x, so the three terms are equal:
/// three times the z columns' integral, whose integrand stays bounded where the surface is
/// vertical.
fn gyroid_area_in_box() -> f64 {
    let l = 4.0 * PI;
    let (columns, samples) = (256usize, 512usize);
    let (h, dz) = (l / columns as f64, l / samples as f64);
    let mut area = 0.0;
    for i in 0..columns {
        for j in 0..columns {
            let (x, y) = ((i as f64 + 0.5) * h, (j as f64 + 0.5) * h);
            let f = |z: f64| gyroid([x, y, z]);
            let mut z0 = 0.0;
            let mut f0 = f(z0);
            for k in 1..=samples {
                let z1 = k as f64 * dz;
                let f1 = f(z1);
                if (f0 < 0.0) != (f1 < 0.0) {
                    let (mut a, mut b, mut fa) = (z0, z1, f0);
                    for _ in 0..40 {
                        let m = 0.5 * (a + b);
                        let fm = f(m);
                        if (fm < 0.0) == (fa < 0.0) {
                            (a, fa) = (m, fm);
                        } else {
                            b = m;
                        }
                    }
                    let z = 0.5 * (a + b);
                    let gx = x.cos() * y.cos() - z.sin() * x.sin();
                    let gy = -x.sin() * y.sin() + y.cos() * z.cos();
                    let gz = -y.sin() * z.sin() + z.cos() * x.cos();
                    area += 3.0 * gz.abs() / (gx * gx + gy * gy + gz * gz).sqrt() * h * h;
                }
                (z0, f0) = (z1, f1);
            }
        }
    }
    area
}

/// The Euler characteristic of the solid the samples describe, V - E + F - C over the cubical
/// complex of inside points: points, the unit edges, squares and cubes whose corners are all
/// inside. A closed surface bounding that solid has twice this characteristic.
fn solid_euler(field: &Analytic) -> i64 {
    let n = field.n;
    let mut values = vec![0.0; n * n * n];
    field.read_planes(0, n, &mut values);
    let inside = |x: usize, y: usize, z: usize| values[(z * n + y) * n + x] >= 0.0;
    let mut chi = 0i64;
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                if !inside(x, y, z) {
                    continue;
                }
                // Count each cell at its lowest corner, with its sign (-1)^dimension.
                for dz in 0..2 {
                    for dy in 0..2 {
                        for dx in 0..2 {
                            let (x1, y1, z1) = (x + dx, y + dy, z + dz);
                            if x1 >= n || y1 >= n || z1 >= n {
                                continue;
                            }
                            let all = (0..=dz).all(|a| {
                                (0..=dy).all(|b| (0..=dx).all(|c| inside(x + c, y + b, z + a)))
                            });
                            if all {
                                chi += if (dx + dy + dz) % 2 == 0 { 1 } else { -1 };
                            }
                        }
                    }
                }
            }
        }
    }
    chi
}

#[test]
fn analytic_shapes_are_closed_accurate_and_of_the_right_genus() {
    let l = 4.0 * PI;
    let gyroid_volume = l * l * l / 2.0;
    // Each box face is cut exactly in half by the gyroid (f is odd about the box centre).
    let gyroid_area = gyroid_area_in_box() + 3.0 * l * l;
    // Name, field, domain, volume, area, Euler characteristic (genus g: 2 - 2g).
    type Shape = (&'static str, fn([f64; 3]) -> f64, f64, f64, f64, f64, i64);
    let shapes: [Shape; 3] = [
        (
            "sphere",
            sphere,
            -1.0,
            1.0,
            4.0 / 3.0 * PI * R_SPHERE.powi(3),
            4.0 * PI * R_SPHERE.powi(2),
            2,
        ),
        (
            "torus",
            torus,
            -1.0,
            1.0,
            2.0 * PI * PI * R_MAJOR * R_MINOR.powi(2),
            4.0 * PI * PI * R_MAJOR * R_MINOR,
            0,
        ),
        ("gyroid", gyroid_in_box, -0.3, l + 0.3, gyroid_volume, gyroid_area, i64::MIN),
    ];
    let mut gyroid_euler = Vec::new();
    for (name, f, lo, hi, volume, area, euler) in shapes {
        for n in [48, 96, 128] {
            let field = Analytic { n, lo, hi, f };
            // Independently of any mesh: the samples' solid, counted cell by cell.
            let sampled_euler = 2 * solid_euler(&field);
            for engine in engines() {
                let label = format!("{name} {n}^3 on {:?}", engine.backend());
                let mesh = run(engine, &field, IsoOptions::new(0.0));
                let topology = assert_closed_manifold(&label, &mesh);
                let (v, a) = volume_and_area(&mesh, field.to_world());
                if euler != i64::MIN {
                    assert_eq!(topology.euler, euler, "{label}: Euler characteristic");
                    assert_eq!(topology.components, 1, "{label}");
                } else {
                    gyroid_euler.push(topology.euler);
                }
                assert_eq!(topology.euler, sampled_euler, "{label}: Euler vs the samples");
                if n == 128 {
                    assert!((v / volume - 1.0).abs() < 0.01, "{label}: volume {v} vs {volume}");
                    assert!((a / area - 1.0).abs() < 0.01, "{label}: area {a} vs {area}");
                } else {
                    assert!((v / volume - 1.0).abs() < 0.05, "{label}: volume {v} vs {volume}");
                }
            }
        }
    }
    // The clipped gyroid's genus does not depend on the sampling once it resolves the shape.
    assert!(gyroid_euler.windows(2).all(|w| w[0] == w[1]), "gyroid Euler {gyroid_euler:?}");
}

/// Uniform noise: every corner configuration, ambiguous faces included, many times over.
struct Noise {
    dims: [usize; 3],
    values: Vec<f32>,
}

impl Noise {
    fn new(seed: u64, dims: [usize; 3], levels: Option<u32>) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let values = (0..dims.iter().product())
            .map(|_| match levels {
                // Few levels: many values exactly at the isovalue.
                Some(levels) => rng.random_range(0..levels) as f32,
                None => rng.random::<f32>(),
            })
            .collect();
        Self { dims, values }
    }
}

impl ScalarField for Noise {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]) {
        let plane = self.dims[0] * self.dims[1];
        out.copy_from_slice(&self.values[z0 * plane..z1 * plane]);
    }
}

#[test]
fn random_noise_is_always_closed_and_manifold() {
    for seed in 0..12 {
        let dims = [23 + seed as usize, 17, 11 + (seed as usize % 5)];
        let (field, iso) = if seed % 3 == 0 {
            (Noise::new(seed, dims, Some(5)), 2.0)
        } else {
            (Noise::new(seed, dims, None), 0.3 + 0.04 * seed as f32)
        };
        for engine in engines() {
            let label = format!("noise seed {seed} on {:?}", engine.backend());
            let mesh = run(engine, &field, IsoOptions::new(iso));
            assert!(mesh.triangles.len() > 1000, "{label}: the noise makes a real surface");
            let topology = assert_closed_manifold(&label, &mesh);
            assert!(topology.components >= 1);
        }
    }
}

/// Vertices within 1e-4 voxel, normals within 1e-3, the same triangles in the same order.
fn assert_same_mesh(label: &str, a: &IndexedMesh, b: &IndexedMesh) {
    assert_eq!(a.triangles.len(), b.triangles.len(), "{label}: triangle count");
    assert_eq!(a.positions.len(), b.positions.len(), "{label}: vertex count");
    assert!(a.triangles == b.triangles, "{label}: the triangles differ");
    for (i, (p, q)) in a.positions.iter().zip(&b.positions).enumerate() {
        let d = (0..3).map(|k| (p[k] - q[k]).abs()).fold(0.0, f32::max);
        assert!(d <= 1e-4, "{label}: vertex {i} is {d} voxels apart: {p:?} vs {q:?}");
    }
    for (i, (n, m)) in a.normals.iter().zip(&b.normals).enumerate() {
        let d = (0..3).map(|k| (n[k] - m[k]).abs()).fold(0.0, f32::max);
        assert!(d <= 1e-3, "{label}: normal {i} differs by {d}");
    }
}

#[test]
fn gpu_and_cpu_make_the_same_mesh() {
    let Some(gpu) = gpu() else { return };
    let sphere = Analytic { n: 64, lo: -1.0, hi: 1.0, f: sphere };
    let gyroid = Analytic { n: 80, lo: -0.3, hi: 4.0 * PI + 0.3, f: gyroid_in_box };
    let noise = Noise::new(7, [40, 31, 29], None);
    let steps = Noise::new(8, [33, 20, 25], Some(4));
    let cases: [(&str, &dyn ScalarField, IsoOptions); 5] = [
        ("sphere", &sphere, IsoOptions::new(0.0)),
        ("gyroid", &gyroid, IsoOptions::new(0.0)),
        ("noise", &noise, IsoOptions::new(0.5)),
        ("steps at the isovalue", &steps, IsoOptions::new(1.0)),
        ("smoothed noise", &noise, IsoOptions { smooth_voxels: 1.2, ..IsoOptions::new(0.5) }),
    ];
    for (label, field, options) in cases {
        let on_cpu = run(cpu(), field, options);
        let on_gpu = run(gpu, field, options);
        assert!(!on_cpu.triangles.is_empty(), "{label}");
        assert_same_mesh(label, &on_cpu, &on_gpu);
    }
}

#[test]
fn slabs_stitch_into_the_same_mesh_as_one_pass() {
    let gyroid = Analytic { n: 72, lo: -0.3, hi: 4.0 * PI + 0.3, f: gyroid_in_box };
    let noise = Noise::new(3, [37, 29, 41], None);
    let cases: [(&str, &dyn ScalarField, IsoOptions); 3] = [
        ("gyroid", &gyroid, IsoOptions::new(0.0)),
        ("noise", &noise, IsoOptions::new(0.4)),
        ("smoothed noise", &noise, IsoOptions { smooth_voxels: 1.5, ..IsoOptions::new(0.5) }),
    ];
    for (label, field, options) in cases {
        let whole = run(cpu(), field, options);
        let dims = field.dims();
        let points = ((dims[0] + 2) * (dims[1] + 2)) as u64;
        // One, two and five cell layers per slab.
        for layers in [1, 2, 5] {
            for engine in engines() {
                // Working bytes per padded grid point of a slab on each backend.
                let per_point = if engine.backend() == BackendKind::Cpu { 8 } else { 32 };
                let bytes = points * per_point * (layers + 3);
                let small = IsoOptions { slab_bytes: Some(bytes), ..options };
                let sliced = run(engine, field, small);
                let label = format!("{label}, {layers}-layer slabs on {:?}", engine.backend());
                assert_same_mesh(&label, &whole, &sliced);
            }
        }
    }
}

#[test]
fn smoothing_removes_noise_specks() {
    let noise = Noise::new(11, [30, 30, 30], None);
    let rough = run(cpu(), &noise, IsoOptions::new(0.5));
    let smooth = run(cpu(), &noise, IsoOptions { smooth_voxels: 2.0, ..IsoOptions::new(0.5) });
    let rough_parts = assert_closed_manifold("rough", &rough).components;
    let smooth_parts = assert_closed_manifold("smooth", &smooth).components;
    // Measured: 88k triangles in 327 pieces become 22k in 5.
    assert!(smooth.triangles.len() * 3 < rough.triangles.len(), "smoothing simplifies the surface");
    assert!(smooth_parts * 10 < rough_parts, "{smooth_parts} vs {rough_parts} components");
}

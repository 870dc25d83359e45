//! Adaptive bent panels (`max_error_mm`, `max_triangles` on arcs, cylinders with rings and a
//! socket plate, and panels on feet): every vertex of the full grid's mesh (each grid point
//! where the bend puts it) lies within the bound of the adaptive mesh, found by measuring its
//! distance to the nearest triangle; the mesh is one closed, oriented manifold of the full
//! grid's topology, with fewer triangles and the full grid's volume to within the bound over
//! its area, on both backends; one map makes the same columns on both; `max_triangles` is
//! never exceeded; a dome is refused by name.

use lithos_engine::params::Detail;
use lithos_engine::{Heightfield, IndexedMesh, JobMode, JobRequest, Silent};
use serde_json::{Value, json};

use crate::helpers::{engines, load};
use crate::mesh_checks::{assert_closed_manifold, volume_and_area};
use crate::shapes::bent;

/// Slack for float32 positions in the written file, in millimetres (radii up to 60 mm).
const STORAGE_MM: f64 = 1e-4;

fn shapes() -> [(&'static str, Value); 4] {
    [
        ("arc", json!({ "shape": "arc", "arc_deg": 120, "width_mm": 60 })),
        ("arc-inner", json!({ "shape": "arc", "arc_deg": 200, "arc_inner": true, "width_mm": 60 })),
        (
            "cylinder",
            json!({ "shape": "cylinder", "ring_mm": 3, "top_ring_mm": 2, "socket_mm": 8,
                    "width_mm": 90 }),
        ),
        ("feet", json!({ "feet": true, "width_mm": 50 })),
    ]
}

#[test]
fn every_grid_point_of_a_bent_panel_lies_within_the_bound() {
    let image = load("camera.png");
    for (shape, mut request) in shapes() {
        request["max_grid"] = json!(90);
        let (_, full) = bent(crate::helpers::cpu(), &image, &request);
        let whole = assert_closed_manifold(&format!("{shape} full"), &full);
        let (full_volume, area) = volume_and_area(&full, |p| p.map(f64::from));
        let mut counts = Vec::new();
        for bound in [0.01, 0.05, 0.2] {
            request["max_error_mm"] = json!(bound);
            let mut meshes = Vec::new();
            for engine in engines() {
                let label = format!("{shape} within {bound} mm on {}", engine.adapter());
                let (hf, mesh) = bent(engine, &image, &request);
                assert!(hf.columns.is_some(), "{label}: adaptive columns");
                assert_eq!(hf.triangle_count(), mesh.triangles.len() as u64, "{label}: counted");
                assert_eq!(assert_closed_manifold(&label, &mesh), whole, "{label}: topology");
                let farthest = farthest(&full.positions, &mesh);
                assert!(
                    farthest <= bound + STORAGE_MM,
                    "{label}: a grid point lies {farthest} mm from the mesh"
                );
                let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
                assert!(
                    (volume - full_volume).abs() <= bound * area,
                    "{label}: volume {volume} against the full grid's {full_volume}"
                );
                meshes.push(mesh);
            }
            counts.push(meshes[0].triangles.len());
        }
        // The same thickness map makes the same columns on every backend: the `column_keep`
        // kernel keeps what its twin keeps. (Each backend's own map may differ in its last
        // bits; each mesh above holds its own within the bound.)
        let (map, _) = bent(crate::helpers::cpu(), &image, &request);
        let columns: Vec<_> = engines()
            .into_iter()
            .map(|engine| {
                let mut hf = Heightfield { columns: None, ..map.clone() };
                engine.simplify(&mut hf, Detail::MaxErrorMm(0.2)).unwrap();
                hf.columns.expect("adaptive columns")
            })
            .collect();
        assert!(columns.windows(2).all(|p| p[0] == p[1]), "{shape}: the same columns everywhere");
        assert!(
            counts[0] < full.triangles.len() && counts[1] < counts[0] && counts[2] < counts[1],
            "{shape}: {counts:?} triangles against the full grid's {}",
            full.triangles.len()
        );
    }
}

#[test]
fn max_triangles_bounds_a_bent_panel_and_a_dome_is_refused() {
    let image = load("camera.png");
    for (shape, mut request) in shapes() {
        request["max_grid"] = json!(90);
        let (_, full) = bent(crate::helpers::cpu(), &image, &request);
        for share in [2, 5] {
            let budget = full.triangles.len() / share;
            request["max_triangles"] = json!(budget);
            let (_, mesh) = bent(crate::helpers::cpu(), &image, &request);
            let label = format!("{shape} in {budget} triangles");
            assert_closed_manifold(&label, &mesh);
            assert!(mesh.triangles.len() <= budget, "{label}: made {}", mesh.triangles.len());
            assert!(mesh.triangles.len() * 10 >= budget * 7, "{label}: uses what it may");
        }
        // Fewer than the walls take is refused with the least that fits.
        request["max_triangles"] = json!(100);
        let job = serde_json::from_value::<JobRequest>(request).unwrap();
        let job = job.build(JobMode::Lithophane, None).unwrap();
        let error = crate::helpers::cpu()
            .heightfield(&image, job.image_params().unwrap(), &Silent, &mut Vec::new())
            .unwrap_err();
        assert!(error.to_string().contains("allow at least"), "{shape}: {error}");
    }
    let dome = json!({ "shape": "dome", "max_error_mm": 0.05 });
    let error = serde_json::from_value::<JobRequest>(dome)
        .unwrap()
        .build(JobMode::Lithophane, None)
        .unwrap_err();
    assert_eq!(error.field, "max_error_mm");
}

/// The largest distance from any of `points` to the nearest triangle of `mesh`, the triangles
/// found through a uniform grid of their boxes.
fn farthest(points: &[[f32; 3]], mesh: &IndexedMesh) -> f64 {
    const CELL: f64 = 2.0;
    let at = |p: [f32; 3]| p.map(f64::from);
    let key = |p: [f64; 3]| p.map(|c| (c / CELL).floor() as i64);
    let mut cells: std::collections::HashMap<[i64; 3], Vec<usize>> = Default::default();
    for (i, t) in mesh.triangles.iter().enumerate() {
        let corners = t.map(|v| at(mesh.positions[v as usize]));
        let lo = key([0, 1, 2].map(|k| corners.iter().map(|c| c[k]).fold(f64::MAX, f64::min)));
        let hi = key([0, 1, 2].map(|k| corners.iter().map(|c| c[k]).fold(f64::MIN, f64::max)));
        for x in lo[0] - 1..=hi[0] + 1 {
            for y in lo[1] - 1..=hi[1] + 1 {
                for z in lo[2] - 1..=hi[2] + 1 {
                    cells.entry([x, y, z]).or_default().push(i);
                }
            }
        }
    }
    points
        .iter()
        .map(|&p| {
            let p = at(p);
            let near = cells.get(&key(p)).map_or(&[][..], Vec::as_slice);
            near.iter()
                .map(|&i| {
                    let t = mesh.triangles[i].map(|v| at(mesh.positions[v as usize]));
                    distance(p, t)
                })
                .fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max)
}

/// The distance from `p` to triangle `t` (Ericson, "Real-Time Collision Detection", 5.1.5).
fn distance(p: [f64; 3], [a, b, c]: [[f64; 3]; 3]) -> f64 {
    let sub = |u: [f64; 3], v: [f64; 3]| [u[0] - v[0], u[1] - v[1], u[2] - v[2]];
    let dot = |u: [f64; 3], v: [f64; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    let along =
        |o: [f64; 3], d: [f64; 3], s: f64| [o[0] + s * d[0], o[1] + s * d[1], o[2] + s * d[2]];
    let (ab, ac, ap) = (sub(b, a), sub(c, a), sub(p, a));
    let (d1, d2) = (dot(ab, ap), dot(ac, ap));
    let closest = if d1 <= 0.0 && d2 <= 0.0 {
        a
    } else {
        let bp = sub(p, b);
        let (d3, d4) = (dot(ab, bp), dot(ac, bp));
        let cp = sub(p, c);
        let (d5, d6) = (dot(ab, cp), dot(ac, cp));
        let (vc, vb, va) = (d1 * d4 - d3 * d2, d5 * d2 - d1 * d6, d3 * d6 - d5 * d4);
        if d3 >= 0.0 && d4 <= d3 {
            b
        } else if d6 >= 0.0 && d5 <= d6 {
            c
        } else if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
            along(a, ab, d1 / (d1 - d3))
        } else if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
            along(a, ac, d2 / (d2 - d6))
        } else if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
            along(b, sub(c, b), (d4 - d3) / ((d4 - d3) + (d5 - d6)))
        } else {
            let denominator = 1.0 / (va + vb + vc);
            let (v, w) = (vb * denominator, vc * denominator);
            [0, 1, 2].map(|k| a[k] + ab[k] * v + ac[k] * w)
        }
    };
    let d = sub(p, closest);
    dot(d, d).sqrt()
}

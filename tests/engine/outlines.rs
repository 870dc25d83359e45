//! Flat panels cut to an outline (circle, oval, heart) with a frame that follows it, and a
//! hanger hole in a solid collar: one closed manifold of the expected genus, as big as the
//! outline, holding the thickness map's volume, with every edge of it as thick as the frame;
//! the same on both backends; and holes that do not fit refused.

use lithos_engine::{Heightfield, IndexedMesh, Input, JobMode, JobRequest, MeshFormat, Silent};
use serde_json::{Value, json};

use crate::helpers::{engines, load, random_gray};
use crate::mesh_checks::{assert_closed_manifold, assert_no_self_intersection, volume_and_area};
use crate::shapes::bent;

/// The unit heart's width over its height (two circles of radius √2/4 at (±1/4, 3/4)).
const HEART_ASPECT: f64 =
    (2.0 * (0.25 + std::f64::consts::SQRT_2 / 4.0)) / (0.75 + std::f64::consts::SQRT_2 / 4.0);

/// The volume over the solid cells: each cell's two triangles, split as the top-surface
/// kernel splits them, over a flat floor at z = 0.
fn expected_volume(hf: &Heightfield) -> f64 {
    let p = f64::from(hf.pitch_mm);
    let t = |x, y| f64::from(hf.thickness_at(x, y));
    let mut volume = 0.0;
    for y in 0..hf.height - 1 {
        for x in 0..hf.width - 1 {
            if hf.cells.is_solid(i64::from(x), i64::from(y)) {
                let (a, b, c, d) = (t(x, y), t(x + 1, y), t(x, y + 1), t(x + 1, y + 1));
                volume += p * p / 2.0 * ((a + c + d) / 3.0 + (a + d + b) / 3.0);
            }
        }
    }
    volume
}

/// The top vertices of the panel's walls: those standing over a floor vertex. The floor is
/// triangulated from its boundary alone, so these are the outline's and the hole's edges.
fn wall_tops(mesh: &IndexedMesh) -> Vec<[f32; 3]> {
    let key = |p: &[f32; 3]| (p[0].to_bits(), p[1].to_bits());
    let floor: std::collections::HashSet<_> =
        mesh.positions.iter().filter(|p| p[2] == 0.0).map(key).collect();
    mesh.positions.iter().filter(|p| p[2] > 0.0 && floor.contains(&key(p))).copied().collect()
}

fn extent(mesh: &IndexedMesh, axis: usize) -> f64 {
    let (lo, hi) = mesh
        .positions
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[axis]), hi.max(p[axis])));
    f64::from(hi - lo)
}

#[test]
fn outlines_are_closed_manifolds_framed_along_their_edge() {
    let images = [("camera", load("camera.png")), ("random", random_gray(9, 150, 100))];
    let cases: [(&str, Value, i64); 5] = [
        ("circle", json!({ "outline": "circle", "frame_mm": 2, "frame_thickness_mm": 4 }), 2),
        ("oval", json!({ "outline": "oval", "frame_mm": 3, "frame_thickness_mm": 4 }), 2),
        ("heart", json!({ "outline": "heart", "frame_mm": 2, "frame_thickness_mm": 4 }), 2),
        (
            "heart with a hanger",
            json!({ "outline": "heart", "frame_mm": 2, "frame_thickness_mm": 4, "hanger_mm": 5 }),
            0,
        ),
        (
            "rect with a hanger",
            json!({ "hanger_mm": 6, "frame_mm": 1.5, "frame_thickness_mm": 4 }),
            0,
        ),
    ];
    for (image_name, image) in &images {
        for (name, request, euler) in &cases {
            let mut request = request.clone();
            request["max_grid"] = json!(150);
            request["width_mm"] = json!(90);
            let mut meshes = Vec::new();
            for engine in engines() {
                let label = format!("{name} of {image_name} on {}", engine.adapter());
                let (hf, mesh) = bent(engine, image, &request);
                let topology = assert_closed_manifold(&label, &mesh);
                assert_eq!(topology.components, 1, "{label}: one piece");
                // A ball, or with a hanger hole a torus.
                assert_eq!(topology.euler, *euler, "{label}: Euler characteristic");

                let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
                let expected = expected_volume(&hf);
                let error = (volume - expected).abs() / expected;
                assert!(error < 0.005, "{label}: volume {volume:.1} vs {expected:.1}");

                // The frame (and a hanger's collar) follows every edge: each wall's top is
                // the frame's thickness.
                let tops = wall_tops(&mesh);
                assert!(tops.len() > 50, "{label}: {} wall tops", tops.len());
                for p in &tops {
                    assert!((p[2] - 4.0).abs() < 1e-5, "{label}: an edge at {p:?} is not framed");
                }

                // As big as the outline asks, to within the grid step a side that whole cells
                // lose.
                let (w, h) = (f64::from(hf.width - 1), f64::from(hf.height - 1));
                let p = f64::from(hf.pitch_mm);
                let (ex, ey) = (extent(&mesh, 0), extent(&mesh, 1));
                let (want_x, want_y) = match request["outline"].as_str() {
                    Some("circle") => (w.min(h) * p, w.min(h) * p),
                    Some("heart") => {
                        let s = (w * p / HEART_ASPECT).min(h * p);
                        (s * HEART_ASPECT, s)
                    }
                    _ => (w * p, h * p),
                };
                assert!(
                    (ex - want_x).abs() <= 2.5 * p && (ey - want_y).abs() <= 2.5 * p,
                    "{label}: {ex:.2} x {ey:.2} mm, asked {want_x:.2} x {want_y:.2}"
                );
                // The size reported is the mesh's.
                let reported = hf.size_mm().map(f64::from);
                let ez = extent(&mesh, 2);
                for (k, e) in [ex, ey, ez].into_iter().enumerate() {
                    assert!(
                        (reported[k] - e).abs() < 1e-3,
                        "{label}: reports {reported:?}, made {e}"
                    );
                }
                meshes.push(mesh);
            }
            if let [cpu, gpu] = &meshes[..] {
                assert_eq!(cpu.triangles, gpu.triangles, "{name} of {image_name}: same triangles");
            }
        }
    }
}

#[test]
fn no_outline_intersects_itself() {
    for outline in ["circle", "oval", "heart"] {
        let request = json!({ "max_grid": 48, "width_mm": 60, "outline": outline, "hanger_mm": 4 });
        let (_, mesh) = bent(crate::helpers::cpu(), &load("camera.png"), &request);
        assert_no_self_intersection(outline, &mesh);
    }
}

#[test]
fn a_hanger_that_does_not_fit_and_options_of_other_shapes_are_refused() {
    let image = load("camera.png");
    let job = serde_json::from_value::<JobRequest>(json!({ "width_mm": 20, "hanger_mm": 10 }))
        .unwrap()
        .build(JobMode::Lithophane, Some(MeshFormat::Stl))
        .unwrap();
    let error = crate::helpers::cpu().run(&job, Input::Image(&image), std::io::sink(), &Silent);
    let lithos_engine::EngineError::InvalidParameter(e) = error.unwrap_err() else { panic!() };
    assert_eq!(e.field, "hanger_mm");
    assert!(e.message.contains("use a smaller `hanger_mm` or a larger `width_mm`"), "{e}");
    for (request, field) in [
        (json!({ "shape": "cylinder", "outline": "heart" }), "outline"),
        (json!({ "shape": "arc", "hanger_mm": 4 }), "hanger_mm"),
        (json!({ "outline": "star" }), "`heart`"),
    ] {
        let error = serde_json::from_value::<JobRequest>(request.clone())
            .map_err(|e| e.to_string())
            .and_then(|r| r.build(JobMode::Lithophane, None).map_err(|e| e.to_string()))
            .unwrap_err();
        assert!(error.contains(field), "{request}: {error}");
    }
}

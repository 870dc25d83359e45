//! Arcs and cylinders: one closed, oriented manifold each, of the requested radius and
//! height, holding the bent thickness map's volume; a cylinder without a seam wall; the same
//! mesh from the GPU's thickness map as from the CPU's; and the bends that cannot print
//! refused with what to change.

use lithos_engine::mesh::Bend;
use lithos_engine::{
    Engine, Heightfield, IndexedMesh, Input, Job, JobMode, JobRequest, MeshFormat, Silent,
    SourceImage,
};
use serde_json::{Value, json};

use crate::formats::read_ply;
use crate::helpers::{engines, load, random_gray};
use crate::mesh_checks::{assert_closed_manifold, assert_no_self_intersection, volume_and_area};

fn job(request: Value, format: MeshFormat) -> Job {
    serde_json::from_value::<JobRequest>(request)
        .unwrap()
        .build(JobMode::Lithophane, Some(format))
        .unwrap()
}

/// The thickness map, and the mesh as PLY read back.
pub fn bent(engine: &Engine, image: &SourceImage, request: &Value) -> (Heightfield, IndexedMesh) {
    let job = job(request.clone(), MeshFormat::Ply);
    let params = job.image_params().unwrap();
    let hf = engine.heightfield(image, params, &Silent, &mut Vec::new()).unwrap();
    let mut bytes = Vec::new();
    engine.run(&job, Input::Image(image), &mut bytes, &Silent).unwrap();
    (hf, read_ply(&bytes))
}

/// The volume between the unlit side and the image side: at radius `r = r0 + s z` a layer
/// `dz` thick and `du` wide holds `r / P du dz` (`P` millimetres of grid per radian), so a
/// column of thickness `t` holds `(r0 t + s t^2 / 2) / P`, integrated exactly over each of a
/// cell's two triangles, (a, c, d) and (a, d, b), where `t` is linear.
fn expected_volume(hf: &Heightfield, bend: &Bend, inner: bool) -> f64 {
    let p = f64::from(hf.pitch_mm);
    let columns = if bend.closed { hf.width } else { hf.width - 1 };
    let per_radian = f64::from(bend.per_radian);
    let (r0, s) = if inner { (f64::from(bend.outer), -1.0) } else { (f64::from(bend.inner), 1.0) };
    // Over a triangle with corner values a, b, c: the mean of t and of t^2.
    let triangle = |a: f64, b: f64, c: f64| {
        let mean = (a + b + c) / 3.0;
        let square = (a * a + b * b + c * c + a * b + b * c + c * a) / 6.0;
        p * p / 2.0 * (r0 * mean + s * square / 2.0) / per_radian
    };
    let mut volume = 0.0;
    for y in 0..hf.height - 1 {
        for x in 0..columns {
            let x1 = (x + 1) % hf.width;
            let t = |x, y| f64::from(hf.thickness_at(x, y));
            let (a, b, c, d) = (t(x, y), t(x1, y), t(x, y + 1), t(x1, y + 1));
            volume += triangle(a, c, d) + triangle(a, d, b);
        }
    }
    volume
}

#[test]
fn arcs_and_cylinders_are_closed_manifolds_of_the_asked_radius_and_volume() {
    let images = [("camera", load("camera.png")), ("random", random_gray(7, 160, 120))];
    let shapes = [
        ("arc", json!({ "shape": "arc", "arc_deg": 120, "width_mm": 80 }), false),
        (
            "arc-inner",
            json!({ "shape": "arc", "arc_deg": 200, "arc_inner": true, "width_mm": 80 }),
            true,
        ),
        (
            "cylinder",
            json!({ "shape": "cylinder", "ring_mm": 4, "top_ring_mm": 2, "width_mm": 120 }),
            false,
        ),
    ];
    for (image_name, image) in &images {
        for (shape, request, inner) in &shapes {
            let mut request = request.clone();
            request["max_grid"] = json!(160);
            let mut meshes = Vec::new();
            for engine in engines() {
                let label = format!("{shape} of {image_name} on {}", engine.adapter());
                let (hf, mesh) = bent(engine, image, &request);
                let bend = hf.bend.expect("a bent panel");
                let topology = assert_closed_manifold(&label, &mesh);
                assert_eq!(topology.components, 1, "{label}: one piece");
                // A ball's Euler characteristic, or a tube's: no seam wall closes the cylinder.
                let euler = if bend.closed { 0 } else { 2 };
                assert_eq!(topology.euler, euler, "{label}");

                let (w, h) = (hf.width as usize, hf.height as usize);
                let radius = |p: &[f32; 3]| f64::from(p[0]).hypot(f64::from(p[1]));
                // The unlit side (the floor's copy of the grid) lies at one radius.
                let unlit = if *inner { bend.outer } else { bend.inner };
                for p in &mesh.positions[w * h..] {
                    assert!(
                        (radius(p) - f64::from(unlit)).abs() < 1e-4,
                        "{label}: unlit side at {}",
                        radius(p)
                    );
                }
                // The image side reaches the outer radius (outward) or the inner (inward) at
                // its thickest, and never beyond.
                let image_side = mesh.positions[..w * h].iter().map(radius);
                let (lo, hi) =
                    image_side.fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
                if *inner {
                    assert!(
                        (lo - f64::from(bend.inner)).abs() < 1e-4,
                        "{label}: inner radius {lo}"
                    );
                } else {
                    assert!(
                        (hi - f64::from(bend.outer)).abs() < 1e-4,
                        "{label}: outer radius {hi}"
                    );
                }
                // Standing upright, as tall as the image (and its rings).
                let height = (h - 1) as f32 * hf.pitch_mm;
                let z: Vec<f32> = mesh.positions.iter().map(|p| p[2]).collect();
                assert_eq!(z.iter().copied().fold(f32::MAX, f32::min), 0.0, "{label}: on the bed");
                assert!(
                    (z.iter().copied().fold(0.0, f32::max) - height).abs() < 1e-3,
                    "{label}: height"
                );

                let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
                let expected = expected_volume(&hf, &bend, *inner);
                let error = (volume - expected).abs() / expected;
                eprintln!(
                    "{label}: volume {volume:.2} mm3, expected {expected:.2} ({:.4}%)",
                    error * 100.0
                );
                assert!(
                    error < 0.005,
                    "{label}: volume {volume:.1} vs {expected:.1} ({:.3}%)",
                    error * 100.0
                );
                meshes.push(mesh);
            }
            // The GPU's thickness map bends into the CPU's mesh.
            if let [cpu, gpu] = &meshes[..] {
                assert_eq!(cpu.triangles, gpu.triangles, "{shape}: the same triangles");
                let worst = cpu
                    .positions
                    .iter()
                    .zip(&gpu.positions)
                    .flat_map(|(a, b)| (0..3).map(move |k| (a[k] - b[k]).abs()))
                    .fold(0.0, f32::max);
                assert!(worst < 1e-4, "{shape} of {image_name}: GPU and CPU differ by {worst} mm");
            }
        }
    }
}

#[test]
fn a_cylinder_is_as_round_as_the_image_is_wide_and_its_rings_are_solid() {
    let image = random_gray(3, 200, 100);
    let request = json!({ "shape": "cylinder", "width_mm": 100, "ring_mm": 5, "max_grid": 200 });
    let (hf, mesh) = bent(crate::helpers::cpu(), &image, &request);
    let bend = hf.bend.unwrap();
    // The circumference at the thickest point is the image's width.
    let circumference = std::f64::consts::TAU * f64::from(bend.outer);
    assert!((circumference - 100.0).abs() < 1e-3, "{circumference}");
    // 5 mm of ring: as many rows of the thickest thickness at the bottom.
    let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
    let w = hf.width as usize;
    let rows = hf.thickness.len() / w;
    let ring = (5.0 / hf.pitch_mm).round() as usize;
    assert!(ring >= 9, "{ring} rows");
    for row in rows - ring..rows {
        assert!(hf.thickness[row * w..(row + 1) * w].iter().all(|&t| t == thickest), "row {row}");
    }
    assert_closed_manifold("ringed cylinder", &mesh);
}

#[test]
fn a_socket_plate_closes_the_bottom_ring_around_its_hole() {
    let image = random_gray(4, 240, 100);
    let base = json!({ "shape": "cylinder", "width_mm": 150, "ring_mm": 4, "max_grid": 240 });
    let mut with_socket = base.clone();
    with_socket["socket_mm"] = json!(29);
    let (hf, plain) = bent(crate::helpers::cpu(), &image, &base);
    let mut volumes = Vec::new();
    for engine in engines() {
        let label = format!("socket on {}", engine.adapter());
        let (socket_hf, mesh) = bent(engine, &image, &with_socket);
        let topology = assert_closed_manifold(&label, &mesh);
        // Still a tube: the plate's hole keeps it open.
        assert_eq!((topology.components, topology.euler), (1, 0), "{label}");
        let socket = socket_hf.bend.unwrap().socket.expect("a socket plate");
        // The hole is 29 mm across at every point of its wall.
        let radius = |p: &[f32; 3]| f64::from(p[0]).hypot(f64::from(p[1]));
        let innermost = mesh.positions.iter().map(radius).fold(f64::MAX, f64::min);
        assert!((innermost - 14.5).abs() < 1e-4, "{label}: hole radius {innermost}");
        assert!((f64::from(socket.thickness) - 4.0).abs() <= f64::from(hf.pitch_mm) / 2.0);
        volumes.push(volume_and_area(&mesh, |p| p.map(f64::from)).0);
    }
    // The plate adds a polygonal annulus (w sides) from the hole to the inside, as thick as
    // the ring.
    let (plain_volume, _) = volume_and_area(&plain, |p| p.map(f64::from));
    let bend = hf.bend.unwrap();
    let w = f64::from(hf.width);
    let thickness = f64::from((4.0 / hf.pitch_mm).round() * hf.pitch_mm);
    let inner = f64::from(bend.inner);
    let annulus = w / 2.0 * (std::f64::consts::TAU / w).sin() * (inner * inner - 14.5 * 14.5);
    for volume in volumes {
        let added = volume - plain_volume;
        let expected = annulus * thickness;
        assert!(
            (added - expected).abs() / expected < 0.005,
            "plate {added:.1} vs {expected:.1} mm3"
        );
    }
    // A small one is checked pair by pair for crossings.
    let small = json!({ "shape": "cylinder", "width_mm": 60, "ring_mm": 3, "socket_mm": 8, "max_grid": 48 });
    let (_, mesh) = bent(crate::helpers::cpu(), &load("camera.png"), &small);
    assert_no_self_intersection("small socket", &mesh);
}

#[test]
fn a_panel_on_feet_stands_on_a_foot_that_flares_out_at_45_degrees() {
    let image = load("camera.png");
    let request = json!({ "feet": true, "width_mm": 80, "max_grid": 160, "frame_mm": 2, "frame_thickness_mm": 4 });
    let mut meshes = Vec::new();
    for engine in engines() {
        let label = format!("feet on {}", engine.adapter());
        let (hf, mesh) = bent(engine, &image, &request);
        let topology = assert_closed_manifold(&label, &mesh);
        assert_eq!((topology.components, topology.euler), (1, 2), "{label}");
        let feet = hf.bend.unwrap().feet.expect("a foot");
        let p = hf.pitch_mm;
        // 80 mm tall: the foot reaches (and rises) an eighth of that, 10 mm, in whole rows.
        assert!((feet.reach - 10.0).abs() <= p / 2.0, "{label}: reach {}", feet.reach);
        let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
        let axis = |k: usize| mesh.positions.iter().map(move |q| q[k]);
        let min = |k: usize| axis(k).fold(f32::MAX, f32::min);
        let max = |k: usize| axis(k).fold(f32::MIN, f32::max);
        assert_eq!(min(2), 0.0, "{label}: on the bed");
        assert!((max(2) - (hf.height - 1) as f32 * p).abs() < 1e-3, "{label}: upright, foot below");
        assert!((max(1) - feet.reach).abs() < 1e-4, "{label}: the foot reaches back");
        assert!((min(1) + thickest + feet.reach).abs() < 1e-4, "{label}: and forward");
        // Above the foot, the unlit side is the plane y = 0.
        let w = hf.width as usize;
        let floor = &mesh.positions[w * hf.height as usize..];
        assert!(
            floor[..w * (feet.row as usize + 1)].iter().all(|q| q[1] == 0.0),
            "{label}: flat back"
        );
        // The volume: the depth (thickness, and the foot's two flares) over the grid.
        let flare = |y: u32| {
            if y > feet.row {
                feet.reach * (y - feet.row) as f32 / (hf.height - 1 - feet.row) as f32
            } else {
                0.0
            }
        };
        let depth = |x, y| f64::from(hf.thickness_at(x, y) + 2.0 * flare(y));
        let mut expected = 0.0;
        for y in 0..hf.height - 1 {
            for x in 0..hf.width - 1 {
                let (a, b, c, d) =
                    (depth(x, y), depth(x + 1, y), depth(x, y + 1), depth(x + 1, y + 1));
                expected += f64::from(p * p) / 2.0 * ((a + c + d) / 3.0 + (a + d + b) / 3.0);
            }
        }
        let (volume, _) = volume_and_area(&mesh, |q| q.map(f64::from));
        assert!(
            (volume - expected).abs() / expected < 0.005,
            "{label}: volume {volume:.1} vs {expected:.1}"
        );
        // The thumbnail, drawn from a coarser grid, shows the foot too.
        let drawn = lithos_engine::thumbnail::heightfield_triangles(&hf);
        let back = drawn.iter().flat_map(|t| t.corners).map(|c| c[1]).fold(f32::MIN, f32::max);
        assert!((back - feet.reach).abs() < 1e-3, "{label}: the thumbnail's foot reaches {back}");
        meshes.push(mesh);
    }
    if let [cpu, gpu] = &meshes[..] {
        assert_eq!(cpu.triangles, gpu.triangles);
    }
    let small = json!({ "feet": true, "width_mm": 40, "max_grid": 40 });
    let (_, mesh) = bent(crate::helpers::cpu(), &image, &small);
    assert_no_self_intersection("small panel on feet", &mesh);
}

#[test]
fn a_dome_is_a_spherical_shell_on_a_flat_rim() {
    let grey = SourceImage::from_image(image::DynamicImage::ImageLuma8(
        image::GrayImage::from_pixel(121, 101, image::Luma([128])),
    ));
    let images =
        [("grey", grey), ("camera", load("camera.png")), ("random", random_gray(5, 90, 120))];
    for (name, image) in &images {
        for degrees in [180.0, 100.0] {
            let request =
                json!({ "shape": "dome", "dome_deg": degrees, "width_mm": 120, "max_grid": 121 });
            let mut meshes = Vec::new();
            for engine in engines() {
                let label = format!("{degrees}-degree dome of {name} on {}", engine.adapter());
                let (hf, mesh) = bent(engine, image, &request);
                let topology = assert_closed_manifold(&label, &mesh);
                assert_eq!((topology.components, topology.euler), (1, 2), "{label}");
                let dome = hf.bend.unwrap().dome.expect("a dome");
                assert!((f64::from(dome.half_angle) - f64::to_radians(degrees) / 2.0).abs() < 1e-6);
                // The image's inscribed circle (the 120 mm width, or its height) is the arc at
                // the outside, to within the grid's rounding.
                let across = f64::from(dome.inner + dome.thickest) * f64::to_radians(degrees);
                let circle =
                    120.0 * f64::min(1.0, f64::from(image.height()) / f64::from(image.width()));
                assert!(
                    (across - circle).abs() < 1.5,
                    "{label}: {across} mm over the top, not {circle}"
                );
                // On the bed, as wide as the rim.
                let min = |k: usize| mesh.positions.iter().map(|q| q[k]).fold(f32::MAX, f32::min);
                let max = |k: usize| mesh.positions.iter().map(|q| q[k]).fold(f32::MIN, f32::max);
                assert_eq!(min(2), 0.0, "{label}: on the bed");
                for k in 0..2 {
                    let d = max(k) - min(k);
                    assert!((d - 2.0 * dome.rim_radius()).abs() < 1e-3, "{label}: {d} across");
                }
                // The inside is one sphere: every unlit point of the cap at `inner` from its centre.
                let centre = [0.0, 0.0, f64::from(dome.centre_z())];
                let from_centre = |q: &[f32; 3]| {
                    (0..3).map(|k| (f64::from(q[k]) - centre[k]).powi(2)).sum::<f64>().sqrt()
                };
                let n = (hf.width * hf.height) as usize;
                let inside = mesh.positions[n..].iter().filter(|q| q[2] > dome.thickest + 1e-3);
                let mut count = 0;
                for q in inside {
                    assert!(
                        (from_centre(q) - f64::from(dome.inner)).abs() < 1e-3,
                        "{label}: inside at {}",
                        from_centre(q)
                    );
                    count += 1;
                }
                assert!(count > n / 2, "{label}: {count} inside points");
                if *name == "grey" {
                    // A shell of even thickness, and the rim as a solid of revolution.
                    let t = f64::from(hf.thickness[0]);
                    let (r0, r1) = (f64::from(dome.inner), f64::from(dome.inner) + t);
                    let a = f64::from(dome.half_angle);
                    let shell =
                        std::f64::consts::TAU / 3.0 * (r1.powi(3) - r0.powi(3)) * (1.0 - a.cos());
                    let rim = f64::from(dome.rim_radius());
                    let section = [
                        (r0 * a.sin(), t),
                        (r0 * a.sin(), 0.0),
                        (rim, 0.0),
                        (rim, t),
                        (r1 * a.sin(), t + t * a.cos()),
                    ];
                    let moment: f64 = (0..section.len())
                        .map(|i| {
                            let ((s0, z0), (s1, z1)) =
                                (section[i], section[(i + 1) % section.len()]);
                            (s0 * z1 - s1 * z0) * (s0 + s1) / 6.0
                        })
                        .sum();
                    let expected = shell + std::f64::consts::TAU * moment.abs();
                    let (volume, _) = volume_and_area(&mesh, |q| q.map(f64::from));
                    assert!(
                        (volume - expected).abs() / expected < 0.005,
                        "{label}: volume {volume:.1} vs {expected:.1}"
                    );
                }
                meshes.push(mesh);
            }
            if let [cpu, gpu] = &meshes[..] {
                assert_eq!(cpu.triangles, gpu.triangles, "{degrees}-degree dome of {name}");
            }
        }
    }
    // Lit from behind, a dome shows the image's circle as a flat panel shows the image.
    let lit = |request: Value| {
        let mut job = job(request, MeshFormat::Stl);
        job.backlit = true;
        let report = crate::helpers::cpu().run(
            &job,
            Input::Image(&load("camera.png")),
            std::io::sink(),
            &Silent,
        );
        report.unwrap().backlit.expect("a backlit view")
    };
    let dome = lit(json!({ "shape": "dome", "width_mm": 120, "max_grid": 201 }));
    let flat = lit(json!({ "width_mm": 120, "max_grid": 201 }));
    let (mut sum, mut count) = (0.0, 0);
    for (x, y, p) in dome.enumerate_pixels() {
        let (dx, dy) = (
            x as f32 / (dome.width() - 1) as f32 - 0.5,
            y as f32 / (dome.height() - 1) as f32 - 0.5,
        );
        if dx * dx + dy * dy < 0.45 * 0.45 {
            let fx = ((dx + 0.5) * (flat.width() - 1) as f32).round() as u32;
            let fy = ((dy + 0.5) * (flat.height() - 1) as f32).round() as u32;
            sum += (f32::from(p[0]) - f32::from(flat.get_pixel(fx, fy)[0])).abs();
            count += 1;
        }
    }
    assert!(
        sum / (count as f32) < 6.0,
        "the dome's backlit view differs by {} grey levels",
        sum / count as f32
    );

    let small = json!({ "shape": "dome", "dome_deg": 150, "width_mm": 60, "max_grid": 41 });
    let (_, mesh) = bent(crate::helpers::cpu(), &load("camera.png"), &small);
    assert_no_self_intersection("small dome", &mesh);
}

#[test]
fn every_shape_s_stl_holds_its_ply_s_triangles() {
    let image = random_gray(8, 60, 40);
    for request in [
        json!({ "shape": "arc", "arc_deg": 200, "arc_inner": true, "max_grid": 60 }),
        json!({ "shape": "cylinder", "ring_mm": 6, "socket_mm": 10, "width_mm": 120, "max_grid": 60 }),
        json!({ "feet": true, "max_grid": 60 }),
        json!({ "shape": "dome", "dome_deg": 120, "max_grid": 60 }),
    ] {
        let (_, ply) = bent(crate::helpers::cpu(), &image, &request);
        let mut stl = Vec::new();
        let job = job(request.clone(), MeshFormat::Stl);
        crate::helpers::cpu().run(&job, Input::Image(&image), &mut stl, &Silent).unwrap();
        let records = crate::parity::records(&stl);
        assert_eq!(records.len(), ply.triangles.len(), "{request}");
        for (record, t) in records.iter().zip(&ply.triangles) {
            for (k, &v) in t.iter().enumerate() {
                let p = ply.positions[v as usize];
                for c in 0..3 {
                    assert!(
                        (record[3 + 3 * k + c] - p[c]).abs() < 1e-4,
                        "{request}: {record:?} vs {p:?}"
                    );
                }
            }
        }
    }
}

/// No triangle of a flat panel (whole, or masked into regions), an arc (either way) or a ringed cylinder crosses another: an
/// intersection test over every pair of triangles that share no vertex, on noise (the
/// steepest relief) and a real photograph, at a grid small enough to test every pair near
/// each other.
#[test]
fn no_shape_intersects_itself() {
    for (name, image) in [("noise", random_gray(11, 48, 36)), ("camera", load("camera.png"))] {
        for request in [
            json!({ "max_grid": 48 }),
            json!({ "max_grid": 48, "mask": "threshold", "threshold": 0.4 }),
            json!({ "max_grid": 48, "shape": "arc", "arc_deg": 300, "width_mm": 60 }),
            json!({ "max_grid": 48, "shape": "arc", "arc_deg": 300, "arc_inner": true, "width_mm": 60 }),
            json!({ "max_grid": 48, "shape": "cylinder", "ring_mm": 3, "top_ring_mm": 3, "width_mm": 60 }),
        ] {
            let (_, mesh) = bent(crate::helpers::cpu(), &image, &request);
            assert_no_self_intersection(&format!("{request} on {name}"), &mesh);
        }
    }
}

#[test]
fn bends_that_cannot_print_are_refused_with_what_to_change() {
    let image = load("camera.png");
    let engine = crate::helpers::cpu();
    for (request, field, says) in [
        (
            json!({ "shape": "arc", "arc_deg": 350, "width_mm": 20 }),
            "arc_deg",
            "use a smaller `arc_deg` or a larger `width_mm`",
        ),
        (json!({ "shape": "cylinder", "width_mm": 15 }), "width_mm", "use a larger `width_mm`"),
        (
            json!({ "shape": "dome", "width_mm": 12 }),
            "dome_deg",
            "use a smaller `dome_deg` or a larger `width_mm`",
        ),
        (
            json!({ "shape": "cylinder", "width_mm": 100, "ring_mm": 3, "socket_mm": 30 }),
            "socket_mm",
            "use a smaller `socket_mm` or a larger `width_mm`",
        ),
    ] {
        let job = job(request.clone(), MeshFormat::Stl);
        let error = engine.run(&job, Input::Image(&image), std::io::sink(), &Silent).unwrap_err();
        let lithos_engine::EngineError::InvalidParameter(e) = error else { panic!("{error}") };
        assert_eq!(e.field, field, "{request}");
        assert!(e.message.contains(says), "{e}");
    }
    for (request, field) in [
        (json!({ "shape": "arc", "mask": "alpha" }), "mask"),
        (json!({ "ring_mm": 3 }), "ring_mm"),
        (json!({ "shape": "cylinder", "arc_deg": 90 }), "arc_deg"),
        (json!({ "shape": "arc", "arc_deg": 360 }), "arc_deg"),
        (json!({ "shape": "cylinder", "socket_mm": 20 }), "socket_mm"),
        (json!({ "socket_mm": 20 }), "socket_mm"),
        (json!({ "feet": true, "outline": "heart" }), "feet"),
        (json!({ "feet": true, "mask": "alpha" }), "mask"),
        (json!({ "shape": "arc", "feet": true }), "feet"),
        (json!({ "shape": "dome", "dome_deg": 200 }), "dome_deg"),
        (json!({ "dome_deg": 90 }), "dome_deg"),
    ] {
        let error = serde_json::from_value::<JobRequest>(request.clone())
            .unwrap()
            .build(JobMode::Lithophane, None)
            .unwrap_err();
        assert_eq!(error.field, field, "{request}: {error}");
    }
}

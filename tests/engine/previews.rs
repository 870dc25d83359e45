//! Previews: the same model at the same size on a small grid, from a shrunk source, with a
//! lithophane's backlit view; none for a volume.

use lithos_engine::{Input, JobMode, JobRequest, MeshFormat, PREVIEW_GRID, PREVIEW_SOURCE, Silent};
use serde_json::json;

use crate::helpers::{cpu, load};

#[test]
fn a_preview_is_the_full_model_on_a_small_grid() {
    let image = load("camera.png");
    let (w, h) = (image.width(), image.height());
    let small = image.shrunk(PREVIEW_SOURCE / 2);
    assert_eq!((small.width(), small.height()), (PREVIEW_SOURCE / 2, PREVIEW_SOURCE / 2 * h / w));
    for (mode, request) in [
        (JobMode::Lithophane, json!({ "width_mm": 80, "blur_px": 3 })),
        (JobMode::Lithophane, json!({ "pixel_mm": 0.3, "shape": "cylinder", "ring_mm": 3 })),
        (JobMode::Lithophane, json!({ "grid": 1024, "outline": "heart", "hanger_mm": 4 })),
        (JobMode::Relief, json!({ "shape": "arc", "arc_deg": 90 })),
        (JobMode::Solid, json!({ "threshold": 0.4 })),
    ] {
        let job = serde_json::from_value::<JobRequest>(request.clone())
            .unwrap()
            .build(mode, Some(MeshFormat::Stl))
            .unwrap();
        let full = cpu().run(&job, Input::Image(&image), std::io::sink(), &Silent).unwrap();
        let preview = job.preview(w, h).unwrap();
        assert_eq!(preview.format, MeshFormat::Glb);
        let mut glb = Vec::new();
        let report = cpu()
            .run(&preview, Input::Image(&image.shrunk(PREVIEW_SOURCE)), &mut glb, &Silent)
            .unwrap();
        // (A cylinder's rings add rows below and above the image's.)
        assert_eq!(report.grid[0], PREVIEW_GRID, "{request}: {:?}", report.grid);
        assert!(report.triangles < full.triangles / 3, "{request}: smaller");
        // The same size, within a grid step or two: a cell a side can come and go at an
        // outline's edge, at either resolution.
        let step = 2.5 * full.size_mm[0] / (report.grid[0] - 1) as f32;
        for k in 0..3 {
            assert!(
                (report.size_mm[k] - full.size_mm[k]).abs() <= step.max(0.05),
                "{request}: {:?} vs {:?}",
                report.size_mm,
                full.size_mm
            );
        }
        assert_eq!(report.backlit.is_some(), mode == JobMode::Lithophane, "{request}");
        assert_eq!(&glb[..4], b"glTF");
    }
    let volume = JobRequest::default().build(JobMode::Volume, None).unwrap();
    assert_eq!(volume.preview(10, 10).unwrap_err().field, "mode");
}

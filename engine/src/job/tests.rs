use serde_json::{Value, json};

use super::*;
use crate::params::{Detail, Light};
use crate::{BackendChoice, BackendKind, Bevel, MaskSource, Millimetres, Mode, RawType};

/// Serde's names and `named!`'s are the same, both ways.
#[test]
fn every_choice_has_one_set_of_names() {
    fn check<T>(all: &[T])
    where
        T: Copy + std::fmt::Debug + PartialEq + std::fmt::Display + std::str::FromStr,
        T: Serialize + for<'de> Deserialize<'de>,
    {
        for &v in all {
            let name = v.to_string();
            assert_eq!(serde_json::to_value(v).unwrap(), json!(name), "{v:?}");
            assert_eq!(serde_json::from_value::<T>(json!(name)).unwrap(), v);
            assert!(name.parse::<T>().ok() == Some(v), "{name}");
        }
    }
    check(JobMode::ALL);
    check(MaskSource::ALL);
    check(Bevel::ALL);
    check(RawType::ALL);
    check(BackendChoice::ALL);
    check(&MeshFormat::ALL);
    for &kind in BackendKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.name()));
    }
    let error = "sculpture".parse::<JobMode>().unwrap_err();
    assert_eq!(error.field, "mode");
    assert!(error.message.contains("relief, lithophane, solid, sculpt, volume"), "{error}");
}

/// A request with `name` set to `value`, through serde as the API would send it.
fn with(name: &str, value: Value) -> JobRequest {
    serde_json::from_value(json!({ name: value })).unwrap()
}

/// The table lists exactly the struct's fields, in order, each with a label and help.
#[test]
fn the_table_is_the_struct() {
    let all: Vec<&str> = JobRequest::default().given().map(|(name, _)| name).collect();
    let table: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(all, table);
    for field in FIELDS {
        assert!(!field.label.is_empty() && field.help().ends_with('.'), "{}", field.name);
        assert!(!field.modes.is_empty(), "{}", field.name);
        assert!(field.basic.iter().all(|m| field.modes.contains(m)), "{}", field.name);
    }
}

/// The defaults the help and the schema show are the ones the build applies: a field given
/// its shown default builds the same job as the field left out, in every mode it applies to.
#[test]
fn shown_defaults_are_applied_defaults() {
    let mut checked = 0;
    for field in FIELDS {
        for &mode in field.modes {
            let Some(default) = field.default_in(mode) else { continue };
            // A solid given a threshold masks by brightness even when the image has alpha:
            // giving it is a choice, not its default.
            if field.name == "threshold" && mode == JobMode::Solid {
                continue;
            }
            // A threshold counts only with a mask (solids always have one), a transmission
            // distance only with the transmittance model, and a layer height with a palette.
            // Text and prompts need their words, and drain holes a hollow.
            let mut base = if mode == JobMode::Text {
                json!({ "text": "Hi" })
            } else if mode == JobMode::Prompt {
                json!({ "prompt": "a cat" })
            } else if field.name == "threshold" && mode != JobMode::Solid {
                json!({ "mask": "threshold" })
            } else if field.name == "td_mm" {
                json!({ "thickness_model": "transmittance" })
            } else if field.name == "layer_mm" {
                json!({ "palette": "#000000:1,#ffffff:3" })
            } else if let Some(shape) = field.shape {
                json!({ "shape": shape.name() })
            } else {
                json!({})
            };
            if field.name.starts_with("drain_") {
                base["hollow_mm"] = json!(2.0);
            }
            let mut given = base.clone();
            given[field.name] = json!(default);
            let left_out: JobRequest = serde_json::from_value(base).unwrap();
            let given: JobRequest = serde_json::from_value(given).unwrap();
            assert_eq!(
                given.build(mode, None).unwrap(),
                left_out.build(mode, None).unwrap(),
                "{} in {mode}",
                field.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
    // And a value other than the default changes the job.
    let other = with("max_grid", json!(100)).build(JobMode::Solid, None).unwrap();
    assert_ne!(other, JobRequest::default().build(JobMode::Solid, None).unwrap());
}

#[test]
fn a_field_of_another_mode_is_refused_naming_the_modes_it_is_for() {
    for field in FIELDS {
        let value = match field.value {
            ValueType::Number | ValueType::Integer => json!(2),
            ValueType::Flag => json!(true),
            ValueType::Choice(names) | ValueType::NumberOrChoice { names, .. } => json!(names[0]),
            ValueType::List { len, .. } => json!(vec![1; len]),
            ValueType::Text { .. } if field.name == "palette" => json!("#000000:1"),
            ValueType::Text { .. } => json!("1.2.3"),
        };
        for &mode in JobMode::ALL.iter().filter(|m| !field.modes.contains(m)) {
            let error = with(field.name, value.clone()).build(mode, None).unwrap_err();
            assert_eq!(error.field, field.name);
            assert!(error.message.starts_with("applies only to `mode` "), "{error}");
            assert!(error.message.contains(field.modes[0].name()), "{error}");
        }
    }
    let error = with("width_mm", json!(5)).build(JobMode::Volume, None).unwrap_err();
    assert_eq!(error.message, "applies only to `mode` relief, lithophane or solid");
}

#[test]
fn the_build_checks_what_fits_together() {
    let cases = [
        (json!({ "threshold": 0.5 }), JobMode::Relief, "threshold"),
        (json!({ "frame_thickness_mm": 1 }), JobMode::Lithophane, "frame_thickness_mm"),
        (json!({ "width_mm": 10, "pixel_mm": 0.1 }), JobMode::Relief, "pixel_mm"),
        (json!({ "raw_dims": [2, 2, 2] }), JobMode::Volume, "raw_dims"),
        (json!({ "raw_type": "u8" }), JobMode::Volume, "raw_type"),
        (json!({ "base_mm": -1 }), JobMode::Relief, "base_mm"),
        (json!({ "min_mm": 3, "max_mm": 1 }), JobMode::Lithophane, "max_mm"),
        (json!({ "depth_mm": 0 }), JobMode::Solid, "depth_mm"),
        (json!({ "smooth_vox": 100 }), JobMode::Volume, "smooth_vox"),
    ];
    for (request, mode, field) in cases {
        let request: JobRequest = serde_json::from_value(request.clone()).unwrap();
        let error = request.build(mode, None).unwrap_err();
        assert_eq!(error.field, field, "{request:?}: {error}");
    }
    for format in MeshFormat::ALL {
        for mode in [JobMode::Relief, JobMode::Lithophane, JobMode::Solid, JobMode::Volume] {
            let job = JobRequest::default().build(mode, Some(format)).unwrap();
            assert_eq!(job.format, format, "every mode writes every format");
        }
    }
    let solid = with("threshold", json!(0.3)).build(JobMode::Solid, Some(MeshFormat::Ply)).unwrap();
    let JobKind::Solid(params, _) = solid.kind else { panic!("a solid") };
    assert_eq!(params.mask.unwrap().source, MaskSource::Threshold, "a solid's threshold masks");
    assert_eq!(params.grid.max, defaults::SOLID_MAX_GRID);
    assert_eq!(solid.stages(), &SOLID_STAGES[..]);
    let raw =
        serde_json::from_value::<JobRequest>(json!({ "raw_dims": [2, 3, 4], "raw_type": "u16" }))
            .unwrap()
            .build(JobMode::Volume, None)
            .unwrap();
    assert_eq!(
        raw.kind,
        JobKind::Volume(
            VolumeParams::default(),
            VolumeSource::Raw { dims: [2, 3, 4], sample: RawType::U16 }
        )
    );
    assert_eq!(raw.work(10, 10), None, "a volume's work depends on the volume");
}

#[test]
fn a_job_knows_its_work() {
    let relief = JobRequest::default().build(JobMode::Relief, None).unwrap();
    let work = relief.work(5000, 2000).unwrap();
    assert_eq!(work.grid, [4096, 1639], "capped at the default grid");
    let tiny = with("pixel_mm", json!(0.001)).build(JobMode::Relief, None).unwrap();
    assert!(tiny.checked_work(60, 60).is_ok());
    let huge = with("pixel_mm", json!(1000)).build(JobMode::Relief, None).unwrap();
    assert_eq!(huge.checked_work(60, 60).unwrap_err().field, "pixel_mm");
}

#[test]
fn a_transmission_distance_needs_the_transmittance_model_and_defaults_to_white_pla() {
    let error = with("td_mm", json!(2.5)).build(JobMode::Lithophane, None).unwrap_err();
    assert_eq!(error.field, "td_mm");
    assert_eq!(error.message, "needs `thickness_model` transmittance");
    let job =
        with("thickness_model", json!("transmittance")).build(JobMode::Lithophane, None).unwrap();
    let JobKind::Lithophane(params) = job.kind else { panic!("a lithophane") };
    let Mode::Lithophane { light, .. } = params.mode else { panic!("a lithophane") };
    assert_eq!(light, Light::Transmittance { td_mm: Millimetres::new(defaults::TD_MM).unwrap() });
    let error = with("td_mm", json!(-1)).build(JobMode::Lithophane, None).unwrap_err();
    assert_eq!(error.field, "td_mm");
}

#[test]
fn mesh_detail_is_a_bound_or_a_budget_never_both_and_flat_only() {
    let detail = |request: JobRequest| match request.build(JobMode::Relief, None).unwrap().kind {
        JobKind::Relief(params) => params.detail,
        _ => unreachable!(),
    };
    assert_eq!(detail(with("max_error_mm", json!(0))), Detail::Full);
    assert_eq!(detail(with("max_error_mm", json!(0.02))), Detail::MaxErrorMm(0.02));
    assert_eq!(detail(with("max_triangles", json!(50_000))), Detail::MaxTriangles(50_000));
    let both =
        serde_json::from_value::<JobRequest>(json!({ "max_error_mm": 0.1, "max_triangles": 9 }));
    assert_eq!(both.unwrap().build(JobMode::Relief, None).unwrap_err().field, "max_triangles");
    for bad in [json!(-0.1), json!(11)] {
        let error = with("max_error_mm", bad).build(JobMode::Relief, None).unwrap_err();
        assert_eq!(error.field, "max_error_mm");
    }
    for shape in
        [json!({ "shape": "arc" }), json!({ "feet": true }), json!({ "shape": "cylinder" })]
    {
        let mut request = shape.clone();
        request["max_error_mm"] = json!(0.05);
        let job = serde_json::from_value::<JobRequest>(request).unwrap();
        let job = job.build(JobMode::Lithophane, None).unwrap();
        assert!(job.is_adaptive(), "{shape}: adaptive columns, previewed as adaptive");
    }
    let dome = serde_json::from_value::<JobRequest>(json!({ "shape": "dome", "max_triangles": 9 }));
    let error = dome.unwrap().build(JobMode::Lithophane, None).unwrap_err();
    assert_eq!(error.field, "max_triangles");
    assert!(error.message.contains("full grid"), "{}", error.message);
    let error = with("max_error_mm", json!(0.05)).build(JobMode::Solid, None).unwrap_err();
    assert_eq!(error.field, "max_error_mm", "not for solids");
}

#[test]
fn expected_triangles_follow_the_growth_between_two_previews() {
    use super::expected_triangles;
    // Detail at every point: four times the triangles per doubling of the side.
    assert_eq!(expected_triangles((128, 1_000), (256, 4_000), 1024, u64::MAX), 64_000);
    // A surface the coarse grid resolves: the count stays.
    assert_eq!(expected_triangles((128, 3_000), (256, 3_000), 4096, u64::MAX), 3_000);
    // Linear growth, and never above the full grid's count.
    assert_eq!(expected_triangles((128, 1_000), (256, 2_000), 1024, u64::MAX), 8_000);
    assert_eq!(expected_triangles((128, 1_000), (256, 4_000), 1024, 10_000), 10_000);
    // A task no larger than the preview makes the preview's count.
    assert_eq!(expected_triangles((100, 900), (200, 3_000), 200, u64::MAX), 3_000);
}

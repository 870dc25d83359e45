//! Every WGSL file parses and validates with naga, belongs to the kernel table, and agrees with
//! its Rust config struct on layout and workgroup size.

use std::collections::BTreeSet;
use std::path::Path;

use lithos_engine::kernels::{Field, KERNELS, WORKGROUP_SIZE};

fn parse_and_validate(name: &str, source: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not parse:\n{}", e.emit_to_string(source)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}.wgsl does not validate:\n{}", e.emit_to_string(source)));
    (module, info)
}

#[test]
fn every_shader_file_is_a_valid_kernel_in_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let source = std::fs::read_to_string(&path).unwrap();
            parse_and_validate(&name, &source);
            files.insert(name);
        }
    }
    let mut table: BTreeSet<String> = KERNELS.iter().map(|k| k.name.to_owned()).collect();
    // The one render pass beside the compute kernels, with its CPU twin.
    table.insert("thumbnail".to_owned());
    assert_eq!(files, table, "shaders/ and the kernel table list the same kernels");
    assert_eq!(
        std::fs::read_to_string(dir.join("thumbnail.wgsl")).unwrap(),
        lithos_engine::thumbnail::THUMBNAIL_SHADER,
        "the render pass embeds its file"
    );
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/src/thumbnail/raster.rs").exists());
}

#[test]
fn the_thumbnail_uniform_matches_its_wgsl_struct() {
    let source = lithos_engine::thumbnail::THUMBNAIL_SHADER;
    let (module, _) = parse_and_validate("thumbnail", source);
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, ty)| ty.name.as_deref() == Some("ThumbnailConfig"))
        .expect("thumbnail.wgsl declares ThumbnailConfig");
    let naga::TypeInner::Struct { members, span } = &ty.inner else { panic!("a struct") };
    assert_eq!(*span as usize, size_of::<lithos_engine::thumbnail::ThumbnailConfig>());
    let names: Vec<&str> = members.iter().map(|m| m.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["right", "up", "toward", "frame", "depth", "light", "base"]);
    assert!(members.iter().enumerate().all(|(k, m)| m.offset as usize == 16 * k), "vec4s in order");
}

#[test]
fn config_structs_match_wgsl_layout_and_cpu_twins_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for kernel in KERNELS {
        let (module, _) = parse_and_validate(kernel.name, kernel.source);
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some(kernel.config_struct))
            .unwrap_or_else(|| {
                panic!("{}.wgsl has no struct {}", kernel.name, kernel.config_struct)
            });
        // Member by member: the same names, at the same offsets, of the same scalar types.
        let naga::TypeInner::Struct { members, .. } = &ty.inner else {
            panic!("{} is not a struct", kernel.config_struct)
        };
        let wgsl: Vec<Field> = members
            .iter()
            .map(|m| Field {
                name: leak(m.name.clone().unwrap_or_default()),
                offset: m.offset as usize,
                ty: match module.types[m.ty].inner {
                    naga::TypeInner::Scalar(naga::Scalar {
                        kind: naga::ScalarKind::Uint,
                        width: 4,
                    }) => "u32",
                    naga::TypeInner::Scalar(naga::Scalar {
                        kind: naga::ScalarKind::Sint,
                        width: 4,
                    }) => "i32",
                    naga::TypeInner::Scalar(naga::Scalar {
                        kind: naga::ScalarKind::Float,
                        width: 4,
                    }) => "f32",
                    ref other => panic!("{}: a uniform member of type {other:?}", kernel.name),
                },
            })
            .collect();
        assert_eq!(
            wgsl, kernel.config_fields,
            "{}.wgsl's {} against Rust's",
            kernel.name, kernel.config_struct
        );
        let wgsl_size = ty.inner.size(module.to_ctx()) as usize;
        assert_eq!(
            wgsl_size, kernel.config_size,
            "{} is {wgsl_size} bytes in WGSL",
            kernel.config_struct
        );
        assert_eq!(kernel.config_size % 16, 0, "{} is padded to 16 bytes", kernel.config_struct);

        let main = module.entry_points.iter().find(|e| e.name == "main").expect("entry point main");
        assert_eq!(main.workgroup_size, [WORKGROUP_SIZE, 1, 1], "{} workgroup size", kernel.name);

        let twin = root.join("engine/src/cpu").join(format!("{}.rs", kernel.name));
        let twin_source = std::fs::read_to_string(&twin)
            .unwrap_or_else(|_| panic!("{} has no CPU twin at {}", kernel.name, twin.display()));
        assert!(
            twin_source.contains(&format!("shaders/{}.wgsl", kernel.name)),
            "twin names its shader"
        );
    }
}

fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

/// A struct declared in several kernels (`McConfig`, `ScanConfig`) is the same text in each,
/// comments and spacing aside, so no copy drifts from the others.
#[test]
fn structs_shared_between_kernels_are_declared_alike() {
    let declaration = |source: &str, name: &str| -> Option<String> {
        let start = source.find(&format!("struct {name} {{"))?;
        let end = start + source[start..].find('}')?;
        let body: Vec<String> = source[start..=end]
            .lines()
            .map(|l| l.split("//").next().unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect();
        Some(body.join("\n"))
    };
    let mut shared = 0;
    for kernel in KERNELS {
        let others = KERNELS.iter().filter(|k| k.config_struct == kernel.config_struct);
        for other in others {
            let mine = declaration(kernel.source, kernel.config_struct).unwrap();
            let theirs = declaration(other.source, other.config_struct).unwrap();
            assert_eq!(
                mine, theirs,
                "{} in {}.wgsl and {}.wgsl",
                kernel.config_struct, kernel.name, other.name
            );
            shared += usize::from(other.name != kernel.name);
        }
    }
    assert!(shared >= 2 * 5, "McConfig and ScanConfig are shared ({shared} pairs checked)");
}

#[test]
fn a_broken_shader_is_caught() {
    let broken = KERNELS[0].source.replace("luma[index] = l;", "luma[index] = undefined_name;");
    let module = naga::front::wgsl::parse_str(&broken);
    assert!(module.is_err(), "naga rejects an undefined identifier");
}

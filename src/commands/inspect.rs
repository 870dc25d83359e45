//! `lithos inspect`: what is wrong with a 3D file, as the engine's analysis finds it.

use std::process::ExitCode;

use lithos_engine::model::{self, ModelLimits};

use crate::cli::InspectArgs;

pub fn run(args: &InspectArgs) -> ExitCode {
    let loaded = match model::read_file(&args.file, args.units, ModelLimits::default()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let inspection = model::Inspection::of(&loaded);
    if args.json {
        println!("{}", serde_json::to_string(&inspection).expect("an inspection serialises"));
        return ExitCode::SUCCESS;
    }
    let a = &inspection.analysis;
    let size: Vec<String> = (0..3).map(|k| format!("{:.2}", a.max[k] - a.min[k])).collect();
    println!(
        "{}: {}, {} triangles, {} vertices, {} shell{}",
        args.file.display(),
        loaded.format.name(),
        a.triangles,
        a.vertices,
        a.shells,
        if a.shells == 1 { "" } else { "s" }
    );
    println!(
        "size {} mm; volume {:.2} mm³; area {:.2} mm²",
        size.join(" x "),
        a.volume_mm3,
        a.area_mm2
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!(
        "closed: {}; manifold: {}; oriented: {}; printable: {}",
        yes(a.is_closed()),
        yes(a.is_manifold()),
        yes(a.is_oriented()),
        yes(a.is_printable())
    );
    let problems: Vec<String> = [
        (a.holes, "hole", "holes"),
        (a.open_edges, "open edge", "open edges"),
        (a.non_manifold_edges, "non-manifold edge", "non-manifold edges"),
        (a.non_manifold_vertices, "non-manifold vertex", "non-manifold vertices"),
        (a.flipped_faces, "flipped face", "flipped faces"),
        (a.inverted_shells, "inside-out shell", "inside-out shells"),
        (a.degenerate_faces, "degenerate face", "degenerate faces"),
        (a.duplicate_faces, "duplicate face", "duplicate faces"),
        (a.self_intersections, "pair of crossing faces", "pairs of crossing faces"),
    ]
    .iter()
    .filter(|(n, ..)| *n > 0)
    .map(|&(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
    .collect();
    if !problems.is_empty() {
        println!("problems: {}", problems.join(", "));
    }
    ExitCode::SUCCESS
}

//! [`JobRequest`]: a conversion's options, flat and optional, declared once in
//! [`job_request!`] with everything the CLI, the API's schema and the web form show of them.

use super::JobMode;
use super::defaults::*;
use super::field::{Field, FieldValue, Shown};
use crate::model::params::MAX_WELD_MM;
use crate::model::{Prompt, Units};
use crate::palette::{LAYER_MM, Palette};
use crate::params::{GridSize, LARGEST_ERROR_MM, MAX_BLUR_PX, MIN_GAMMA};
use crate::params::{Outline, ShapeKind};
use crate::text::{Align, Layout, TextLines};
use crate::volume::{IsoValue, MAX_SMOOTH_VOXELS, SeriesUid};
use crate::{Bevel, MaskSource, Millimetres, RawType, ThicknessModel};

/// The field named `name`.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// Declares [`JobRequest`] and [`FIELDS`] together: each field's doc comment is its help, and
/// its metadata sits beside its type, so the struct, the CLI, the schema and the form cannot
/// list different options.
macro_rules! job_request {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty { $($meta:ident: $value:expr),* $(,)? }
    )*) => {
        /// A conversion's options, as the CLI's flags (`--max-grid`) and the API's `params`
        /// (`max_grid`) name them; every one optional, its default applied by
        /// [`JobRequest::build`].
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct JobRequest {
            $(
                $(#[doc = $doc])+
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $name: Option<$ty>,
            )*
        }

        /// Every field of [`JobRequest`], in order.
        pub const FIELDS: &[Field] = &[$(
            Field {
                name: stringify!($name),
                help: concat!($($doc),+),
                value: <$ty as FieldValue>::VALUE,
                $($meta: $value,)*
                ..Field::BLANK
            },
        )*];

        impl JobRequest {
            /// Each field's name, and whether it was given.
            pub fn given(&self) -> impl Iterator<Item = (&'static str, bool)> {
                [$((stringify!($name), self.$name.is_some())),*].into_iter()
            }

            /// The command-line arguments, one per field.
            #[cfg(feature = "cli")]
            pub(crate) fn cli_args() -> Vec<clap::Arg> {
                vec![$(super::cli::arg::<$ty>(stringify!($name))),*]
            }

            #[cfg(feature = "cli")]
            pub(crate) fn from_cli(matches: &clap::ArgMatches) -> Self {
                Self { $($name: matches.get_one::<$ty>(stringify!($name)).cloned()),* }
            }
        }
    };
}

const MM: &str = "mm";
const LENGTH: Option<(f64, f64)> = Some((0.0, Millimetres::MAX as f64));
const GRID: Option<(f64, f64)> = Some((2.0, GridSize::LIMIT as f64));
/// The modes that take an image.
pub const IMAGE: &[JobMode] = &[JobMode::Relief, JobMode::Lithophane, JobMode::Solid];
const RELIEF: &[JobMode] = &[JobMode::Relief];
/// The modes made from a thickness map: reliefs and lithophanes.
const PANEL: &[JobMode] = &[JobMode::Relief, JobMode::Lithophane];
const LITHOPHANE: &[JobMode] = &[JobMode::Lithophane];
const SOLID: &[JobMode] = &[JobMode::Solid];
/// The modes extruded with a bevel: image solids and text.
const EXTRUDED: &[JobMode] = &[JobMode::Solid, JobMode::Text];
const TEXT: &[JobMode] = &[JobMode::Text];
/// The modes sampled on a grid: images, and text's field.
const GRIDDED: &[JobMode] = &[JobMode::Relief, JobMode::Lithophane, JobMode::Solid, JobMode::Text];
const VOLUME: &[JobMode] = &[JobMode::Volume];
const MESH: &[JobMode] = &[JobMode::Mesh];
const PROMPT: &[JobMode] = &[JobMode::Prompt];
/// The modes that repair and place a model: 3D files, and what a provider generated from a
/// prompt or a photo.
const MODELS: &[JobMode] = &[JobMode::Mesh, JobMode::Prompt, JobMode::Sculpt];
/// A generated model's placing: fitted into a 6 cm cube, centred and on the bed, since the
/// providers' models have no size of their own.
const GENERATED_FIT: &[(JobMode, Shown)] = &[
    (JobMode::Prompt, Shown::Numbers(&[PROMPT_FIT_MM; 3])),
    (JobMode::Sculpt, Shown::Numbers(&[PROMPT_FIT_MM; 3])),
];
const GENERATED_PLACED: &[(JobMode, Shown)] =
    &[(JobMode::Prompt, Shown::Flag(true)), (JobMode::Sculpt, Shown::Flag(true))];

job_request! {
    /// Width of the model; its depth follows the image's aspect ratio.
    width_mm: f64 {
        label: "Width", unit: MM, range: LENGTH, modes: IMAGE,
        default: Some(Shown::Number(WIDTH_MM)), basic: IMAGE,
    }
    /// Distance between grid points, instead of `width_mm`; for text, between the samples of
    /// its field (finer keeps finer detail, at more memory and time).
    pixel_mm: f64 {
        label: "Grid spacing", unit: MM, range: LENGTH, modes: GRIDDED,
        default_note: Some("from `width_mm`; text: a fiftieth of `letter_height_mm`, 0.05 to 0.2 mm"),
    }
    /// Solid base under everything.
    base_mm: f64 {
        label: "Base thickness", unit: MM, range: LENGTH, modes: RELIEF,
        default: Some(Shown::Number(BASE_MM)), basic: RELIEF,
    }
    /// Height of white above the base.
    relief_mm: f64 {
        label: "Relief height (white above the base)", unit: MM, range: LENGTH, modes: RELIEF,
        default: Some(Shown::Number(RELIEF_MM)), basic: RELIEF,
    }
    /// Print it in colour, HueForge-style: filaments from the bottom up, each a colour and its
    /// transmission distance in mm, such as `#1a1a1a:0.6,#808080:1.5,#ffffff:3`. Lithos
    /// chooses the layer each one starts at so that the colours best match the image's
    /// brightness, snaps the heights to whole layers, and lists the swaps (in the report, as
    /// text, and as colour changes in a 3MF).
    palette: Palette { label: "Filaments (colour:TD, bottom up)", modes: RELIEF }
    /// The print's layer height (the first layer too), for `palette`.
    layer_mm: f64 {
        label: "Layer height", unit: MM,
        range: Some((LAYER_MM.0 as f64, LAYER_MM.1 as f64)), modes: RELIEF,
        default: Some(Shown::Number(PALETTE_LAYER_MM)),
    }
    /// Layers of the first filament under the image, for `palette`, instead of `base_mm`.
    base_layers: u32 {
        label: "Base layers", unit: "layers", range: Some((1.0, 1000.0)), modes: RELIEF,
        default_note: Some("`base_mm` in whole layers"),
    }
    /// Thickness of white.
    min_mm: f64 {
        label: "Thickness of white", unit: MM, range: LENGTH, modes: LITHOPHANE,
        default: Some(Shown::Number(MIN_MM)), basic: LITHOPHANE,
    }
    /// Thickness of black.
    max_mm: f64 {
        label: "Thickness of black", unit: MM, range: LENGTH, modes: LITHOPHANE,
        default: Some(Shown::Number(MAX_MM)), basic: LITHOPHANE,
    }
    /// How brightness becomes thickness: linear in thickness, or transmittance, where the
    /// light let through (Beer-Lambert, `td_mm`) follows the image's brightness.
    thickness_model: ThicknessModel {
        label: "Thickness model", modes: LITHOPHANE, default: Some(Shown::Name("linear")),
        basic: LITHOPHANE,
    }
    /// The filament's transmission distance (HueForge's TD): the thickness that lets a tenth
    /// of the light through; needs `thickness_model` transmittance.
    td_mm: f64 {
        label: "Filament transmission distance (TD)", unit: MM, range: LENGTH, modes: LITHOPHANE,
        default: Some(Shown::Number(TD_MM)),
    }
    /// Width of a solid border around the panel; none unless given.
    frame_mm: f64 {
        label: "Border width", unit: MM, range: LENGTH, modes: LITHOPHANE, basic: LITHOPHANE,
    }
    /// Thickness of the border; needs `frame_mm`.
    frame_thickness_mm: f64 {
        label: "Border thickness", unit: MM, range: LENGTH, modes: LITHOPHANE,
        default_note: Some("`max_mm`"),
    }
    /// The panel's shape: flat (cut to an `outline`), an arc bent around a vertical axis
    /// (`arc_deg`), a closed cylinder (a lamp shade, with `ring_mm`), or a dome on a flat rim
    /// (`dome_deg`). Arcs and cylinders stand upright, the image's top up.
    shape: ShapeKind {
        label: "Shape", modes: PANEL, default: Some(Shown::Name("flat")), basic: PANEL,
    }
    /// How far an arc bends, in degrees (1 to 359); the image's width is its length at the
    /// outer surface. Needs `shape` arc.
    arc_deg: f64 {
        shape: Some(ShapeKind::Arc),
        label: "Arc angle", unit: "degrees", range: Some((1.0, 359.0)), modes: PANEL,
        default: Some(Shown::Number(ARC_DEG)),
    }
    /// Put an arc's image on its inside (concave) face; needs `shape` arc.
    arc_inner: bool {
        shape: Some(ShapeKind::Arc),
        label: "Image on the inside of the arc", modes: PANEL, default: Some(Shown::Flag(false)),
    }
    /// Height of a solid ring at a cylinder's bottom, so it stands and fits a lamp base;
    /// needs `shape` cylinder.
    ring_mm: f64 {
        shape: Some(ShapeKind::Cylinder),
        label: "Bottom ring height", unit: MM, range: LENGTH, modes: PANEL,
        default: Some(Shown::Number(0.0)),
    }
    /// Height of a solid ring at a cylinder's top; needs `shape` cylinder.
    top_ring_mm: f64 {
        shape: Some(ShapeKind::Cylinder),
        label: "Top ring height", unit: MM, range: LENGTH, modes: PANEL,
        default: Some(Shown::Number(0.0)),
    }
    /// How far a dome reaches, in degrees (10 to 180, a hemisphere): the image's inscribed
    /// circle spans it rim to rim through the pole. Needs `shape` dome.
    dome_deg: f64 {
        shape: Some(ShapeKind::Dome),
        label: "Dome angle", unit: "degrees", range: Some((10.0, 180.0)), modes: PANEL,
        default: Some(Shown::Number(DOME_DEG)),
    }
    /// Width of a hole in a plate across a cylinder's bottom ring, for a lamp fitting (E14
    /// takes about 29 mm); the plate is the ring's height thick. Needs `shape` cylinder and
    /// `ring_mm`.
    socket_mm: f64 {
        shape: Some(ShapeKind::Cylinder),
        label: "Lamp socket hole", unit: MM, range: LENGTH, modes: PANEL,
        default_note: Some("no plate"),
    }
    /// What a flat panel is cut to; its frame follows the outline. Needs `shape` flat.
    outline: Outline {
        shape: Some(ShapeKind::Flat),
        label: "Outline", modes: PANEL, default: Some(Shown::Name("rect")),
    }
    /// Width of a hole to hang a flat panel by, centred at its top inside a solid collar.
    /// Needs `shape` flat.
    hanger_mm: f64 {
        shape: Some(ShapeKind::Flat),
        label: "Hanger hole", unit: MM, range: LENGTH, modes: PANEL,
        default_note: Some("none"),
    }
    /// Stand a flat, rectangular panel upright on a foot that flares out 45 degrees to both
    /// sides along its bottom edge, so it prints standing and does not wobble. Needs `shape`
    /// flat.
    feet: bool {
        shape: Some(ShapeKind::Flat),
        label: "Stabiliser feet: print it standing", modes: PANEL, default: Some(Shown::Flag(false)),
    }
    /// The farthest any grid point may lie from the surface, in millimetres, measured along
    /// the thickness (vertically on a flat panel): the surface keeps as few triangles as that
    /// allows, and the walls meet it exactly. 0 keeps two triangles per grid cell. An arc, a
    /// cylinder or a panel on feet keeps whole columns' worth of triangles where a flat panel
    /// merges across them; a dome is meshed on its full grid.
    max_error_mm: f64 {
        label: "Mesh tolerance (largest deviation)", unit: MM,
        range: Some((0.0, LARGEST_ERROR_MM as f64)), modes: PANEL,
        default: Some(Shown::Number(MAX_ERROR_MM)), basic: PANEL,
    }
    /// Instead of `max_error_mm`: the smallest deviation whose whole mesh (walls and floor
    /// included) has at most this many triangles, for a file size to aim at.
    max_triangles: u32 {
        label: "Mesh: at most this many triangles", unit: "triangles",
        range: Some((1.0, u32::MAX as f64)), modes: PANEL,
    }
    /// Swap dark and bright before anything else uses them.
    invert: bool {
        label: "Invert: the dark parts count as bright", modes: IMAGE, default: Some(Shown::Flag(false)),
        basic: IMAGE,
    }
    /// Gaussian blur of the grid, sigma in grid pixels; smooths noise and JPEG blocks.
    blur_px: f32 {
        label: "Smoothing", unit: "px", range: Some((0.0, MAX_BLUR_PX as f64)), modes: IMAGE,
        default: Some(Shown::Number(BLUR_PX)), basic: RELIEF,
    }
    /// Raise brightness (0..1) to this power: above 1 lowers mid-tones, below 1 lifts them.
    gamma: f32 {
        label: "Gamma", range: Some((MIN_GAMMA as f64, 10.0)), modes: IMAGE,
        default: Some(Shown::Number(GAMMA)),
    }
    /// Stretch the darkest point to 0 and the brightest to 1. Float images outside 0..1 are
    /// always stretched.
    auto_levels: bool {
        label: "Stretch levels", modes: IMAGE, default: Some(Shown::Flag(false)),
    }
    /// Put material only inside a mask, from the alpha channel or a brightness threshold; its
    /// outline becomes vertical walls. Solids always have one: alpha when the image has it,
    /// else the threshold.
    mask: MaskSource { label: "Mask", modes: IMAGE }
    /// The mask's threshold in 0..1, on alpha or on brightness; needs `mask`, except for
    /// solids.
    threshold: f32 {
        label: "Shape threshold (brightness or alpha)", range: Some((0.0, 1.0)), modes: IMAGE,
        default: Some(Shown::Number(THRESHOLD)), basic: SOLID,
    }
    /// At most this many grid points along the longest side; larger images are shrunk.
    max_grid: u32 {
        label: "Detail (grid points on the long side)", unit: "points", range: GRID,
        modes: IMAGE, default: Some(Shown::Integer(MAX_GRID as u64)),
        mode_defaults: &[(JobMode::Solid, Shown::Integer(SOLID_MAX_GRID as u64))],
        alias: Some("resolution"), basic: IMAGE,
    }
    /// Exactly this many grid points along the longest side, enlarging small images.
    grid: u32 { label: "Exact grid", unit: "points", range: GRID, modes: IMAGE }
    /// The words to make: one line, or a few (at most 200 characters in 8 lines).
    text: TextLines { label: "Text", modes: TEXT, basic: TEXT }
    /// What the text becomes: `solid` letters alone, letters raised on a `plate`, a
    /// `keychain` (a plate with a ring to hang it by, `hole_mm`) or a `sign` (a plate with a
    /// raised border, `border_mm`). On a plate, every letter is joined to it.
    layout: Layout {
        label: "Make it into", modes: TEXT, default: Some(Shown::Name("plate")), basic: TEXT,
    }
    /// Height of capital letters.
    letter_height_mm: f64 {
        label: "Letter height (capitals)", unit: MM, range: Some((1.0, 1000.0)), modes: TEXT,
        default: Some(Shown::Number(LETTER_HEIGHT_MM)), basic: TEXT,
    }
    /// Space added between letters; negative pulls them together, and letters that touch
    /// merge into one piece.
    letter_spacing_mm: f64 {
        label: "Letter spacing", unit: MM, range: Some((-100.0, 100.0)), modes: TEXT,
        default: Some(Shown::Number(0.0)),
    }
    /// Baseline to baseline, as a multiple of the font's line height.
    line_spacing: f64 {
        label: "Line spacing", range: Some((0.5, 5.0)), modes: TEXT,
        default: Some(Shown::Number(LINE_SPACING)),
    }
    /// How lines of different lengths line up.
    align: Align { label: "Alignment", modes: TEXT, default: Some(Shown::Name("center")) }
    /// Thickness of the plate under the letters, for every `layout` but solid.
    plate_mm: f64 {
        label: "Plate thickness", unit: MM, range: LENGTH, modes: TEXT,
        default: Some(Shown::Number(PLATE_MM)), basic: TEXT,
    }
    /// How far the plate reaches beyond the letters; also the radius of its corners.
    margin_mm: f64 {
        label: "Plate margin", unit: MM, range: LENGTH, modes: TEXT,
        default: Some(Shown::Number(MARGIN_MM)),
    }
    /// Width of a keychain's hole, in a ring on its left.
    hole_mm: f64 {
        label: "Keychain hole", unit: MM, range: LENGTH, modes: TEXT,
        default: Some(Shown::Number(HOLE_MM)),
    }
    /// Width of a sign's raised border.
    border_mm: f64 {
        label: "Sign border", unit: MM, range: LENGTH, modes: TEXT,
        default: Some(Shown::Number(BORDER_MM)),
    }
    /// Height of the extrusion; for text on a plate, how far the letters stand above it.
    depth_mm: f64 {
        label: "Height of the extrusion", unit: MM, range: LENGTH, modes: EXTRUDED,
        default: Some(Shown::Number(DEPTH_MM)),
        mode_defaults: &[(JobMode::Text, Shown::Number(TEXT_DEPTH_MM))], basic: EXTRUDED,
    }
    /// Radius of the rounded (or size of the chamfered) top edge; 0 for a sharp one.
    bevel_mm: f32 {
        label: "Top edge bevel", unit: MM, range: LENGTH, modes: EXTRUDED,
        default: Some(Shown::Number(BEVEL_MM)),
        mode_defaults: &[(JobMode::Text, Shown::Number(TEXT_BEVEL_MM))], basic: EXTRUDED,
    }
    /// The top edge's profile: a quarter circle or a 45-degree cut.
    bevel: Bevel { label: "Bevel profile", modes: EXTRUDED, default: Some(Shown::Name("round")) }
    /// A puffed, pillow-like top instead of a flat one.
    inflate: bool {
        label: "Puffed, pillow-like top", modes: EXTRUDED, default: Some(Shown::Flag(false)),
        basic: SOLID,
    }
    /// Only a wall this thick inside the outline, open at the top: a cookie cutter.
    shell_mm: f64 {
        label: "Cookie-cutter wall", unit: MM, range: LENGTH, modes: EXTRUDED, basic: SOLID,
    }
    /// The isovalue: samples at or above it are inside. A number in the input's units, or for
    /// CT (in Hounsfield units) `bone` (300), `soft-tissue` (0) or `skin` (-500).
    iso: IsoValue {
        label: "Isovalue", modes: VOLUME, default_note: Some("Otsu's threshold"), basic: VOLUME,
    }
    /// Millimetres between samples along x, y and z, overriding the file's header.
    spacing_mm: [f32; 3] {
        label: "Voxel spacing", unit: MM, range: Some((Millimetres::MIN as f64, Millimetres::MAX as f64)),
        modes: VOLUME,
    }
    /// Gaussian pre-smoothing, standard deviation in voxels.
    smooth_vox: f32 {
        label: "Smoothing", unit: "voxels", range: Some((0.0, MAX_SMOOTH_VOXELS as f64)),
        modes: VOLUME, default: Some(Shown::Number(SMOOTH_VOX)),
    }
    /// Keep only this box of voxels, its first corner inclusive and its last exclusive.
    crop: [usize; 6] { label: "Crop", unit: "voxels", modes: VOLUME }
    /// Keep only the largest connected piece, dropping floating specks.
    largest_component: bool {
        label: "Largest piece only", modes: VOLUME, default: Some(Shown::Flag(false)),
    }
    /// Which volume of a 4-D NIfTI series (fMRI, multi-echo, time series) to mesh, from 0.
    frame: u32 {
        label: "Frame (4-D series)", range: Some((0.0, 65535.0)), modes: VOLUME,
        default: Some(Shown::Integer(0)),
    }
    /// The DICOM series to mesh, by its Series Instance UID, where the input holds several
    /// (the error that asks for it lists them).
    series: SeriesUid { label: "DICOM series", modes: VOLUME }
    /// The input is raw samples of this size, x fastest; needs `raw_type`.
    raw_dims: [usize; 3] { label: "Raw size", unit: "voxels", modes: VOLUME }
    /// The raw samples' type, little-endian; needs `raw_dims`.
    raw_type: RawType { label: "Raw sample type", modes: VOLUME }
    /// What the AI generation provider is asked to make: the object, in words, on one line
    /// ("a cat wearing a hat"). Sent to the service's provider and kept only with the task.
    prompt: Prompt { label: "Prompt", modes: PROMPT, basic: PROMPT }
    /// The length unit of a 3D file that does not name its own (STL, OBJ, PLY, OFF); 3MF
    /// names its unit and glTF is in metres.
    units: Units { label: "File units", modes: MESH, default: Some(Shown::Name("mm")), basic: MESH }
    /// Repair the mesh: weld corners, drop degenerate and duplicate faces, orient faces
    /// outward, fill holes and drop tiny shells. Without it the file is written as read, and
    /// fails its check if it is not printable.
    repair: bool {
        label: "Repair", modes: MODELS, default: Some(Shown::Flag(true)), basic: MODELS,
    }
    /// Corners closer than this become one in repair.
    weld_mm: f64 {
        label: "Weld tolerance", unit: MM, range: Some((0.0, MAX_WELD_MM)), modes: MODELS,
        default: Some(Shown::Number(WELD_MM)),
    }
    /// Shells enclosing less than this volume are dropped in repair (specks and scanner
    /// noise); 0 keeps every one.
    min_shell_mm3: f64 {
        label: "Smallest shell kept", unit: "mm³", range: Some((0.0, f64::MAX)), modes: MODELS,
        default: Some(Shown::Number(MIN_SHELL_MM3)),
    }
    /// Multiply every coordinate by this, before `fit_mm`.
    scale: f64 {
        label: "Scale", range: Some((0.0, 1e6)), modes: MODELS, default: Some(Shown::Number(1.0)),
    }
    /// Scale uniformly so the model fits inside this box: width, depth and height.
    fit_mm: [f32; 3] {
        label: "Fit inside", unit: MM, modes: MODELS, basic: MODELS,
        default_note: Some("none: the model's own size"),
        mode_defaults: GENERATED_FIT,
    }
    /// Move the model so that its centre, across and deep, is at the origin.
    center: bool {
        label: "Centre on the origin", modes: MODELS, default: Some(Shown::Flag(false)),
        mode_defaults: GENERATED_PLACED,
    }
    /// Put the model on the bed: its lowest point at height 0.
    drop: bool {
        label: "Place on the bed", modes: MODELS, default: Some(Shown::Flag(false)), basic: MODELS,
        mode_defaults: GENERATED_PLACED,
    }
    /// Hollow the model, once placed, leaving walls this thick: a cavity everywhere deeper
    /// inside, which saves the resin or filament it would take.
    hollow_mm: f64 {
        label: "Hollow, with walls", unit: MM, range: Some((0.3, 100.0)), modes: MODELS,
        default_note: Some("solid"),
    }
    /// A hollowed model's drain holes, drilled straight down from the cavity's lowest points
    /// through its bottom, so that resin runs out and air in; 0 leaves the cavity sealed.
    drain_holes: u32 {
        label: "Drain holes", range: Some((0.0, 8.0)), modes: MODELS,
        default: Some(Shown::Integer(DRAIN_HOLES)),
    }
    /// Each drain hole's diameter.
    drain_mm: f64 {
        label: "Drain hole diameter", unit: MM, range: Some((0.5, 20.0)), modes: MODELS,
        default: Some(Shown::Number(DRAIN_MM)),
    }
}

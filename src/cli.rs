//! Command-line arguments, and their translation into the engine's parameter types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lithos_engine::params::{Frame, GridSize, Mask, PhysicalSize, Tone};
use lithos_engine::{
    BackendChoice, ConvertParams, DecodeLimits, MaskSource, MeshFormat, Millimetres, Mode,
};

/// Turn images into 3D-printable meshes: reliefs and lithophanes, on the GPU or the CPU.
#[derive(Debug, Parser)]
#[command(name = "lithos", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert an image into a closed, printable STL mesh.
    Convert(Box<ConvertArgs>),
    /// List the GPU adapters found and say which one `--backend auto` would use.
    Info(InfoArgs),
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Bright is high: a solid base with the image raised on top.
    Relief,
    /// Dark is thick: a panel that shows the image when lit from behind.
    Lithophane,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MaskArg {
    /// Material where the image is opaque.
    Alpha,
    /// Material where the (toned) brightness reaches --threshold.
    Threshold,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Binary STL.
    Stl,
    /// ASCII STL.
    StlAscii,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// A hardware GPU if there is one, else the CPU.
    Auto,
    /// Any GPU adapter, software ones included; fails if there is none.
    Gpu,
    /// The multithreaded CPU path.
    Cpu,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The image: PNG (8 or 16 bit), JPEG, WebP, TIFF (8/16 bit or 32-bit float), BMP or GIF.
    pub input: PathBuf,

    /// Where to write the mesh [default: the input's name with .stl, beside it].
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = ModeArg::Relief)]
    pub mode: ModeArg,

    /// Width of the model in millimetres; its depth follows the image's aspect ratio
    /// [default: 100].
    #[arg(long, conflicts_with = "pixel_mm", allow_negative_numbers = true)]
    pub width_mm: Option<Millimetres>,

    /// Distance between grid points in millimetres, instead of --width-mm.
    #[arg(long, allow_negative_numbers = true)]
    pub pixel_mm: Option<Millimetres>,

    /// Relief: solid base under everything, in millimetres [default: 2].
    #[arg(long, allow_negative_numbers = true)]
    pub base_mm: Option<Millimetres>,

    /// Relief: height of white above the base, in millimetres [default: 3].
    #[arg(long, allow_negative_numbers = true)]
    pub relief_mm: Option<Millimetres>,

    /// Lithophane: thickness of white, in millimetres [default: 0.8].
    #[arg(long, allow_negative_numbers = true)]
    pub min_mm: Option<Millimetres>,

    /// Lithophane: thickness of black, in millimetres [default: 3.2].
    #[arg(long, allow_negative_numbers = true)]
    pub max_mm: Option<Millimetres>,

    /// Lithophane: width of a solid border, in millimetres.
    #[arg(long, allow_negative_numbers = true)]
    pub frame_mm: Option<Millimetres>,

    /// Lithophane: thickness of the border [default: --max-mm].
    #[arg(long, requires = "frame_mm", allow_negative_numbers = true)]
    pub frame_thickness_mm: Option<Millimetres>,

    /// Swap dark and bright before anything else uses them.
    #[arg(long)]
    pub invert: bool,

    /// Gaussian blur of the grid, sigma in grid pixels; smooths noise and JPEG blocks.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub blur_px: f32,

    /// Raise brightness (0..1) to this power: above 1 lowers mid-tones, below 1 lifts them.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub gamma: f32,

    /// Stretch the darkest point to 0 and the brightest to 1. Float images outside 0..1 are
    /// always stretched.
    #[arg(long)]
    pub auto_levels: bool,

    /// Put material only inside a mask; its outline becomes vertical walls.
    #[arg(long, value_enum)]
    pub mask: Option<MaskArg>,

    /// Mask threshold in 0..1, on alpha or on brightness.
    #[arg(long, default_value_t = 0.5, requires = "mask", allow_negative_numbers = true)]
    pub threshold: f32,

    /// At most this many grid points along the longest side; larger images are shrunk.
    #[arg(long, visible_alias = "resolution", default_value_t = GridSize::DEFAULT_MAX)]
    pub max_grid: u32,

    /// Exactly this many grid points along the longest side, enlarging small images.
    #[arg(long)]
    pub grid: Option<u32>,

    #[arg(long, value_enum, default_value_t = FormatArg::Stl)]
    pub format: FormatArg,

    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Refuse images with more pixels than this, in megapixels.
    #[arg(long, default_value_t = DecodeLimits::DEFAULT_MAX_PIXELS as f64 / 1e6)]
    pub max_megapixels: f64,

    /// Refuse images that need more memory than this to decode, in MiB.
    #[arg(long, default_value_t = DecodeLimits::DEFAULT_MAX_ALLOC >> 20)]
    pub max_decode_mib: u64,

    /// Print one JSON object with the result (or the error) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A mode-specific flag given for the other mode.
fn misplaced(flag: &str, mode: &str) -> String {
    format!("{flag} applies only to --mode {mode}")
}

impl ConvertArgs {
    /// The engine's parameters; a message for flags that do not fit together.
    pub fn params(&self) -> Result<ConvertParams, String> {
        let mode = match self.mode {
            ModeArg::Relief => {
                for (flag, given) in [
                    ("--min-mm", self.min_mm.is_some()),
                    ("--max-mm", self.max_mm.is_some()),
                    ("--frame-mm", self.frame_mm.is_some()),
                ] {
                    if given {
                        return Err(misplaced(flag, "lithophane"));
                    }
                }
                let Mode::Relief { base_mm, relief_mm } = Mode::relief() else { unreachable!() };
                Mode::Relief {
                    base_mm: self.base_mm.unwrap_or(base_mm),
                    relief_mm: self.relief_mm.unwrap_or(relief_mm),
                }
            }
            ModeArg::Lithophane => {
                for (flag, given) in [
                    ("--base-mm", self.base_mm.is_some()),
                    ("--relief-mm", self.relief_mm.is_some()),
                ] {
                    if given {
                        return Err(misplaced(flag, "relief"));
                    }
                }
                let Mode::Lithophane { min_mm, max_mm, .. } = Mode::lithophane() else {
                    unreachable!()
                };
                let max_mm = self.max_mm.unwrap_or(max_mm);
                Mode::Lithophane {
                    min_mm: self.min_mm.unwrap_or(min_mm),
                    max_mm,
                    frame: self.frame_mm.map(|width_mm| Frame {
                        width_mm,
                        thickness_mm: self.frame_thickness_mm.unwrap_or(max_mm),
                    }),
                }
            }
        };
        let size = match (self.width_mm, self.pixel_mm) {
            (_, Some(pixel)) => PhysicalSize::PixelMm(pixel),
            (Some(width), None) => PhysicalSize::WidthMm(width),
            (None, None) => ConvertParams::default().size,
        };
        Ok(ConvertParams {
            mode,
            size,
            grid: GridSize { max: self.max_grid, exact: self.grid },
            tone: Tone {
                invert: self.invert,
                blur_px: self.blur_px,
                gamma: self.gamma,
                auto_levels: self.auto_levels,
            },
            mask: self.mask.map(|source| Mask {
                source: match source {
                    MaskArg::Alpha => MaskSource::Alpha,
                    MaskArg::Threshold => MaskSource::Threshold,
                },
                threshold: self.threshold,
            }),
        })
    }

    pub fn output_path(&self) -> PathBuf {
        self.output.clone().unwrap_or_else(|| self.input.with_extension("stl"))
    }

    pub fn format(&self) -> MeshFormat {
        match self.format {
            FormatArg::Stl => MeshFormat::Stl,
            FormatArg::StlAscii => MeshFormat::StlAscii,
        }
    }

    pub fn backend(&self) -> BackendChoice {
        match self.backend {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Gpu => BackendChoice::Gpu,
            BackendArg::Cpu => BackendChoice::Cpu,
        }
    }

    pub fn limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_pixels: (self.max_megapixels.max(0.0) * 1e6) as u64,
            max_alloc_bytes: self.max_decode_mib.saturating_mul(1 << 20),
        }
    }
}

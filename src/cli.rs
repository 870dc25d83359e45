//! Command-line arguments, and their translation into the engine's parameter types.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use lithos_engine::params::{Crop, Frame, GridSize, Mask, PhysicalSize, Tone};
use lithos_engine::{
    BackendChoice, Bevel, ConvertParams, DecodeLimits, MaskSource, MeshFormat, Millimetres, Mode,
    RawType, SolidParams, VolumeParams, VolumeSource,
};
use lithos_server::config::Layer;

/// Turn images and volumes into 3D-printable meshes: reliefs, lithophanes, solids and
/// isosurfaces, on the GPU or the CPU.
#[derive(Debug, Parser)]
#[command(name = "lithos", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert an image or a volume into a closed, printable mesh.
    Convert(Box<ConvertArgs>),
    /// List the GPU adapters found and say which one `--backend auto` would use.
    Info(InfoArgs),
    /// Run the HTTP service: the API, the worker pool, SQLite or PostgreSQL.
    Serve(ServeArgs),
    /// Run jobs from a shared queue: a GPU worker host beside `serve --workers 0` API servers.
    Worker(WorkerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
    /// Operator commands: create users, grant credits.
    Admin(AdminArgs),
}

/// Where the service keeps its state; each flag overrides `LITHOS_*` and the config file.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// A TOML file with any of the settings below (keys in snake_case).
    #[arg(long, env = "LITHOS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database and stored files [default: ./lithos-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://user:pass@host/db` or `sqlite://path?mode=rwc` [default: SQLite in the
    /// data directory].
    #[arg(long)]
    pub database_url: Option<String>,
}

/// Where uploads and outputs are stored.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// `s3://BUCKET`, or a directory [default: `files` in the data directory]. S3 credentials,
    /// region and endpoint come from the standard AWS environment and config files.
    #[arg(long)]
    pub storage: Option<String>,
    /// An S3-compatible endpoint such as `http://127.0.0.1:8333` (SeaweedFS, MinIO, Garage);
    /// implies path-style addressing.
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// The bucket's region [default: AWS_REGION, else us-east-1].
    #[arg(long)]
    pub s3_region: Option<String>,
}

impl StorageArgs {
    pub fn layer(&self) -> Layer {
        Layer {
            storage: self.storage.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            s3_region: self.s3_region.clone(),
            ..Layer::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Jobs run at once [default: 1].
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Where the engine runs.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// How long a claim holds a job before another worker may take it [default: 30].
    #[arg(long)]
    pub lease_seconds: Option<f64>,
    /// How often a running job's lease is extended [default: 10].
    #[arg(long)]
    pub heartbeat_seconds: Option<f64>,
    /// On SIGTERM, how long running jobs may take to finish before their leases are released
    /// [default: 60].
    #[arg(long)]
    pub shutdown_grace_seconds: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub bind: Option<std::net::SocketAddr>,
    /// Tasks run at once in this process [default: 2]; 0 for an API server whose tasks run
    /// on `lithos worker` hosts.
    #[arg(long)]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "")]
        name: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Add credits to an account (negative to take back), with a reason for the ledger.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long, allow_negative_numbers = true)]
        credits: i64,
        #[arg(long)]
        reason: String,
    },
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
    /// The isosurface of a volume: a TIFF stack, a ZIP or directory of slices, NIfTI or raw.
    Volume,
    /// A closed solid from the image's alpha or --threshold mask, extruded with a bevel.
    Solid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BevelArg {
    /// A quarter circle.
    Round,
    /// A 45-degree cut.
    Chamfer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RawTypeArg {
    U8,
    U16,
    F32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MaskArg {
    /// Material where the image is opaque.
    Alpha,
    /// Material where the (toned) brightness reaches --threshold.
    Threshold,
}

/// `--format`: the engine's format names, each with its summary.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = MeshFormat> {
    let values =
        MeshFormat::ALL.map(|f| clap::builder::PossibleValue::new(f.name()).help(f.summary()));
    clap::builder::PossibleValuesParser::new(values)
        .map(|name| name.parse::<MeshFormat>().expect("a possible value is a format"))
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

impl From<BackendArg> for BackendChoice {
    fn from(arg: BackendArg) -> Self {
        match arg {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Gpu => BackendChoice::Gpu,
            BackendArg::Cpu => BackendChoice::Cpu,
        }
    }
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The image: PNG (8 or 16 bit), JPEG, WebP, TIFF (8/16 bit or 32-bit float), BMP or GIF.
    /// With --mode volume: a multi-page TIFF, a ZIP or directory of numbered PNG/TIFF slices,
    /// a NIfTI file (.nii, .nii.gz), or a raw file with --raw-dims and --raw-type.
    pub input: PathBuf,

    /// Where to write the mesh [default: the input's name with the format's extension].
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

    /// Mask threshold in 0..1, on alpha or on brightness [default: 0.5]. With --mode solid
    /// and no --mask, a brightness threshold.
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f32>,

    /// At most this many grid points along the longest side; larger images are shrunk
    /// [default: 4096, and 1024 for --mode solid].
    #[arg(long, visible_alias = "resolution")]
    pub max_grid: Option<u32>,

    /// Volume: the isovalue in the input's units [default: Otsu's threshold].
    #[arg(long, allow_negative_numbers = true)]
    pub iso: Option<f32>,

    /// Volume: millimetres between samples along x, y and z, overriding the file's header.
    #[arg(long, value_name = "X,Y,Z", value_parser = list::<f32, 3>, allow_negative_numbers = true)]
    pub spacing_mm: Option<[f32; 3]>,

    /// Volume: Gaussian pre-smoothing, standard deviation in voxels.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub smooth_vox: f32,

    /// Volume: keep only this box of voxels, first inclusive and last exclusive.
    #[arg(long, value_name = "X0,Y0,Z0,X1,Y1,Z1", value_parser = list::<usize, 6>)]
    pub crop: Option<[usize; 6]>,

    /// Volume: keep only the largest connected piece, dropping floating specks.
    #[arg(long)]
    pub largest_component: bool,

    /// Volume: the input is raw samples of this size, x fastest.
    #[arg(long, value_name = "X,Y,Z", value_parser = list::<usize, 3>, requires = "raw_type")]
    pub raw_dims: Option<[usize; 3]>,

    /// Volume: the raw samples' type, little-endian.
    #[arg(long, value_enum, requires = "raw_dims")]
    pub raw_type: Option<RawTypeArg>,

    /// Solid: height of the extrusion in millimetres [default: 5].
    #[arg(long, allow_negative_numbers = true)]
    pub depth_mm: Option<Millimetres>,

    /// Solid: radius of the rounded (or size of the chamfered) top edge in millimetres
    /// [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub bevel_mm: Option<f32>,

    /// Solid: the top edge's profile.
    #[arg(long, value_enum)]
    pub bevel: Option<BevelArg>,

    /// Solid: a puffed, pillow-like top instead of a flat one.
    #[arg(long)]
    pub inflate: bool,

    /// Solid: only a wall this thick inside the outline, open at the top: a cookie cutter.
    #[arg(long, allow_negative_numbers = true)]
    pub shell_mm: Option<Millimetres>,

    /// Exactly this many grid points along the longest side, enlarging small images.
    #[arg(long)]
    pub grid: Option<u32>,

    #[arg(long, value_parser = format_parser(), default_value_t = MeshFormat::Stl)]
    pub format: MeshFormat,

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

/// The longest side of a solid's grid unless --max-grid says otherwise: a 1024 x 1024 mask
/// at 5 mm deep is already tens of millions of voxels.
const SOLID_MAX_GRID: u32 = 1024;

/// Parses exactly `N` comma-separated values.
fn list<T: std::str::FromStr, const N: usize>(text: &str) -> Result<[T; N], String> {
    let values = text
        .split(',')
        .map(|v| v.trim().parse::<T>().map_err(|_| format!("`{v}` is not a valid number")))
        .collect::<Result<Vec<T>, String>>()?;
    let count = values.len();
    values.try_into().map_err(|_| format!("expected {N} comma-separated values, got {count}"))
}

/// A mode-specific flag given for another mode.
fn misplaced(flag: &str, mode: &str) -> String {
    format!("{flag} applies only to --mode {mode}")
}

impl ConvertArgs {
    /// The engine's parameters; a message for flags that do not fit together.
    pub fn params(&self) -> Result<ConvertParams, String> {
        self.check_mode_flags()?;
        let mode = match self.mode {
            ModeArg::Volume | ModeArg::Solid => Mode::relief(),
            ModeArg::Relief => {
                let Mode::Relief { base_mm, relief_mm } = Mode::relief() else { unreachable!() };
                Mode::Relief {
                    base_mm: self.base_mm.unwrap_or(base_mm),
                    relief_mm: self.relief_mm.unwrap_or(relief_mm),
                }
            }
            ModeArg::Lithophane => {
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
            grid: GridSize {
                max: self.max_grid.unwrap_or(if self.mode == ModeArg::Solid {
                    SOLID_MAX_GRID
                } else {
                    GridSize::DEFAULT_MAX
                }),
                exact: self.grid,
            },
            tone: Tone {
                invert: self.invert,
                blur_px: self.blur_px,
                gamma: self.gamma,
                auto_levels: self.auto_levels,
            },
            mask: self
                .mask_source()
                .map(|source| Mask { source, threshold: self.threshold.unwrap_or(0.5) }),
        })
    }

    fn mask_source(&self) -> Option<MaskSource> {
        match (self.mask, self.mode) {
            (Some(MaskArg::Alpha), _) => Some(MaskSource::Alpha),
            (Some(MaskArg::Threshold), _) => Some(MaskSource::Threshold),
            (None, ModeArg::Solid) if self.threshold.is_some() => Some(MaskSource::Threshold),
            (None, _) => None,
        }
    }

    /// Flags that belong to another mode are refused rather than ignored.
    fn check_mode_flags(&self) -> Result<(), String> {
        let image_flags = [
            ("--width-mm", self.width_mm.is_some()),
            ("--pixel-mm", self.pixel_mm.is_some()),
            ("--invert", self.invert),
            ("--mask", self.mask.is_some()),
            ("--threshold", self.threshold.is_some()),
            ("--max-grid", self.max_grid.is_some()),
            ("--grid", self.grid.is_some()),
            ("--auto-levels", self.auto_levels),
        ];
        let relief =
            [("--base-mm", self.base_mm.is_some()), ("--relief-mm", self.relief_mm.is_some())];
        let lithophane = [
            ("--min-mm", self.min_mm.is_some()),
            ("--max-mm", self.max_mm.is_some()),
            ("--frame-mm", self.frame_mm.is_some()),
        ];
        let volume = [
            ("--iso", self.iso.is_some()),
            ("--spacing-mm", self.spacing_mm.is_some()),
            ("--smooth-vox", self.smooth_vox != 0.0),
            ("--crop", self.crop.is_some()),
            ("--largest-component", self.largest_component),
            ("--raw-dims", self.raw_dims.is_some()),
        ];
        let solid = [
            ("--depth-mm", self.depth_mm.is_some()),
            ("--bevel-mm", self.bevel_mm.is_some()),
            ("--bevel", self.bevel.is_some()),
            ("--inflate", self.inflate),
            ("--shell-mm", self.shell_mm.is_some()),
        ];
        let misplaced_in = |flags: &[(&str, bool)], mode: &str| {
            flags.iter().find(|(_, given)| *given).map(|(flag, _)| misplaced(flag, mode))
        };
        let problem = match self.mode {
            ModeArg::Relief => misplaced_in(&lithophane, "lithophane")
                .or_else(|| misplaced_in(&volume, "volume"))
                .or_else(|| misplaced_in(&solid, "solid")),
            ModeArg::Lithophane => misplaced_in(&relief, "relief")
                .or_else(|| misplaced_in(&volume, "volume"))
                .or_else(|| misplaced_in(&solid, "solid")),
            ModeArg::Solid => misplaced_in(&relief, "relief")
                .or_else(|| misplaced_in(&lithophane, "lithophane"))
                .or_else(|| misplaced_in(&volume, "volume")),
            ModeArg::Volume => image_flags
                .iter()
                .chain(&relief)
                .chain(&lithophane)
                .chain(&solid)
                .find(|(_, given)| *given)
                .map(|(flag, _)| format!("{flag} does not apply to --mode volume")),
        };
        if let Some(problem) = problem {
            return Err(problem);
        }
        if self.threshold.is_some() && self.mask.is_none() && self.mode != ModeArg::Solid {
            return Err("--threshold needs --mask".into());
        }
        if self.format().is_indexed() && matches!(self.mode, ModeArg::Relief | ModeArg::Lithophane)
        {
            return Err("--format ply and obj are for --mode volume and solid; write reliefs and \
                 lithophanes as stl"
                .into());
        }
        Ok(())
    }

    pub fn volume_params(&self) -> Result<VolumeParams, String> {
        self.check_mode_flags()?;
        Ok(VolumeParams {
            iso: self.iso,
            spacing_mm: self.spacing_mm,
            smooth_voxels: self.smooth_vox,
            crop: self.crop.map(|c| Crop { lo: [c[0], c[1], c[2]], hi: [c[3], c[4], c[5]] }),
            largest_component: self.largest_component,
        })
    }

    pub fn volume_source(&self) -> VolumeSource {
        match (self.raw_dims, self.raw_type) {
            (Some(dims), Some(t)) => VolumeSource::Raw {
                dims,
                sample: match t {
                    RawTypeArg::U8 => RawType::U8,
                    RawTypeArg::U16 => RawType::U16,
                    RawTypeArg::F32 => RawType::F32,
                },
            },
            _ => VolumeSource::Detect,
        }
    }

    pub fn solid_params(&self) -> SolidParams {
        let default = SolidParams::default();
        SolidParams {
            depth_mm: self.depth_mm.unwrap_or(default.depth_mm),
            bevel_mm: self.bevel_mm.unwrap_or(default.bevel_mm),
            bevel: match self.bevel {
                Some(BevelArg::Chamfer) => Bevel::Chamfer,
                Some(BevelArg::Round) | None => Bevel::Round,
            },
            inflate: self.inflate,
            shell_mm: self.shell_mm,
        }
    }

    pub fn output_path(&self) -> PathBuf {
        self.output.clone().unwrap_or_else(|| self.input.with_extension(self.format().extension()))
    }

    pub fn format(&self) -> MeshFormat {
        self.format
    }

    pub fn backend(&self) -> BackendChoice {
        self.backend.into()
    }

    pub fn limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_pixels: (self.max_megapixels.max(0.0) * 1e6) as u64,
            max_alloc_bytes: self.max_decode_mib.saturating_mul(1 << 20),
        }
    }
}

//! Command-line arguments. A conversion's options are the engine's [`JobRequest`].

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use lithos_engine::job::cli::mode_parser;
use lithos_engine::{
    BackendChoice, DecodeLimits, Job, JobMode, JobRequest, MeshFormat, ParamError,
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
    /// Say what is wrong with a 3D file (STL, OBJ, PLY, glTF/GLB, 3MF, OFF): holes,
    /// non-manifold edges and vertices, flipped faces, inside-out shells, degenerate and
    /// duplicate faces, crossing faces; with its shells, volume, area and size.
    Inspect(InspectArgs),
    /// Run the HTTP service: the API, the worker pool, SQLite or PostgreSQL.
    Serve(ServeArgs),
    /// Run jobs from a shared queue: a GPU worker host beside `serve --workers 0` API servers.
    Worker(WorkerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
    /// Operator commands: create users, grant credits.
    Admin(AdminArgs),
    /// Billing: apply what Creem knows and the webhooks missed.
    Billing(BillingArgs),
    /// Run one retention sweep now: delete expired outputs, sources no task needs and
    /// abandoned uploads (the sweeper in `serve` and `worker` does this every hour).
    Retention(RetentionArgs),
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
    #[arg(long, value_parser = backend_parser(), default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
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
pub struct RetentionArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// List what would be deleted, with sizes, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Evaluate the retention periods as if it were this time (RFC 3339, e.g.
    /// 2026-12-31T00:00:00Z).
    #[arg(long)]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct BillingArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: BillingCommand,
}

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Pull Creem's checkouts and transactions and apply any the webhooks missed (events that
    /// ran out of retries), through the same idempotent path; prints what it changed.
    Reconcile {
        /// Only what is younger than this many days.
        #[arg(long, default_value_t = 30.0)]
        since_days: f64,
    },
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The 3D file; its format is read from its content.
    pub file: PathBuf,
    /// The unit of a file that does not name one (STL, OBJ, PLY, OFF); 3MF names its own and
    /// glTF is in metres.
    #[arg(long, default_value = "mm", value_parser = units())]
    pub units: lithos_engine::model::Units,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--format`: the engine's format names, each with its summary.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = MeshFormat> {
    let values =
        MeshFormat::ALL.map(|f| clap::builder::PossibleValue::new(f.name()).help(f.summary()));
    clap::builder::PossibleValuesParser::new(values)
        .map(|name| name.parse::<MeshFormat>().expect("a possible value is a format"))
}

/// `--backend`: the engine's backend choices, each with its summary.
fn backend_parser() -> impl clap::builder::TypedValueParser<Value = BackendChoice> {
    let values = BackendChoice::ALL
        .iter()
        .map(|b| clap::builder::PossibleValue::new(b.name()).help(b.summary()));
    clap::builder::PossibleValuesParser::new(values)
        .map(|name| name.parse::<BackendChoice>().expect("a possible value is a backend"))
}

/// `lithos convert`: the job's options come from the engine's [`JobRequest`], the same table
/// the API's `params` and the web form use; the flags here are the CLI's own.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The image: PNG (8 or 16 bit), JPEG, WebP, TIFF (8/16 bit or 32-bit float), BMP or GIF.
    /// With --mode volume: a multi-page TIFF, a ZIP or directory of numbered PNG/TIFF slices or
    /// of a DICOM series, a DICOM file, a NIfTI file (.nii, .nii.gz), or a raw file with
    /// --raw-dims and --raw-type. With --mode mesh: a 3D file. With --mode text: a TrueType or
    /// OpenType font, or nothing for the bundled DejaVu Sans Bold. With --mode prompt: nothing
    /// (the model comes from the AI generation provider `LITHOS_GENERATION_*` names). With
    /// --mode sculpt: the photo that provider makes a model of.
    #[arg(required_unless_present_any = ["text", "prompt"])]
    pub input: Option<PathBuf>,

    /// Where to write the mesh [default: the input's name with the format's extension]; its
    /// extension picks the format when --format is not given.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    #[arg(long, value_parser = mode_parser(), default_value_t = JobMode::Relief)]
    pub mode: JobMode,

    #[command(flatten)]
    pub job: JobRequest,

    /// [default: stl]
    #[arg(long, value_parser = format_parser())]
    pub format: Option<MeshFormat>,

    #[arg(long, value_parser = backend_parser(), default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,

    /// Refuse images with more pixels than this, in megapixels.
    #[arg(long, default_value_t = DecodeLimits::DEFAULT_MAX_PIXELS as f64 / 1e6)]
    pub max_megapixels: f64,

    /// Refuse images that need more memory than this to decode, in MiB.
    #[arg(long, default_value_t = DecodeLimits::DEFAULT_MAX_ALLOC >> 20)]
    pub max_decode_mib: u64,

    /// Print one JSON object with the result (or the error) instead of text.
    #[arg(long)]
    pub json: bool,

    /// Also write a picture of how it will look, a PNG beside the mesh: a lithophane lit from
    /// behind (`NAME.backlit.png`), by the transmittance model (with --td-mm, or a white
    /// PLA's), or a relief's colours with --palette (`NAME.colours.png`).
    #[arg(long)]
    pub preview: bool,

    /// Also write the output's thumbnail beside it (`NAME.thumb.png`): the model shaded in a
    /// three-quarter view, 512 x 512 pixels, as a 3MF file carries it.
    #[arg(long)]
    pub thumbnail: bool,
}

impl ConvertArgs {
    /// The checked job; the error names the field the engine's way (`max_grid`).
    pub fn job(&self) -> Result<Job, ParamError> {
        self.job.build(self.mode, self.format.or_else(|| self.format_of_output()))
    }

    /// The format `-o`'s extension names (`.3mf`, `.glb`), when `--format` is not given.
    fn format_of_output(&self) -> Option<MeshFormat> {
        let extension = self.output.as_ref()?.extension()?.to_str()?.to_ascii_lowercase();
        MeshFormat::ALL
            .into_iter()
            .find(|f| f.extension() == extension && *f != MeshFormat::StlAscii)
    }

    /// `-o`, else the input's name (for text, `text`; for a prompt, `prompt`) with the
    /// format's extension.
    pub fn output_path(&self, job: &Job) -> PathBuf {
        let named = |input: Option<&PathBuf>| match (job.mode(), input) {
            (JobMode::Text | JobMode::Prompt, _) | (_, None) => PathBuf::from(job.mode().name()),
            (_, Some(input)) => input.clone(),
        };
        let path = || named(self.input.as_ref()).with_extension(job.format.extension());
        self.output.clone().unwrap_or_else(path)
    }

    /// What the job reads: the input file, or for text without one, the bundled font.
    pub fn source(&self) -> lithos_engine::Input<'_> {
        match &self.input {
            Some(path) => lithos_engine::Input::File { path, limits: self.limits() },
            None => lithos_engine::Input::None,
        }
    }

    pub fn limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_pixels: (self.max_megapixels.max(0.0) * 1e6) as u64,
            max_alloc_bytes: self.max_decode_mib.saturating_mul(1 << 20),
        }
    }
}

/// `--units`, parsed as the job model's `units` is.
fn units() -> clap::builder::ValueParser {
    <lithos_engine::model::Units as lithos_engine::job::cli::CliValue>::parser()
}

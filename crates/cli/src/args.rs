//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// FaceKiosk: local face verification with liveness, on ONNX Runtime.
#[derive(Debug, Parser)]
#[command(name = "facekiosk", version, about, propagate_version = true)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command; each overrides the configuration file.
#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (TOML; see docs/CONFIGURATION.md).
    #[arg(long, global = true, env = "FACEKIOSK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Logs as JSON lines (for log collectors).
    #[arg(long, global = true)]
    pub log_json: bool,
    /// The ONNX Runtime library (libonnxruntime.so); by default found where scripts/setup puts it.
    #[arg(long, global = true, env = "ORT_DYLIB_PATH", value_name = "FILE")]
    pub ort_library: Option<PathBuf>,
    /// Execution provider: cpu, cuda, tensorrt, directml, coreml or auto.
    #[arg(long, global = true, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Run on the CPU (with a warning) when the requested provider cannot start.
    #[arg(long, global = true)]
    pub allow_cpu_fallback: bool,
    /// Threads per model operator, for every model (0: all cores); overrides `runtime.intra_threads` and `runtime.embedder_threads`.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// A models directory whose manifest.toml replaces roles of the embedded models.
    #[arg(long, global = true, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// A calibration file (match-level thresholds) instead of the embedded one.
    #[arg(long, global = true, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the ONNX Runtime library in use, its version and its execution providers.
    Runtime,
    /// Run the kiosk's main job headless on the embedded defaults.
    Demo,
    /// Find faces in an image: boxes, landmarks, quality.
    Detect(DetectArgs),
    /// Compare a probe photo (selfie) with a reference photo (ID).
    Verify(VerifyArgs),
    /// Evaluate on a labelled set: detection rate, EER, TAR at FAR, DET plot; --spoof for liveness.
    Eval(EvalArgs),
    /// Derive match-level thresholds from a labelled set and write the calibration file.
    Calibrate(CalibrateArgs),
    /// Run synthetic attacks and genuine users through the real models and sessions: the share
    /// of sessions each scenario passes.
    EvalLiveness(EvalLivenessArgs),
    /// Measure the speed of every stage, on one thread and on all cores.
    Bench(BenchArgs),
    /// List, verify or install models (e.g. the optional passive-liveness model).
    Models(ModelsArgs),
    /// Run a whole face session against a reference photo, from a camera, a folder or a video.
    Session(SessionArgs),
    /// Show, export or rotate the kiosk's signing keys.
    Keys(KeysArgs),
    /// The kiosk app's staff panel: hash a staff PIN for facekiosk.toml.
    Staff(StaffArgs),
    /// The kiosk app's texts: check them (missing and extra keys, bad placeholders).
    Texts(TextsArgs),
    /// Verify a signed result as an integrator would: signature, expiry, key id.
    VerifyResult(VerifyResultArgs),
    /// Run the verification API (sessions, kiosks, signed results) on SQLite or PostgreSQL.
    Serve(ServeArgs),
    /// Manage the verification API's tenant API keys.
    ApiKey(ApiKeyArgs),
    /// Kiosks of the verification API: enrolment tokens.
    Kiosk(KioskArgs),
    /// Print the verification API's OpenAPI document (JSON), as served at /openapi.json.
    Openapi,
    /// Deliver the queued results and traces to the verification API (`--watch`: keep going).
    Sync(SyncArgs),
    /// The kiosk's outbox: status, entries, retry, export, purge.
    Queue(QueueArgs),
    /// Measure the kiosk's outbox: enqueue latency, drain rate against a local API, memory
    /// while entries wait.
    BenchQueue(BenchQueueArgs),
    /// Load-test the verification API on 127.0.0.1: concurrent kiosks posting results and
    /// integrators polling; throughput and latency.
    BenchApi(BenchApiArgs),
}

/// Where the API's database is (for `serve` and the admin commands).
#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// The server's data dir (embedded SQLite database, photo key); default
    /// ~/.local/share/facekiosk/server, or `server.data_dir`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… (or sqlite://…) instead of the data dir's SQLite file.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// `facekiosk serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default `server.listen`, 127.0.0.1:8080).
    #[arg(long, env = "FACEKIOSK_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// The database.
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The public base URL of the API, for clientSecret.url (default http://<listen>).
    #[arg(long, env = "FACEKIOSK_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

/// `facekiosk api-key`.
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

/// `facekiosk api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a tenant (created when new); prints only the key on stdout.
    Create {
        /// The tenant (1–64 letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        tenant: String,
        /// A test-mode key (fk_test_…): its sessions are test sessions, apart from live ones.
        #[arg(long)]
        test: bool,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List API keys (ids, tenants, modes, dates; never the keys themselves).
    List {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Revoke an API key at once, with the access tokens minted from it.
    Revoke {
        /// The key's id (`key_…`, from `api-key list` or `create`).
        key_id: String,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `facekiosk kiosk`.
#[derive(Debug, Args)]
pub struct KioskArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KioskCommand,
}

/// `facekiosk kiosk` subcommands.
#[derive(Debug, Subcommand)]
pub enum KioskCommand {
    /// Register this kiosk with the verification API (its live and test public keys); the
    /// credential is kept in the kiosk's data dir. From then on every result it signs is queued.
    Register {
        /// The API's base URL, e.g. https://verify.bank.example
        #[arg(long, value_name = "URL")]
        api: String,
        /// The enrolment token (from `facekiosk kiosk enrol-token` or POST /v1/kiosks).
        #[arg(long, value_name = "TOKEN")]
        enrolment_token: String,
    },
    /// Make a single-use enrolment token for a new kiosk of a tenant; prints only the token.
    EnrolToken {
        /// The tenant the kiosk will belong to (its walk-ins are that tenant's).
        #[arg(long)]
        tenant: String,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `facekiosk sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Keep delivering as entries come due (until Ctrl-C), instead of one pass.
    #[arg(long)]
    pub watch: bool,
}

/// `facekiosk queue`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: QueueCommand,
}

/// `facekiosk queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Counts (pending, in flight, dead, acknowledged) and the last successful sync.
    Status,
    /// The entries, oldest first (never their contents).
    List {
        /// Only entries in this state: pending, in-flight, dead, acknowledged.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Send a dead entry again.
    Retry {
        /// The entry's id (from `queue list`).
        id: i64,
    },
    /// Write the pending and dead entries' contents to DIR (mode 0600 files) for IT.
    Export {
        /// An empty or new folder.
        dir: PathBuf,
    },
    /// Delete delivered entries (their contents are already gone).
    Purge {
        /// Required: only acknowledged entries are ever purged.
        #[arg(long)]
        acknowledged: bool,
    },
}

/// `facekiosk bench-queue`.
#[derive(Debug, Args)]
pub struct BenchQueueArgs {
    /// Results to enqueue one by one (timed), then drain.
    #[arg(long, default_value_t = 2_000)]
    pub results: usize,
    /// Results left waiting afterwards, to measure memory.
    #[arg(long, default_value_t = 100_000)]
    pub waiting: usize,
}

/// `facekiosk bench-api`.
#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// Kiosks posting results at once.
    #[arg(long, default_value_t = 50)]
    pub kiosks: usize,
    /// Integrators polling sessions at once.
    #[arg(long, default_value_t = 20)]
    pub pollers: usize,
    /// Results to post in all.
    #[arg(long, default_value_t = 20_000)]
    pub results: usize,
    /// Offered load, results per second over all kiosks (each kiosk posts on a fixed schedule;
    /// latency counts from the scheduled time, so a slow server cannot hide its queue).
    /// 0: every kiosk posts its next result as soon as the last one is answered.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Stop after this many seconds even if not all results are posted.
    #[arg(long, default_value_t = 60)]
    pub max_seconds: u64,
    /// postgres://… to measure on PostgreSQL (a fresh database is created in it and dropped);
    /// default: a temporary SQLite file.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `facekiosk detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The image (JPEG, PNG, WebP, BMP).
    pub image: PathBuf,
    /// Write a copy of the image with the faces drawn on it (PNG).
    #[arg(long, value_name = "OUT.png")]
    pub annotate: Option<PathBuf>,
    /// Include the 468 dense landmarks of the main face in the JSON output.
    #[arg(long)]
    pub landmarks: bool,
    /// Judge the image as a camera frame, as a session does: the live quality gates
    /// (`[face.live_quality]`) and one detector pass, instead of a still photo's gates and
    /// thorough search.
    #[arg(long)]
    pub live: bool,
}

/// `facekiosk verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The reference photo (ID document portrait).
    #[arg(long, value_name = "ID.jpg")]
    pub reference: PathBuf,
    /// The probe photo (selfie).
    #[arg(long, value_name = "SELFIE.jpg")]
    pub probe: PathBuf,
    /// The match level (1–5) the comparison must reach.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub minimum_match_level: u8,
}

/// `facekiosk eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The directory of images.
    #[arg(long, value_name = "DIR")]
    pub set: PathBuf,
    /// The labels: lines `file,identity` (or `file,live|attack` with --spoof); default DIR/labels.csv.
    #[arg(long, value_name = "CSV")]
    pub labels: Option<PathBuf>,
    /// Evaluate the passive liveness model instead: APCER and BPCER (ISO/IEC 30107-3).
    #[arg(long)]
    pub spoof: bool,
    /// Where to write the DET curve and score histograms (PNG).
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
    /// Which face of a photo with several is the labelled one: `ranked` (large and central,
    /// as the kiosk chooses) or `central` (nearest the image centre, for sets cropped around
    /// their subject such as LFW).
    #[arg(long, default_value = "ranked", value_name = "CHOICE")]
    pub face: facekiosk_face::engine::FaceChoice,
    /// Also write every pair's score (CSV: file_a,file_b,genuine,score) for failure analysis.
    #[arg(long, value_name = "OUT.csv")]
    pub scores: Option<PathBuf>,
}

/// `facekiosk eval-liveness`.
#[derive(Debug, Args)]
pub struct EvalLivenessArgs {
    /// Sessions per scenario.
    #[arg(long, default_value_t = 100, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub trials: usize,
    /// Take the people from a labelled set (frontal photos with one face; `file,identity`)
    /// instead of the project's two test portraits.
    #[arg(long, value_name = "DIR")]
    pub set: Option<PathBuf>,
    /// The set's labels (default DIR/labels.csv).
    #[arg(long, value_name = "CSV")]
    pub labels: Option<PathBuf>,
    /// Only these scenarios (repeatable): genuine, replay-loop, eager, flip-book, planar,
    /// curved, swap.
    #[arg(long, value_name = "NAME")]
    pub scenario: Vec<String>,
    /// Seed of every random draw (same seed, same sessions).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Camera frame rate of the synthetic sessions.
    #[arg(long, default_value_t = 15.0)]
    pub fps: f32,
    /// Where to draw the pass rates with their 95 % intervals (PNG).
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
    /// Keep the frames (every third) and the events of the first session of each scenario in
    /// this folder, for a look.
    #[arg(long, value_name = "DIR")]
    pub frames: Option<PathBuf>,
}

/// `facekiosk calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The directory of images.
    #[arg(long, value_name = "DIR")]
    pub set: PathBuf,
    /// The labels (`file,identity`); default DIR/labels.csv.
    #[arg(long, value_name = "CSV")]
    pub labels: Option<PathBuf>,
    /// The calibration file to write.
    #[arg(long, value_name = "FILE", default_value = "calibration.json")]
    pub out: PathBuf,
    /// A name for the set, recorded in the file (default: the directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Which face of a photo with several is the labelled one (see `eval --face`).
    #[arg(long, default_value = "ranked", value_name = "CHOICE")]
    pub face: facekiosk_face::engine::FaceChoice,
    /// Seed of the identity split.
    #[arg(long, default_value_t = 20_261_202)]
    pub seed: u64,
    /// Share of the identities held out to measure the thresholds (the others choose them).
    #[arg(long, default_value_t = 0.5, value_parser = fraction)]
    pub holdout: f64,
    /// Each threshold keeps the upper bound on the choosing half within this share of the
    /// level's target, so that the held-out half can confirm it.
    #[arg(long, default_value_t = 0.6, value_parser = fraction)]
    pub margin: f64,
    /// Where to write the held-out DET curve with each level's measured FMR, bound and TAR.
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number between 0 and 1 (exclusive)")),
    }
}

/// `facekiosk bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Timed runs per stage.
    #[arg(long, default_value_t = 100, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub iterations: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
    /// Thread counts to measure, each for every model (0 = all cores); default: the configured threads (`runtime.intra_threads`, `runtime.embedder_threads`), then 1 and 0.
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Two photos for the decode and verify stages (default: the built-in test photo, and the
    /// same face as a 1024x1024 JPEG).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub photos: Vec<PathBuf>,
    /// Also run the same models from Python (onnxruntime + numpy) and report the ratio.
    #[arg(long)]
    pub compare_python: bool,
    /// The Python benchmark to run with --compare-python.
    #[arg(long, default_value = "scripts/bench-python", value_name = "SCRIPT")]
    pub python: PathBuf,
}

/// `facekiosk models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// `facekiosk models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Show which model plays each role and where it comes from.
    List,
    /// Check every model's sha256 against its manifest (exit 2 on a mismatch).
    Verify,
    /// Install the models of DIR (a model file and a manifest.toml naming its role, interface
    /// and sha256) into the models directory (--models, or ~/.local/share/facekiosk/models).
    Install {
        /// The directory holding the model and its manifest.toml.
        dir: PathBuf,
    },
}

/// `facekiosk session`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The reference photo (ID document portrait): exactly one face.
    #[arg(long, value_name = "ID.jpg")]
    pub reference: PathBuf,
    /// Where frames come from: camera, camera:N, camera:NAME, a folder of images, or a video
    /// (MJPEG .avi, .mjpeg, .y4m).
    #[arg(long, value_name = "SOURCE")]
    pub source: String,
    /// The session id (default: a new walk-in id).
    #[arg(long)]
    pub session_id: Option<String>,
    /// Failed attempts before the session is dropped (1-3 honoured).
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub max_attempts: i64,
    /// The match level (1-5) to reach.
    #[arg(long, default_value_t = 3)]
    pub minimum_match_level: i64,
    /// Liveness: active, passive, both, or attended (only where session.allow_attended is set).
    #[arg(long, default_value = "active")]
    pub liveness: String,
    /// Return the partial signed result with the error after a failed attempt.
    #[arg(long)]
    pub return_data_for_incomplete_session: bool,
    /// A value to echo in the result.
    #[arg(long)]
    pub nonce: Option<String>,
    /// Attach the decision's frame to the result, with the background: none, blurred, filled,
    /// filled-white.
    #[arg(long, value_name = "OBFUSCATION")]
    pub audit_image: Option<String>,
    /// The staff member watching an `attended` session (required for it; in the result).
    #[arg(long, value_name = "ID")]
    pub operator: Option<String>,
    /// Play files at their frame rate (default: as fast as the engine goes).
    #[arg(long)]
    pub realtime: bool,
    /// Print every trace event as a JSON line.
    #[arg(long)]
    pub trace: bool,
}

/// `facekiosk keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `facekiosk keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The kiosk id and its keys (public parts only); creates the identity on first use.
    Show,
    /// Print the public keys as a JWKS (for integrators and the API).
    ExportJwk,
    /// Replace the signing key; older results keep verifying with the exported JWKS.
    Rotate,
}

/// `facekiosk staff`.
#[derive(Debug, Args)]
pub struct StaffArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StaffCommand,
}

/// `facekiosk staff` subcommands.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Read a PIN (4-12 digits) from the first line of stdin and print its Argon2id hash, for
    /// `pin_hash` in facekiosk.toml's `[[staff.operators]]` (the PIN itself is stored nowhere).
    HashPin {
        /// Print a whole `[[staff.operators]]` table for this staff member instead.
        #[arg(long)]
        name: Option<String>,
    },
}

/// `facekiosk texts`.
#[derive(Debug, Args)]
pub struct TextsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TextsCommand,
}

/// `facekiosk texts` subcommands.
#[derive(Debug, Subcommand)]
pub enum TextsCommand {
    /// Compare every language's texts with the default language's (en): missing keys (shown in
    /// English), extra keys (never shown), bad placeholders. Exit 1 when anything is found.
    Check {
        /// A deployment's texts folder (`kiosk.texts_dir`: `<lang>.json` overrides or new
        /// languages) instead of the built-in texts; overrides of a built-in language need
        /// not repeat every key.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `facekiosk verify-result`.
#[derive(Debug, Args)]
pub struct VerifyResultArgs {
    /// The result (a compact JWS), or `-` for stdin.
    pub result: String,
    /// The kiosk's public keys (JSON Web Key Set, from `facekiosk keys export-jwk`).
    #[arg(long, value_name = "keys.json")]
    pub jwks: PathBuf,
    /// Check expiry at this unix time (seconds) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
}

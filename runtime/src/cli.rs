//! The `eventdriven` command line: one subcommand per pipeline step (the image entrypoint),
//! the Lambda handler, the local runner and a few tools. Flags fall back to the environment
//! variables of the settings contract, which is how Jobs and the Lambda are configured.

use crate::declaration::{RecordSource, record};
use crate::generate::write_orders;
use crate::objects::ObjectUrl;
use crate::process::BufferPool;
use crate::progress::{MEMORY_URL, ProgressStore};
use crate::row::RowSchema;
use crate::runner::{LocalRun, run_locally};
use crate::steps::{list_chunks, merge_step, process_step, split_step, user_process_step};
use crate::table::{KeyValue, OrdersTable, TableKey, TableUrl, Type};
use crate::workdir::{ChunkRef, RunDir};
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use eventdriven_core::contract;
use eventdriven_core::estimate::{RunSize, estimate};
use eventdriven_core::pace;
use eventdriven_core::record::KeyType;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT_WORK_DIR: &str = ".eventdriven/work";
const DEFAULT_TABLE: &str = ".eventdriven/orders.table";
const DEFAULT_PIPELINE: &str = "local";

#[derive(Parser)]
#[command(
    name = "eventdriven",
    version,
    about = "Runs the steps of an eventdriven batch pipeline, in the cloud or locally."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Split the input into chunks (byte ranges of it, listed in the run's manifest) and queue them.
    Split {
        #[command(flatten)]
        run: RunArgs,
        /// Input file or s3://BUCKET/KEY.
        #[arg(long, env = contract::INPUT_URL)]
        input: ObjectUrl,
        /// Data rows per chunk.
        #[arg(long = "max-lines-per-batch", visible_alias = "rows-per-chunk", env = contract::MAX_LINES_PER_BATCH, default_value_t = contract::DEFAULT_ROWS_PER_CHUNK, value_parser = clap::value_parser!(u64).range(1..))]
        rows_per_chunk: u64,
        /// Where to write the run's chunk list (a file or s3://BUCKET/KEY); by default
        /// chunks.json in the run's work directory.
        #[arg(long, env = contract::CHUNK_LIST_URL)]
        chunk_list: Option<ObjectUrl>,
        #[command(flatten)]
        record: RecordArgs,
    },
    /// Print the pending chunks of a run as JSON (what the Lambda returns).
    ListChunks {
        #[command(flatten)]
        run: RunArgs,
    },
    /// Process one chunk: table writes, output chunk, rejects.
    Process {
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        table: TableArgs,
        /// Chunk reference from list-chunks, e.g. 000003-90002.
        #[arg(long, env = contract::CHUNK)]
        chunk: ChunkRef,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        pace: PaceArgs,
        /// A user's command (after `--`) to run on the chunk instead of the built-in step; it
        /// writes the output and rejects, this checks and publishes them
        /// (docs/process-contract.md).
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Copy this binary into DIR, where a user's process step runs it (the process Job's init
    /// container does this).
    InstallEntrypoint { dir: PathBuf },
    /// Concatenate the processed chunks, in input order, into the result.
    Merge {
        #[command(flatten)]
        run: RunArgs,
        /// Result file or s3://BUCKET/KEY; rejects go beside it with `.rejects.csv` appended.
        #[arg(long, env = contract::OUTPUT_URL)]
        output: ObjectUrl,
        /// Keep the run's work (manifest, outputs) after publishing the result (by default it is removed).
        #[arg(long, env = contract::KEEP_WORK)]
        keep_work: bool,
        #[command(flatten)]
        record: RecordArgs,
    },
    /// Serve list-chunks as an AWS Lambda function (the Lambda image's entrypoint).
    Lambda {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Run the whole pipeline on this machine.
    Run {
        /// Input CSV file or s3://BUCKET/KEY.
        #[arg(long)]
        input: ObjectUrl,
        /// Result file or s3://BUCKET/KEY; rejects go beside it with `.rejects.csv` appended.
        #[arg(long)]
        output: ObjectUrl,
        /// Data rows per chunk.
        #[arg(long = "max-lines-per-batch", visible_alias = "rows-per-chunk", default_value_t = contract::DEFAULT_ROWS_PER_CHUNK, value_parser = clap::value_parser!(u64).range(1..))]
        rows_per_chunk: u64,
        /// Chunks in flight at once (default: twice the cores, plus one). At most as many as
        /// there are cores hold buffers (read, parse, write) at a time; the others wait for
        /// the disk, so more in flight cost no memory and keep the cores busy during the waits.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        concurrency: Option<u64>,
        #[arg(long, default_value = DEFAULT_WORK_DIR)]
        work_dir: PathBuf,
        /// Progress store: memory: (in-process) or redis://HOST:PORT.
        #[arg(long, default_value = MEMORY_URL)]
        redis_url: String,
        #[command(flatten)]
        table: TableArgs,
        /// Run id; by default derived from the input, so a re-run resumes the interrupted one.
        #[arg(long)]
        run_id: Option<String>,
        /// Keep the run's work (manifest, outputs) in the work directory after a successful merge.
        #[arg(long)]
        keep_work: bool,
        /// The declared record, a JSON file (the `record` block's JSON form); by default the
        /// order sample's layout.
        #[arg(long, value_name = "FILE")]
        record: Option<RecordSource>,
    },
    /// Run Step Functions definitions on this machine.
    States {
        #[command(subcommand)]
        command: StatesCommand,
    },
    /// Run the pipelines deployed to a local AWS emulator: each execution that starts there
    /// runs here, Jobs and the Lambda as local processes.
    LocalCloud {
        #[command(flatten)]
        at: LocalCloudArgs,
        /// Run IMAGE as the local COMMAND (this project's images run this binary; others, such
        /// as a workflow's listener image, need one). For a user's process step, COMMAND stands
        /// in for the block's `command` inside the image, e.g.
        /// `--image …/enrich=python3 examples/custom-process/enrich.py`.
        #[arg(long = "image", value_name = "IMAGE=COMMAND")]
        images: Vec<String>,
        /// How often the emulator is asked for new executions, in milliseconds.
        #[arg(long, default_value_t = 500)]
        poll_interval_ms: u64,
        /// Scales every Retry interval of the definitions (0 retries at once); for tests and
        /// quick failure loops, the definition itself is unchanged.
        #[arg(long, default_value_t = 1.0, value_parser = retry_scale)]
        retry_scale: f64,
    },
    /// List the executions local-cloud ran, with status and duration.
    Executions {
        #[command(flatten)]
        at: LocalCloudArgs,
    },
    /// Show one execution local-cloud ran: its states, timings, errors and chunk progress.
    Execution {
        name: String,
        #[command(flatten)]
        at: LocalCloudArgs,
        /// `html`: the run's page of `eventdriven ui` as one self-contained file.
        #[arg(long, value_enum, default_value = "text")]
        format: ExecutionFormat,
    },
    /// Serve a live view of every run on 127.0.0.1: local-cloud's records when there are any,
    /// else the executions Step Functions lists.
    Ui {
        /// The port to listen on (0: any free one; the address is printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// An emulator's endpoint; real AWS when unset.
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: Option<String>,
        /// Where local-cloud keeps its records (default: .eventdriven/local-cloud/<endpoint>).
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Print one workflow run in time order, from the workflow's trail: the event that started
    /// it, each event of the run, and how the execution ended.
    Trail {
        /// The execution's ARN, or (for a run local-cloud ran) its name as `executions` shows it.
        execution: String,
        /// An emulator's endpoint; real AWS when unset.
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: Option<String>,
        /// With an endpoint, where local-cloud keeps its records (default:
        /// .eventdriven/local-cloud/<endpoint>).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: crate::trail::TrailFormat,
    },
    /// Print what a run of a given size would do and cost, with no AWS: its chunks and the Map's
    /// mode, the largest payload, history events, DynamoDB writes and their time, the result's
    /// upload, and a cost estimate.
    Plan {
        /// Data rows: an integer, or in scientific notation (1e9, 2.5e6).
        #[arg(long, value_parser = count)]
        rows: u64,
        /// Average bytes of an input row.
        #[arg(long, default_value_t = 100)]
        bytes_per_row: u64,
        /// Data rows per chunk.
        #[arg(long = "max-lines-per-batch", visible_alias = "rows-per-chunk", default_value_t = contract::DEFAULT_ROWS_PER_CHUNK, value_parser = clap::value_parser!(u64).range(1..))]
        rows_per_chunk: u64,
        /// Process Jobs at once (0: the Map's own limit).
        #[arg(long, default_value_t = 0)]
        max_concurrency: u64,
        /// The table's warm throughput in write units a second (`table_warm_write_units`).
        #[arg(long, value_parser = count)]
        warm_write_units: Option<u64>,
        /// The price of one write unit a second of warm throughput raised, in USD (from the
        /// DynamoDB pricing page); adds the raise to the cost.
        #[arg(long, value_name = "PRICE", requires = "warm_write_units", value_parser = price)]
        warm_write_unit_usd: Option<f64>,
    },
    /// Write a seeded, reproducible order file (the order sample's layout).
    Generate {
        #[arg(long)]
        rows: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file ("-" for standard output).
        #[arg(long)]
        output: PathBuf,
    },
    /// Query the table (of orders, or of the records `--record` declares).
    Orders {
        #[command(subcommand)]
        query: OrdersQuery,
    },
}

/// How `eventdriven execution` prints a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ExecutionFormat {
    Text,
    Html,
}

#[derive(Subcommand)]
enum StatesCommand {
    /// Execute a definition; prints its output, or {"error", "cause"} and exits 1.
    Run(crate::local::states_run::StatesRun),
}

#[derive(Subcommand)]
enum OrdersQuery {
    /// Print one item, by its key, as DynamoDB JSON.
    Get {
        /// The partition key's value (an OrderId in the order layout).
        key: String,
        /// The sort key's value, when the record declares a sort key.
        #[arg(long)]
        sort_key: Option<String>,
        /// The declared record, a JSON file, whose key types the lookup; by default the order
        /// sample's layout.
        #[arg(long, value_name = "FILE")]
        record: Option<RecordSource>,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Print the number of items.
    Count {
        #[command(flatten)]
        table: TableArgs,
    },
}

#[derive(Args)]
struct LocalCloudArgs {
    /// The emulator's endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL", default_value = "http://127.0.0.1:4566")]
    endpoint: String,
    /// Where records and volumes are kept (default: .eventdriven/local-cloud/<endpoint>).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

impl LocalCloudArgs {
    fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| crate::local_cloud::default_state_dir(&self.endpoint))
    }
}

#[derive(Args)]
struct StoreArgs {
    /// Progress store: memory: (in-process) or redis://HOST:PORT / rediss://HOST:PORT.
    #[arg(long, env = contract::REDIS_URL, default_value = MEMORY_URL)]
    redis_url: String,
    /// Secrets Manager secret holding the Redis auth token.
    #[arg(long, env = contract::REDIS_AUTH_SECRET_ARN)]
    redis_auth_secret_arn: Option<String>,
    /// PEM file of the CAs a rediss:// server's certificate is verified against, instead of
    /// the system's roots.
    #[arg(long, env = contract::REDIS_CA_FILE)]
    redis_ca_file: Option<PathBuf>,
}

impl StoreArgs {
    async fn open(&self) -> Result<ProgressStore> {
        let token = match &self.redis_auth_secret_arn {
            Some(arn) => Some(crate::secrets::redis_auth_token(arn).await?),
            None => None,
        };
        ProgressStore::open_verified_by(&self.redis_url, token, self.redis_ca_file.as_deref()).await
    }
}

#[derive(Args)]
struct RunArgs {
    /// Run id; split derives one from its input when none is given, the other steps need it.
    #[arg(long, env = contract::RUN_ID)]
    run_id: Option<String>,
    #[arg(long, env = contract::WORK_DIR, default_value = DEFAULT_WORK_DIR)]
    work_dir: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

impl RunArgs {
    fn run_id(&self) -> Result<&str> {
        self.run_id.as_deref().context("--run-id (or RUN_ID) is required")
    }

    async fn open(&self) -> Result<(RunDir, ProgressStore)> {
        Ok((RunDir::new(&self.work_dir, self.run_id()?)?, self.store.open().await?))
    }
}

#[derive(Args)]
struct TableArgs {
    /// The table: dynamodb://NAME or a local file for the embedded table.
    #[arg(long, env = contract::TABLE_URL, default_value = DEFAULT_TABLE)]
    table: TableUrl,
    /// Pipeline name; the namespace of generated UUIDv5s (the order layout's ConfirmationIds).
    #[arg(long, env = contract::PIPELINE_NAME, default_value = DEFAULT_PIPELINE)]
    pipeline_name: String,
}

/// How fast the built-in process step writes to the table, from the Job's manifest.
#[derive(Args)]
struct PaceArgs {
    /// The table's write units a second, shared by the process Jobs of a run; unset, writes
    /// are not paced.
    #[arg(long, env = contract::TABLE_WRITE_UNITS)]
    table_write_units: Option<u64>,
    /// The pipeline's max_concurrency (0: the Map's own limit).
    #[arg(long, env = contract::MAX_CONCURRENCY, default_value_t = 0)]
    max_concurrency: u64,
    /// The run's chunks, as the Map counted them; unset, as many Jobs write as the Map runs.
    #[arg(long, env = contract::RUN_CHUNKS)]
    run_chunks: Option<u64>,
}

impl PaceArgs {
    /// This Job's share of the table's rate, in write units a second, when it is paced.
    fn share(&self) -> Option<f64> {
        let chunks = self.run_chunks.unwrap_or(u64::MAX);
        let share = pace::job_share(self.table_write_units?, chunks, self.max_concurrency);
        Some(share)
    }
}

#[derive(Args)]
struct RecordArgs {
    /// The declared record: a JSON file, or the JSON itself (as a Job's RECORD holds it); by
    /// default the order sample's layout.
    #[arg(long = "record", env = contract::RECORD, value_name = "FILE|JSON")]
    source: Option<RecordSource>,
}

/// A count of rows or units: an integer, or in scientific notation when it denotes one (1e9,
/// 2.5e6; not 2.5e0).
fn count(text: &str) -> Result<u64, String> {
    let invalid = || format!("{text:?} is not a whole number (e.g. 1000000000, 1e9 or 2.5e6)");
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.strip_prefix('+').unwrap_or(exponent)),
        None => (text, "0"),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !exponent.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let exponent: u32 = exponent.parse().map_err(|_| invalid())?;
    let shift = i64::from(exponent) - fraction.len() as i64;
    let (significant, zeros) = match u32::try_from(-shift) {
        // Dropping digits: only zeros may go.
        Ok(dropped) => {
            let kept = digits.len().checked_sub(dropped as usize).ok_or_else(invalid)?;
            if !digits[kept..].bytes().all(|b| b == b'0') {
                return Err(invalid());
            }
            (&digits[..kept], 0)
        }
        Err(_) => (digits.as_str(), u32::try_from(shift).map_err(|_| invalid())?),
    };
    let significant: u64 = match significant {
        "" => 0,
        digits => digits.parse().map_err(|_| invalid())?,
    };
    if significant == 0 {
        return Ok(0);
    }
    10u64
        .checked_pow(zeros)
        .and_then(|scale| significant.checked_mul(scale))
        .ok_or_else(|| format!("{text:?} is more than {}", u64::MAX))
}

/// A price in USD: finite and not negative.
fn price(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(usd),
        _ => Err(format!("{text:?} is not a price (a number of at least 0, e.g. 0.0005)")),
    }
}

/// A factor for Retry intervals: finite and not negative.
fn retry_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale >= 0.0 => Ok(scale),
        _ => Err(format!("{text:?} is not a number of at least 0")),
    }
}

/// A key attribute's `value`, typed as the record declares its key.
fn key_value<'a>((attribute, key_type): (&'a str, KeyType), value: &'a str) -> KeyValue<'a> {
    let kind = match key_type {
        KeyType::S => Type::S,
        KeyType::N => Type::N,
    };
    KeyValue { attribute, kind, value }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("starting the async runtime");
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => code,
        Err(err) if err.downcast_ref::<OutputClosed>().is_some() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Standard output closed by the program reading it (`eventdriven generate ... | head`): the
/// reader has what it wanted, so the command stops quietly rather than failing.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
struct OutputClosed;

/// A write error of standard output, a closed output told apart.
fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        OutputClosed.into()
    } else {
        anyhow::Error::new(e).context("writing to standard output")
    }
}

/// Writes `text` to standard output.
fn print_out(text: impl std::fmt::Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    write!(out, "{text}").and_then(|()| out.flush()).map_err(stdout_error)
}

/// Writes `text` and a line end to standard output.
fn print_line(text: impl std::fmt::Display) -> Result<()> {
    print_out(format_args!("{text}\n"))
}

async fn execute(command: Command) -> Result<ExitCode> {
    match command {
        Command::States {
            command: StatesCommand::Run(run),
        } => return crate::local::states_run::states_run(run).await,
        Command::Split {
            run,
            input,
            rows_per_chunk,
            chunk_list,
            record: declared,
        } => {
            let record = record(declared.source.as_ref())?;
            let run_id = match &run.run_id {
                Some(run_id) => run_id.clone(),
                None => {
                    let derived = crate::runner::default_run_id(&input);
                    eprintln!("run id: {derived} (derived from the input; pass it to the other steps)");
                    derived
                }
            };
            let dir = RunDir::new(&run.work_dir, &run_id)?;
            let progress = run.store.open().await?;
            let chunk_list = chunk_list.unwrap_or_else(|| ObjectUrl::Local(dir.chunk_list()));
            let manifest = split_step(&dir, &progress, &input, &chunk_list, rows_per_chunk, &record).await?;
            // Counts only: the chunk list can be long, and a Job's log reaches the task result.
            print_line(serde_json::to_string(&manifest.summary())?)?;
        }
        Command::ListChunks { run } => {
            let progress = run.store.open().await?;
            print_line(serde_json::to_string(&list_chunks(run.run_id()?, &progress).await?)?)?;
        }
        Command::Process {
            run, chunk, command, ..
        } if !command.is_empty() => {
            let (dir, progress) = run.open().await?;
            let stats = user_process_step(&dir, &progress, chunk, &command).await?;
            print_line(serde_json::to_string(&stats)?)?;
        }
        Command::InstallEntrypoint { dir } => {
            let installed = crate::user_step::install_entrypoint(&dir)?;
            eprintln!("installed {}", installed.display());
        }
        Command::Process {
            run,
            table,
            chunk,
            record: declared,
            pace,
            ..
        } => {
            let record = record(declared.source.as_ref())?;
            let (dir, progress) = run.open().await?;
            let share = pace.share();
            let items_table = OrdersTable::open(&table.table).await?.paced(share);
            let schema = RowSchema::for_table(&record, &table.pipeline_name, &items_table).await?;
            let started = std::time::Instant::now();
            let stats = process_step(&dir, &progress, &items_table, &schema, chunk, &BufferPool::new(1)).await?;
            if let Some((requests, items)) = items_table.requests_sent() {
                let seconds = started.elapsed().as_secs_f64();
                let paced = share.map_or(String::new(), |units| format!(", paced to {units:.1} write units/s"));
                eprintln!(
                    "chunk {chunk}: {items} items in {requests} BatchWriteItem requests, {:.0} items/s{paced}",
                    items as f64 / seconds.max(1e-9)
                );
            }
            print_line(serde_json::to_string(&stats)?)?;
        }
        Command::Merge {
            run,
            output,
            keep_work,
            record: declared,
        } => {
            let record = record(declared.source.as_ref())?;
            let (dir, progress) = run.open().await?;
            print_line(serde_json::to_string(
                &merge_step(&dir, &progress, &output, keep_work, &record).await?,
            )?)?;
        }
        Command::Lambda { store } => crate::lambda::serve(store.open().await?).await?,
        Command::Run {
            input,
            output,
            rows_per_chunk,
            concurrency,
            work_dir,
            redis_url,
            table,
            run_id,
            keep_work,
            record,
        } => {
            // Checked now, so a bad declaration stops the run before it starts.
            let record = record
                .as_ref()
                .map(|source| source.load().map(|(spec, _)| spec))
                .transpose()?;
            let concurrency = concurrency.unwrap_or(2 * crate::runner::cores() as u64 + 1);
            let run = LocalRun {
                run_id: run_id.unwrap_or_else(|| crate::runner::default_run_id(&input)),
                pipeline_name: table.pipeline_name.clone(),
                record,
                input,
                output,
                rows_per_chunk,
                concurrency: concurrency as usize,
                work_dir,
                keep_work,
                observer: None,
            };
            let progress = ProgressStore::open(&redis_url, None).await?;
            let orders = OrdersTable::open(&table.table).await?;
            let report = run_locally(&run, &progress, &orders).await?;
            print_out(report)?;
        }
        Command::LocalCloud {
            at,
            images,
            poll_interval_ms,
            retry_scale,
        } => {
            crate::local_cloud::serve(crate::local_cloud::LocalCloud {
                state_dir: at.state_dir(),
                endpoint: at.endpoint,
                images,
                poll_interval: std::time::Duration::from_millis(poll_interval_ms),
                retry_scale,
            })
            .await?;
        }
        Command::Executions { at } => print_out(crate::local_cloud::report::executions(&at.state_dir())?)?,
        Command::Execution {
            name,
            at,
            format: ExecutionFormat::Text,
        } => print_out(crate::local_cloud::report::execution(&at.state_dir(), &name)?)?,
        Command::Execution {
            name,
            at,
            format: ExecutionFormat::Html,
        } => {
            let state_dir = at.state_dir();
            let record = crate::local_cloud::store::Store::new(&state_dir)
                .find(&name)?
                .with_context(|| format!("no execution {name:?} in {}", state_dir.display()))?;
            let source = crate::ui::source::Source::Local {
                state_dir,
                config: crate::local_cloud::sdk_config(&at.endpoint).await,
            };
            print_out(crate::ui::run_document(&source, &record.key()).await?)?;
        }
        Command::Ui {
            port,
            endpoint,
            state_dir,
        } => {
            let config = match &endpoint {
                Some(endpoint) => crate::local_cloud::sdk_config(endpoint).await,
                None => crate::sdk::config().await.clone(),
            };
            let state_dir = state_dir.or_else(|| endpoint.as_deref().map(crate::local_cloud::default_state_dir));
            let source = crate::ui::source::Source::choose(state_dir.as_deref(), config)?;
            crate::ui::serve(port, source).await?;
        }
        Command::Trail {
            execution,
            endpoint,
            state_dir,
            format,
        } => {
            // A run local-cloud took over has a record there, under its name or ARN.
            let record = match &endpoint {
                Some(endpoint) => {
                    let state_dir = state_dir.unwrap_or_else(|| crate::local_cloud::default_state_dir(endpoint));
                    let record = crate::local_cloud::store::Store::new(&state_dir).find_execution(&execution)?;
                    if record.is_none() && !execution.starts_with("arn:") {
                        anyhow::bail!("no execution {execution:?} in {}: give its ARN", state_dir.display());
                    }
                    record
                }
                None => None,
            };
            let arn = record.as_ref().map_or(execution.clone(), |r| r.execution_arn.clone());
            let log_group = crate::trail::log_group_of_execution(&arn).with_context(|| {
                format!(
                    "{arn:?} is not an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME); \
                     a name is looked up in local-cloud's records, with --endpoint"
                )
            })?;
            let config = match &endpoint {
                Some(endpoint) => crate::local_cloud::sdk_config(endpoint).await,
                None => crate::sdk::config().await.clone(),
            };
            let described = crate::trail::describe(&aws_sdk_sfn::Client::new(&config), &arn).await;
            let run = match (record, described) {
                (Some(record), described) => crate::local_cloud::report::trail_facts(&record, described.ok()),
                (None, described) => described?,
            };
            let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
            let events = crate::trail::read_run(&logs, &log_group, &run).await?;
            let trail = crate::trail::run_trail(&events, &run);
            let name = arn.rsplit(':').next().unwrap_or(&arn);
            print_out(match format {
                crate::trail::TrailFormat::Text => crate::trail::render_text(&trail),
                crate::trail::TrailFormat::Json => serde_json::to_string_pretty(&trail)? + "\n",
                crate::trail::TrailFormat::Html => {
                    // The architecture draws every listener, from the workflow's deployed rules.
                    let machine = arn.split(':').nth(6).unwrap_or_default();
                    let listeners = crate::ui::source::read_listeners(&config, machine)
                        .await
                        .unwrap_or_else(|e| {
                            eprintln!(
                                "the workflow's listeners could not be read ({e}): only those its events show are drawn"
                            );
                            Vec::new()
                        });
                    crate::ui::page::trail_document(&trail, name, &listeners)
                }
            })?;
        }
        Command::Plan {
            rows,
            bytes_per_row,
            rows_per_chunk,
            max_concurrency,
            warm_write_units,
            warm_write_unit_usd,
        } => {
            let size = RunSize {
                rows,
                bytes_per_row,
                max_lines_per_batch: rows_per_chunk,
                max_concurrency,
                warm_write_units,
            };
            print_out(estimate(size, warm_write_unit_usd))?;
        }
        Command::Generate { rows, seed, output } => {
            let mut out: Box<dyn Write> = if output.as_os_str() == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::fs::File::create(&output).with_context(|| format!("creating {}", output.display()))?)
            };
            let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut out);
            let written = write_orders(&mut out, rows, seed).and_then(|()| out.flush());
            match written {
                Err(e) if output.as_os_str() == "-" => return Err(stdout_error(e)),
                written => written.with_context(|| format!("writing {}", output.display()))?,
            }
        }
        Command::Orders {
            query:
                OrdersQuery::Get {
                    key,
                    sort_key,
                    record: declared,
                    table,
                },
        } => {
            let record = record(declared.as_ref())?;
            let sort = match (record.sort_key_attribute(), &sort_key) {
                (Some(declared), Some(value)) => Some(key_value(declared, value)),
                (None, None) => None,
                (Some((attribute, _)), None) => anyhow::bail!("the record's sort key {attribute} needs --sort-key"),
                (None, Some(_)) => anyhow::bail!("the record declares no sort key; drop --sort-key"),
            };
            let key = TableKey {
                partition: key_value(record.key_attribute(), &key),
                sort,
            };
            match OrdersTable::open(&table.table).await?.get(&key).await? {
                Some(item) => print_line(serde_json::to_string_pretty(&item)?)?,
                None => anyhow::bail!("no item of key {key} in {:?}", table.table),
            }
        }
        Command::Orders {
            query: OrdersQuery::Count { table },
        } => {
            print_line(OrdersTable::open(&table.table).await?.count().await?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_integers_or_scientific_notation_that_denotes_one() {
        for (text, value) in [
            ("1000000000", 1_000_000_000),
            ("1e9", 1_000_000_000),
            ("1E9", 1_000_000_000),
            ("1e+9", 1_000_000_000),
            ("2.5e6", 2_500_000),
            ("2.50e1", 25),
            ("1.0e0", 1),
            ("0", 0),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(count(text), Ok(value), "{text}");
        }
        for text in [
            "", "e9", "1e", "2.5e0", "1.5", "-1", "1e-3", "1,000", "1e9x", "0x10", "1e20", "1.e",
        ] {
            assert!(count(text).is_err(), "{text}");
        }
        assert_eq!(
            count("2.5"),
            Err("\"2.5\" is not a whole number (e.g. 1000000000, 1e9 or 2.5e6)".into())
        );
    }

    #[test]
    fn plan_takes_warm_throughput_and_its_price_only_with_it() {
        let plan = |args: &[&str]| Cli::try_parse_from([&["eventdriven", "plan"][..], args].concat());
        assert!(
            plan(&[
                "--rows",
                "1e9",
                "--warm-write-units",
                "4e4",
                "--warm-write-unit-usd",
                "0.01"
            ])
            .is_ok()
        );
        assert!(plan(&["--rows", "1e9", "--warm-write-unit-usd", "0.01"]).is_err());
        assert!(
            plan(&[
                "--rows",
                "1e9",
                "--warm-write-units",
                "4e4",
                "--warm-write-unit-usd",
                "-1"
            ])
            .is_err()
        );
    }
}

//! Command line: parse, load the configuration, run a role.

use std::process::ExitCode;

use amicale::cli::{Cli, init_logs, run, run_offline};
use amicale_delivery::config::Config;
use clap::Parser;

// Delivery allocates and frees a few buffers of kilobytes per message
// (rendered parts, the signed message, its dot-stuffed copy); with glibc's
// allocator that was an eighth of the CPU time, and mimalloc sends a fifth
// more messages a second (bench/delivery.sh) for ~40 MB more at peak.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    amicale::disable_huge_pages();
    let cli = Cli::parse();
    if let Some(code) = run_offline(&cli) {
        return code;
    }
    amicale::install_crypto_provider();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("amicale: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("amicale: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped on error");
            eprintln!("amicale: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `hetile params`: parameters and their security verdict.

use super::CliError;
use clap::{Args, ValueEnum};
use hetile::backend::{check_security, max_log_qp, Params, ParamsLiteral, SecurityLevel};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Security {
    #[value(name = "128")]
    C128,
    #[value(name = "192")]
    C192,
    #[value(name = "256")]
    C256,
    #[value(name = "128q")]
    Q128,
    #[value(name = "192q")]
    Q192,
    #[value(name = "256q")]
    Q256,
}

impl From<Security> for SecurityLevel {
    fn from(s: Security) -> SecurityLevel {
        match s {
            Security::C128 => SecurityLevel::Classical128,
            Security::C192 => SecurityLevel::Classical192,
            Security::C256 => SecurityLevel::Classical256,
            Security::Q128 => SecurityLevel::Quantum128,
            Security::Q192 => SecurityLevel::Quantum192,
            Security::Q256 => SecurityLevel::Quantum256,
        }
    }
}

/// Arguments of `hetile params`.
#[derive(Debug, Args)]
pub struct ParamsArgs {
    /// A named preset (N14_L4, N15_L4, N15_L8) instead of explicit sizes.
    #[arg(long, conflicts_with_all = ["log_n", "log_qp", "log_q", "log_p"])]
    preset: Option<String>,
    /// log2 of the ring degree N.
    #[arg(long)]
    log_n: Option<u32>,
    /// Total bits of Q*P, to check a size against the table without building a chain.
    #[arg(long, conflicts_with_all = ["log_q", "log_p"])]
    log_qp: Option<u32>,
    /// Bit sizes of the ciphertext primes, comma-separated (first prime first).
    #[arg(long, value_delimiter = ',')]
    log_q: Vec<u32>,
    /// Bit sizes of the special primes, comma-separated.
    #[arg(long, value_delimiter = ',')]
    log_p: Vec<u32>,
    /// log2 of the scale (default: 40, or one bit below the first prime if smaller).
    #[arg(long)]
    log_scale: Option<u32>,
    /// Number of key-switching digits.
    #[arg(long)]
    digits: Option<usize>,
    /// Security level to check against.
    #[arg(long, value_enum, default_value = "128")]
    security: Security,
    /// Accept parameters above the security table (explicit opt-out; never for real data).
    #[arg(long)]
    insecure: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `hetile params`.
pub fn run(a: ParamsArgs) -> Result<(), CliError> {
    let security: SecurityLevel = a.security.into();
    if let Some(name) = &a.preset {
        let mut lit = ParamsLiteral::preset(name)?;
        if a.insecure {
            lit.security = SecurityLevel::Insecure;
        }
        return print_params(&Params::new(lit)?, a.json);
    }
    let log_n = a
        .log_n
        .ok_or_else(|| CliError::new("give --preset, or --log-n with --log-qp or --log-q"))?;
    if let Some(log_qp) = a.log_qp {
        let max = max_log_qp(log_n, security);
        let verdict = check_security(log_n, log_qp, security);
        let line = match max {
            Some(m) => format!(
                "N = 2^{log_n}, log2(QP) = {log_qp}: maximum for {security} is {m}: {}",
                if log_qp <= m { "secure" } else { "INSECURE" }
            ),
            None => format!("N = 2^{log_n}: no table entry for {security}"),
        };
        if a.json {
            println!(
                "{}",
                serde_json::json!({"log_n": log_n, "log_qp": log_qp, "security": security.to_string(),
                    "max_log_qp": max, "secure": verdict.is_ok()})
            );
        } else {
            println!("{line}");
        }
        return match verdict {
            Err(e) if !a.insecure => Err(e.into()),
            _ => Ok(()),
        };
    }
    if a.log_q.is_empty() {
        return Err(CliError::new(
            "give --log-qp or --log-q (and optionally --log-p)",
        ));
    }
    let log_scale = a
        .log_scale
        .unwrap_or_else(|| 40.min(a.log_q[0].saturating_sub(1)));
    let lit = ParamsLiteral {
        log_n,
        log_q: a.log_q,
        log_p: a.log_p,
        log_scale,
        digits: a.digits,
        security: if a.insecure {
            SecurityLevel::Insecure
        } else {
            security
        },
        secret: Default::default(),
    };
    print_params(&Params::new(lit)?, a.json)
}

fn print_params(p: &Params, json: bool) -> Result<(), CliError> {
    let summary = hetile::bench::ParamsSummary::of(p);
    if json {
        let s = serde_json::to_string_pretty(&summary)
            .map_err(|e| CliError::new(format!("cannot print JSON: {e}")))?;
        println!("{s}");
    } else {
        println!("{p}");
        println!("q = {:?}", p.q());
        println!("p = {:?}", p.p());
        match max_log_qp(p.literal().log_n, SecurityLevel::Classical128) {
            Some(m) => println!(
                "verdict: {} (log2(QP) = {} vs {m} allowed at 128-bit classical)",
                if p.security() == SecurityLevel::Insecure {
                    "INSECURE by explicit opt-out"
                } else {
                    "secure"
                },
                p.log_qp()
            ),
            None => println!("verdict: no table entry for this N"),
        }
    }
    Ok(())
}

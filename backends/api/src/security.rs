//! The HomomorphicEncryption.org security table (2018) for uniform ternary secrets.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The security a parameter set must reach. `Insecure` is the explicit opt-out: parameters are
/// then accepted whatever their size (for tests and experiments only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityLevel {
    /// 128-bit classical security (the default).
    #[default]
    Classical128,
    /// 192-bit classical security.
    Classical192,
    /// 256-bit classical security.
    Classical256,
    /// 128-bit quantum security.
    Quantum128,
    /// 192-bit quantum security.
    Quantum192,
    /// 256-bit quantum security.
    Quantum256,
    /// No security check at all: the caller opts out explicitly.
    Insecure,
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            SecurityLevel::Classical128 => "128-bit classical security",
            SecurityLevel::Classical192 => "192-bit classical security",
            SecurityLevel::Classical256 => "256-bit classical security",
            SecurityLevel::Quantum128 => "128-bit quantum security",
            SecurityLevel::Quantum192 => "192-bit quantum security",
            SecurityLevel::Quantum256 => "256-bit quantum security",
            SecurityLevel::Insecure => "no security (explicit opt-out)",
        };
        f.write_str(s)
    }
}

impl SecurityLevel {
    /// All levels that the table covers (every level but `Insecure`).
    pub const CHECKED: [SecurityLevel; 6] = [
        SecurityLevel::Classical128,
        SecurityLevel::Classical192,
        SecurityLevel::Classical256,
        SecurityLevel::Quantum128,
        SecurityLevel::Quantum192,
        SecurityLevel::Quantum256,
    ];
}

/// Rows of the table: (log2 N, [128c, 192c, 256c, 128q, 192q, 256q]).
const TABLE: [(u32, [u32; 6]); 8] = [
    (10, [27, 19, 14, 25, 17, 13]),
    (11, [54, 37, 29, 51, 35, 27]),
    (12, [109, 75, 58, 101, 70, 54]),
    (13, [218, 152, 118, 202, 141, 109]),
    (14, [438, 305, 237, 411, 284, 220]),
    (15, [881, 611, 476, 827, 571, 443]),
    (16, [1747, 1199, 929, 1663, 1145, 888]),
    (17, [3523, 2411, 1866, 3348, 2301, 1784]),
];

/// The largest total bit size log2(Q*P) that reaches `security` at ring degree `2^log_n`, or
/// `None` when the table has no entry (N outside 2^10..=2^17, or `Insecure`).
pub fn max_log_qp(log_n: u32, security: SecurityLevel) -> Option<u32> {
    let column = match security {
        SecurityLevel::Classical128 => 0,
        SecurityLevel::Classical192 => 1,
        SecurityLevel::Classical256 => 2,
        SecurityLevel::Quantum128 => 3,
        SecurityLevel::Quantum192 => 4,
        SecurityLevel::Quantum256 => 5,
        SecurityLevel::Insecure => return None,
    };
    TABLE
        .iter()
        .find(|(n, _)| *n == log_n)
        .map(|(_, row)| row[column])
}

/// Checks a total prime size against the table: `Ok` when `log_qp` is at most the maximum for
/// `2^log_n` at `security` (or when `security` is [`SecurityLevel::Insecure`]).
///
/// Errors: [`Error::InsecureParameters`] above the maximum; [`Error::InvalidParameters`] when the
/// table has no entry for this ring degree.
pub fn check_security(log_n: u32, log_qp: u32, security: SecurityLevel) -> Result<()> {
    if security == SecurityLevel::Insecure {
        return Ok(());
    }
    match max_log_qp(log_n, security) {
        None => Err(Error::InvalidParameters {
            reason: format!(
                "the security table has no entry for N = 2^{log_n}; use N in 2^10..=2^17 or opt \
                 out with security: insecure"
            ),
        }),
        Some(max) if log_qp > max => Err(Error::InsecureParameters {
            log_n,
            log_qp,
            max_log_qp: max,
            security,
        }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_accepts_its_maximum_and_refuses_one_bit_more() {
        for log_n in 10..=17 {
            for security in SecurityLevel::CHECKED {
                let max = max_log_qp(log_n, security).unwrap();
                assert!(check_security(log_n, max, security).is_ok());
                assert_eq!(
                    check_security(log_n, max + 1, security),
                    Err(Error::InsecureParameters {
                        log_n,
                        log_qp: max + 1,
                        max_log_qp: max,
                        security
                    })
                );
                assert!(check_security(log_n, max + 1, SecurityLevel::Insecure).is_ok());
            }
        }
        assert!(matches!(
            check_security(9, 20, SecurityLevel::Classical128),
            Err(Error::InvalidParameters { .. })
        ));
    }

    #[test]
    fn table_matches_the_standard() {
        assert_eq!(max_log_qp(13, SecurityLevel::Classical128), Some(218));
        assert_eq!(max_log_qp(14, SecurityLevel::Classical128), Some(438));
        assert_eq!(max_log_qp(15, SecurityLevel::Classical128), Some(881));
        assert_eq!(max_log_qp(16, SecurityLevel::Classical128), Some(1747));
        assert_eq!(max_log_qp(17, SecurityLevel::Classical128), Some(3523));
        assert_eq!(max_log_qp(17, SecurityLevel::Quantum256), Some(1784));
        assert_eq!(max_log_qp(9, SecurityLevel::Classical128), None);
        assert_eq!(max_log_qp(14, SecurityLevel::Insecure), None);
    }
}

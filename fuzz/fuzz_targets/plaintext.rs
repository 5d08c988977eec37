//! libFuzzer target: the `Plaintext` deserializer of hetile-ckks on arbitrary bytes. Errors are
//! fine; a panic, an abort or an allocation beyond libFuzzer's `-rss_limit_mb` is a bug.
#![no_main]

use hetile_ckks::serial::fuzz::{decode, Fixture, FuzzKind};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The fixture (small insecure parameters, a fixed-seed client) is built once per process.
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture::new(1).ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    if let Some(f) = fixture() {
        let _ = decode(FuzzKind::Plaintext, f.public_context(), data);
    }
});

//! The crate map of the README holds in `cargo metadata`: the generic crates (tiles, layers,
//! simulator, optimizer) depend on the backend contract only, never on a concrete backend, and the
//! dependency graph between workspace crates has no cycle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test file: failing loudly is the point

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn workspace_deps() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                // Normal dependencies only ("kind": null); dev-dependencies may use any backend.
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|n| names.contains(n))
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn generic_crates_never_name_a_concrete_backend() {
    let deps = workspace_deps();
    let concrete = ["hetile-ckks", "hetile-mock", "hetile-ring"];
    for generic in ["hetile-tiles", "hetile-layers", "hetile-sim", "hetile-opt"] {
        let d = deps
            .get(generic)
            .unwrap_or_else(|| panic!("{generic} is a workspace member"));
        for c in concrete {
            assert!(
                !d.contains(c),
                "{generic} depends on the concrete backend {c}"
            );
        }
    }
    // The backend contract sits below everything but the ring arithmetic it takes primes from.
    let api = &deps["hetile-backend"];
    assert!(
        api.iter().all(|d| d == "hetile-ring"),
        "hetile-backend depends on {api:?}"
    );
    assert!(
        deps["hetile-ring"].is_empty(),
        "hetile-ring must stand alone"
    );
}

#[test]
fn the_workspace_graph_has_no_cycle() {
    let deps = workspace_deps();
    // Kahn's algorithm: repeatedly remove crates whose workspace dependencies are all removed.
    let mut left: BTreeMap<_, _> = deps.clone();
    loop {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, ds)| ds.iter().all(|d| !left.contains_key(d)))
            .map(|(n, _)| n.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for r in ready {
            left.remove(&r);
        }
    }
    assert!(
        left.is_empty(),
        "cycle among {:?}",
        left.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_readme_map_names_every_workspace_crate() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md exists");
    for name in workspace_deps().keys() {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README's architecture map does not name {name}"
        );
    }
}

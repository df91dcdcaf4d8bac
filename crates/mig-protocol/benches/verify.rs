//! What an agent spends on each received action before running it: decode the
//! command's action, verify its signature and check the ACL (issue #2's figure:
//! under 1 ms per one-operation action), for RSA-2048, RSA-4096 and ed25519.
//!
//! `cargo bench -p mig-protocol --bench verify`
#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
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

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_action");
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
        group.bench_function(BenchmarkId::new("signature+acl", label), |b| {
            b.iter(|| verify_action(&action, &keyring, &policy).unwrap())
        });
        group.bench_function(BenchmarkId::new("decode+signature+acl", label), |b| {
            b.iter(|| {
                let action = Action::from_json(json.as_bytes()).unwrap();
                verify_action(&action, &keyring, &policy).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

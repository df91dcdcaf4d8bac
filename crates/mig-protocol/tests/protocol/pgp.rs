//! OpenPGP: the reference vectors captured from the original MIG, and interop
//! with real GnuPG in both directions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mig_protocol::pgp::{
    GpgSigner, KeyAlgo, Keyring, PgpError, PublicKey, SecretKeySigner, Signer, dearmor_signature,
    rearmor_signature,
};

const BOB_FPR: &str = "1E6A08C563BB4EF22E2584A1D96514026D885D08";
const SCHEDULER_FPR: &str = "552C3A182AFC28A1B18AF9DF806B936C4A575483";
const CASES: [&str; 3] = ["file_search", "netstat_search", "unicode_html_chars"];

fn vectors() -> PathBuf {
    // `shared/` lies beside the repository, in CI as on developers' machines.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference/signing")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(vectors().join(name)).unwrap()
}

fn read_bytes(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join(name)).unwrap()
}

fn bob_keyring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(PublicKey::from_armored(&read("THROWAWAY_TEST_KEY_bob_public.asc")).unwrap());
    ring
}

/// Replace the 4-character CRC of a single-line signature with another valid-looking one.
fn with_wrong_crc(single: &str) -> String {
    let (body, crc) = single.rsplit_once('=').unwrap();
    let wrong = if crc == "AAAA" { "AAAB" } else { "AAAA" };
    format!("{body}={wrong}")
}

// ---------------------------------------------------------------- vectors

#[test]
fn vector_signatures_verify_with_bob_key() {
    let ring = bob_keyring();
    for case in CASES {
        let data = read_bytes(&format!("{case}.signed_string.txt"));
        let single = read(&format!("{case}.signature.singleline.txt"));
        let single = single.trim();
        assert_eq!(ring.verify(&data, single).unwrap(), BOB_FPR, "{case}");

        let mut changed = data.clone();
        changed[0] ^= 0x01;
        assert!(
            matches!(
                ring.verify(&changed, single),
                Err(PgpError::BadSignature { .. })
            ),
            "{case}: changed data must fail"
        );
        let mut appended = data.clone();
        appended.push(b' ');
        assert!(ring.verify(&appended, single).is_err(), "{case}");

        assert!(
            matches!(
                ring.verify(&data, &with_wrong_crc(single)),
                Err(PgpError::Checksum { .. })
            ),
            "{case}: wrong crc must fail"
        );
        assert!(rearmor_signature(&with_wrong_crc(single)).is_err());
    }
}

#[test]
fn vector_rearmor_matches_asc_files() {
    for case in CASES.iter().copied().chain(["auth_token"]) {
        let asc = read(&format!("{case}.signature.asc"));
        let single = if case == "auth_token" {
            auth_token_parts().3
        } else {
            read(&format!("{case}.signature.singleline.txt"))
                .trim()
                .to_string()
        };
        let rearmored = rearmor_signature(&single).unwrap();
        assert_eq!(rearmored.trim_end(), asc.trim_end(), "{case}");
        assert_eq!(dearmor_signature(&rearmored).unwrap(), single, "{case}");
        assert_eq!(dearmor_signature(&asc).unwrap(), single, "{case}");
    }
}

fn auth_token_parts() -> (String, String, String, String) {
    let token = read("auth_token.X-PGPAUTHORIZATION.txt");
    let mut parts = token.trim_end_matches(['\r', '\n']).splitn(4, ';');
    let mut next = || parts.next().unwrap().to_string();
    (next(), next(), next(), next())
}

#[test]
fn vector_auth_token_verifies() {
    let (version, ts, nonce, sig) = auth_token_parts();
    assert_eq!(version, "1");
    let signed = read_bytes("auth_token.signed_data.txt");
    assert_eq!(signed, format!("1;{ts};{nonce}\n").into_bytes());
    let ring = bob_keyring();
    assert_eq!(ring.verify(&signed, &sig).unwrap(), BOB_FPR);
    // Without the signed-but-not-sent trailing newline, it must fail.
    assert!(ring.verify(&signed[..signed.len() - 1], &sig).is_err());
}

#[test]
fn vector_public_keys_parse() {
    let sched = PublicKey::from_armored(&read("THROWAWAY_TEST_KEY_scheduler_public.asc")).unwrap();
    assert_eq!(sched.fingerprint(), SCHEDULER_FPR);
    let bob = PublicKey::from_armored(&read("THROWAWAY_TEST_KEY_bob_public.asc")).unwrap();
    assert_eq!(bob.fingerprint(), BOB_FPR);
    assert!(bob.user_id().is_some());
    // The armored form round-trips.
    let again = PublicKey::from_armored(&bob.to_armored().unwrap()).unwrap();
    assert_eq!(again.fingerprint(), BOB_FPR);
}

#[test]
fn unknown_key_is_rejected() {
    let mut ring = Keyring::new();
    ring.add(PublicKey::from_armored(&read("THROWAWAY_TEST_KEY_scheduler_public.asc")).unwrap());
    let data = read_bytes("file_search.signed_string.txt");
    let single = read("file_search.signature.singleline.txt");
    assert!(matches!(
        ring.verify(&data, single.trim()),
        Err(PgpError::UnknownKey(_))
    ));
    assert!(matches!(
        Keyring::new().verify(&data, single.trim()),
        Err(PgpError::UnknownKey(_))
    ));
}

#[test]
fn malformed_signatures_are_rejected() {
    let ring = bob_keyring();
    for bad in ["", "=", "abc", "not base64!=AAAA", "AAAA=AAA", "AAAA=abcde"] {
        assert!(ring.verify(b"x", bad).is_err(), "{bad:?}");
    }
    // A well-formed armor around something that is not a signature packet.
    let junk = rearmor_signature_of(b"\x01\x02\x03\x04");
    assert!(ring.verify(b"x", &junk).is_err());
}

/// A single-line "signature" of arbitrary bytes with a correct CRC.
fn rearmor_signature_of(bytes: &[u8]) -> String {
    let armored = format!(
        "-----BEGIN PGP SIGNATURE-----\n\n{}\n-----END PGP SIGNATURE-----\n",
        base64_encode(bytes)
    );
    dearmor_signature(&armored).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn keyring_from_concatenated_armored_keys() {
    let text = format!(
        "{}\n{}",
        read("THROWAWAY_TEST_KEY_bob_public.asc"),
        read("THROWAWAY_TEST_KEY_scheduler_public.asc")
    );
    let ring = Keyring::from_armored_keys(&text).unwrap();
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.fingerprints(), vec![BOB_FPR, SCHEDULER_FPR]);
    assert!(matches!(
        PublicKey::from_armored(&text),
        Err(PgpError::KeyCount(2))
    ));
    assert!(Keyring::from_armored_keys("no keys here").is_err());
}

#[test]
fn load_dir_reads_every_key_and_names_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bob.asc"),
        read("THROWAWAY_TEST_KEY_bob_public.asc"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("scheduler"),
        read("THROWAWAY_TEST_KEY_scheduler_public.asc"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("subdir")).unwrap();
    let ring = Keyring::load_dir(dir.path()).unwrap();
    assert_eq!(ring.len(), 2);
    assert!(!ring.is_empty());
    let mut fprs = ring.fingerprints();
    fprs.sort();
    assert_eq!(fprs, vec![BOB_FPR, SCHEDULER_FPR]);

    std::fs::write(dir.path().join("junk.txt"), "this is not a key\n").unwrap();
    let err = Keyring::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, PgpError::KeyFile { .. }));
    assert!(err.to_string().contains("junk.txt"), "{err}");

    assert!(Keyring::load_dir(&dir.path().join("missing")).is_err());
}

// ---------------------------------------------------------------- our signer, vectors' key

#[test]
fn bob_secret_key_signs_and_we_verify() {
    let signer =
        SecretKeySigner::from_armored(&read("THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc"), None)
            .unwrap();
    assert_eq!(signer.fingerprint(), BOB_FPR);
    assert_eq!(signer.public_key().fingerprint(), BOB_FPR);
    let data = read_bytes("unicode_html_chars.signed_string.txt");
    let sig = signer.sign(&data).unwrap();
    assert_eq!(bob_keyring().verify(&data, &sig).unwrap(), BOB_FPR);
    assert!(bob_keyring().verify(b"other", &sig).is_err());
}

// ---------------------------------------------------------------- GnuPG interop

/// A throwaway GnuPG home; kills its gpg-agent when dropped.
struct GpgHome {
    dir: tempfile::TempDir,
}

impl GpgHome {
    fn new() -> Self {
        // Short path: gpg-agent's socket path must stay under ~100 characters.
        let dir = tempfile::Builder::new()
            .prefix("gpgt")
            .tempdir_in("/tmp")
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn gpg(&self, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir")
            .arg(self.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().unwrap();
        if let Some(data) = stdin {
            use std::io::Write as _;
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(data).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn gpg_ok(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let out = self.gpg(args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Generate a key, return its primary fingerprint.
    fn gen_key(&self, uid: &str, algo: &str, usage: &str) -> String {
        self.gpg_ok(&["--quick-gen-key", uid, algo, usage, "never"], None);
        self.fingerprint_of(uid)
    }

    fn fingerprint_of(&self, uid: &str) -> String {
        let out = self.gpg_ok(
            &["--with-colons", "--fingerprint", "--list-keys", uid],
            None,
        );
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|rest| rest.trim_matches(':').to_string())
            .unwrap()
    }

    /// The fingerprint of the (last) subkey with the sign capability.
    fn signing_subkey_fingerprint(&self, primary: &str) -> String {
        let out = self.gpg_ok(
            &["--with-colons", "--fingerprint", "--list-keys", primary],
            None,
        );
        let text = String::from_utf8(out).unwrap();
        let mut in_signing_sub = false;
        let mut found = None;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            match fields[0] {
                "sub" => in_signing_sub = fields[11].contains('s'),
                "pub" => in_signing_sub = false,
                "fpr" if in_signing_sub => found = Some(fields[9].to_string()),
                _ => {}
            }
        }
        found.unwrap()
    }

    fn export_public(&self, fpr: &str) -> String {
        String::from_utf8(self.gpg_ok(&["--armor", "--export", fpr], None)).unwrap()
    }

    fn export_secret(&self, fpr: &str) -> String {
        String::from_utf8(self.gpg_ok(&["--armor", "--export-secret-keys", fpr], None)).unwrap()
    }

    /// `gpg --verify` of a single-line signature over `data`, through files as an
    /// investigator would do it.
    fn verify(&self, single_line: &str, data: &[u8]) -> bool {
        let sig_path = self.path().join("sig.asc");
        let data_path = self.path().join("data.bin");
        std::fs::write(&sig_path, rearmor_signature(single_line).unwrap() + "\n").unwrap();
        std::fs::write(&data_path, data).unwrap();
        let out = self.gpg(
            &[
                "--verify",
                sig_path.to_str().unwrap(),
                data_path.to_str().unwrap(),
            ],
            None,
        );
        out.status.success()
    }

    fn signer(&self, fpr: &str) -> GpgSigner {
        GpgSigner::new(fpr).with_homedir(self.path())
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.path())
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn have_gpg() -> bool {
    Command::new("gpg")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

const DATA: &[u8] =
    b"name=gpg test;target=status='online';validfrom=1;expireafter=%!s(int64=2);operations=null;";

/// Both directions for one gpg-made key: gpg signs and we verify; we sign with the
/// exported secret key and gpg verifies.
fn check_gpg_key_both_ways(home: &GpgHome, fpr: &str) {
    let ring = Keyring::from_armored_keys(&home.export_public(fpr)).unwrap();
    assert_eq!(ring.fingerprints(), vec![fpr.to_string()]);

    let gpg_signer = home.signer(fpr);
    assert_eq!(gpg_signer.fingerprint(), fpr);
    let sig = gpg_signer.sign(DATA).unwrap();
    assert_eq!(ring.verify(DATA, &sig).unwrap(), fpr);
    assert!(ring.verify(b"tampered", &sig).is_err());
    assert!(home.verify(&sig, DATA), "gpg rejects its own signature");

    let ours = SecretKeySigner::from_armored(&home.export_secret(fpr), None).unwrap();
    assert_eq!(ours.fingerprint(), fpr);
    let sig = ours.sign(DATA).unwrap();
    assert!(home.verify(&sig, DATA), "gpg rejects our signature");
    assert!(!home.verify(&sig, b"tampered"));
    assert_eq!(ring.verify(DATA, &sig).unwrap(), fpr);
}

#[test]
fn gpg_interop_bob_vector_key() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    home.gpg_ok(
        &["--import"],
        Some(read("THROWAWAY_TEST_KEY_bob_public.asc").as_bytes()),
    );
    // The vector signature as stored by MIG, re-armored: gpg accepts it.
    for case in CASES {
        let single = read(&format!("{case}.signature.singleline.txt"));
        let data = read_bytes(&format!("{case}.signed_string.txt"));
        assert!(home.verify(single.trim(), &data), "{case}");
    }
    // Our signature with bob's secret key.
    let signer =
        SecretKeySigner::from_armored(&read("THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc"), None)
            .unwrap();
    let sig = signer.sign(DATA).unwrap();
    assert!(home.verify(&sig, DATA));
    assert!(!home.verify(&sig, b"tampered"));
}

#[test]
fn gpg_interop_rsa2048() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let fpr = home.gen_key("Test RSA <rsa@test>", "rsa2048", "sign,cert");
    check_gpg_key_both_ways(&home, &fpr);
}

#[test]
fn gpg_interop_rsa4096() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let fpr = home.gen_key("Test RSA4096 <rsa4096@test>", "rsa4096", "sign,cert");
    check_gpg_key_both_ways(&home, &fpr);
}

#[test]
fn gpg_interop_ed25519() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let fpr = home.gen_key("Test Ed <ed@test>", "ed25519", "sign,cert");
    check_gpg_key_both_ways(&home, &fpr);
}

#[test]
fn gpg_interop_default_rsa_with_encryption_subkey() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    // `default` makes an RSA (or ed25519, by version) primary plus an encryption subkey.
    let home = GpgHome::new();
    let fpr = home.gen_key("Test Default <default@test>", "default", "default");
    check_gpg_key_both_ways(&home, &fpr);
}

#[test]
fn gpg_interop_ed25519_signing_subkey_resolves_to_primary() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let fpr = home.gen_key("Test Sub <sub@test>", "ed25519", "cert");
    home.gpg_ok(&["--quick-add-key", &fpr, "ed25519", "sign", "never"], None);
    home.gpg_ok(&["--quick-add-key", &fpr, "cv25519", "encr", "never"], None);
    check_gpg_key_both_ways(&home, &fpr);

    // Check that gpg really signed with the subkey: the issuer is not the primary.
    let sig = home.signer(&fpr).sign(DATA).unwrap();
    let armored = rearmor_signature(&sig).unwrap();
    let out = home.gpg_ok(&["--list-packets"], Some(armored.as_bytes()));
    let listing = String::from_utf8_lossy(&out);
    let sub_fpr = home.signing_subkey_fingerprint(&fpr);
    assert!(
        !listing.contains(&fpr[24..]) && listing.contains(&sub_fpr[24..]),
        "signature should be by the subkey {sub_fpr}: {listing}"
    );
    // And our signer picked the signing subkey too.
    let ours = SecretKeySigner::from_armored(&home.export_secret(&fpr), None).unwrap();
    let armored = rearmor_signature(&ours.sign(DATA).unwrap()).unwrap();
    let out = home.gpg_ok(&["--list-packets"], Some(armored.as_bytes()));
    let listing = String::from_utf8_lossy(&out);
    assert!(!listing.contains(&fpr[24..]) && listing.contains(&sub_fpr[24..]));
}

#[test]
fn gpg_interop_passphrase_protected_secret_key() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let uid = "Test Pass <pass@test>";
    let out = Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "s3cret",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign,cert",
            "never",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let fpr = home.fingerprint_of(uid);
    let out = Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "s3cret",
            "--armor",
            "--export-secret-keys",
            &fpr,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let secret = String::from_utf8(out.stdout).unwrap();
    assert!(matches!(
        SecretKeySigner::from_armored(&secret, None),
        Err(PgpError::Passphrase(_))
    ));
    assert!(SecretKeySigner::from_armored(&secret, Some("wrong")).is_err());
    let signer = SecretKeySigner::from_armored(&secret, Some("s3cret")).unwrap();
    let sig = signer.sign(DATA).unwrap();
    assert!(home.verify(&sig, DATA));
}

fn check_generated(algo: KeyAlgo, uid: &str) {
    let signer = SecretKeySigner::generate(algo, uid).unwrap();
    let public = signer.public_key();
    assert_eq!(public.fingerprint(), signer.fingerprint());
    assert_eq!(public.fingerprint().len(), 40);
    assert_eq!(public.user_id().as_deref(), Some(uid));
    let sig = signer.sign(DATA).unwrap();

    let mut ring = Keyring::new();
    ring.add(PublicKey::from_armored(&public.to_armored().unwrap()).unwrap());
    assert_eq!(ring.verify(DATA, &sig).unwrap(), signer.fingerprint());

    // The armored secret key reloads to the same identity.
    let again = SecretKeySigner::from_armored(&signer.to_armored_secret().unwrap(), None).unwrap();
    assert_eq!(again.fingerprint(), signer.fingerprint());
    assert_eq!(
        ring.verify(DATA, &again.sign(DATA).unwrap()).unwrap(),
        signer.fingerprint()
    );

    if have_gpg() {
        let home = GpgHome::new();
        home.gpg_ok(&["--import"], Some(public.to_armored().unwrap().as_bytes()));
        assert_eq!(home.fingerprint_of(uid), signer.fingerprint());
        assert!(
            home.verify(&sig, DATA),
            "gpg rejects a signature by a generated {algo:?} key"
        );
        assert!(!home.verify(&sig, b"tampered"));
    }
}

#[test]
fn generated_rsa2048_key_interoperates() {
    check_generated(KeyAlgo::Rsa(2048), "Gen RSA <genrsa@test>");
}

#[test]
fn generated_ed25519_key_interoperates() {
    check_generated(KeyAlgo::Ed25519, "Gen Ed <gened@test>");
}

#[test]
fn generate_rejects_odd_rsa_sizes() {
    assert!(matches!(
        SecretKeySigner::generate(KeyAlgo::Rsa(1024), "x <x@x>"),
        Err(PgpError::UnsupportedAlgo(_))
    ));
}

#[test]
fn gpg_signer_reports_gpg_failure() {
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let err = home.signer("NOSUCHKEY").sign(DATA).unwrap_err();
    assert!(matches!(err, PgpError::Gpg { .. }), "{err}");
    let err = GpgSigner::new("x")
        .with_program("/nonexistent/gpg")
        .sign(DATA)
        .unwrap_err();
    assert!(matches!(err, PgpError::GpgSpawn { .. }));
}

/// Verification cost on the agent's hot path. Run in release mode:
/// `cargo test -p mig-protocol --release --test protocol -- --ignored --nocapture pgp::verify_timing`
#[test]
#[ignore]
fn verify_timing() {
    use std::time::Instant;
    for algo in [KeyAlgo::Rsa(2048), KeyAlgo::Rsa(4096), KeyAlgo::Ed25519] {
        let t = Instant::now();
        let signer = SecretKeySigner::generate(algo, "Timing <t@test>").unwrap();
        let generated = t.elapsed();
        let mut ring = Keyring::new();
        ring.add(signer.public_key());
        let t = Instant::now();
        let sig = signer.sign(DATA).unwrap();
        let signed = t.elapsed();
        let rounds = 200u32;
        let t = Instant::now();
        for _ in 0..rounds {
            ring.verify(DATA, &sig).unwrap();
        }
        let per = t.elapsed() / rounds;
        println!("{algo:?}: generate {generated:?}, sign {signed:?}, verify {per:?} per signature");
    }
}

#[test]
fn types_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Keyring>();
    assert_send_sync::<PublicKey>();
    assert_send_sync::<SecretKeySigner>();
    assert_send_sync::<GpgSigner>();
    assert_send_sync::<PgpError>();
}

/// The agent's whole procedure on actions signed by GnuPG-made keys through
/// `gpg --detach-sign`: RSA and ed25519, with and without ACL weight.
#[test]
fn gpg_signed_actions_pass_the_agent_verification() {
    use mig_protocol::acl::{Acl, VerifyError, VerifyPolicy, verify_action};
    use mig_protocol::{Action, GoTime};
    assert!(
        have_gpg(),
        "gpg is required for these tests: install gnupg (scripts/test does)"
    );
    let home = GpgHome::new();
    let rsa = home.gen_key("Action RSA <rsa@test>", "rsa3072", "sign");
    let ed = home.gen_key("Action Ed <ed@test>", "ed25519", "sign");
    let mut keyring = Keyring::from_armored_keys(&home.export_public(&rsa)).unwrap();
    for key in Keyring::from_armored_keys(&home.export_public(&ed))
        .unwrap()
        .keys()
    {
        keyring.add(key.clone());
    }
    let mut action = Action::from_json(read("file_search.action.json").as_bytes()).unwrap();
    let data = action.signing_string();
    action.pgpsignatures = Some(vec![
        home.signer(&rsa).sign(data.as_bytes()).unwrap(),
        home.signer(&ed).sign(data.as_bytes()).unwrap(),
    ]);
    let acl = Acl::from_json(
        format!(
            r#"{{"file":{{"minimumweight":2,"investigators":{{"r":{{"fingerprint":"{rsa}","weight":1}},"e":{{"fingerprint":"{ed}","weight":1}}}}}}}}"#
        )
        .as_bytes(),
    )
    .unwrap();
    let policy = VerifyPolicy {
        now: GoTime::parse("2024-01-02T03:05:00Z").unwrap(),
        skew: chrono::Duration::seconds(60),
        acl: Some(&acl),
    };
    let signers = verify_action(&action, &keyring, &policy).unwrap();
    assert_eq!(signers, vec![rsa.clone(), ed.clone()]);

    // One signature alone does not reach the weight of 2.
    let mut single = action.clone();
    single.pgpsignatures.as_mut().unwrap().truncate(1);
    assert!(matches!(
        verify_action(&single, &keyring, &policy),
        Err(VerifyError::Acl(_))
    ));

    // Tampering after signing breaks both signatures.
    let mut tampered = action.clone();
    tampered.target = "status='idle'".into();
    assert!(matches!(
        verify_action(&tampered, &keyring, &policy),
        Err(VerifyError::Signature { index: 0, .. })
    ));
}

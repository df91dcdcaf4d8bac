//! `X-PGPAUTHORIZATION` tokens against the captured vector and our own signer.
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use mig_protocol::auth::{AuthError, make_token, verify_token};
use mig_protocol::pgp::{Keyring, SecretKeySigner, Signer};

fn signing(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/reference/signing")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn bob() -> Keyring {
    Keyring::from_armored_keys(&signing("THROWAWAY_TEST_KEY_bob_public.asc")).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

const BOB_FPR: &str = "1E6A08C563BB4EF22E2584A1D96514026D885D08";

#[test]
fn captured_token_verifies_within_the_window_inclusive() {
    let header = signing("auth_token.X-PGPAUTHORIZATION.txt");
    let header = header.trim_end();
    let window = Duration::minutes(10);
    for now in [
        "2026-11-28T17:13:08Z",
        "2026-11-28T17:18:00Z",
        "2026-11-28T17:23:08Z",
        "2026-11-28T17:03:08Z",
    ] {
        assert_eq!(
            verify_token(header, &bob(), at(now), window).unwrap(),
            BOB_FPR,
            "at {now}"
        );
    }
    for now in ["2026-11-28T17:23:09Z", "2026-11-28T17:03:07Z"] {
        assert!(
            matches!(
                verify_token(header, &bob(), at(now), window),
                Err(AuthError::OutsideWindow { .. })
            ),
            "at {now}"
        );
    }
}

#[test]
fn malformed_and_tampered_tokens_are_refused() {
    let header = signing("auth_token.X-PGPAUTHORIZATION.txt");
    let header = header.trim_end();
    let now = at("2026-11-28T17:13:08Z");
    let window = Duration::minutes(10);
    let parts: Vec<&str> = header.splitn(4, ';').collect();
    let with = |index: usize, value: &str| {
        let mut parts = parts.clone();
        parts[index] = value;
        parts.join(";")
    };
    assert!(matches!(
        verify_token(&with(0, "2"), &bob(), now, window),
        Err(AuthError::Version(_))
    ));
    assert!(matches!(
        verify_token(&with(1, "2026-11-28T17:13:08+00:00"), &bob(), now, window),
        Err(AuthError::Timestamp(_))
    ));
    // Changing the nonce or the time breaks the signature (the time stays in the window).
    assert!(matches!(
        verify_token(&with(2, "1"), &bob(), now, window),
        Err(AuthError::Signature(_))
    ));
    assert!(matches!(
        verify_token(&with(1, "2026-11-28T17:13:09Z"), &bob(), now, window),
        Err(AuthError::Signature(_))
    ));
    assert!(matches!(
        verify_token("1;2026-11-28T17:13:08Z;nonce", &bob(), now, window),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        verify_token("", &bob(), now, window),
        Err(AuthError::Malformed(_))
    ));
    // An unknown key.
    let scheduler =
        Keyring::from_armored_keys(&signing("THROWAWAY_TEST_KEY_scheduler_public.asc")).unwrap();
    assert!(matches!(
        verify_token(header, &scheduler, now, window),
        Err(AuthError::Signature(_))
    ));
}

#[test]
fn our_tokens_verify() {
    let signer = SecretKeySigner::from_armored(
        &signing("THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc"),
        None,
    )
    .unwrap();
    assert_eq!(signer.fingerprint(), BOB_FPR);
    let now = at("2026-11-29T07:00:00.123456Z");
    let token = make_token(&signer, now, "28090537672705").unwrap();
    assert!(
        token.starts_with("1;2026-11-29T07:00:00Z;28090537672705;"),
        "{token}"
    );
    assert_eq!(
        verify_token(
            &token,
            &bob(),
            now + Duration::seconds(30),
            Duration::minutes(10)
        )
        .unwrap(),
        BOB_FPR
    );
}

//! `mig` start-up to its first request (issue #6: ≤ 20 ms, countdown and gpg
//! excluded), self-timed:
//!
//! ```text
//! cargo bench -p mig-cli --bench startup [-- RUNS]      (default 50 runs)
//! ```
//!
//! or, without building the test dependencies in release mode (faster; the
//! harness's own speed does not matter, the binary measured is `MIG_BIN`,
//! an absolute path):
//!
//! ```text
//! cargo build --release -p mig-cli --bin mig
//! MIG_BIN=$PWD/target/release/mig cargo bench -p mig-cli --bench startup --profile dev
//! ```
//!
//! A listener on 127.0.0.1 timestamps the first bytes of each connection and
//! answers an empty 500, which ends the run. Each sample is the time from
//! spawning the release `mig` (`file -y -t allonline -path /etc -name
//! ^passwd$`) to its first request, the target evaluation: reading
//! `.migrc` and the key, building the action, signing it and the request's
//! token in-process (`gpg.secretkeyfile`: no gpg, as the goal says), with
//! the vectors' RSA-2048 throwaway key and with a fresh Ed25519 key. (An
//! API key alone cannot launch: the action must be signed.) Side by side,
//! on the same machine and in the same run: spawning `/bin/true` to its
//! exit (the floor of any process), and `curl` to its first request (a
//! process that makes one HTTP request). Reported: p50, p95, min, max, and
//! the ratios of the p50s. Figures: `BENCHMARKS.md`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mig_protocol::pgp::{KeyAlgo, SecretKeySigner};

type Error = Box<dyn std::error::Error>;

struct Stats {
    p50: Duration,
    p95: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            p50: at(0.5),
            p95: at(0.95),
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }

    fn print(&self, what: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{what:<44} p50 {:7.2} ms  p95 {:7.2} ms  min {:7.2} ms  max {:7.2} ms",
            ms(self.p50),
            ms(self.p95),
            ms(self.min),
            ms(self.max)
        );
    }
}

/// Spawns `program` `runs` times (after 3 warm-up runs); each sample ends at
/// the first request the listener sees (`first_request`) or at the exit.
fn measure(
    program: &Path,
    args: &[&str],
    home: &Path,
    runs: usize,
    arrivals: Option<&mpsc::Receiver<Instant>>,
) -> Result<Vec<Duration>, Error> {
    let mut samples = Vec::with_capacity(runs);
    for run in 0..runs + 3 {
        let start = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let end = match arrivals {
            Some(arrivals) => arrivals.recv_timeout(Duration::from_secs(10))?,
            None => {
                child.wait()?;
                Instant::now()
            }
        };
        child.wait()?;
        if run >= 3 {
            samples.push(end.duration_since(start));
        }
    }
    Ok(samples)
}

fn main() -> Result<(), Error> {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(50)
        .max(1);
    let mig = std::env::var_os("MIG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mig")));
    println!("measuring {}", mig.display());
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let (arrived, arrivals) = mpsc::channel::<Instant>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            if stream.read(&mut buffer).unwrap_or(0) > 0 {
                let _ = arrived.send(Instant::now());
            }
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let dir = std::env::temp_dir().join(format!("mig-startup-{}", std::process::id()));
    let rsa_home = dir.join("rsa");
    let ed25519_home = dir.join("ed25519");
    std::fs::create_dir_all(&rsa_home)?;
    std::fs::create_dir_all(&ed25519_home)?;
    let rsa_key = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/vectors/reference/signing/THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc",
    );
    let ed25519_key = dir.join("ed25519.asc");
    std::fs::write(
        &ed25519_key,
        SecretKeySigner::generate(KeyAlgo::Ed25519, "Bench <bench@example.net>")?
            .to_armored_secret()?,
    )?;
    for (home, key) in [(&rsa_home, &rsa_key), (&ed25519_home, &ed25519_key)] {
        std::fs::write(
            home.join(".migrc"),
            format!(
                "[api]\n    url = \"http://{address}/api/v1/\"\n[gpg]\n    secretkeyfile = \"{}\"\n",
                key.display()
            ),
        )?;
    }
    let mig_args = [
        "file",
        "-y",
        "-t",
        "allonline",
        "-path",
        "/etc",
        "-name",
        "^passwd$",
    ];
    println!("{runs} runs each (after 3 warm-up runs)");
    let with_file = Stats::of(measure(&mig, &mig_args, &rsa_home, runs, Some(&arrivals))?);
    with_file.print("mig → first request (RSA-2048 key file)");
    let with_key = Stats::of(measure(
        &mig,
        &mig_args,
        &ed25519_home,
        runs,
        Some(&arrivals),
    )?);
    with_key.print("mig → first request (Ed25519 key file)");
    let truth = Stats::of(measure(Path::new("/bin/true"), &[], &dir, runs, None)?);
    truth.print("/bin/true → exit");
    let url = format!("http://{address}/api/v1/search?type=agent");
    let curl = measure(
        Path::new("curl"),
        &["-s", "-o", "/dev/null", &url],
        &dir,
        runs,
        Some(&arrivals),
    )
    .ok()
    .map(Stats::of);
    if let Some(curl) = &curl {
        curl.print("curl → first request");
    }
    let ratio = |a: &Stats, b: &Stats| a.p50.as_secs_f64() / b.p50.as_secs_f64();
    println!(
        "ratio of p50s: mig (RSA) / true {:.2}, mig (Ed25519) / true {:.2}",
        ratio(&with_file, &truth),
        ratio(&with_key, &truth)
    );
    if let Some(curl) = &curl {
        println!(
            "ratio of p50s: mig (RSA) / curl {:.2}, mig (Ed25519) / curl {:.2}",
            ratio(&with_file, curl),
            ratio(&with_key, curl)
        );
    }
    let goal = Duration::from_millis(20);
    println!(
        "goal ≤ 20 ms to the first request: {} (p95 {})",
        if with_file.p50 <= goal && with_key.p50 <= goal {
            "met at p50"
        } else {
            "NOT met at p50"
        },
        if with_file.p95 <= goal && with_key.p95 <= goal {
            "within"
        } else {
            "over"
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

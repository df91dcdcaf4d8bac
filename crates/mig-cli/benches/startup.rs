//! Measures `mig` start-up to its first request: a listener on 127.0.0.1
//! timestamps the first bytes of each connection, `mig` is spawned with a
//! `.migrc` pointing at it (API-key mode, so neither gpg nor signing is
//! timed, as the goal excludes them), and the time from spawn to the first
//! request is reported. `curl` against the same listener runs side by side
//! as the baseline of "a process that makes one HTTP request".
//!
//! ```text
//! cargo build --release -p mig-cli --bin mig --example startup
//! target/release/examples/startup [runs]
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(30);
    let exe = std::env::current_exe()?;
    let mig: PathBuf = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("no target directory")?
        .join("mig");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let (arrivals, arrived) = mpsc::channel::<Instant>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            if stream.read(&mut buffer).unwrap_or(0) > 0 {
                let _ = arrivals.send(Instant::now());
            }
            // An empty 500: the client stops there.
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let home = std::env::temp_dir().join(format!("mig-startup-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    std::fs::write(
        home.join(".migrc"),
        format!(
            "[api]\n    url = \"http://{address}/api/v1/\"\n[gpg]\n    useapikeyauth = \"measure\"\n"
        ),
    )?;
    let url = format!("http://{address}/api/v1/search?type=agent");
    let measure =
        |program: &PathBuf, args: &[&str]| -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
            let mut samples = Vec::with_capacity(runs);
            for _ in 0..runs {
                let start = Instant::now();
                let mut child = Command::new(program)
                    .args(args)
                    .env("HOME", &home)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                let first = arrived.recv_timeout(Duration::from_secs(10))?;
                child.wait()?;
                samples.push(first.duration_since(start));
            }
            samples.sort();
            Ok(samples)
        };
    let mig_samples = measure(
        &mig,
        &[
            "file",
            "-y",
            "-t",
            "allonline",
            "-path",
            "/etc",
            "-name",
            "^passwd$",
        ],
    )?;
    let curl = PathBuf::from("curl");
    let curl_samples = measure(&curl, &["-s", "-o", "/dev/null", &url]).ok();
    let median = |samples: &[Duration]| samples[samples.len() / 2];
    let mig_median = median(&mig_samples);
    println!(
        "mig  start-up to first request: median {:.2} ms, min {:.2} ms, max {:.2} ms ({runs} runs)",
        mig_median.as_secs_f64() * 1e3,
        mig_samples[0].as_secs_f64() * 1e3,
        mig_samples[runs - 1].as_secs_f64() * 1e3,
    );
    if let Some(curl_samples) = curl_samples {
        let curl_median = median(&curl_samples);
        println!(
            "curl start-up to first request: median {:.2} ms, min {:.2} ms, max {:.2} ms",
            curl_median.as_secs_f64() * 1e3,
            curl_samples[0].as_secs_f64() * 1e3,
            curl_samples[runs - 1].as_secs_f64() * 1e3,
        );
        println!(
            "ratio mig / curl: {:.2}",
            mig_median.as_secs_f64() / curl_median.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

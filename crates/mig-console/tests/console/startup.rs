//! Start-up to the first prompt: the configuration, the signer, the signed
//! dashboard request and its printing. Timed with stdin at end of file (the
//! console prints its prompt, reads EOF and leaves), because rexpect polls
//! the pty every 100 ms; the figure is printed (`--nocapture`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::Env;

#[test]
fn start_up_to_the_prompt() {
    let env = Env::start();
    let runs = 20;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let output = env
                .command()
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            let elapsed = start.elapsed();
            assert_eq!(output.status.code(), Some(0));
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains(" for help.\nmig> \nexit\n"), "{stdout}");
            elapsed
        })
        .collect();
    times.sort();
    let median = times[runs / 2];
    eprintln!(
        "mig-console start, dashboard, prompt and exit over {runs} runs: min {:?}, median {median:?}, max {:?}",
        times[0],
        times[runs - 1]
    );
    assert!(median < Duration::from_secs(2), "median {median:?}");
    // And once in a terminal.
    env.spawn().leave();
}

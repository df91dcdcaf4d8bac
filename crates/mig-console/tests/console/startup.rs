//! Start-up to the first prompt (dashboard included), measured through the
//! pty; the figure is printed (`--nocapture`).

use std::time::{Duration, Instant};

use crate::harness::Env;

#[test]
fn start_up_to_the_prompt() {
    let env = Env::start();
    let runs = 10;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let console = env.spawn();
            let elapsed = start.elapsed();
            console.leave();
            elapsed
        })
        .collect();
    times.sort();
    let median = times[runs / 2];
    eprintln!(
        "mig-console start to prompt over {runs} runs: min {:?}, median {median:?}, max {:?}",
        times[0],
        times[runs - 1]
    );
    assert!(median < Duration::from_secs(2), "median {median:?}");
}

//! Following an action until its commands are done (`FollowAction`,
//! clients.md §1.6), with the original's text progress bar.
//!
//! The original polled every 2 s; the API computes an action's counters from
//! its commands at every read, so polling `GET action` every
//! [`FollowOptions::poll`] (50 ms by default) notices the last result within
//! one interval of it being stored.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mig_modules::duration::format_nanos;
use mig_protocol::Action;
use mig_protocol::gotime::GoTime;

use crate::client::{Client, ClientError, ClientResult};

/// How to follow.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Interval between two reads of the action.
    pub poll: Duration,
    /// Draw the progress bar with its `[===>---]` part (a terminal); without
    /// it only the counters and percentage are drawn, as the original did
    /// when stderr was redirected.
    pub terminal: bool,
    /// Redraw the progress line at most this often.
    pub redraw: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(50),
            terminal: false,
            redraw: Duration::from_millis(200),
        }
    }
}

/// How following ended.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowEnd {
    /// Every command is done, the action expired, or it was not running.
    Finished(Box<Action>),
    /// `stop` was raised: return at once, print no summary.
    Stopped,
}

/// The original's text progress bar (cheggaaa/pb v1 defaults: counters,
/// bar, percentage, speed, time left; 80 columns at most).
#[derive(Debug)]
pub struct ProgressBar {
    total: i64,
    current: i64,
    started: Instant,
    terminal: bool,
    finished: bool,
}

const WIDTH: usize = 80;

impl ProgressBar {
    /// A bar counting to `total`.
    pub fn new(total: i64, terminal: bool) -> Self {
        Self {
            total,
            current: 0,
            started: Instant::now(),
            terminal,
            finished: false,
        }
    }

    /// Sets the count.
    pub fn set(&mut self, current: i64) {
        self.current = current;
    }

    /// The line as drawn now (without the leading `\r`).
    pub fn line(&self) -> String {
        let counters = format!(" {} / {} ", self.current, self.total);
        let percent = if self.total > 0 {
            self.current as f64 / self.total as f64 * 100.0
        } else {
            0.0
        };
        let mut tail = format!(" {percent:6.2}%");
        if self.current > 0 {
            let elapsed = self.started.elapsed();
            let speed = self.current as f64 / elapsed.as_secs_f64().max(1e-9);
            tail.push_str(&format!(" {}/s", speed as i64));
            let shown = if self.finished {
                elapsed
            } else {
                let left = self.total.saturating_sub(self.current).max(0) as f64;
                Duration::from_secs_f64(elapsed.as_secs_f64() / self.current as f64 * left)
            };
            tail.push(' ');
            tail.push_str(&format_nanos(i128::from(shown.as_secs()) * 1_000_000_000));
        }
        let mut line = counters;
        if self.terminal {
            let room = WIDTH.saturating_sub(line.len() + tail.len() + 2);
            let filled = if self.total > 0 {
                ((self.current.clamp(0, self.total) as f64 / self.total as f64) * room as f64)
                    as usize
            } else {
                0
            };
            line.push('[');
            if filled >= room {
                line.push_str(&"=".repeat(room));
            } else if filled > 0 {
                line.push_str(&"=".repeat(filled - 1));
                line.push('>');
                line.push_str(&"-".repeat(room - filled));
            } else {
                line.push_str(&"-".repeat(room));
            }
            line.push(']');
        }
        line.push_str(&tail);
        line
    }

    /// Draws the current state (`\r<line>`).
    pub fn draw(&self, out: &mut dyn Write) {
        let _ = write!(out, "\r{}", self.line());
        let _ = out.flush();
    }

    /// Completes the bar: draws it full one last time with the elapsed time, then a newline.
    pub fn finish(&mut self, out: &mut dyn Write) {
        self.draw(out);
        self.finished = true;
        self.current = self.current.max(self.total);
        let _ = writeln!(out, "\r{}", self.line());
    }
}

/// Follows `action` (as returned by the API) until it is done, printing the
/// progress and the summary on `stderr`. `targeted` is the number of agents
/// the target selected (the bar's total).
pub fn follow_action(
    client: &Client,
    action: &Action,
    targeted: usize,
    stop: &AtomicBool,
    options: &FollowOptions,
    stderr: &mut dyn Write,
) -> ClientResult<FollowEnd> {
    let _ = writeln!(
        stderr,
        "\x1b[34mFollowing action ID {}.\x1b[0m",
        action.id.0
    );
    let mut bar = ProgressBar::new(targeted as i64, options.terminal);
    bar.draw(stderr);
    let mut last_draw = Instant::now();
    let mut failures = 0;
    let mut first = true;
    let mut last: Action;
    let expiry = action.expireafter.to_utc() + chrono::Duration::seconds(10);
    let mut previous_done = 0;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(FollowEnd::Stopped);
        }
        match client.get_action(action.id.0) {
            Err(_) => {
                failures += 1;
                if failures >= 30 {
                    return Err(ClientError::Unexpected(
                        "failed to retrieve action after 30 seconds. launch may have failed"
                            .to_owned(),
                    ));
                }
                if sleep_unless_stopped(Duration::from_secs(1), stop) {
                    return Ok(FollowEnd::Stopped);
                }
                continue;
            }
            Ok(current) => {
                let counters = current.counters.clone();
                let running = current.status.is_running();
                last = current;
                if first && !running {
                    break;
                }
                first = false;
                if counters.sent > 0 {
                    let progress = counters.done as f64 / counters.sent as f64;
                    if progress < 0.995 && counters.done > previous_done {
                        bar.set(counters.done);
                        previous_done = counters.done;
                    }
                }
                if counters.done > 0 && counters.done >= counters.sent {
                    break;
                }
                if chrono::Utc::now() > expiry {
                    break;
                }
            }
        }
        if last_draw.elapsed() >= options.redraw {
            bar.draw(stderr);
            last_draw = Instant::now();
        }
        if sleep_unless_stopped(options.poll, stop) {
            return Ok(FollowEnd::Stopped);
        }
    }
    bar.finish(stderr);
    match client.get_action(action.id.0) {
        Ok(fresh) => {
            last = fresh;
            let counters = &last.counters;
            let percent = counters.done as f64 / counters.sent as f64 * 100.0;
            let percent = if percent.is_nan() {
                "NaN".to_owned()
            } else {
                format!("{percent:.1}")
            };
            let _ = writeln!(
                stderr,
                "\x1b[34m{percent}% done in {}\x1b[0m",
                since(&last.starttime)
            );
        }
        Err(_) => {
            let _ = writeln!(stderr, "[error] failed to retrieve action counters");
        }
    }
    let _ = write!(stderr, "\x1b[34m{}\n\x1b[0m", counters_line(&last));
    Ok(FollowEnd::Finished(Box::new(last)))
}

/// `<sent> sent, <done> done[, <n> inflight][, <n> succeeded]…`.
pub fn counters_line(action: &Action) -> String {
    let c = &action.counters;
    let mut line = format!("{} sent, {} done", c.sent, c.done);
    for (count, label) in [
        (c.inflight, "inflight"),
        (c.success, "succeeded"),
        (c.cancelled, "cancelled"),
        (c.expired, "expired"),
        (c.failed, "failed"),
        (c.timeout, "timed out"),
    ] {
        if count > 0 {
            line.push_str(&format!(", {count} {label}"));
        }
    }
    line
}

/// `now - t` as Go prints a duration.
fn since(time: &GoTime) -> String {
    let elapsed = chrono::Utc::now() - time.to_utc();
    format_nanos(i128::from(elapsed.num_nanoseconds().unwrap_or(i64::MAX)))
}

/// Sleeps `duration` in small steps; true when `stop` was raised meanwhile.
fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) -> bool {
    let deadline = Instant::now() + duration;
    loop {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_shapes_match_the_original() {
        let bar = ProgressBar::new(1, true);
        assert_eq!(bar.line(), format!(" 0 / 1 [{}]   0.00%", "-".repeat(63)));
        let bar = ProgressBar::new(1, false);
        assert_eq!(bar.line(), " 0 / 1    0.00%");
        let mut bar = ProgressBar::new(1, true);
        bar.set(1);
        let line = bar.line();
        // The rate and ETA after the percentage vary in width with the
        // timing; the bar takes whatever is left of the 80 columns.
        let bar_part = line
            .strip_prefix(" 1 / 1 [")
            .and_then(|rest| rest.split_once("] 100.00% "))
            .map(|(bar, _)| bar)
            .unwrap_or_else(|| panic!("{line}"));
        assert!(
            !bar_part.is_empty() && bar_part.chars().all(|c| c == '='),
            "{line}"
        );
        assert_eq!(line.len(), 80, "{line}");
    }

    #[test]
    fn counters_line_lists_non_zero_counts() {
        let mut action = Action::default();
        action.counters.sent = 3;
        action.counters.done = 2;
        action.counters.inflight = 1;
        action.counters.success = 1;
        action.counters.timeout = 1;
        assert_eq!(
            counters_line(&action),
            "3 sent, 2 done, 1 inflight, 1 succeeded, 1 timed out"
        );
    }
}

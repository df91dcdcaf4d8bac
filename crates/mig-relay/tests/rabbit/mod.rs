//! RabbitMQ administration for the tests: `rabbitmqctl` and throwaway vhosts.

#![allow(clippy::unwrap_used, dead_code)]

use std::process::Command;
use std::time::Duration;

const VHOST_PREFIX: &str = "mig_relay_test_";

pub fn rabbitmqctl(args: &[&str]) -> String {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run rabbitmqctl {args:?}: {error}; RabbitMQ is required")
        });
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed (is RabbitMQ running on 127.0.0.1:5672?): {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A vhost of this test run, deleted when dropped.
pub struct Vhost(pub String);

impl Vhost {
    pub fn create() -> Self {
        assert!(
            std::net::TcpStream::connect_timeout(
                &"127.0.0.1:5672".parse().unwrap(),
                Duration::from_secs(2)
            )
            .is_ok(),
            "RabbitMQ is not listening on 127.0.0.1:5672: these tests need it"
        );
        let name = format!(
            "{VHOST_PREFIX}{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        Self(name)
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.0)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.0])
            .output();
    }
}

/// Deletes vhosts left behind by earlier runs whose process is gone.
pub fn sweep_stale_vhosts() {
    let listing = rabbitmqctl(&["-q", "list_vhosts", "name"]);
    for name in listing.lines().map(str::trim) {
        let Some(rest) = name.strip_prefix(VHOST_PREFIX) else {
            continue;
        };
        let pid = rest.split('_').next().unwrap_or_default();
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("rabbitmqctl")
                .args(["delete_vhost", name])
                .output();
        }
    }
}

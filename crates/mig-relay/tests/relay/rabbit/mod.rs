//! Throwaway vhosts of these tests, named `mig_relay_test_<pid>_<random>`
//! (`mig-testkit` makes and deletes them).

#![allow(dead_code)]

use mig_testkit::Vhost;

const VHOST_PREFIX: &str = "mig_relay_test_";

/// A vhost of this test run, deleted when dropped.
pub fn create_vhost() -> Vhost {
    Vhost::create(VHOST_PREFIX)
}

/// Deletes vhosts left behind by earlier runs whose process is gone.
pub fn sweep_stale_vhosts() {
    mig_testkit::sweep_stale_vhosts(VHOST_PREFIX);
}

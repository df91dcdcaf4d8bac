//! `mig-scheduler -c /etc/mig/scheduler.cfg`
fn main() {}

//! Tests of the netstat module: procfs parsers on fixture files in a fake
//! root, a live listener and connection on 127.0.0.1, EPM masking, printing
//! and the golden runs.
#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::registry::{ModuleName, run_module};

const VECTORS: &str = "/work/shared/vectors/reference/modules";

const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4981 1 00000000d9ea3ff4 100 0 0 10 0
   1: 0100007F:C9D1 0100007F:18EB 01 00000000:00000000 00:00000000 00000000  1000        0 5001 1 0000000000000000 20 4 30 10 -1
   2: 0F02000A:0016 0102000A:D431 01 00000000:00000000 02:0009A5C2 00000000     0        0 5002 2 0000000000000000 20 4 30 10 -1
   3: garbage
";
const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6001 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:E1C2 01 00000000:00000000 00:00000000 00000000     0        0 6002 1 0000000000000000 20 4 30 10 -1
   2: 000080FE0000000000000000FE000100:0050 B80D0120000000000000000001000000:C001 01 00000000:00000000 00:00000000 00000000     0        0 6003 1 0000000000000000 20 4 30 10 -1
";
const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 7001 2 0000000000000000 0
";
const UDP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
";
const ARP: &str = "IP address       HW type     Flags       HW address            Mask     Device
10.0.2.1         0x1         0x2         52:54:00:12:35:02     *        eth0
10.0.2.3         0x1         0x2         52:54:00:12:35:03     *        eth0
short row
";
const FIB_TRIE: &str = "Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.2.0/24 2 0 2
        |-- 10.0.2.0
           /24 link UNICAST
        |-- 10.0.2.15
           /32 host LOCAL
  +-- 127.0.0.0/8 2 0 2
     +-- 127.0.0.0/31 1 0 0
        |-- 127.0.0.0
           /8 host LOCAL
        |-- 127.0.0.1
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 10.0.2.15
           /32 host LOCAL
";
const IF_INET6: &str = "00000000000000000000000000000001 01 80 10 80       lo
fe800000000000005054fffe123456 02 40 20 80     eth0
fe800000000000005054fffe12345678 02 40 20 80     eth0
";

/// A fake `/proc` and `/sys` holding the fixture files.
fn fake_root(dir: &Path) -> Config {
    let proc = dir.join("proc");
    let sys = dir.join("sys");
    std::fs::create_dir_all(proc.join("net")).unwrap();
    for (file, text) in [
        ("tcp", TCP),
        ("tcp6", TCP6),
        ("udp", UDP),
        ("udp6", UDP6),
        ("arp", ARP),
        ("fib_trie", FIB_TRIE),
        ("if_inet6", IF_INET6),
    ] {
        std::fs::write(proc.join("net").join(file), text).unwrap();
    }
    std::fs::create_dir_all(proc.join("4242/fd")).unwrap();
    std::fs::write(proc.join("4242/comm"), "sshd\n").unwrap();
    symlink("socket:[5002]", proc.join("4242/fd/3")).unwrap();
    symlink("/dev/null", proc.join("4242/fd/0")).unwrap();
    for (name, index, mac) in [
        ("lo", "1", "00:00:00:00:00:00"),
        ("eth0", "2", "52:54:00:12:34:56"),
    ] {
        let dir = sys.join("class/net").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ifindex"), format!("{index}\n")).unwrap();
        std::fs::write(dir.join("address"), format!("{mac}\n")).unwrap();
    }
    Config {
        proc_root: proc,
        sys_root: sys,
    }
}

fn run_fake(parameters: serde_json::Value) -> (NetstatResult, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_root(dir.path());
    let mut result = run_with(&parameters, &config);
    result.statistics.as_mut().unwrap().exectime = "1ms".to_owned();
    let json = mig_protocol::gojson::to_string(&result);
    (result, json)
}

#[test]
fn socket_table_decoding() {
    let sockets = procfs::parse_sockets(TCP6.as_bytes());
    assert_eq!(sockets.len(), 3);
    assert_eq!(procfs::go_ip(sockets[0].local), "::");
    assert_eq!(procfs::go_ip(sockets[1].local), "127.0.0.1");
    assert_eq!(sockets[1].remote_port, 0xE1C2);
    assert_eq!(procfs::go_ip(sockets[2].local), "fe80::1:fe");
    assert_eq!(procfs::go_ip(sockets[2].remote), "2001:db8::1");
    let sockets = procfs::parse_sockets(TCP.as_bytes());
    assert_eq!(sockets.len(), 3);
    assert_eq!(procfs::go_ip(sockets[2].local), "10.0.2.15");
    assert_eq!((sockets[2].local_port, sockets[2].inode), (22, 5002));
    assert_eq!(procfs::parse_arp(ARP).len(), 2);
    let addresses: Vec<String> =
        procfs::local_addresses(&fake_root(tempfile::tempdir().unwrap().path()).proc_root)
            .into_iter()
            .map(procfs::go_ip)
            .collect();
    assert_eq!(
        addresses,
        vec!["10.0.2.15", "127.0.0.1", "::1", "fe80::5054:fffe:1234:5678"]
    );
}

#[test]
fn every_filter_on_the_fixture_root() {
    let (result, json) = run_fake(json!({
        "localmac": ["^52:54:00:12:34"],
        "localip": ["10.0.0.0/8", "::1", "FE80::5054:FF:FE12:3456"],
        "neighbormac": ["^52:54:00:12:35:03$"],
        "neighborip": ["10.0.2.1", "192.168.0.0/16"],
        "connectedip": ["10.0.2.0/24", "2001:db8::/32"],
        "listeningport": ["22", "53"],
    }));
    assert_eq!(
        json,
        concat!(
            r#"{"foundanything":true,"success":true,"elements":{"#,
            r#""connectedip":{"10.0.2.0/24":[{"localaddr":"10.0.2.15","localport":22,"remoteaddr":"10.0.2.1","remoteport":54321,"namespace":"default","pid":4242,"process":"sshd"}],"#,
            r#""2001:db8::/32":[{"localaddr":"fe80::1:fe","localport":80,"remoteaddr":"2001:db8::1","remoteport":49153,"namespace":"default"}]},"#,
            r#""listeningport":{"22":[{"localaddr":"10.0.2.15","localport":22,"namespace":"default","pid":4242,"process":"sshd"},{"localaddr":"::","localport":22,"namespace":"default"}],"#,
            r#""53":[{"localaddr":"127.0.0.53","localport":53,"namespace":"default"}]},"#,
            r#""localip":{"10.0.0.0/8":[{"localaddr":"10.0.2.15"}],"::1":[{"localaddr":"::1"}],"FE80::5054:FF:FE12:3456":null},"#,
            r#""localmac":{"^52:54:00:12:34":[{"localmacaddr":"52:54:00:12:34:56"}]},"#,
            r#""neighborip":{"10.0.2.1":[{"remotemacaddr":"52:54:00:12:35:02","remoteaddr":"10.0.2.1","namespace":"default"}],"192.168.0.0/16":null},"#,
            r#""neighbormac":{"^52:54:00:12:35:03$":[{"remotemacaddr":"52:54:00:12:35:03","remoteaddr":"10.0.2.3","namespace":"default"}]}},"#,
            r#""statistics":{"examined":44,"exectime":"1ms","totalhits":0},"errors":null}"#
        )
    );
    assert_eq!(
        print(&result, false),
        vec![
            "found local mac 52:54:00:12:34:56 for netstat localmac:'^52:54:00:12:34'",
            "found neighbor mac 52:54:00:12:35:03 10.0.2.3 for netstat neighbormac:'^52:54:00:12:35:03$'",
            "found neighbor IP 10.0.2.1 52:54:00:12:35:02 for netstat neighborIP:'10.0.2.1'",
            "did not find anything for netstat neighborIP:'192.168.0.0/16'",
            "found local ip 10.0.2.15 for netstat localip:'10.0.0.0/8'",
            "found local ip ::1 for netstat localip:'::1'",
            "did not find anything for netstat localip:'FE80::5054:FF:FE12:3456'",
            "found connected tuple 10.0.2.1:54321 with local tuple 10.0.2.15:22 for netstat connectedip:'10.0.2.0/24'",
            "found connected tuple 2001:db8::1:49153 with local tuple fe80::1:fe:80 for netstat connectedip:'2001:db8::/32'",
            "found listening port 22 for netstat listeningport:'22'",
            "found listening port 22 for netstat listeningport:'22'",
            "found listening port 53 for netstat listeningport:'53'",
            "Statistics: total hits 0 examined 44 items exectime 1ms",
        ]
    );
}

#[test]
fn ipv4_peers_include_mapped_tcp6_rows_and_listeners() {
    let (result, _) = run_fake(json!({"connectedip": ["127.0.0.1"]}));
    let hits = result.elements.unwrap()["connectedip"]["127.0.0.1"]
        .clone()
        .unwrap();
    let tuples: Vec<String> = hits
        .iter()
        .map(|e| {
            format!(
                "{}:{}>{}:{}",
                e.localaddr, e.localport, e.remoteaddr, e.remoteport
            )
        })
        .collect();
    assert_eq!(
        tuples,
        vec![
            "127.0.0.1:51665>127.0.0.1:6379",
            "127.0.0.1:8080>127.0.0.1:57794"
        ]
    );
}

#[test]
fn missing_tables_are_soft_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_root(dir.path());
    std::fs::remove_file(config.proc_root.join("net/udp6")).unwrap();
    std::fs::remove_file(config.proc_root.join("net/arp")).unwrap();
    let result = run_with(
        &json!({"listeningport": ["8766"], "neighborip": ["10.0.2.1"]}),
        &config,
    );
    assert!(result.success && !result.foundanything);
    let udp6 = config.proc_root.join("net/udp6");
    let arp = config.proc_root.join("net/arp");
    assert_eq!(
        result.errors.clone().unwrap(),
        vec![
            format!(
                "HasSeenIP(): open {}: no such file or directory",
                arp.display()
            ),
            format!(
                "HasListeningPort(): open {}: no such file or directory",
                udp6.display()
            ),
        ]
    );
    let printed = print(&result, false);
    assert!(printed.contains(&format!(
        "error: HasListeningPort(): open {}: no such file or directory",
        udp6.display()
    )));
}

#[test]
fn validation_errors() {
    let cases = [
        (
            json!({"localmac": ["("]}),
            "Invalid MAC regexp '('. Compilation failed with 'error parsing regexp: missing closing ): `(?i)(`'. Must be a valid regular expression.",
        ),
        (
            json!({"neighbormac": ["["]}),
            "Invalid MAC regexp '['. Compilation failed with 'error parsing regexp: missing closing ]: `[`'. Must be a valid regular expression.",
        ),
        (
            json!({"neighborip": ["10.0.0.0/33"]}),
            "invalid IPv4 CIDR 10.0.0.0/33: invalid CIDR address: 10.0.0.0/33. Must be an IP or a CIDR.",
        ),
        (
            json!({"localip": ["fe80::zz"]}),
            "invalid IPv6 fe80::zz. Must be an IP or a CIDR.",
        ),
        (
            json!({"connectedip": ["10.1.2"]}),
            "invalid IPv4 10.1.2. Must be an IP or a CIDR.",
        ),
        (
            json!({"listeningport": ["http"]}),
            "http is not a valid port",
        ),
        (
            json!({"listeningport": ["65536"]}),
            "port out of range. must be between 1 and 65535",
        ),
    ];
    for (parameters, error) in cases {
        let json = run_module(ModuleName::Netstat, &parameters, &ModuleContext::default());
        let expected = format!(
            r#"{{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":[{}]}}"#,
            mig_protocol::gojson::to_string(&error)
        );
        assert_eq!(json, expected);
    }
    let parameters: Parameters =
        mig_protocol::gojson::from_str(r#"{"listeningport":["22"]}"#).unwrap();
    assert_eq!(
        mig_protocol::gojson::to_string(&parameters),
        r#"{"listeningport":["22"],"namespaces":false}"#
    );
}

#[test]
fn live_listener_and_connection_with_owner() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    let parameters = json!({"listeningport": [port.to_string()], "connectedip": ["127.0.0.0/8"]});
    let result = run_with(&parameters, &Config::default());
    assert!(result.success && result.foundanything, "{result:?}");
    let elements = result.elements.clone().unwrap();
    let listening = elements["listeningport"][&port.to_string()]
        .clone()
        .unwrap();
    // The listener and the accepted socket share the local port.
    assert!(listening.len() >= 2, "{listening:?}");
    let me = f64::from(std::process::id());
    assert!(
        listening
            .iter()
            .all(|e| e.localaddr == "127.0.0.1" && e.pid == me && !e.process.is_empty())
    );
    let connected = elements["connectedip"]["127.0.0.0/8"].clone().unwrap();
    assert!(
        connected
            .iter()
            .any(|e| e.localport == f64::from(client_port)
                && e.remoteport == f64::from(port)
                && e.remoteaddr == "127.0.0.1"
                && e.pid == me)
    );
    let lines = print(&result, true);
    assert!(lines.contains(&format!(
        "found connected tuple 127.0.0.1:{port} with local tuple 127.0.0.1:{client_port} for netstat connectedip:'127.0.0.0/8'"
    )));
    // EPM masks the peers of connectedip only.
    let json = run_module(
        ModuleName::Netstat,
        &parameters,
        &ModuleContext {
            extra_privacy: true,
            ..ModuleContext::default()
        },
    );
    let masked: NetstatResult = mig_protocol::gojson::from_str(&json).unwrap();
    let masked = masked.elements.unwrap();
    assert!(
        masked["connectedip"]["127.0.0.0/8"]
            .as_ref()
            .unwrap()
            .iter()
            .all(|e| e.remoteaddr == "masked")
    );
    assert!(
        masked["listeningport"][&port.to_string()]
            .as_ref()
            .unwrap()
            .iter()
            .all(|e| e.localaddr == "127.0.0.1")
    );
}

#[test]
fn live_local_addresses_and_closed_port() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = run_with(
        &json!({"localip": ["127.0.0.1", "127.0.0.0/8"], "listeningport": [closed.to_string()]}),
        &Config::default(),
    );
    let elements = result.elements.clone().unwrap();
    assert_eq!(
        elements["localip"]["127.0.0.1"].as_ref().unwrap()[0].localaddr,
        "127.0.0.1"
    );
    assert!(elements["localip"]["127.0.0.0/8"].is_some());
    assert_eq!(elements["listeningport"][&closed.to_string()], None);
    assert!(print(&result, false).contains(&format!(
        "did not find anything for netstat listeningport:'{closed}'"
    )));
}

/// The golden runs: JSON round trip and the printer, byte for byte.
#[test]
fn golden_vectors() {
    for name in ["netstat_lp_closed", "netstat_lp_ci"] {
        let Ok(stdout) = std::fs::read_to_string(format!("{VECTORS}/{name}.stdout.json")) else {
            continue;
        };
        let golden: NetstatResult = mig_protocol::gojson::from_str(&stdout).unwrap();
        assert_eq!(mig_protocol::gojson::to_string(&golden), stdout, "{name}");
        let pretty = std::fs::read_to_string(format!("{VECTORS}/{name}.pretty.txt")).unwrap();
        let printed = print(&golden, false);
        let expected: Vec<&str> = pretty.lines().collect();
        // The pretty run is a second run: the statistics line differs.
        assert_eq!(printed.len(), expected.len(), "{name}");
        if name == "netstat_lp_closed" {
            assert_eq!(printed[0], expected[0]);
        }
        assert!(
            printed
                .last()
                .unwrap()
                .starts_with("Statistics: total hits 0 examined ")
        );
    }
}

#[test]
fn namespaces_mode_reads_one_pid_per_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_root(dir.path());
    let proc = &config.proc_root;
    for (pid, namespace, table) in [
        ("1", "net:[4026531992]", Some(TCP)),
        ("7", "net:[4026531992]", Some("header\n")),
        ("30", "net:[4026532300]", None),
        ("31", "net:[4026532300]", Some(TCP)),
    ] {
        std::fs::create_dir_all(proc.join(pid).join("ns")).unwrap();
        symlink(namespace, proc.join(pid).join("ns/net")).unwrap();
        if let Some(table) = table {
            std::fs::create_dir_all(proc.join(pid).join("net")).unwrap();
            for file in ["tcp", "udp", "tcp6", "udp6"] {
                let text = if file == "tcp" { table } else { "header\n" };
                std::fs::write(proc.join(pid).join("net").join(file), text).unwrap();
            }
        }
    }
    let result = run_with(
        &json!({"listeningport": ["6379"], "namespaces": true}),
        &config,
    );
    assert_eq!(result.errors, None);
    let hits = result.elements.clone().unwrap()["listeningport"]["6379"]
        .clone()
        .unwrap();
    let namespaces: Vec<&str> = hits.iter().map(|e| e.namespace.as_str()).collect();
    assert_eq!(namespaces, vec!["net:[4026531992]", "net:[4026532300]"]);
    assert_eq!(
        print(&result, true),
        vec![
            "found listening port 6379 for netstat listeningport:'6379' namespace:[net:[4026531992]]",
            "found listening port 6379 for netstat listeningport:'6379' namespace:[net:[4026532300]]",
        ]
    );
}

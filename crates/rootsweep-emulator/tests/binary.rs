//! The `rootsweep-emulator` binary: it prints the environment to export, serves what it
//! printed, and refuses bad flags with a clear message.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn emulator() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rootsweep-emulator"))
}

#[test]
fn it_prints_the_environment_and_serves_the_admin_endpoint() {
    let mut child = emulator()
        .args(["--listen", "127.0.0.1:0", "--accounts", "30", "--seed", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("reads");
        let done = line == "# ready";
        lines.push(line);
        if done {
            break;
        }
    }
    let endpoint = lines
        .iter()
        .find_map(|line| line.strip_prefix("export AWS_ENDPOINT_URL="))
        .expect("endpoint printed")
        .to_string();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("export AWS_ACCESS_KEY_ID=AKIA"))
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("export AWS_SECRET_ACCESS_KEY="))
    );
    assert!(lines.iter().any(|line| line.contains("29 member accounts")));

    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    child.kill().expect("stops");
    child.wait().expect("waits");
}

fn refused(arguments: &[&str]) -> String {
    let output = emulator().args(arguments).output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{arguments:?} should fail with exit code 2"
    );
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    assert!(refused(&["--listen", "0.0.0.0:0"]).contains("not a loopback address"));
    assert!(
        refused(&["--listen", "127.0.0.1:0", "--throttle-rate", "2"]).contains("between 0 and 1")
    );
    assert!(refused(&["--listen", "127.0.0.1:0", "--iam-rate=-1"]).contains("positive number"));
    assert!(
        refused(&["--listen", "127.0.0.1:0", "--accounts", "1"]).contains("at least 2 accounts")
    );
    assert!(
        refused(&["--listen", "127.0.0.1:0", "--principal", "nobody"])
            .contains("not in the scenario")
    );
    assert!(
        refused(&["--listen", "127.0.0.1:0", "--scenario", "/nonexistent.json"])
            .contains("failed to read")
    );
}

#[test]
fn a_dumped_scenario_loads_back() {
    let directory =
        std::env::temp_dir().join(format!("rootsweep-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    for extension in ["json", "toml"] {
        let path = directory.join(format!("org.{extension}"));
        let mut child = emulator()
            .args([
                "--listen",
                "127.0.0.1:0",
                "--accounts",
                "12",
                "--dump-scenario",
            ])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        let stdout = child.stdout.take().expect("stdout");
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line == "# ready");
        assert!(ready);
        child.kill().expect("stops");
        child.wait().expect("waits");
        let mut child = emulator()
            .args(["--listen", "127.0.0.1:0", "--scenario"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        let stdout = child.stdout.take().expect("stdout");
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take_while(|l| l != "# ready")
            .collect();
        assert!(
            lines.iter().any(|line| line.contains("11 member accounts")),
            "{lines:?}"
        );
        child.kill().expect("stops");
        child.wait().expect("waits");
    }
    let corrupt = directory.join("corrupt.json");
    std::fs::write(&corrupt, "{ not json").expect("writes");
    assert!(
        refused(&[
            "--listen",
            "127.0.0.1:0",
            "--scenario",
            corrupt.to_str().expect("utf-8")
        ])
        .contains("failed to parse")
    );
    std::fs::remove_dir_all(&directory).ok();
}

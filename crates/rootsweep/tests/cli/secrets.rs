//! Secrets never leave memory: no session secret key or token, and not the caller's secret key
//! either, appears in stdout, stderr at -vv, any report, or the journal of a full run.

use crate::harness::{Harness, org, read};

#[tokio::test]
async fn no_secret_reaches_any_output() {
    let harness = Harness::new(org(60)).await;
    let journal = harness.path("journal.jsonl");
    let reports = [
        "r.json",
        "r.jsonl",
        "r.csv",
        "r.junit.xml",
        "r.sarif",
        "r.md",
    ]
    .map(|name| harness.path(name));
    let mut arguments = vec![
        "delete-credentials".to_string(),
        "--yes".into(),
        "-vv".into(),
        "--journal".into(),
        journal.to_string_lossy().to_string(),
    ];
    for report in &reports {
        arguments.push("--report".into());
        arguments.push(report.to_string_lossy().to_string());
    }
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let run = harness.run(&arguments).await;
    let logs = harness.run(&["audit", "-vv", "--log-format", "json"]).await;

    let mut secrets = harness.emulator.issued_secrets();
    assert!(
        secrets.len() > 60,
        "sessions were issued: {}",
        secrets.len()
    );
    let operator = harness
        .scenario
        .principal(rootsweep_emulator::labels::OPERATOR)
        .expect("operator");
    secrets.push(operator.secret_access_key.clone());

    let mut artifacts = vec![
        ("stdout".to_string(), run.stdout.clone()),
        ("stderr -vv".to_string(), run.stderr.clone()),
        (
            "stdout of the JSON-logged audit".to_string(),
            logs.stdout.clone(),
        ),
        ("stderr -vv as JSON".to_string(), logs.stderr.clone()),
        ("the journal".to_string(), read(&journal)),
    ];
    for report in &reports {
        artifacts.push((report.display().to_string(), read(report)));
    }
    assert!(run.stderr.lines().count() > 100, "-vv logged every call");
    for (name, text) in &artifacts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{name} contains a secret");
        }
    }
}

//! Outputs: JSON Lines, JSON, CSV and the table on stdout, and every report format.

use std::collections::HashSet;

use crate::harness::{Harness, org, read};

#[tokio::test]
async fn json_lines_give_exactly_one_valid_record_per_target() {
    let harness = Harness::new(org(150)).await;
    let run = harness.run(&["audit"]).await;
    let records = run.accounts();
    assert_eq!(records.len(), 150, "one per account, skipped included");
    let ids: HashSet<&str> = records
        .iter()
        .filter_map(|r| r["account_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 150);
    for record in &records {
        assert_eq!(record["schema"], 1);
        assert!(
            record["status"].is_string() && record["summary"].is_string(),
            "{record}"
        );
    }
    let summary = run.summary();
    assert_eq!(summary["targets"], 150);
    let counted: u64 = summary["counts"]
        .as_object()
        .expect("counts")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(counted, 150);
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("error"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn json_csv_and_table_formats() {
    let harness = Harness::new(org(30)).await;
    let run = harness.run(&["audit", "--output", "json"]).await;
    let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(document["records"].as_array().expect("records").len(), 30);
    assert_eq!(document["summary"]["targets"], 30);

    let run = harness.run(&["audit", "--output", "csv"]).await;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("account_id,account_name,ou_path,task,status"));
    assert_eq!(lines.len(), 31);

    let run = harness.run(&["audit", "--output", "table"]).await;
    assert!(run.stdout.starts_with("ACCOUNT"), "{}", run.stdout);
    assert!(
        run.stdout.contains("audit: 30 accounts in"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
}

#[tokio::test]
async fn every_report_format_is_written_and_agrees_with_stdout() {
    let harness = Harness::new(org(40)).await;
    let names = [
        "r.json",
        "r.jsonl",
        "r.csv",
        "r.junit.xml",
        "r.sarif",
        "r.md",
    ];
    let mut arguments = vec!["audit".to_string()];
    for name in names {
        arguments.push("--report".into());
        arguments.push(harness.path(name).to_string_lossy().to_string());
    }
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let run = harness.run(&arguments).await;
    let non_compliant = run
        .accounts()
        .iter()
        .filter(|r| r["status"] == "non_compliant")
        .count();
    let failing = run
        .accounts()
        .iter()
        .filter(|r| r["status"] == "denied" || r["status"] == "failed")
        .count();

    let json: serde_json::Value =
        serde_json::from_str(&read(&harness.path("r.json"))).expect("json");
    assert_eq!(json["records"].as_array().expect("records").len(), 40);
    assert_eq!(read(&harness.path("r.jsonl")).lines().count(), 41);
    assert_eq!(read(&harness.path("r.csv")).lines().count(), 41);
    let junit = read(&harness.path("r.junit.xml"));
    assert_eq!(junit.matches("<testcase ").count(), 40);
    assert_eq!(junit.matches("<failure ").count(), non_compliant + failing);
    let sarif: serde_json::Value =
        serde_json::from_str(&read(&harness.path("r.sarif"))).expect("sarif");
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        non_compliant + failing
    );
    let markdown = read(&harness.path("r.md"));
    assert!(
        markdown.starts_with(&format!("# rootsweep audit: {non_compliant} of ")),
        "{markdown}"
    );
}

#[tokio::test]
async fn verbose_logs_and_json_logs_go_to_stderr() {
    let harness = Harness::new(org(20)).await;
    let run = harness.run(&["audit", "-v", "--log-format", "json"]).await;
    assert_eq!(run.accounts().len(), 20, "stdout keeps only data");
    let logs: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        logs.iter()
            .any(|log| log["fields"]["account_id"].is_string()),
        "{}",
        run.stderr
    );
}

//! The journal and `resume`.

use rootsweep_emulator::{Latency, LoadProfile};
use tokio::io::AsyncBufReadExt;

use crate::harness::{Harness, Run, journal_outcomes, org, read};

#[tokio::test]
async fn every_run_writes_a_journal_that_agrees_with_the_output() {
    let harness = Harness::new(org(50)).await;
    let journal = harness.path("run.jsonl");
    let report = harness.path("report.jsonl");
    let run = harness
        .run(&[
            "delete-credentials",
            "--yes",
            "--journal",
            journal.to_str().expect("utf-8"),
            "--report",
            report.to_str().expect("utf-8"),
        ])
        .await;
    assert!(
        run.stderr
            .contains(&format!("journal: {}", journal.display())),
        "{}",
        run.stderr
    );
    harness.check_run(&run, &journal, &report);
    let header: serde_json::Value =
        serde_json::from_str(read(&journal).lines().next().expect("a header")).expect("json");
    assert_eq!(header["type"], "header");
    assert_eq!(header["task"], "delete-credentials");
    assert_eq!(header["targets"].as_array().expect("targets").len(), 50);
    assert!(
        header["targets_hash"]
            .as_str()
            .is_some_and(|hash| hash.starts_with("fnv1a64:"))
    );

    // Without --journal, journals go to the user's state directory.
    let run = harness.run(&["audit"]).await;
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("journal: "))
        .expect("journal printed");
    assert!(line.contains(".local/state/rootsweep/journals/"), "{line}");
    // An existing journal is never overwritten by a new run.
    let run = harness
        .run(&["audit", "--journal", journal.to_str().expect("utf-8")])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("already holds the journal of a delete-credentials run"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn an_interrupted_run_is_finished_by_resume() {
    let load = LoadProfile {
        latency: Some(Latency {
            median_ms: 30.0,
            p99_ms: 30.0,
        }),
        ..LoadProfile::default()
    };
    let harness = Harness::with_load(org(150), load).await;
    let journal = harness.path("run.jsonl");
    let journal_text = journal.to_str().expect("utf-8");
    let mut child = harness
        .command(&[
            "delete-credentials",
            "--yes",
            "--concurrency",
            "4",
            "--journal",
            journal_text,
        ])
        .spawn()
        .expect("spawns");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    while let Some(line) = lines.next_line().await.expect("reads") {
        if line.contains("\"started_at\"") {
            break;
        }
    }
    tokio::process::Command::new("kill")
        .args(["-INT", &child.id().expect("pid").to_string()])
        .status()
        .await
        .expect("kill");
    while lines.next_line().await.expect("reads").is_some() {}
    let first = child.wait().await.expect("exits");
    assert_eq!(first.code(), Some(130));

    let run = harness.run(&["resume", journal_text]).await;
    assert_eq!(
        run.code, 2,
        "resume changes accounts: it needs --yes without a terminal"
    );
    let run: Run = harness.run(&["resume", journal_text, "--yes"]).await;
    assert!(run.stderr.contains("resuming run"), "{}", run.stderr);
    assert!(run.code == 0 || run.code == 3, "{}", run.stderr);
    let records = run.accounts();
    assert_eq!(records.len(), 150);
    assert!(
        records
            .iter()
            .any(|r| r["skip_reason"]["kind"] == "done_earlier")
    );
    assert!(records.iter().all(|r| r["status"] != "cancelled"));

    // Across the runs every account has exactly one terminal line.
    let mut terminal = std::collections::HashMap::<String, usize>::new();
    for outcome in journal_outcomes(&journal) {
        if outcome["status"] != "cancelled" {
            *terminal
                .entry(
                    outcome["account_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .or_default() += 1;
        }
    }
    assert_eq!(terminal.len(), 150);
    assert!(terminal.values().all(|count| *count == 1), "{terminal:?}");
    // Nothing left: a second resume changes nothing.
    let before = harness.emulator.stats().mutating_requests();
    let run = harness.run(&["resume", journal_text, "--yes"]).await;
    assert!(run.stderr.contains("0 accounts left"), "{}", run.stderr);
    assert_eq!(harness.emulator.stats().mutating_requests(), before);
}

#[tokio::test]
async fn retry_failed_works_on_failed_and_denied_accounts_again() {
    let harness = Harness::new(org(60)).await;
    let journal = harness.path("run.jsonl");
    let journal_text = journal.to_str().expect("utf-8");
    let run = harness.run(&["audit", "--journal", journal_text]).await;
    assert_eq!(run.code, 3, "the SCP OU is denied");
    let denied = run
        .accounts()
        .iter()
        .filter(|r| r["status"] == "denied")
        .count();
    assert!(denied > 0);
    // Without --retry-failed the denied accounts stay done, and still count in the exit code.
    let run = harness.run(&["resume", journal_text]).await;
    assert_eq!(run.code, 3);
    let assumed = harness.emulator.stats().calls("sts:AssumeRoot");
    // Lift the SCP, then retry.
    harness
        .emulator
        .modify_scenario(|scenario| {
            scenario
                .organizational_units
                .iter_mut()
                .for_each(|ou| ou.scp_denies_root = false)
        })
        .expect("valid");
    let run = harness
        .run(&["resume", journal_text, "--retry-failed"])
        .await;
    assert_eq!(
        harness.emulator.stats().calls("sts:AssumeRoot") - assumed,
        denied as u64
    );
    assert!(run.accounts().iter().all(|r| r["status"] != "denied"));
    assert_eq!(
        run.code, 1,
        "now only non-compliant accounts: {}",
        run.stderr
    );
}

#[tokio::test]
async fn a_truncated_last_line_is_tolerated_and_other_damage_refused() {
    let harness = Harness::new(org(40)).await;
    let journal = harness.path("run.jsonl");
    let journal_text = journal.to_str().expect("utf-8");
    harness.run(&["audit", "--journal", journal_text]).await;
    let text = read(&journal);
    // A crash while writing the last line.
    std::fs::write(&journal, &text[..text.len() - 40]).expect("writes");
    let run = harness.run(&["resume", journal_text]).await;
    assert!(
        run.stderr.contains("warning: the last line"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.accounts()
            .iter()
            .filter(|r| r["skip_reason"].is_null())
            .count(),
        1,
        "only the cut line's account is worked on again"
    );

    let damaged = harness.path("damaged.jsonl");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"type\": \"outcome\", \"oops\"";
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("writes");
    let run = harness
        .run(&["resume", damaged.to_str().expect("utf-8")])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("line 4 is not a journal line"),
        "{}",
        run.stderr
    );

    let other = harness.path("other-version.jsonl");
    std::fs::write(&other, text.replacen("\"journal\":1", "\"journal\":2", 1)).expect("writes");
    let run = harness
        .run(&["resume", other.to_str().expect("utf-8")])
        .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is journal format 2"), "{}", run.stderr);

    let stranger = harness.path("stranger.jsonl");
    std::fs::write(&stranger, "hello\n").expect("writes");
    let run = harness
        .run(&["resume", stranger.to_str().expect("utf-8")])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not a rootsweep journal"),
        "{}",
        run.stderr
    );
    assert_eq!(harness.emulator.stats().mutating_requests(), 0);
}

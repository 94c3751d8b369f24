//! The kill test: a delete-credentials run over 1,000 accounts, killed with SIGKILL at seeded
//! points and resumed each time, until done. At the end every account has exactly one terminal
//! outcome in the journal, no root credential remains on any account reported remediated, and
//! no account saw a mutating call it should not have.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rootsweep_emulator::{Latency, LoadProfile, ScenarioSpec};

use crate::harness::{Harness, journal_outcomes, read};

/// Outcome lines in the journal so far (cheap: counts markers).
fn outcome_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.matches("\"type\":\"outcome\"").count())
}

/// Seeded kill points: journal line counts, increasing.
fn kill_points(seed: u64, count: usize) -> Vec<usize> {
    let mut state = seed;
    let mut points = Vec::new();
    let mut at = 60;
    for _ in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        at += 120 + usize::try_from(state % 150).unwrap_or(0);
        points.push(at);
    }
    points
}

#[tokio::test]
async fn killed_at_seeded_points_and_resumed_until_done() {
    let spec = ScenarioSpec {
        accounts: 1_000,
        seed: 31,
        password_share: 0.5,
        access_key_share: 0.3,
        signing_certificate_share: 0.1,
        ..ScenarioSpec::default()
    };
    let load = LoadProfile {
        seed: 31,
        latency: Some(Latency {
            median_ms: 4.0,
            p99_ms: 20.0,
        }),
        ..LoadProfile::default()
    };
    let harness = Harness::with_load(spec, load).await;
    let journal = harness.path("kill.jsonl");
    let journal_text = journal.to_string_lossy().to_string();
    // Mutating requests per account when it first had a terminal outcome: never to grow after.
    let mut frozen: HashMap<String, u64> = HashMap::new();
    let mut kills = 0;
    for (round, point) in kill_points(0x5eed_0001, 4).into_iter().enumerate() {
        let arguments: Vec<&str> = if round == 0 {
            vec!["delete-credentials", "--yes", "--journal", &journal_text]
        } else {
            vec!["resume", &journal_text, "--yes"]
        };
        // Nobody reads its output here: a pipe would fill and block it.
        let mut child = harness
            .command(&arguments)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawns");
        let pid = child.id().expect("pid");
        loop {
            if outcome_lines(&journal) >= point {
                tokio::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .await
                    .expect("kill");
                kills += 1;
                break;
            }
            if child.try_wait().expect("polls").is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.wait().await.expect("ends");
        check_frozen(&harness, &journal, &mut frozen);
    }
    assert!(
        kills >= 3,
        "the run was killed mid-way at least three times ({kills})"
    );
    let run = harness.run(&["resume", &journal_text, "--yes"]).await;
    assert!(run.code == 0 || run.code == 3, "{}", run.stderr);
    check_frozen(&harness, &journal, &mut frozen);

    let mut terminal: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for outcome in journal_outcomes(&journal) {
        if outcome["status"] != "cancelled" {
            terminal
                .entry(
                    outcome["account_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .or_default()
                .push(outcome["status"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(terminal.len(), 1_000, "every account ended");
    let repeated: Vec<_> = terminal
        .iter()
        .filter(|(_, statuses)| statuses.len() != 1)
        .collect();
    assert!(
        repeated.is_empty(),
        "accounts with more than one terminal outcome: {repeated:?}"
    );
    let stats = harness.emulator.stats();
    for (account, statuses) in &terminal {
        match statuses[0].as_str() {
            "remediated" | "already_compliant" => {
                assert!(
                    harness
                        .emulator
                        .account(account)
                        .expect("account")
                        .root
                        .is_empty(),
                    "{account} still holds credentials"
                );
            }
            status @ ("skipped" | "denied") => {
                assert!(
                    !stats.mutating_requests_by_account.contains_key(account),
                    "{account} ({status}) saw a mutating call"
                );
            }
            other => panic!("{account} ended {other}"),
        }
    }
    let _ = read;
}

/// Accounts that have a terminal outcome must see no further mutating request.
fn check_frozen(harness: &Harness, journal: &std::path::Path, frozen: &mut HashMap<String, u64>) {
    let stats = harness.emulator.stats();
    for (account, count) in frozen.iter() {
        let now = stats
            .mutating_requests_by_account
            .get(account)
            .copied()
            .unwrap_or(0);
        assert_eq!(
            now, *count,
            "{account} saw a mutating call after it had ended"
        );
    }
    if !journal.exists() {
        return;
    }
    for outcome in journal_outcomes(journal) {
        if outcome["status"] == "cancelled" {
            continue;
        }
        let account = outcome["account_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let count = stats
            .mutating_requests_by_account
            .get(&account)
            .copied()
            .unwrap_or(0);
        frozen.entry(account).or_insert(count);
    }
}

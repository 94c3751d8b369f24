//! Safety rails and bad input: every refusal exits 2 having changed nothing.

use tokio::io::AsyncBufReadExt;

use rootsweep_emulator::{Latency, LoadProfile};

use crate::harness::{Harness, Run, org, read};

fn assert_refused(harness: &Harness, run: &Run, message: &str) {
    assert_eq!(run.code, 2, "{run:?}");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains(message),
        "{}",
        run.stderr
    );
    assert_eq!(
        harness.emulator.stats().mutating_requests(),
        0,
        "nothing changed"
    );
}

#[tokio::test]
async fn a_destructive_command_without_a_terminal_or_yes_changes_nothing() {
    let harness = Harness::new(org(30)).await;
    for arguments in [
        vec!["delete-credentials"],
        vec!["allow-password-recovery"],
        vec!["unlock-s3-bucket-policy", "--find-deny-all"],
        vec!["unlock-sqs-queue-policy", "--queue", "q"],
    ] {
        let run = harness.run(&arguments).await;
        assert_refused(&harness, &run, "needs a confirmation");
        assert!(
            run.stderr
                .contains("hint: review a --dry-run first, then pass --yes"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(harness.emulator.stats().requests, 0, "not one AWS call");
}

#[tokio::test]
async fn bad_input_is_a_one_line_error_with_a_hint() {
    let harness = Harness::new(org(30)).await;
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["audit", "--accounts", "12345"],
            "is not an AWS account ID",
        ),
        (
            vec!["audit", "--ou", "ou-zzzz-zzzzzzzz"],
            "not in the organization",
        ),
        (vec!["audit", "--tag", "team"], "is not KEY=VALUE"),
        (
            vec!["audit", "--report", "out.xml"],
            "cannot tell the format",
        ),
        (
            vec!["audit", "--max-failures", "lots"],
            "is not a failure limit",
        ),
        (
            vec!["delete-credentials", "--kinds", "passwords"],
            "is not a kind of root credential",
        ),
        (
            vec!["apply", "missing-plan.json", "--yes"],
            "cannot read the plan",
        ),
        (
            vec!["audit", "--config", "missing.toml"],
            "cannot read the settings file",
        ),
        (
            vec!["audit", "--region", "aws-global"],
            "is not a regional STS endpoint",
        ),
    ];
    for (arguments, message) in cases {
        let run = harness.run(&arguments).await;
        assert_refused(&harness, &run, message);
        assert!(
            run.stderr.contains("\n  hint: ")
                || message.contains("settings file")
                || message.contains("regional"),
            "{arguments:?}: {}",
            run.stderr
        );
    }
    std::fs::write(
        harness.path("corrupt.json"),
        "{\"kind\": \"rootsweep-plan\"",
    )
    .expect("writes");
    let run = harness.run(&["apply", "corrupt.json", "--yes"]).await;
    assert_refused(&harness, &run, "is not a usable plan");
    // Conflicting flags: clap's usage error, exit 2.
    let run = harness
        .run(&[
            "unlock-s3-bucket-policy",
            "--bucket",
            "b",
            "--find-deny-all",
            "--yes",
        ])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: the argument"),
        "{}",
        run.stderr
    );
    assert_eq!(harness.emulator.stats().mutating_requests(), 0);
}

#[tokio::test]
async fn a_failed_canary_exits_4_and_stops_the_run() {
    let harness = Harness::new(org(60)).await;
    let blocked = harness.scp_ou_path();
    // The canary is the first accounts by ID; put an SCP on the first member.
    let mut members: Vec<String> = harness.members().iter().map(|a| a.id.clone()).collect();
    members.sort();
    harness
        .emulator
        .modify_scenario(|scenario| {
            scenario
                .accounts
                .iter_mut()
                .find(|a| a.id == members[0])
                .expect("account")
                .scp_denies_root = true;
        })
        .expect("valid");
    let run = harness
        .run(&[
            "delete-credentials",
            "--yes",
            "--canary",
            "3",
            "--exclude-ou",
            &blocked,
        ])
        .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.summary()["stopped"]["kind"], "canary");
    let started = run
        .accounts()
        .iter()
        .filter(|r| r["started_at"].is_string())
        .count();
    assert_eq!(started, 3);
}

#[tokio::test]
async fn max_failures_exits_4() {
    let harness = Harness::new(org(120)).await;
    let run = harness
        .run(&["audit", "--max-failures", "2", "--concurrency", "2"])
        .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.summary()["stopped"]["kind"], "max_failures");
    assert!(run.accounts().iter().any(|r| r["status"] == "cancelled"));
}

#[tokio::test]
async fn max_accounts_and_a_plan_for_another_org_are_refused() {
    let harness = Harness::new(org(40)).await;
    let run = harness
        .run(&["delete-credentials", "--yes", "--max-accounts", "5"])
        .await;
    assert_refused(&harness, &run, "more than --max-accounts 5");

    let plan = format!(
        r#"{{"kind":"rootsweep-plan","schema":1,"created_at":"x","rootsweep_version":"0","run_id":"r","organization_id":"o-someoneelse","task":"delete-credentials","accounts":[{{"account_id":"{}","delete":{{}}}}]}}"#,
        harness.members()[0].id
    );
    std::fs::write(harness.path("other.json"), plan).expect("writes");
    let run = harness.run(&["apply", "other.json", "--yes"]).await;
    assert_refused(
        &harness,
        &run,
        "the plan was made for organization o-someoneelse",
    );
}

#[tokio::test]
async fn protected_accounts_are_never_changed() {
    let harness = Harness::new(org(40)).await;
    let protected = harness
        .members()
        .iter()
        .find(|a| !a.root.is_empty() && a.parent_id != "x")
        .expect("member")
        .id
        .clone();
    std::fs::write(
        harness.path("rootsweep.toml"),
        format!("protected_accounts = [\"{protected}\"]\n"),
    )
    .expect("writes");
    let run = harness
        .run(&["delete-credentials", "--yes", "--accounts", &protected])
        .await;
    let record = &run.accounts()[0];
    assert_eq!(record["status"], "skipped", "{record}");
    assert_eq!(record["skip_reason"]["kind"], "protected");
    assert_eq!(harness.emulator.stats().mutating_requests(), 0);
    // An audit still reads it.
    let run = harness.run(&["audit", "--accounts", &protected]).await;
    assert_ne!(run.accounts()[0]["status"], "skipped");
    let _ = read;
}

#[tokio::test]
async fn an_interrupt_finishes_accounts_in_flight_and_exits_130() {
    let load = LoadProfile {
        latency: Some(Latency {
            median_ms: 100.0,
            p99_ms: 100.0,
        }),
        ..LoadProfile::default()
    };
    let harness = Harness::with_load(org(200), load).await;
    let mut child = harness
        .command(&["audit", "--concurrency", "4"])
        .spawn()
        .expect("spawns");
    let pid = child.id().expect("pid");
    // Interrupt once the first account that was worked on has finished.
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    while let Some(line) = stdout.next_line().await.expect("reads") {
        let worked_on = line.contains("\"started_at\"");
        seen.push(line);
        if worked_on {
            break;
        }
    }
    let status = tokio::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await
        .expect("kill");
    assert!(status.success());
    while let Some(line) = stdout.next_line().await.expect("reads") {
        seen.push(line);
    }
    let output = child.wait_with_output().await.expect("exits");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: seen.join("\n"),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    };
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("interrupted: finishing the accounts in flight")
    );
    let records = run.accounts();
    assert_eq!(
        records.len(),
        200,
        "every account still has exactly one record"
    );
    assert!(records.iter().any(|r| r["status"] == "cancelled"));
    assert_eq!(run.summary()["stopped"]["kind"], "interrupted");
}

#[tokio::test]
async fn an_interrupt_before_the_run_starts_changes_nothing() {
    let load = LoadProfile {
        latency: Some(Latency {
            median_ms: 400.0,
            p99_ms: 400.0,
        }),
        ..LoadProfile::default()
    };
    let harness = Harness::with_load(org(30), load).await;
    let child = harness
        .command(&["delete-credentials", "--yes"])
        .spawn()
        .expect("spawns");
    let pid = child.id().expect("pid");
    // Discovery is under way (every call takes 400 ms).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    tokio::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await
        .expect("kill");
    let output = child.wait_with_output().await.expect("exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(harness.emulator.stats().mutating_requests(), 0);
}

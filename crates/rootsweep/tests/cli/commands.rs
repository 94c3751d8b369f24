//! Every command and its exit codes.

use rootsweep_emulator::ScenarioSpec;

use crate::harness::{Harness, org, read};

#[tokio::test]
async fn doctor_passes_on_a_ready_org_and_explains_what_is_missing() {
    let harness = Harness::new(org(40)).await;
    let run = harness.run(&["doctor", "--output", "table"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("Everything rootsweep needs is in place"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("AssumeRoot (IAMAuditRootUserCredentials) and GetAccountSummary work")
    );

    let disabled = Harness::new(ScenarioSpec {
        features_enabled: false,
        delegated_admin: false,
        ..org(20)
    })
    .await;
    let run = disabled.run(&["doctor", "--output", "jsonl"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let checks: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect();
    let trusted = checks
        .iter()
        .find(|check| check["check"] == "trusted access")
        .expect("check");
    assert_eq!(trusted["result"], "fail");
    assert!(
        trusted["fix"]
            .as_str()
            .is_some_and(|fix| fix.contains("rootsweep enable"))
    );
}

#[tokio::test]
async fn doctor_names_an_scp_that_blocks_root_sessions() {
    let harness = Harness::new(org(120)).await;
    let blocked = harness
        .scenario
        .accounts
        .iter()
        .find(|account| {
            account.state == "ACTIVE"
                && harness
                    .scenario
                    .organizational_units
                    .iter()
                    .any(|ou| ou.scp_denies_root && ou.id == account.parent_id)
        })
        .expect("an account under the SCP");
    let run = harness
        .run(&[
            "doctor",
            "--output",
            "table",
            "--probe-account",
            &blocked.id,
        ])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains("an SCP denies root sessions"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("aws:AssumedRoot"));
}

#[tokio::test]
async fn enable_turns_everything_on_once() {
    let harness = Harness::new(ScenarioSpec {
        features_enabled: false,
        delegated_admin: false,
        ..org(20)
    })
    .await;
    let member = harness.members()[0].id.clone();
    let run = harness.run(&["enable"]).await;
    assert_eq!(run.code, 2, "no terminal and no --yes: {run:?}");
    assert_eq!(harness.emulator.stats().requests, 0);

    let run = harness
        .run(&["enable", "--yes", "--delegated-admin", &member])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("enabled RootSessions"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!("registered {member}")));
    let run = harness.run(&["enable", "--yes"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("already enabled"), "{}", run.stdout);
    assert_eq!(harness.run(&["doctor"]).await.code, 0);
}

#[tokio::test]
async fn targets_lists_the_selection_without_assuming_anything() {
    let harness = Harness::new(org(60)).await;
    let run = harness.run(&["targets", "--output", "jsonl"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let rows = run.records("target");
    assert_eq!(rows.len(), 60);
    assert_eq!(
        rows.iter().filter(|row| row["target"] == false).count(),
        60 - harness.members().len()
    );
    assert_eq!(harness.emulator.stats().calls("sts:AssumeRoot"), 0);
    let run = harness
        .run(&["targets", "--output", "table", "--ou", "/Security"])
        .await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("security-tooling"), "{}", run.stdout);
}

#[tokio::test]
async fn audit_exits_1_when_non_compliant_3_when_denied_and_0_when_clean() {
    let harness = Harness::new(org(80)).await;
    let scp = harness.scp_ou_path();
    let run = harness.run(&["audit"]).await;
    assert_eq!(run.code, 3, "denied accounts: {}", run.stderr);
    let run = harness.run(&["audit", "--exclude-ou", &scp]).await;
    assert_eq!(run.code, 1, "non-compliant accounts: {}", run.stderr);
    let clean: Vec<String> = harness
        .members()
        .iter()
        .filter(|account| account.root.is_empty())
        .take(3)
        .map(|account| account.id.clone())
        .collect();
    let run = harness
        .run(&["audit", "--accounts", &clean.join(",")])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.accounts()
            .iter()
            .all(|record| record["status"] == "compliant")
    );
}

#[tokio::test]
async fn delete_then_audit_again_finds_nothing() {
    let harness = Harness::new(org(80)).await;
    let scp = harness.scp_ou_path();
    let run = harness
        .run(&["delete-credentials", "--yes", "--exclude-ou", &scp])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.accounts()
            .iter()
            .any(|record| record["status"] == "remediated")
    );
    let run = harness.run(&["audit", "--exclude-ou", &scp]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[tokio::test]
async fn a_dry_run_plan_is_applied_exactly() {
    let harness = Harness::new(org(60)).await;
    let scp = harness.scp_ou_path();
    let plan = harness.path("plan.json");
    let plan_text = plan.to_str().expect("utf-8");
    let run = harness
        .run(&[
            "delete-credentials",
            "--plan-out",
            plan_text,
            "--exclude-ou",
            &scp,
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        harness.emulator.stats().mutating_requests(),
        0,
        "a dry run changes nothing"
    );
    let planned = run
        .accounts()
        .iter()
        .filter(|record| record["status"] == "planned")
        .count();
    let document: serde_json::Value = serde_json::from_str(&read(&plan)).expect("plan is JSON");
    assert_eq!(
        document["accounts"].as_array().expect("accounts").len(),
        planned
    );
    assert!(run.stderr.contains("rootsweep apply"), "{}", run.stderr);

    let run = harness.run(&["apply", plan_text, "--yes"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.accounts();
    assert_eq!(records.len(), planned);
    assert!(
        records
            .iter()
            .all(|record| record["status"] == "remediated"),
        "{}",
        run.stdout
    );
    // Applying again: nothing planned is left, and drift is reported.
    let run = harness.run(&["apply", plan_text, "--yes"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.accounts()
            .iter()
            .all(|record| record["status"] == "already_compliant")
    );
}

#[tokio::test]
async fn recovery_and_unlocks_run_through_the_cli() {
    let harness = Harness::new(ScenarioSpec {
        bucket_share: 0.6,
        locked_bucket_share: 0.5,
        queue_share: 0.6,
        locked_queue_share: 0.5,
        ..org(60)
    })
    .await;
    let scp = harness.scp_ou_path();
    let run = harness
        .run(&["allow-password-recovery", "--yes", "--exclude-ou", &scp])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.accounts()
            .iter()
            .any(|record| record["status"] == "recovery_allowed")
    );

    let run = harness
        .run(&[
            "unlock-s3-bucket-policy",
            "--find-deny-all",
            "--yes",
            "--exclude-ou",
            &scp,
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let unlocked = run
        .accounts()
        .into_iter()
        .filter(|record| record["status"] == "unlocked")
        .count();
    assert!(unlocked > 0);

    let run = harness
        .run(&[
            "unlock-sqs-queue-policy",
            "--find-deny-all",
            "--regions",
            "us-east-1,eu-west-1,ap-southeast-2",
            "--yes",
            "--exclude-ou",
            &scp,
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.accounts();
    let removed: Vec<&serde_json::Value> = records
        .iter()
        .filter(|record| record["status"] == "unlocked")
        .collect();
    assert!(!removed.is_empty());
    // The removed policy's text is in the record.
    let resource = &removed[0]["details"]["unlock"]["resources"];
    assert!(resource.as_array().expect("resources").iter().any(|r| {
        r["previous_policy"]
            .as_str()
            .is_some_and(|p| p.contains("DenyEveryone"))
    }));
}

#[tokio::test]
async fn completions_man_and_version() {
    let harness = Harness::new(org(10)).await;
    let run = harness.run(&["completions", "bash"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("_rootsweep()"));
    let run = harness.run(&["man"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains(".TH rootsweep"));
    let run = harness.run(&["--version"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("rootsweep "));
}

#[tokio::test]
async fn the_demo_sweeps_an_emulated_org_end_to_end() {
    let harness = Harness::new(org(10)).await;
    let mut command = harness.command(&["demo", "--accounts", "40", "--latency-ms", "1"]);
    // The demo needs no AWS credentials at all.
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_ENDPOINT_URL");
    let output = command.output().await.expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for step in [
        "rootsweep doctor",
        "rootsweep audit",
        "--dry-run --plan-out",
        "delete-credentials --yes",
        "unlock-s3-bucket-policy",
    ] {
        assert!(stderr.contains(step), "{step}: {stderr}");
    }
    assert!(stderr.contains("Against a real organization you need"));
}

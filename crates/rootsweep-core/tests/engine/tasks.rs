//! Every task on a generated org of 250 accounts, checked against the emulator's own state.

use std::collections::BTreeSet;

use rootsweep_core::outcome::{ActionResult, UnlockResult};
use rootsweep_core::{
    CredentialKind, DeleteOptions, Details, ErrorClass, Status, Task, UnlockS3Options,
    UnlockSqsOptions,
};
use rootsweep_emulator::{Fidelity, MfaKind, ScenarioSpec};

use crate::fixture::Fixture;

fn org() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 250,
        seed: 21,
        access_key_share: 0.3,
        signing_certificate_share: 0.1,
        bucket_share: 0.5,
        locked_bucket_share: 0.3,
        queue_share: 0.4,
        locked_queue_share: 0.4,
        ..ScenarioSpec::default()
    }
}

#[tokio::test]
async fn audit_inventories_equal_the_emulators_state() {
    let fixture = Fixture::new(org()).await;
    let (summary, recording) = fixture.run(Task::Audit).await;
    let denied = fixture.scp_denied_accounts();
    assert!(!denied.is_empty());
    for account in &fixture.scenario.accounts {
        let outcome = &recording.outcomes[&account.id];
        if account.id == fixture.scenario.management_account_id || account.state != "ACTIVE" {
            assert_eq!(outcome.status, Status::Skipped, "{}", account.id);
            continue;
        }
        if denied.contains(&account.id) {
            assert_eq!(outcome.status, Status::Denied, "{}", account.id);
            let error = outcome.error.as_ref().expect("error recorded");
            assert_eq!(error.class, ErrorClass::DeniedByScp);
            assert!(error.message.contains("service control policy"));
            continue;
        }
        let Some(Details::Audit(inventory)) = &outcome.details else {
            panic!("{}: no inventory: {outcome:?}", account.id);
        };
        let root = &account.root;
        assert_eq!(
            inventory.password.is_some(),
            root.login_profile.as_ref().is_some_and(|p| p.password_set),
            "{}",
            account.id
        );
        let keys: Vec<&str> = inventory
            .access_keys
            .iter()
            .map(|key| key.id.as_str())
            .collect();
        let expected: Vec<&str> = root.access_keys.iter().map(|key| key.id.as_str()).collect();
        assert_eq!(keys, expected, "{}", account.id);
        let certificates: Vec<&str> = inventory
            .signing_certificates
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let expected: Vec<&str> = root
            .signing_certificates
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(certificates, expected, "{}", account.id);
        let devices: Vec<&str> = inventory
            .mfa_devices
            .iter()
            .map(|d| d.serial.as_str())
            .collect();
        let expected: Vec<&str> = root.mfa_devices.iter().map(|d| d.serial.as_str()).collect();
        assert_eq!(devices, expected, "{}", account.id);
        let expected_status = if root.is_empty() {
            Status::Compliant
        } else {
            Status::NonCompliant
        };
        assert_eq!(outcome.status, expected_status, "{}", account.id);
        // A clean account costs one AssumeRoot and one GetAccountSummary.
        if root.is_empty() {
            assert_eq!(outcome.calls, 2, "{}", account.id);
        }
    }
    assert!(summary.counts.get(Status::NonCompliant) > 50);
    assert!(summary.counts.get(Status::Compliant) > 50);
    // An audit changes nothing.
    assert_eq!(fixture.emulator.stats().mutating_requests(), 0);
}

#[tokio::test]
async fn delete_leaves_no_credential_on_any_remediated_account() {
    let fixture = Fixture::new(org()).await;
    let (summary, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    let denied = fixture.scp_denied_accounts();
    for outcome in recording.outcomes.values() {
        let state = fixture
            .emulator
            .account(outcome.account_id.as_str())
            .expect("account");
        let before = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == outcome.account_id.as_str())
            .expect("account");
        match outcome.status {
            Status::Remediated => {
                assert!(
                    state.root.is_empty(),
                    "{}: {:?}",
                    outcome.account_id,
                    state.root
                );
                let Some(Details::DeleteCredentials(details)) = &outcome.details else {
                    panic!("details")
                };
                assert!(details.after.as_ref().is_some_and(|after| after.is_empty()));
                assert!(!details.actions.is_empty());
                // Virtual MFA devices: deactivated; deleting the device is denied by the task
                // policy's text, which the record says.
                let virtual_devices = before
                    .root
                    .mfa_devices
                    .iter()
                    .filter(|d| d.kind == MfaKind::Virtual)
                    .count();
                assert_eq!(
                    state.root.unassigned_virtual_mfa_devices.len(),
                    virtual_devices
                );
                assert_eq!(details.warnings.len(), virtual_devices, "{details:?}");
            }
            Status::AlreadyCompliant => assert!(before.root.is_empty()),
            Status::Skipped => {
                assert_eq!(state.root, before.root, "skipped accounts are untouched")
            }
            Status::Denied => {
                assert!(denied.contains(&outcome.account_id.to_string()));
                assert_eq!(state.root, before.root, "denied accounts are untouched");
            }
            other => panic!("{}: unexpected {other}: {outcome:?}", outcome.account_id),
        }
    }
    assert!(summary.counts.get(Status::Remediated) > 50);
    // Mutating calls happened only in accounts that were remediated.
    let stats = fixture.emulator.stats();
    for account in stats.mutating_requests_by_account.keys() {
        assert_eq!(
            recording.outcomes[account].status,
            Status::Remediated,
            "{account}"
        );
    }
}

#[tokio::test]
async fn virtual_mfa_devices_are_deleted_where_aws_allows_it() {
    let scenario = ScenarioSpec {
        accounts: 60,
        virtual_mfa_share: 0.9,
        ..org()
    }
    .generate()
    .expect("generates");
    let config = rootsweep_emulator::EmulatorConfig::new(scenario).with_fidelity(Fidelity {
        virtual_mfa_delete_allowed: true,
        ..Fidelity::default()
    });
    let fixture = Fixture::with_config(config).await;
    let (_, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    let remediated = recording.with_status(Status::Remediated);
    assert!(!remediated.is_empty());
    for outcome in remediated {
        let state = fixture
            .emulator
            .account(outcome.account_id.as_str())
            .expect("account");
        assert!(state.root.unassigned_virtual_mfa_devices.is_empty());
        let Some(Details::DeleteCredentials(details)) = &outcome.details else {
            panic!("details")
        };
        assert!(details.warnings.is_empty());
    }
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_kinds_limit_the_deletion() {
    let fixture = Fixture::new(org()).await;
    let dry_run = DeleteOptions {
        dry_run: true,
        ..DeleteOptions::default()
    };
    let (summary, recording) = fixture.run(Task::DeleteCredentials(dry_run)).await;
    assert_eq!(fixture.emulator.stats().mutating_requests(), 0);
    assert!(summary.counts.get(Status::Planned) > 50);
    for outcome in recording.with_status(Status::Planned) {
        let Some(Details::DeleteCredentials(details)) = &outcome.details else {
            panic!("details")
        };
        assert!(
            details
                .actions
                .iter()
                .all(|action| action.result == ActionResult::Planned)
        );
        assert!(!details.before.is_empty());
    }

    let keys_only = DeleteOptions {
        kinds: BTreeSet::from([CredentialKind::AccessKeys]),
        ..DeleteOptions::default()
    };
    let (_, recording) = fixture.run(Task::DeleteCredentials(keys_only)).await;
    for outcome in recording.with_status(Status::Remediated) {
        let state = fixture
            .emulator
            .account(outcome.account_id.as_str())
            .expect("account");
        let before = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == outcome.account_id.as_str())
            .expect("account");
        assert!(state.root.access_keys.is_empty());
        assert_eq!(
            state.root.login_profile, before.root.login_profile,
            "passwords untouched"
        );
        assert_eq!(
            state.root.mfa_devices, before.root.mfa_devices,
            "MFA untouched"
        );
    }
}

#[tokio::test]
async fn a_plan_deletes_exactly_what_it_lists() {
    let fixture = Fixture::new(ScenarioSpec {
        accounts: 40,
        access_key_share: 0.9,
        ..org()
    })
    .await;
    let account = fixture
        .scenario
        .accounts
        .iter()
        .skip(1)
        .find(|a| {
            a.state == "ACTIVE"
                && a.root.access_keys.len() == 2
                && !fixture.scp_denied_accounts().contains(&a.id)
        })
        .expect("an account with two keys")
        .clone();
    let id = rootsweep_core::AccountId::parse(&account.id).expect("valid");
    let planned_key = account.root.access_keys[0].id.clone();
    let mut inventory = rootsweep_core::Inventory::default();
    inventory
        .access_keys
        .push(rootsweep_core::outcome::AccessKeyInfo {
            id: planned_key.clone(),
            status: None,
            created: None,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
        });
    let plan = std::sync::Arc::new(rootsweep_core::DeletionPlan::from([(
        id.clone(),
        inventory,
    )]));
    let selector = rootsweep_core::TargetSelector {
        accounts: vec![id],
        ..Default::default()
    };
    let (_, recording) = fixture
        .run_with(
            Task::DeleteCredentials(DeleteOptions {
                plan: Some(plan),
                ..DeleteOptions::default()
            }),
            &selector,
            rootsweep_core::RunSettings::default(),
            crate::fixture::fast_limits(),
            &rootsweep_core::CancelHandle::new(),
        )
        .await;
    let outcome = &recording.outcomes[&account.id];
    assert_eq!(outcome.status, Status::Remediated, "{outcome:?}");
    let state = fixture.emulator.account(&account.id).expect("account");
    let remaining: Vec<&str> = state
        .root
        .access_keys
        .iter()
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(
        remaining,
        vec![account.root.access_keys[1].id.as_str()],
        "only the planned key is gone"
    );
    assert_eq!(state.root.login_profile, account.root.login_profile);
    let Some(Details::DeleteCredentials(details)) = &outcome.details else {
        panic!("details")
    };
    assert_eq!(details.unplanned.access_keys.len(), 1);
    assert!(
        outcome.summary.contains("not in the plan"),
        "{}",
        outcome.summary
    );
}

#[tokio::test]
async fn recovery_creates_login_profiles_only_where_none_exist() {
    let fixture = Fixture::new(org()).await;
    let (_, recording) = fixture
        .run(Task::AllowPasswordRecovery { dry_run: false })
        .await;
    for outcome in recording.outcomes.values() {
        let before = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == outcome.account_id.as_str())
            .expect("account");
        let state = fixture
            .emulator
            .account(outcome.account_id.as_str())
            .expect("account");
        match outcome.status {
            Status::RecoveryAllowed => {
                assert!(before.root.login_profile.is_none());
                assert_eq!(
                    state.root.login_profile.map(|p| p.password_set),
                    Some(false)
                );
            }
            Status::AlreadyAllowed => {
                assert!(before.root.login_profile.is_some());
                assert_eq!(state.root.login_profile, before.root.login_profile);
            }
            Status::Skipped | Status::Denied => assert_eq!(state.root, before.root),
            other => panic!("unexpected {other}: {outcome:?}"),
        }
    }
    assert!(!recording.with_status(Status::RecoveryAllowed).is_empty());
    // Running it again is harmless and says so.
    let (_, again) = fixture
        .run(Task::AllowPasswordRecovery { dry_run: false })
        .await;
    assert!(again.with_status(Status::RecoveryAllowed).is_empty());
}

#[tokio::test]
async fn s3_unlock_removes_exactly_the_deny_all_policies_and_keeps_their_text() {
    let fixture = Fixture::new(org()).await;
    let (_, recording) = fixture
        .run(Task::UnlockS3BucketPolicy(UnlockS3Options::default()))
        .await;
    let mut removed = 0;
    for outcome in recording.outcomes.values() {
        let before = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == outcome.account_id.as_str())
            .expect("account");
        let state = fixture
            .emulator
            .account(outcome.account_id.as_str())
            .expect("account");
        if !matches!(outcome.status, Status::Unlocked | Status::NoPolicy) {
            assert_eq!(state.buckets, before.buckets, "{outcome:?}");
            continue;
        }
        for (old, new) in before.buckets.iter().zip(&state.buckets) {
            let locked = old
                .policy
                .as_deref()
                .is_some_and(|p| p.contains("DenyEveryone"));
            if locked {
                assert!(new.policy.is_none(), "{} still locked", old.name);
                let Some(Details::Unlock(details)) = &outcome.details else {
                    panic!("details")
                };
                let record = details
                    .resources
                    .iter()
                    .find(|r| r.resource == old.name)
                    .expect("recorded");
                assert_eq!(record.result, UnlockResult::Removed);
                assert_eq!(
                    record.previous_policy, old.policy,
                    "the removed policy is kept whole"
                );
                assert_eq!(record.region.as_deref(), Some(old.region.as_str()));
                removed += 1;
            } else {
                assert_eq!(new.policy, old.policy, "{} changed", old.name);
            }
        }
    }
    assert!(removed > 10, "{removed}");
}

#[tokio::test]
async fn a_named_bucket_is_unlocked_whatever_its_policy_says() {
    let fixture = Fixture::new(org()).await;
    let denied = fixture.scp_denied_accounts();
    let (account, bucket) = fixture
        .scenario
        .accounts
        .iter()
        .filter(|a| a.state == "ACTIVE" && !denied.contains(&a.id))
        .find_map(|a| {
            a.buckets
                .iter()
                .find(|b| {
                    b.policy
                        .as_deref()
                        .is_some_and(|p| !p.contains("DenyEveryone"))
                })
                .map(|b| (a.id.clone(), b.clone()))
        })
        .expect("an ordinary bucket policy");
    let selector = rootsweep_core::TargetSelector {
        accounts: vec![rootsweep_core::AccountId::parse(&account).expect("valid")],
        ..Default::default()
    };
    let options = UnlockS3Options {
        bucket: Some(bucket.name.clone()),
        ..UnlockS3Options::default()
    };
    let (_, recording) = fixture
        .run_with(
            Task::UnlockS3BucketPolicy(options),
            &selector,
            rootsweep_core::RunSettings::default(),
            crate::fixture::fast_limits(),
            &rootsweep_core::CancelHandle::new(),
        )
        .await;
    assert_eq!(recording.outcomes[&account].status, Status::Unlocked);
    let state = fixture.emulator.account(&account).expect("account");
    assert!(
        state
            .buckets
            .iter()
            .find(|b| b.name == bucket.name)
            .expect("bucket")
            .policy
            .is_none()
    );
}

#[tokio::test]
async fn sqs_unlock_searches_each_region_and_removes_only_deny_all_policies() {
    let fixture = Fixture::new(org()).await;
    let regions = vec![
        "us-east-1".to_string(),
        "eu-west-1".to_string(),
        "ap-southeast-2".to_string(),
    ];
    let options = UnlockSqsOptions {
        regions,
        ..UnlockSqsOptions::default()
    };
    let (_, recording) = fixture.run(Task::UnlockSqsQueuePolicy(options)).await;
    let mut removed = 0;
    for outcome in recording
        .with_status(Status::Unlocked)
        .into_iter()
        .chain(recording.with_status(Status::NoPolicy))
    {
        let before = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == outcome.account_id.as_str())
            .expect("account");
        let state = fixture
            .emulator
            .account(outcome.account_id.as_str())
            .expect("account");
        for (old, new) in before.queues.iter().zip(&state.queues) {
            if old
                .policy
                .as_deref()
                .is_some_and(|p| p.contains("DenyEveryone"))
            {
                assert!(new.policy.is_none(), "{} still locked", old.name);
                let Some(Details::Unlock(details)) = &outcome.details else {
                    panic!("details")
                };
                let record = details
                    .resources
                    .iter()
                    .find(|r| {
                        r.resource.ends_with(&format!("/{}", old.name))
                            && r.region.as_deref() == Some(old.region.as_str())
                    })
                    .expect("recorded");
                assert_eq!(record.previous_policy, old.policy);
                removed += 1;
            } else {
                assert_eq!(new.policy, old.policy);
            }
        }
    }
    assert!(removed > 10, "{removed}");
}

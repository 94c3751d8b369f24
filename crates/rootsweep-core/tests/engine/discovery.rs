//! Discovery: filters, skipped accounts, and errors before any change.

use rootsweep_core::outcome::SkipReason;
use rootsweep_core::{AccountId, DiscoveryError, Limits, TargetSelector, discover};
use rootsweep_emulator::{LoadProfile, ScenarioSpec};

use crate::fixture::{Fixture, fast_limits};

fn org() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 300,
        seed: 5,
        ..ScenarioSpec::default()
    }
}

fn id(text: &str) -> AccountId {
    AccountId::parse(text).expect("valid")
}

#[tokio::test]
async fn every_account_is_a_target_or_skipped_with_a_reason() {
    let fixture = Fixture::with_load(
        org(),
        LoadProfile {
            short_pages: true,
            ..LoadProfile::default()
        },
    )
    .await;
    let limits = Limits::new(fast_limits()).expect("limits");
    let targets = fixture.targets(&limits, &TargetSelector::default()).await;
    assert_eq!(targets.accounts.len(), fixture.scenario.accounts.len());
    assert_eq!(
        targets.organization.management_account_id.as_str(),
        fixture.scenario.management_account_id
    );
    for target in &targets.accounts {
        let account = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == target.account.id.as_str())
            .expect("known");
        let expected = if account.id == fixture.scenario.management_account_id {
            Some(SkipReason::ManagementAccount)
        } else if account.state != "ACTIVE" {
            Some(SkipReason::NotActive {
                state: account.state.clone(),
            })
        } else {
            None
        };
        assert_eq!(target.skip, expected, "{}", account.id);
        assert!(target.account.ou_path.starts_with('/'));
    }
    // Sorted by ID.
    assert!(
        targets
            .accounts
            .windows(2)
            .all(|pair| pair[0].account.id < pair[1].account.id)
    );
}

#[tokio::test]
async fn ous_tags_exclusions_and_protection_filter() {
    let fixture = Fixture::new(org()).await;
    let limits = Limits::new(fast_limits()).expect("limits");
    let workloads = fixture
        .scenario
        .organizational_units
        .iter()
        .find(|ou| ou.name == "Workloads")
        .expect("ou")
        .id
        .clone();
    let by_id = fixture
        .targets(
            &limits,
            &TargetSelector {
                organizational_units: vec![workloads.clone()],
                ..Default::default()
            },
        )
        .await;
    let by_path = fixture
        .targets(
            &limits,
            &TargetSelector {
                organizational_units: vec!["/Workloads".into()],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(by_id, by_path);
    assert!(
        by_id
            .accounts
            .iter()
            .all(|t| t.account.ou_path.starts_with("/Workloads"))
    );
    assert!(by_id.accounts.len() > 100);

    let prod = fixture
        .targets(
            &limits,
            &TargetSelector {
                tags: vec![("environment".into(), "prod".into())],
                ..Default::default()
            },
        )
        .await;
    assert!(!prod.accounts.is_empty());
    for target in &prod.accounts {
        let account = fixture
            .scenario
            .accounts
            .iter()
            .find(|a| a.id == target.account.id.as_str())
            .expect("known");
        assert_eq!(
            account.tags.get("environment").map(String::as_str),
            Some("prod")
        );
    }
    let expected = fixture
        .scenario
        .accounts
        .iter()
        .filter(|a| a.tags.get("environment").is_some_and(|e| e == "prod"))
        .count();
    assert_eq!(prod.accounts.len(), expected);

    let mut outside_legacy = by_id
        .active()
        .filter(|t| !t.account.ou_path.starts_with("/Workloads/Legacy"));
    let first = outside_legacy
        .next()
        .expect("an active account")
        .account
        .id
        .clone();
    let second = outside_legacy.next().expect("another").account.id.clone();
    let filtered = fixture
        .targets(
            &limits,
            &TargetSelector {
                organizational_units: vec![workloads],
                exclude_accounts: vec![first.clone()],
                protected_accounts: vec![second.clone()],
                exclude_organizational_units: vec!["/Workloads/Legacy".into()],
                ..Default::default()
            },
        )
        .await;
    let skip_of = |account: &AccountId| {
        filtered
            .accounts
            .iter()
            .find(|t| &t.account.id == account)
            .and_then(|t| t.skip.clone())
    };
    assert_eq!(skip_of(&first), Some(SkipReason::Excluded));
    assert_eq!(skip_of(&second), Some(SkipReason::Protected));
    assert!(
        filtered
            .accounts
            .iter()
            .filter(|t| t.account.ou_path.starts_with("/Workloads/Legacy"))
            .all(|t| t.skip == Some(SkipReason::Excluded))
    );
}

#[tokio::test]
async fn unknown_accounts_and_ous_are_errors_before_anything_happens() {
    let fixture = Fixture::new(org()).await;
    let limits = Limits::new(fast_limits()).expect("limits");
    let selector = TargetSelector {
        accounts: vec![id("999999999999"), id(&fixture.scenario.accounts[3].id)],
        ..Default::default()
    };
    let error = discover(&fixture.aws, &limits, &selector, |_| {})
        .await
        .expect_err("unknown account");
    assert!(matches!(&error, DiscoveryError::UnknownAccounts(ids) if ids == &[id("999999999999")]));
    assert_eq!(
        error.to_string(),
        "this account is not in the organization: 999999999999"
    );

    let selector = TargetSelector {
        organizational_units: vec!["ou-nope-12345678".into(), "/No/Such".into()],
        ..Default::default()
    };
    let error = discover(&fixture.aws, &limits, &selector, |_| {})
        .await
        .expect_err("unknown OU");
    assert!(
        error.to_string().contains("ou-nope-12345678, /No/Such"),
        "{error}"
    );
    assert_eq!(fixture.emulator.stats().mutating_requests(), 0);
}

#[tokio::test]
async fn a_member_account_may_not_discover() {
    let fixture = Fixture::new(org()).await;
    let member = fixture
        .scenario
        .principal(rootsweep_emulator::labels::MEMBER_USER)
        .expect("member")
        .clone();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(fixture.emulator.endpoint_url())
        .credentials_provider(aws_credential_types::Credentials::new(
            &member.access_key_id,
            &member.secret_access_key,
            None,
            None,
            "test",
        ))
        .load()
        .await;
    let aws =
        rootsweep_core::AwsContext::new(&sdk, rootsweep_core::Timeouts::default()).expect("valid");
    let limits = Limits::new(fast_limits()).expect("limits");
    let error = discover(&aws, &limits, &TargetSelector::default(), |_| {})
        .await
        .expect_err("denied");
    assert!(
        matches!(error, DiscoveryError::NotAuthorized(_)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("management account or the IAM delegated administrator")
    );
}

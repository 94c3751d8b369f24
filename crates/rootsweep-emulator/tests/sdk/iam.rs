//! IAM: organization features and the root-credential operations of aws-facts.md §3, as a
//! root session makes them (UserName omitted), with task-policy and SCP denials.

use aws_sdk_iam::types::{FeatureType, SummaryKeyType};
use rootsweep_emulator::{EmulatorConfig, Fidelity, MfaKind, ScenarioSpec, labels};

use crate::fixture::{Fixture, code, message};

#[tokio::test]
async fn organization_features_are_listed_and_toggled_by_the_management_account() {
    let fixture = Fixture::new().await;
    let iam = aws_sdk_iam::Client::new(&fixture.operator().await);
    let features = iam
        .list_organizations_features()
        .send()
        .await
        .expect("lists");
    assert_eq!(
        features.organization_id(),
        Some(fixture.scenario.organization_id.as_str())
    );
    assert!(
        features
            .enabled_features()
            .contains(&FeatureType::RootSessions)
    );

    let disabled = iam
        .disable_organizations_root_sessions()
        .send()
        .await
        .expect("disables");
    assert!(
        !disabled
            .enabled_features()
            .contains(&FeatureType::RootSessions)
    );
    let enabled = iam
        .enable_organizations_root_sessions()
        .send()
        .await
        .expect("enables");
    assert!(
        enabled
            .enabled_features()
            .contains(&FeatureType::RootSessions)
    );
    iam.enable_organizations_root_credentials_management()
        .send()
        .await
        .expect("idempotent");

    // The delegated admin may list but not enable.
    let admin = aws_sdk_iam::Client::new(&fixture.config_for(labels::DELEGATED_ADMIN).await);
    admin
        .list_organizations_features()
        .send()
        .await
        .expect("delegated admin lists");
    let error = admin
        .enable_organizations_root_sessions()
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        code(&error).as_deref(),
        Some("CallerIsNotManagementAccountException")
    );
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_caller_is_not_management_account_exception())
    );

    let member = aws_sdk_iam::Client::new(&fixture.config_for(labels::MEMBER_USER).await);
    let error = member
        .list_organizations_features()
        .send()
        .await
        .expect_err("refused");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_account_not_management_or_delegated_administrator_exception())
    );
}

#[tokio::test]
async fn feature_errors_can_arrive_unsuffixed() {
    let scenario = ScenarioSpec {
        accounts: 10,
        features_enabled: false,
        delegated_admin: false,
        ..ScenarioSpec::default()
    }
    .generate()
    .expect("generates");
    let fixture = Fixture::with_config(EmulatorConfig::new(scenario).with_fidelity(Fidelity {
        unsuffixed_iam_feature_errors: true,
        ..Fidelity::default()
    }))
    .await;
    let iam = aws_sdk_iam::Client::new(&fixture.operator().await);
    let error = iam
        .list_organizations_features()
        .send()
        .await
        .expect_err("no trusted access");
    assert_eq!(code(&error).as_deref(), Some("ServiceAccessNotEnabled"));
    // The SDK only knows the suffixed form, so this one is Unhandled.
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| !e.is_service_access_not_enabled_exception())
    );
}

#[tokio::test]
async fn the_audit_session_reads_every_kind_of_root_credential() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 300,
        access_key_share: 0.5,
        signing_certificate_share: 0.5,
        hardware_mfa_share: 0.5,
        ..ScenarioSpec::default()
    })
    .await;
    let member = fixture.member(|account| {
        account.root.login_profile.is_some()
            && !account.root.access_keys.is_empty()
            && !account.root.signing_certificates.is_empty()
            && !account.root.mfa_devices.is_empty()
    });
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;

    let summary = iam.get_account_summary().send().await.expect("summary");
    let map = summary.summary_map().expect("map");
    for key in [
        SummaryKeyType::AccountMfaEnabled,
        SummaryKeyType::AccountAccessKeysPresent,
        SummaryKeyType::AccountPasswordPresent,
        SummaryKeyType::AccountSigningCertificatesPresent,
    ] {
        assert_eq!(map.get(&key), Some(&1), "{key:?}");
    }

    let profile = iam.get_login_profile().send().await.expect("login profile");
    assert!(profile.login_profile().is_some());

    let keys = iam.list_access_keys().send().await.expect("keys");
    let listed: Vec<_> = keys
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id())
        .collect();
    let expected: Vec<_> = member
        .root
        .access_keys
        .iter()
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(listed, expected);
    let last_used = iam
        .get_access_key_last_used()
        .access_key_id(expected[0])
        .send()
        .await
        .expect("last used");
    assert!(last_used.access_key_last_used().is_some());

    let certificates = iam
        .list_signing_certificates()
        .send()
        .await
        .expect("certificates");
    assert_eq!(
        certificates.certificates().len(),
        member.root.signing_certificates.len()
    );
    assert_eq!(
        certificates.certificates()[0].certificate_id(),
        member.root.signing_certificates[0].id
    );

    let devices = iam.list_mfa_devices().send().await.expect("mfa");
    let serials: Vec<_> = devices
        .mfa_devices()
        .iter()
        .map(|d| d.serial_number())
        .collect();
    let expected: Vec<_> = member
        .root
        .mfa_devices
        .iter()
        .map(|d| d.serial.as_str())
        .collect();
    assert_eq!(serials, expected);

    let user = iam.get_user().send().await.expect("user");
    assert_eq!(
        user.user().map(|u| u.arn()),
        Some(format!("arn:aws:iam::{}:root", member.id).as_str())
    );

    // The audit policy allows no deletes.
    let error = iam.delete_login_profile().send().await.expect_err("denied");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
    assert!(message(&error).contains("session policy"));
    assert_eq!(fixture.emulator.stats().mutations.len(), 0);
}

#[tokio::test]
async fn the_delete_session_removes_every_kind_and_reports_missing_ones() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 300,
        access_key_share: 0.5,
        signing_certificate_share: 0.5,
        ..ScenarioSpec::default()
    })
    .await;
    let member = fixture.member(|account| {
        account.root.login_profile.is_some()
            && !account.root.access_keys.is_empty()
            && !account.root.signing_certificates.is_empty()
            && account
                .root
                .mfa_devices
                .iter()
                .any(|d| d.kind == MfaKind::Virtual)
    });
    let iam = fixture
        .iam_session(&member.id, "IAMDeleteRootUserCredentials")
        .await;

    // The delete policy has no GetAccountSummary.
    let error = iam.get_account_summary().send().await.expect_err("denied");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));

    iam.delete_login_profile()
        .send()
        .await
        .expect("deletes the password");
    let error = iam
        .delete_login_profile()
        .send()
        .await
        .expect_err("already gone");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception())
    );
    assert_eq!(code(&error).as_deref(), Some("NoSuchEntity"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(404));
    let error = iam.get_login_profile().send().await.expect_err("gone");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception())
    );

    for key in &member.root.access_keys {
        iam.delete_access_key()
            .access_key_id(&key.id)
            .send()
            .await
            .expect("deletes key");
    }
    let error = iam
        .delete_access_key()
        .access_key_id(&member.root.access_keys[0].id)
        .send()
        .await
        .expect_err("already gone");
    assert_eq!(code(&error).as_deref(), Some("NoSuchEntity"));

    for certificate in &member.root.signing_certificates {
        iam.delete_signing_certificate()
            .certificate_id(&certificate.id)
            .send()
            .await
            .expect("deletes certificate");
    }

    let virtual_device = member
        .root
        .mfa_devices
        .iter()
        .find(|d| d.kind == MfaKind::Virtual)
        .expect("virtual device");
    let error = iam
        .delete_virtual_mfa_device()
        .serial_number(&virtual_device.serial)
        .send()
        .await
        .expect_err("denied by the task policy text");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
    for device in &member.root.mfa_devices {
        iam.deactivate_mfa_device()
            .serial_number(&device.serial)
            .send()
            .await
            .expect("deactivates");
    }
    assert!(
        iam.list_mfa_devices()
            .send()
            .await
            .expect("lists")
            .mfa_devices()
            .is_empty()
    );
    assert!(
        iam.list_access_keys()
            .send()
            .await
            .expect("lists")
            .access_key_metadata()
            .is_empty()
    );

    let state = fixture.emulator.account(&member.id).expect("account");
    assert!(state.root.is_empty(), "{:?}", state.root);
    // Deactivation leaves the virtual device in the account until it is deleted.
    assert_eq!(
        state.root.unassigned_virtual_mfa_devices,
        vec![virtual_device.serial.clone()]
    );
}

#[tokio::test]
async fn virtual_mfa_devices_can_be_deleted_when_the_fidelity_switch_allows_it() {
    let scenario = ScenarioSpec {
        accounts: 100,
        virtual_mfa_share: 0.9,
        ..ScenarioSpec::default()
    }
    .generate()
    .expect("generates");
    let fixture = Fixture::with_config(EmulatorConfig::new(scenario).with_fidelity(Fidelity {
        virtual_mfa_delete_allowed: true,
        ..Fidelity::default()
    }))
    .await;
    let member = fixture.member(|account| {
        account
            .root
            .mfa_devices
            .iter()
            .any(|d| d.kind == MfaKind::Virtual)
    });
    let serial = member
        .root
        .mfa_devices
        .iter()
        .find(|d| d.kind == MfaKind::Virtual)
        .expect("device")
        .serial
        .clone();
    let iam = fixture
        .iam_session(&member.id, "IAMDeleteRootUserCredentials")
        .await;
    let error = iam
        .delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect_err("still assigned");
    assert_eq!(code(&error).as_deref(), Some("DeleteConflict"));
    iam.deactivate_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect("deactivates");
    iam.delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect("deletes");
    let error = iam
        .delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(code(&error).as_deref(), Some("NoSuchEntity"));
    assert!(
        fixture
            .emulator
            .account(&member.id)
            .expect("account")
            .root
            .unassigned_virtual_mfa_devices
            .is_empty()
    );
}

#[tokio::test]
async fn password_recovery_creates_a_login_profile_once() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|account| account.root.login_profile.is_none());
    let iam = fixture
        .iam_session(&member.id, "IAMCreateRootUserPassword")
        .await;
    iam.create_login_profile()
        .send()
        .await
        .expect("allows recovery");
    let error = iam.create_login_profile().send().await.expect_err("exists");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_entity_already_exists_exception())
    );
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(409));
    let error = iam
        .create_login_profile()
        .password("hunter2hunter2")
        .send()
        .await
        .expect_err("a root session may not set a password");
    assert_eq!(code(&error).as_deref(), Some("InvalidInput"));
    iam.get_login_profile()
        .send()
        .await
        .expect("profile exists");
    let state = fixture.emulator.account(&member.id).expect("account");
    assert_eq!(
        state.root.login_profile.map(|p| p.password_set),
        Some(false)
    );
}

#[tokio::test]
async fn scp_restricted_accounts_deny_every_root_session_call() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 400,
        ..ScenarioSpec::default()
    })
    .await;
    let restricted_ou: Vec<_> = fixture
        .scenario
        .organizational_units
        .iter()
        .filter(|ou| ou.scp_denies_root)
        .map(|ou| ou.id.clone())
        .collect();
    let member = fixture.member(|account| restricted_ou.contains(&account.parent_id));
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let error = iam.get_account_summary().send().await.expect_err("denied");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
    assert!(
        message(&error).contains("explicit deny in a service control policy"),
        "{}",
        message(&error)
    );
    assert!(message(&error).contains(&format!("arn:aws:iam::{}:root", member.id)));
}

#[tokio::test]
async fn a_user_name_is_outside_the_task_policy() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|_| true);
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let error = iam
        .list_access_keys()
        .user_name("alice")
        .send()
        .await
        .expect_err("denied");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn long_term_users_act_on_themselves() {
    // A tool that forgot to use its session would list the operator's own key.
    let fixture = Fixture::new().await;
    let iam = aws_sdk_iam::Client::new(&fixture.operator().await);
    let keys = iam.list_access_keys().send().await.expect("lists");
    let operator = fixture
        .scenario
        .principal(labels::OPERATOR)
        .expect("operator");
    assert_eq!(
        keys.access_key_metadata()[0].access_key_id(),
        Some(operator.access_key_id.as_str())
    );
    assert_eq!(
        keys.access_key_metadata()[0].user_name(),
        Some("rootsweep-operator")
    );
}

#[tokio::test]
async fn iam_lists_page_with_markers() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 200,
        access_key_share: 0.9,
        ..ScenarioSpec::default()
    })
    .await;
    let member = fixture.member(|account| account.root.access_keys.len() == 2);
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let first = iam
        .list_access_keys()
        .max_items(1)
        .send()
        .await
        .expect("page 1");
    assert!(first.is_truncated());
    let second = iam
        .list_access_keys()
        .max_items(1)
        .marker(first.marker().expect("marker"))
        .send()
        .await
        .expect("page 2");
    assert!(!second.is_truncated());
    let all: Vec<_> = iam
        .list_access_keys()
        .max_items(1)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("paginates");
    assert_eq!(all.len(), 2);
    let error = iam
        .list_access_keys()
        .marker("garbage")
        .send()
        .await
        .expect_err("bad marker");
    assert_eq!(code(&error).as_deref(), Some("InvalidInput"));
}

#[tokio::test]
async fn features_need_an_all_features_organization_and_trusted_access() {
    let mut scenario = ScenarioSpec {
        accounts: 10,
        features_enabled: false,
        delegated_admin: false,
        ..ScenarioSpec::default()
    }
    .generate()
    .expect("generates");
    let fixture = Fixture::with_config(EmulatorConfig::new(scenario.clone())).await;
    let iam = aws_sdk_iam::Client::new(&fixture.operator().await);
    let error = iam
        .enable_organizations_root_sessions()
        .send()
        .await
        .expect_err("no trusted access");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_service_access_not_enabled_exception())
    );
    assert_eq!(
        code(&error).as_deref(),
        Some("ServiceAccessNotEnabledException")
    );

    scenario.feature_set = "CONSOLIDATED_BILLING".to_string();
    let fixture = Fixture::with_config(EmulatorConfig::new(scenario)).await;
    let iam = aws_sdk_iam::Client::new(&fixture.operator().await);
    let error = iam
        .list_organizations_features()
        .send()
        .await
        .expect_err("billing-only org");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_organization_not_in_all_features_mode_exception())
    );
}

#[tokio::test]
async fn an_scp_on_the_account_itself_denies_root_sessions() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 40,
        scp_restricted_ous: 0,
        ..ScenarioSpec::default()
    })
    .await;
    let member = fixture.member(|_| true);
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    iam.get_account_summary().send().await.expect("no SCP yet");
    fixture
        .emulator
        .modify_scenario(|scenario| {
            let account = scenario
                .accounts
                .iter_mut()
                .find(|a| a.id == member.id)
                .expect("account");
            account.scp_denies_root = true;
        })
        .expect("valid change");
    let error = iam.get_account_summary().send().await.expect_err("denied");
    assert!(message(&error).contains("explicit deny in a service control policy"));
    // The management account is never subject to SCPs, and other members are unaffected.
    let other = fixture.member(|account| account.id != member.id);
    let other_iam = fixture
        .iam_session(&other.id, "IAMAuditRootUserCredentials")
        .await;
    other_iam
        .get_account_summary()
        .send()
        .await
        .expect("other members unaffected");
}

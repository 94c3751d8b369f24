//! Organizations: discovery reads with AWS's page sizes, trusted access and delegated
//! administrators, and who may call what.

use std::collections::HashSet;

use aws_sdk_organizations::types::{AccountState, ChildType};
use rootsweep_emulator::{LoadProfile, labels};

use crate::fixture::{Fixture, code};

#[tokio::test]
async fn list_accounts_pages_at_twenty_and_returns_every_account() {
    let fixture = Fixture::new().await;
    let organizations = aws_sdk_organizations::Client::new(&fixture.operator().await);
    let first = organizations.list_accounts().send().await.expect("page 1");
    assert_eq!(first.accounts().len(), 20);
    assert!(first.next_token().is_some());
    let error = organizations
        .list_accounts()
        .max_results(21)
        .send()
        .await
        .expect_err("too big");
    assert_eq!(code(&error).as_deref(), Some("InvalidInputException"));
    let error = organizations
        .list_accounts()
        .next_token("garbage")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(code(&error).as_deref(), Some("InvalidInputException"));

    let pages: Vec<_> = organizations
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("paginates");
    let ids: HashSet<String> = pages
        .iter()
        .flat_map(|page| page.accounts())
        .filter_map(|account| account.id().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), fixture.scenario.accounts.len());
    let suspended = pages
        .iter()
        .flat_map(|page| page.accounts())
        .filter(|account| account.state() == Some(&AccountState::Suspended))
        .count();
    let expected = fixture
        .scenario
        .accounts
        .iter()
        .filter(|a| a.state == "SUSPENDED")
        .count();
    assert_eq!(suspended, expected);
}

#[tokio::test]
async fn short_pages_still_reach_every_account_through_next_token() {
    let fixture = Fixture::with_load(LoadProfile {
        short_pages: true,
        ..LoadProfile::default()
    })
    .await;
    let organizations = aws_sdk_organizations::Client::new(&fixture.operator().await);
    let pages: Vec<_> = organizations
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("paginates");
    let total: usize = pages.iter().map(|page| page.accounts().len()).sum();
    assert_eq!(total, fixture.scenario.accounts.len());
    assert!(
        pages.len() > fixture.scenario.accounts.len() / 20,
        "pages were shortened"
    );
}

#[tokio::test]
async fn the_ou_tree_tags_and_parents_are_browsable() {
    let fixture = Fixture::new().await;
    let organizations = aws_sdk_organizations::Client::new(&fixture.operator().await);
    let roots = organizations.list_roots().send().await.expect("roots");
    let root_id = roots.roots()[0].id().expect("id").to_string();
    assert_eq!(root_id, fixture.scenario.root_id);

    // Walk the tree with ListOrganizationalUnitsForParent and ListAccountsForParent.
    let mut parents = vec![root_id.clone()];
    let mut accounts = 0;
    let mut units = 0;
    while let Some(parent) = parents.pop() {
        let children = organizations
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .send()
            .await
            .expect("units");
        for unit in children.organizational_units() {
            units += 1;
            parents.push(unit.id().expect("id").to_string());
        }
        let mut token = None;
        loop {
            let page = organizations
                .list_accounts_for_parent()
                .parent_id(&parent)
                .set_next_token(token)
                .send()
                .await
                .expect("accounts");
            accounts += page.accounts().len();
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    assert_eq!(accounts, fixture.scenario.accounts.len());
    assert_eq!(units, fixture.scenario.organizational_units.len());

    let children = organizations
        .list_children()
        .parent_id(&root_id)
        .child_type(ChildType::OrganizationalUnit)
        .send()
        .await
        .expect("children");
    assert!(!children.children().is_empty());
    let management_parent = fixture.scenario.accounts[0].parent_id.clone();
    let account_children = organizations
        .list_children()
        .parent_id(&management_parent)
        .child_type(ChildType::Account)
        .send()
        .await
        .expect("children");
    assert!(
        account_children
            .children()
            .iter()
            .any(|child| child.id() == Some(fixture.scenario.management_account_id.as_str()))
    );

    let member = fixture.member(|account| account.tags.contains_key("team"));
    let tags = organizations
        .list_tags_for_resource()
        .resource_id(&member.id)
        .send()
        .await
        .expect("tags");
    let team = tags
        .tags()
        .iter()
        .find(|tag| tag.key() == "team")
        .map(|tag| tag.value().to_string());
    assert_eq!(team.as_deref(), member.tags.get("team").map(String::as_str));

    let parents = organizations
        .list_parents()
        .child_id(&member.id)
        .send()
        .await
        .expect("parents");
    assert_eq!(parents.parents()[0].id(), Some(member.parent_id.as_str()));

    let described = organizations
        .describe_account()
        .account_id(&member.id)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.account().and_then(|a| a.name()),
        Some(member.name.as_str())
    );
    let error = organizations
        .describe_account()
        .account_id("999999999999")
        .send()
        .await
        .expect_err("unknown");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_account_not_found_exception())
    );

    let error = organizations
        .list_accounts_for_parent()
        .parent_id("ou-zzzz-zzzzzzzz")
        .send()
        .await
        .expect_err("unknown parent");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_parent_not_found_exception())
    );
}

#[tokio::test]
async fn describe_organization_names_the_management_account() {
    let fixture = Fixture::new().await;
    // Any member may describe the organization.
    let organizations =
        aws_sdk_organizations::Client::new(&fixture.config_for(labels::MEMBER_USER).await);
    let organization = organizations
        .describe_organization()
        .send()
        .await
        .expect("describes");
    let organization = organization.organization().expect("organization");
    assert_eq!(
        organization.master_account_id(),
        Some(fixture.scenario.management_account_id.as_str())
    );
    assert_eq!(organization.feature_set().map(|f| f.as_str()), Some("ALL"));
    // But not list accounts.
    let error = organizations
        .list_accounts()
        .send()
        .await
        .expect_err("denied");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_access_denied_exception())
    );
}

#[tokio::test]
async fn trusted_access_and_delegated_admins_can_be_enabled() {
    let fixture = Fixture::with_spec(rootsweep_emulator::ScenarioSpec {
        accounts: 20,
        features_enabled: false,
        delegated_admin: false,
        ..Default::default()
    })
    .await;
    let organizations = aws_sdk_organizations::Client::new(&fixture.operator().await);
    let before = organizations
        .list_aws_service_access_for_organization()
        .send()
        .await
        .expect("lists");
    assert!(before.enabled_service_principals().is_empty());
    organizations
        .enable_aws_service_access()
        .service_principal("iam.amazonaws.com")
        .send()
        .await
        .expect("enables");
    let after = organizations
        .list_aws_service_access_for_organization()
        .send()
        .await
        .expect("lists");
    assert_eq!(
        after.enabled_service_principals()[0].service_principal(),
        Some("iam.amazonaws.com")
    );

    let member = fixture.member(|_| true);
    organizations
        .register_delegated_administrator()
        .account_id(&member.id)
        .service_principal("iam.amazonaws.com")
        .send()
        .await
        .expect("registers");
    let error = organizations
        .register_delegated_administrator()
        .account_id(&member.id)
        .service_principal("iam.amazonaws.com")
        .send()
        .await
        .expect_err("already registered");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_account_already_registered_exception())
    );
    let error = organizations
        .register_delegated_administrator()
        .account_id(&fixture.scenario.management_account_id)
        .service_principal("iam.amazonaws.com")
        .send()
        .await
        .expect_err("management account");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_constraint_violation_exception())
    );
    let admins = organizations
        .list_delegated_administrators()
        .service_principal("iam.amazonaws.com")
        .send()
        .await
        .expect("lists");
    assert_eq!(
        admins.delegated_administrators()[0].id(),
        Some(member.id.as_str())
    );
    assert_eq!(fixture.emulator.stats().mutations.len(), 2);
}

#[tokio::test]
async fn root_sessions_cannot_call_organizations() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|_| true);
    let session = fixture
        .session_config(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let error = aws_sdk_organizations::Client::new(&session)
        .describe_organization()
        .send()
        .await
        .expect_err("denied");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_access_denied_exception())
    );
}

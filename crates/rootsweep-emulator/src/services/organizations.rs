//! AWS Organizations (JSON 1.1): the read operations rootsweep's discovery uses, trusted access
//! and delegated administrators (aws-facts.md §5–6). List operations page at AWS's maxima (20)
//! and, with `short_pages`, return fewer items than asked, even none, with a `NextToken`.

use serde_json::{Value, json};

use crate::load::Service;
use crate::protocol::{ApiError, HttpResponse, decode_token, encode_token, respond};
use crate::scenario::{AccountSpec, PrincipalKind};
use crate::services::Call;
use crate::world::{Caller, World};

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    input: &Value,
) -> Result<HttpResponse, ApiError> {
    authorize(world, call)?;
    let output = match call.operation {
        "DescribeOrganization" => describe_organization(world),
        "DescribeAccount" => {
            let id = string(input, "AccountId")?;
            let account = world.account(id).ok_or_else(|| account_not_found(id))?;
            json!({ "Account": account_json(world, call, account) })
        }
        "ListAccounts" => {
            let accounts: Vec<Value> = world
                .scenario
                .accounts
                .iter()
                .map(|account| account_json(world, call, account))
                .collect();
            paged(call, input, "Accounts", accounts)?
        }
        "ListAccountsForParent" => {
            let parent = parent_id(world, input)?;
            let accounts: Vec<Value> = world
                .scenario
                .accounts
                .iter()
                .filter(|account| account.parent_id == parent)
                .map(|account| account_json(world, call, account))
                .collect();
            paged(call, input, "Accounts", accounts)?
        }
        "ListRoots" => json!({ "Roots": [{
            "Id": world.scenario.root_id,
            "Arn": format!("arn:aws:organizations::{}:root/{}/{}", world.scenario.management_account_id, world.scenario.organization_id, world.scenario.root_id),
            "Name": "Root",
            "PolicyTypes": [{ "Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED" }],
        }]}),
        "ListOrganizationalUnitsForParent" => {
            let parent = parent_id(world, input)?;
            let units: Vec<Value> = world
                .scenario
                .organizational_units
                .iter()
                .filter(|ou| ou.parent_id == parent)
                .map(|ou| ou_json(world, &ou.id, &ou.name))
                .collect();
            paged(call, input, "OrganizationalUnits", units)?
        }
        "ListChildren" => {
            let parent = parent_id(world, input)?;
            let child_type = string(input, "ChildType")?;
            let children: Vec<Value> = match child_type {
                "ACCOUNT" => world
                    .scenario
                    .accounts
                    .iter()
                    .filter(|account| account.parent_id == parent)
                    .map(|account| json!({ "Id": account.id, "Type": "ACCOUNT" }))
                    .collect(),
                "ORGANIZATIONAL_UNIT" => world
                    .scenario
                    .organizational_units
                    .iter()
                    .filter(|ou| ou.parent_id == parent)
                    .map(|ou| json!({ "Id": ou.id, "Type": "ORGANIZATIONAL_UNIT" }))
                    .collect(),
                other => {
                    return Err(invalid_input(&format!(
                        "ChildType {other:?} must be ACCOUNT or ORGANIZATIONAL_UNIT"
                    )));
                }
            };
            paged(call, input, "Children", children)?
        }
        "ListParents" => {
            let child = string(input, "ChildId")?;
            let parent = world.parent_of(child).ok_or_else(|| {
                ApiError::new(
                    400,
                    "ChildNotFoundException",
                    format!("We can't find an organizational unit (OU) or AWS account with the ChildId {child}."),
                )
            })?;
            let kind = if parent.starts_with("r-") {
                "ROOT"
            } else {
                "ORGANIZATIONAL_UNIT"
            };
            json!({ "Parents": [{ "Id": parent, "Type": kind }] })
        }
        "ListTagsForResource" => {
            let resource = string(input, "ResourceId")?;
            let tags = if let Some(account) = world.account(resource) {
                account.tags.clone()
            } else if let Some(ou) = world
                .scenario
                .organizational_units
                .iter()
                .find(|ou| ou.id == resource)
            {
                ou.tags.clone()
            } else if resource == world.scenario.root_id {
                Default::default()
            } else {
                return Err(ApiError::new(
                    400,
                    "TargetNotFoundException",
                    format!("We can't find a resource with the ResourceId {resource}."),
                ));
            };
            let tags: Vec<Value> = tags
                .iter()
                .map(|(key, value)| json!({ "Key": key, "Value": value }))
                .collect();
            paged(call, input, "Tags", tags)?
        }
        "EnableAWSServiceAccess" => {
            let principal = string(input, "ServicePrincipal")?.to_string();
            if !world.scenario.trusted_services.contains(&principal) {
                world.scenario.trusted_services.push(principal.clone());
                world
                    .enabled_dates
                    .insert(format!("trusted:{principal}"), call.now);
            }
            let management = world.scenario.management_account_id.clone();
            world.record_mutation(
                &management,
                "organizations:EnableAWSServiceAccess",
                &principal,
            );
            json!({})
        }
        "ListAWSServiceAccessForOrganization" => {
            let services: Vec<Value> = world
                .scenario
                .trusted_services
                .iter()
                .map(|principal| {
                    json!({
                        "ServicePrincipal": principal,
                        "DateEnabled": world.enabled_dates.get(&format!("trusted:{principal}")).copied().unwrap_or(1_700_000_000.0),
                    })
                })
                .collect();
            paged(call, input, "EnabledServicePrincipals", services)?
        }
        "RegisterDelegatedAdministrator" => {
            let account_id = string(input, "AccountId")?.to_string();
            let principal = string(input, "ServicePrincipal")?.to_string();
            if world.account(&account_id).is_none() {
                return Err(account_not_found(&account_id));
            }
            if world.is_management(&account_id) {
                return Err(ApiError::new(
                    400,
                    "ConstraintViolationException",
                    "You cannot register the management account as a delegated administrator.",
                ));
            }
            if world.is_delegated_admin(&principal, &account_id) {
                return Err(ApiError::new(
                    400,
                    "AccountAlreadyRegisteredException",
                    "The provided account is already a delegated administrator for your organization.",
                ));
            }
            world
                .scenario
                .delegated_administrators
                .entry(principal.clone())
                .or_default()
                .push(account_id.clone());
            world
                .enabled_dates
                .insert(format!("delegated:{principal}:{account_id}"), call.now);
            world.record_mutation(
                &account_id,
                "organizations:RegisterDelegatedAdministrator",
                &principal,
            );
            json!({})
        }
        "ListDelegatedAdministrators" => {
            let filter = input.get("ServicePrincipal").and_then(Value::as_str);
            let mut admins = Vec::new();
            for (principal, accounts) in &world.scenario.delegated_administrators {
                if filter.is_some_and(|wanted| wanted != principal) {
                    continue;
                }
                for account_id in accounts {
                    if admins
                        .iter()
                        .any(|admin: &Value| admin["Id"] == json!(account_id))
                    {
                        continue;
                    }
                    if let Some(account) = world.account(account_id) {
                        let mut record = account_json(world, call, account);
                        record["DelegationEnabledDate"] = json!(
                            world
                                .enabled_dates
                                .get(&format!("delegated:{principal}:{account_id}"))
                                .copied()
                                .unwrap_or(1_700_000_000.0)
                        );
                        admins.push(record);
                    }
                }
            }
            paged(call, input, "DelegatedAdministrators", admins)?
        }
        other => {
            return Err(ApiError::new(
                400,
                "UnknownOperationException",
                format!("The operation {other} is not supported by the emulator."),
            ));
        }
    };
    Ok(respond(
        200,
        "application/x-amz-json-1.1",
        output.to_string(),
        call.request_id,
    ))
}

/// Who may call what: the management account for everything, a delegated administrator (of any
/// service) for reads, any member for `DescribeOrganization`, root sessions for nothing.
fn authorize(world: &World, call: &Call<'_>) -> Result<(), ApiError> {
    let denied = || {
        ApiError::access_denied(
            Service::Organizations,
            "You don't have permissions to access this resource.",
        )
    };
    let principal = match call.caller {
        Caller::RootSession { .. } => {
            crate::policy::authorize_root_session(
                world,
                call.caller,
                Service::Organizations,
                &format!("organizations:{}", call.operation),
                "*",
                false,
            )?;
            return Err(denied());
        }
        Caller::Principal(principal) => principal,
    };
    let account = principal.account_id.as_str();
    if world.is_management(account) {
        return Ok(());
    }
    let is_write = matches!(
        call.operation,
        "EnableAWSServiceAccess" | "RegisterDelegatedAdministrator"
    );
    if call.operation == "DescribeOrganization" && world.account(account).is_some() {
        return Ok(());
    }
    if !is_write && principal.kind == PrincipalKind::User && world.is_any_delegated_admin(account) {
        return Ok(());
    }
    Err(denied())
}

fn invalid_input(message: &str) -> ApiError {
    ApiError::new(400, "InvalidInputException", message)
}

fn account_not_found(id: &str) -> ApiError {
    ApiError::new(
        400,
        "AccountNotFoundException",
        format!("You specified an account that doesn't exist: {id}."),
    )
}

fn string<'v>(input: &'v Value, name: &str) -> Result<&'v str, ApiError> {
    input.get(name).and_then(Value::as_str).ok_or_else(|| {
        invalid_input(&format!(
            "You provided a value that does not match the required pattern: {name} is required."
        ))
    })
}

fn parent_id<'v>(world: &World, input: &'v Value) -> Result<&'v str, ApiError> {
    let parent = string(input, "ParentId")?;
    if !world.is_known_parent(parent) {
        return Err(ApiError::new(
            400,
            "ParentNotFoundException",
            format!("We can't find a root or OU with the ParentId {parent}."),
        ));
    }
    Ok(parent)
}

fn describe_organization(world: &World) -> Value {
    let scenario = &world.scenario;
    let management = world
        .account(&scenario.management_account_id)
        .map(|account| account.email.clone())
        .unwrap_or_default();
    json!({ "Organization": {
        "Id": scenario.organization_id,
        "Arn": format!("arn:aws:organizations::{}:organization/{}", scenario.management_account_id, scenario.organization_id),
        "FeatureSet": scenario.feature_set,
        "MasterAccountArn": format!("arn:aws:organizations::{}:account/{}/{}", scenario.management_account_id, scenario.organization_id, scenario.management_account_id),
        "MasterAccountId": scenario.management_account_id,
        "MasterAccountEmail": management,
        "AvailablePolicyTypes": [{ "Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED" }],
    }})
}

fn account_json(world: &World, call: &Call<'_>, account: &AccountSpec) -> Value {
    let scenario = &world.scenario;
    let mut record = json!({
        "Id": account.id,
        "Arn": format!("arn:aws:organizations::{}:account/{}/{}", scenario.management_account_id, scenario.organization_id, account.id),
        "Email": account.email,
        "Name": account.name,
        "State": account.state,
        "JoinedMethod": if account.id == scenario.management_account_id { "CREATED" } else { "INVITED" },
        "JoinedTimestamp": 1_600_000_000.0,
    });
    if call.fidelity.legacy_account_status {
        let status = match account.state.as_str() {
            "ACTIVE" | "PENDING_ACTIVATION" => "ACTIVE",
            "SUSPENDED" | "CLOSED" => "SUSPENDED",
            _ => "PENDING_CLOSURE",
        };
        record["Status"] = json!(status);
    }
    record
}

fn ou_json(world: &World, id: &str, name: &str) -> Value {
    json!({
        "Id": id,
        "Arn": format!("arn:aws:organizations::{}:ou/{}/{}", world.scenario.management_account_id, world.scenario.organization_id, id),
        "Name": name,
    })
}

/// One page of `items` under `key`, honouring `MaxResults` (1–20) and `NextToken`.
fn paged(call: &Call<'_>, input: &Value, key: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let max_results = match input.get("MaxResults") {
        None | Some(Value::Null) => 20,
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| invalid_input("MaxResults must be between 1 and 20."))?,
    };
    let start = match input.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => decode_token("org", token)
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| invalid_input("The specified NextToken is not valid."))?,
    };
    let length = call.shaper.short_page_length(call.operation, max_results);
    let end = (start + length).min(items.len());
    let mut output = json!({ key: items[start..end].to_vec() });
    if end < items.len() {
        output["NextToken"] = json!(encode_token("org", end));
    }
    Ok(output)
}

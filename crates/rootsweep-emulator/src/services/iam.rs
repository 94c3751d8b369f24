//! AWS IAM: the organization-feature switches (`Enable/DisableOrganizations*`,
//! `ListOrganizationsFeatures`) and the root-credential operations a root session makes with
//! `UserName` omitted (aws-facts.md §3 and §5).
//!
//! Without `UserName`, an IAM operation acts on whoever signed it. For a root session that is the
//! member account's root user; for a long-term IAM user it is that user itself, so a tool that
//! forgets to use its session credentials lists (and could delete) the operator's own key, as it
//! would against AWS.

use crate::load::Service;
use crate::policy::authorize_root_session;
use crate::protocol::{
    ApiError, HttpResponse, Xml, decode_token, encode_token, iso8601, query_success,
};
use crate::scenario::{MfaKind, PrincipalKind, RootCredentialsSpec};
use crate::services::{Call, QueryParams, required};
use crate::world::{Caller, World};

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    match call.operation {
        "EnableOrganizationsRootCredentialsManagement" => {
            set_feature(world, call, "RootCredentialsManagement", true)
        }
        "DisableOrganizationsRootCredentialsManagement" => {
            set_feature(world, call, "RootCredentialsManagement", false)
        }
        "EnableOrganizationsRootSessions" => set_feature(world, call, "RootSessions", true),
        "DisableOrganizationsRootSessions" => set_feature(world, call, "RootSessions", false),
        "ListOrganizationsFeatures" => list_features(world, call),
        "GetAccountSummary" => get_account_summary(world, call),
        "GetUser" => get_user(world, call, params),
        "GetLoginProfile" => get_login_profile(world, call, params),
        "CreateLoginProfile" => create_login_profile(world, call, params),
        "DeleteLoginProfile" => delete_login_profile(world, call, params),
        "ListAccessKeys" => list_access_keys(world, call, params),
        "GetAccessKeyLastUsed" => get_access_key_last_used(world, call, params),
        "DeleteAccessKey" => delete_access_key(world, call, params),
        "ListSigningCertificates" => list_signing_certificates(world, call, params),
        "DeleteSigningCertificate" => delete_signing_certificate(world, call, params),
        "ListMFADevices" => list_mfa_devices(world, call, params),
        "DeactivateMFADevice" => deactivate_mfa_device(world, call, params),
        "DeleteVirtualMFADevice" => delete_virtual_mfa_device(world, call, params),
        other => Err(ApiError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2010-05-08"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Organization features.

fn feature_error(call: &Call<'_>, name: &str, message: &str) -> ApiError {
    let code = if call.fidelity.unsuffixed_iam_feature_errors {
        name.to_string()
    } else {
        format!("{name}Exception")
    };
    ApiError::new(400, code, message)
}

/// The checks every feature call makes, in the order AWS documents its errors.
fn check_feature_caller(world: &World, call: &Call<'_>, enabling: bool) -> Result<(), ApiError> {
    let action = format!("iam:{}", call.operation);
    authorize_root_session(world, call.caller, Service::Iam, &action, "*", false)?;
    if world.scenario.feature_set != "ALL" {
        return Err(feature_error(
            call,
            "OrganizationNotInAllFeaturesMode",
            "The organization must have all features enabled.",
        ));
    }
    let account = call.caller.account_id();
    if enabling && !world.is_management(account) {
        return Err(feature_error(
            call,
            "CallerIsNotManagementAccount",
            "The request was denied because the caller is not the management account.",
        ));
    }
    if !world.is_management(account)
        && !world.is_delegated_admin(crate::scenario::IAM_SERVICE_PRINCIPAL, account)
    {
        return Err(feature_error(
            call,
            "AccountNotManagementOrDelegatedAdministrator",
            "The request was rejected because the account is not the management account or delegated administrator for IAM.",
        ));
    }
    if !world.iam_trusted_access() {
        return Err(feature_error(
            call,
            "ServiceAccessNotEnabled",
            "The request was rejected because trusted access for IAM is not enabled for the organization.",
        ));
    }
    Ok(())
}

fn set_feature(
    world: &mut World,
    call: &Call<'_>,
    feature: &str,
    enable: bool,
) -> Result<HttpResponse, ApiError> {
    check_feature_caller(world, call, enable)?;
    let features = &mut world.scenario.iam_features;
    let present = features.iter().any(|f| f == feature);
    if enable && !present {
        features.push(feature.to_string());
    } else if !enable && present {
        features.retain(|f| f != feature);
    }
    let account = world.scenario.management_account_id.clone();
    world.record_mutation(&account, &format!("iam:{}", call.operation), feature);
    let organization_id = world.scenario.organization_id.clone();
    let enabled = world.scenario.iam_features.clone();
    Ok(query_success(
        Service::Iam,
        call.operation,
        call.request_id,
        |xml| {
            xml.leaf("OrganizationId", &organization_id);
            xml.open("EnabledFeatures");
            for feature in &enabled {
                xml.leaf("member", feature);
            }
            xml.close("EnabledFeatures");
        },
    ))
}

fn list_features(world: &mut World, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    check_feature_caller(world, call, false)?;
    let organization_id = world.scenario.organization_id.clone();
    let enabled = world.scenario.iam_features.clone();
    Ok(query_success(
        Service::Iam,
        "ListOrganizationsFeatures",
        call.request_id,
        |xml| {
            xml.leaf("OrganizationId", &organization_id);
            xml.open("EnabledFeatures");
            for feature in &enabled {
                xml.leaf("member", feature);
            }
            xml.close("EnabledFeatures");
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Root credentials.

/// Whose credentials an operation without `UserName` acts on.
enum Holder {
    /// A root user (a root session's member account, or long-term root keys).
    Root(String),
    /// A long-term IAM user: only its own access key is modelled.
    User {
        access_key_id: String,
        user_name: String,
        account_id: String,
    },
}

/// Authorizes a root-credential call and resolves whose credentials it touches.
fn holder(
    world: &World,
    call: &Call<'_>,
    params: &QueryParams,
    resource_override: Option<&str>,
) -> Result<Holder, ApiError> {
    let account_id = call.caller.account_id().to_string();
    let action = format!("iam:{}", call.operation);
    let root_arn = format!("arn:aws:iam::{account_id}:root");
    let named_user = params.get("UserName").filter(|name| !name.is_empty());
    let resource = match named_user {
        Some(name) => format!("arn:aws:iam::{account_id}:user/{name}"),
        None => resource_override.unwrap_or(&root_arn).to_string(),
    };
    authorize_root_session(
        world,
        call.caller,
        Service::Iam,
        &action,
        &resource,
        call.fidelity.virtual_mfa_delete_allowed,
    )?;
    match call.caller {
        Caller::RootSession { account_id, .. } => Ok(Holder::Root(account_id.clone())),
        Caller::Principal(principal) => {
            let own_name = principal.user_name.clone().unwrap_or_default();
            if let Some(name) = named_user
                && principal.kind == PrincipalKind::User
                && *name != own_name
            {
                return Err(ApiError::new(
                    404,
                    "NoSuchEntity",
                    format!("The user with name {name} cannot be found."),
                ));
            }
            match principal.kind {
                PrincipalKind::Root => Ok(Holder::Root(principal.account_id.clone())),
                PrincipalKind::User => Ok(Holder::User {
                    access_key_id: principal.access_key_id.clone(),
                    user_name: own_name,
                    account_id: principal.account_id.clone(),
                }),
            }
        }
    }
}

fn root_of<'w>(world: &'w World, account_id: &str) -> Result<&'w RootCredentialsSpec, ApiError> {
    world
        .account(account_id)
        .map(|account| &account.root)
        .ok_or_else(|| ApiError::new(404, "NoSuchEntity", "The root user cannot be found."))
}

fn root_of_mut<'w>(
    world: &'w mut World,
    account_id: &str,
) -> Result<&'w mut RootCredentialsSpec, ApiError> {
    world
        .account_mut(account_id)
        .map(|account| &mut account.root)
        .ok_or_else(|| ApiError::new(404, "NoSuchEntity", "The root user cannot be found."))
}

fn get_account_summary(world: &mut World, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    authorize_root_session(
        world,
        call.caller,
        Service::Iam,
        "iam:GetAccountSummary",
        "*",
        false,
    )?;
    let root = root_of(world, call.caller.account_id())?;
    let flag = |present: bool| if present { "1" } else { "0" };
    let mfa_in_use = root.mfa_devices.len();
    let entries = [
        (
            "AccountMFAEnabled",
            flag(!root.mfa_devices.is_empty()).to_string(),
        ),
        (
            "AccountAccessKeysPresent",
            flag(!root.access_keys.is_empty()).to_string(),
        ),
        (
            "AccountPasswordPresent",
            flag(root.login_profile.as_ref().is_some_and(|p| p.password_set)).to_string(),
        ),
        (
            "AccountSigningCertificatesPresent",
            flag(!root.signing_certificates.is_empty()).to_string(),
        ),
        (
            "MFADevices",
            (mfa_in_use + root.unassigned_virtual_mfa_devices.len()).to_string(),
        ),
        ("MFADevicesInUse", mfa_in_use.to_string()),
        ("Users", "3".to_string()),
        ("UsersQuota", "5000".to_string()),
        ("Groups", "1".to_string()),
        ("GroupsQuota", "300".to_string()),
        ("Roles", "12".to_string()),
        ("RolesQuota", "1000".to_string()),
        ("Policies", "4".to_string()),
        ("PoliciesQuota", "1500".to_string()),
        ("AccessKeysPerUserQuota", "2".to_string()),
        ("SigningCertificatesPerUserQuota", "2".to_string()),
        ("GlobalEndpointTokenVersion", "1".to_string()),
    ];
    Ok(query_success(
        Service::Iam,
        "GetAccountSummary",
        call.request_id,
        |xml| {
            xml.open("SummaryMap");
            for (key, value) in &entries {
                xml.open("entry");
                xml.leaf("key", key);
                xml.leaf("value", value);
                xml.close("entry");
            }
            xml.close("SummaryMap");
        },
    ))
}

fn get_user(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let holder = holder(world, call, params, None)?;
    let (user_id, arn, user_name, created, password_last_used) = match &holder {
        Holder::Root(account_id) => {
            let account = world.account(account_id).ok_or_else(|| {
                ApiError::new(404, "NoSuchEntity", "The root user cannot be found.")
            })?;
            let created = account
                .root
                .login_profile
                .as_ref()
                .map_or(1_500_000_000, |profile| profile.created);
            (
                account_id.clone(),
                format!("arn:aws:iam::{account_id}:root"),
                None,
                created,
                account
                    .root
                    .login_profile
                    .as_ref()
                    .map(|profile| profile.created + 86_400),
            )
        }
        Holder::User {
            access_key_id,
            user_name,
            account_id,
        } => (
            format!("AIDA{}", &access_key_id[4..]),
            format!("arn:aws:iam::{account_id}:user/{user_name}"),
            Some(user_name.clone()),
            1_500_000_000,
            None,
        ),
    };
    Ok(query_success(
        Service::Iam,
        "GetUser",
        call.request_id,
        |xml| {
            xml.open("User");
            xml.leaf("Path", "/");
            // AWS omits UserName for the root user.
            if let Some(name) = &user_name {
                xml.leaf("UserName", name);
            }
            xml.leaf("UserId", &user_id);
            xml.leaf("Arn", &arn);
            xml.leaf("CreateDate", &iso8601(created as f64));
            if let Some(used) = password_last_used {
                xml.leaf("PasswordLastUsed", &iso8601(used as f64));
            }
            xml.close("User");
        },
    ))
}

fn no_login_profile(name: &str) -> ApiError {
    ApiError::new(
        404,
        "NoSuchEntity",
        format!("Login Profile for User {name} cannot be found."),
    )
}

fn get_login_profile(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let profile = match holder(world, call, params, None)? {
        Holder::Root(account_id) => root_of(world, &account_id)?
            .login_profile
            .clone()
            .ok_or_else(|| no_login_profile("root"))?,
        Holder::User { user_name, .. } => return Err(no_login_profile(&user_name)),
    };
    Ok(query_success(
        Service::Iam,
        "GetLoginProfile",
        call.request_id,
        |xml| {
            xml.open("LoginProfile");
            xml.leaf("CreateDate", &iso8601(profile.created as f64));
            xml.leaf("PasswordResetRequired", "false");
            xml.close("LoginProfile");
        },
    ))
}

fn create_login_profile(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let holder = holder(world, call, params, None)?;
    let password = params
        .get("Password")
        .filter(|password| !password.is_empty());
    if call.caller.is_root_session() && password.is_some() {
        return Err(ApiError::new(
            400,
            "InvalidInput",
            "The Password parameter must be omitted when the request is made with an AssumeRoot session.",
        ));
    }
    if !call.caller.is_root_session() && password.is_none() {
        return Err(ApiError::new(400, "InvalidInput", "Password is required."));
    }
    let Holder::Root(account_id) = holder else {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists",
            "Login Profile for user already exists.",
        ));
    };
    let now = call.now as i64;
    let root = root_of_mut(world, &account_id)?;
    if root.login_profile.is_some() {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists",
            "Login Profile for user root already exists.",
        ));
    }
    root.login_profile = Some(crate::scenario::LoginProfileSpec {
        created: now,
        // From a root session this allows password recovery without setting a password.
        password_set: password.is_some(),
    });
    world.record_mutation(&account_id, "iam:CreateLoginProfile", "root");
    let reset_required = params
        .get("PasswordResetRequired")
        .is_some_and(|value| value == "true");
    Ok(query_success(
        Service::Iam,
        "CreateLoginProfile",
        call.request_id,
        |xml| {
            xml.open("LoginProfile");
            xml.leaf("CreateDate", &iso8601(now as f64));
            xml.leaf(
                "PasswordResetRequired",
                if reset_required { "true" } else { "false" },
            );
            xml.close("LoginProfile");
        },
    ))
}

fn delete_login_profile(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let account_id = match holder(world, call, params, None)? {
        Holder::Root(account_id) => account_id,
        Holder::User { user_name, .. } => return Err(no_login_profile(&user_name)),
    };
    let root = root_of_mut(world, &account_id)?;
    if root.login_profile.take().is_none() {
        return Err(no_login_profile("root"));
    }
    world.record_mutation(&account_id, "iam:DeleteLoginProfile", "root");
    Ok(query_success(
        Service::Iam,
        "DeleteLoginProfile",
        call.request_id,
        |_| {},
    ))
}

/// Pagination of IAM lists (`Marker`, `MaxItems` 1–1000, default 100).
fn page<T: Clone>(items: &[T], params: &QueryParams) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max_items = match params.get("MaxItems") {
        None => 100,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|value| (1..=1000).contains(value))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "ValidationError",
                    format!("Invalid MaxItems {text:?}: must be 1 to 1000"),
                )
            })?,
    };
    let start = match params.get("Marker") {
        None => 0,
        Some(marker) => decode_token("iam", marker)
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| ApiError::new(400, "InvalidInput", "Invalid Marker."))?,
    };
    let end = (start + max_items).min(items.len());
    let next = (end < items.len()).then(|| encode_token("iam", end));
    Ok((items[start..end].to_vec(), next))
}

fn truncation(xml: &mut Xml, next: Option<&String>) {
    xml.leaf("IsTruncated", if next.is_some() { "true" } else { "false" });
    if let Some(marker) = next {
        xml.leaf("Marker", marker);
    }
}

fn list_access_keys(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    // (id, status, created, user name)
    let keys: Vec<(String, String, i64, Option<String>)> = match holder(world, call, params, None)?
    {
        Holder::Root(account_id) => root_of(world, &account_id)?
            .access_keys
            .iter()
            .map(|key| (key.id.clone(), key.status.clone(), key.created, None))
            .collect(),
        Holder::User {
            access_key_id,
            user_name,
            ..
        } => {
            if world.user_key_exists(&access_key_id) {
                vec![(
                    access_key_id,
                    "Active".to_string(),
                    1_500_000_000,
                    Some(user_name),
                )]
            } else {
                Vec::new()
            }
        }
    };
    let (items, next) = page(&keys, params)?;
    Ok(query_success(
        Service::Iam,
        "ListAccessKeys",
        call.request_id,
        |xml| {
            xml.open("AccessKeyMetadata");
            for (id, status, created, user_name) in &items {
                xml.open("member");
                if let Some(name) = user_name {
                    xml.leaf("UserName", name);
                }
                xml.leaf("AccessKeyId", id);
                xml.leaf("Status", status);
                xml.leaf("CreateDate", &iso8601(*created as f64));
                xml.close("member");
            }
            xml.close("AccessKeyMetadata");
            truncation(xml, next.as_ref());
        },
    ))
}

fn get_access_key_last_used(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let access_key_id = required(params, "AccessKeyId")?.to_string();
    let holder = holder(world, call, params, None)?;
    let not_yours = || {
        ApiError::access_denied(
            Service::Iam,
            format!(
                "User: {} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key {access_key_id}",
                call.caller.arn()
            ),
        )
    };
    let (last_used, service, region) = match holder {
        Holder::Root(account_id) => {
            let key = root_of(world, &account_id)?
                .access_keys
                .iter()
                .find(|key| key.id == access_key_id)
                .cloned()
                .ok_or_else(not_yours)?;
            (key.last_used, key.last_used_service, key.last_used_region)
        }
        Holder::User {
            access_key_id: own, ..
        } if own == access_key_id => (
            Some(call.now as i64),
            Some("iam".to_string()),
            Some("us-east-1".to_string()),
        ),
        Holder::User { .. } => return Err(not_yours()),
    };
    Ok(query_success(
        Service::Iam,
        "GetAccessKeyLastUsed",
        call.request_id,
        |xml| {
            xml.open("AccessKeyLastUsed");
            if let Some(date) = last_used {
                xml.leaf("LastUsedDate", &iso8601(date as f64));
            }
            xml.leaf("ServiceName", service.as_deref().unwrap_or("N/A"));
            xml.leaf("Region", region.as_deref().unwrap_or("N/A"));
            xml.close("AccessKeyLastUsed");
        },
    ))
}

fn delete_access_key(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let access_key_id = required(params, "AccessKeyId")?.to_string();
    let missing = || {
        ApiError::new(
            404,
            "NoSuchEntity",
            format!("The Access Key with id {access_key_id} cannot be found."),
        )
    };
    match holder(world, call, params, None)? {
        Holder::Root(account_id) => {
            let root = root_of_mut(world, &account_id)?;
            let before = root.access_keys.len();
            root.access_keys.retain(|key| key.id != access_key_id);
            if root.access_keys.len() == before {
                return Err(missing());
            }
            world.record_mutation(&account_id, "iam:DeleteAccessKey", &access_key_id);
        }
        Holder::User {
            access_key_id: own,
            account_id,
            ..
        } => {
            if own != access_key_id || !world.user_key_exists(&own) {
                return Err(missing());
            }
            world.delete_user_key(&own);
            world.record_mutation(&account_id, "iam:DeleteAccessKey", &own);
        }
    }
    Ok(query_success(
        Service::Iam,
        "DeleteAccessKey",
        call.request_id,
        |_| {},
    ))
}

fn list_signing_certificates(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let certificates = match holder(world, call, params, None)? {
        Holder::Root(account_id) => root_of(world, &account_id)?.signing_certificates.clone(),
        Holder::User { .. } => Vec::new(),
    };
    let (items, next) = page(&certificates, params)?;
    Ok(query_success(
        Service::Iam,
        "ListSigningCertificates",
        call.request_id,
        |xml| {
            xml.open("Certificates");
            for certificate in &items {
                xml.open("member");
                xml.leaf("CertificateId", &certificate.id);
                xml.leaf(
                    "CertificateBody",
                    "-----BEGIN CERTIFICATE-----\nMIIBemulated\n-----END CERTIFICATE-----",
                );
                xml.leaf("Status", &certificate.status);
                xml.leaf("UploadDate", &iso8601(certificate.uploaded as f64));
                xml.close("member");
            }
            xml.close("Certificates");
            truncation(xml, next.as_ref());
        },
    ))
}

fn delete_signing_certificate(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let certificate_id = required(params, "CertificateId")?.to_string();
    let missing = || {
        ApiError::new(
            404,
            "NoSuchEntity",
            format!("The Certificate with id {certificate_id} cannot be found."),
        )
    };
    let Holder::Root(account_id) = holder(world, call, params, None)? else {
        return Err(missing());
    };
    let root = root_of_mut(world, &account_id)?;
    let before = root.signing_certificates.len();
    root.signing_certificates
        .retain(|certificate| certificate.id != certificate_id);
    if root.signing_certificates.len() == before {
        return Err(missing());
    }
    world.record_mutation(&account_id, "iam:DeleteSigningCertificate", &certificate_id);
    Ok(query_success(
        Service::Iam,
        "DeleteSigningCertificate",
        call.request_id,
        |_| {},
    ))
}

fn list_mfa_devices(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let devices = match holder(world, call, params, None)? {
        Holder::Root(account_id) => root_of(world, &account_id)?.mfa_devices.clone(),
        Holder::User { .. } => Vec::new(),
    };
    let (items, next) = page(&devices, params)?;
    Ok(query_success(
        Service::Iam,
        "ListMFADevices",
        call.request_id,
        |xml| {
            xml.open("MFADevices");
            for device in &items {
                xml.open("member");
                xml.leaf("SerialNumber", &device.serial);
                xml.leaf("EnableDate", &iso8601(device.enabled as f64));
                xml.close("member");
            }
            xml.close("MFADevices");
            truncation(xml, next.as_ref());
        },
    ))
}

fn deactivate_mfa_device(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let serial = required(params, "SerialNumber")?.to_string();
    let missing = || {
        ApiError::new(
            404,
            "NoSuchEntity",
            format!("MFA Device with serial number {serial} does not exist."),
        )
    };
    let Holder::Root(account_id) = holder(world, call, params, None)? else {
        return Err(missing());
    };
    let root = root_of_mut(world, &account_id)?;
    let position = root
        .mfa_devices
        .iter()
        .position(|device| device.serial == serial)
        .ok_or_else(missing)?;
    let device = root.mfa_devices.remove(position);
    if device.kind == MfaKind::Virtual {
        // Deactivation unassigns a virtual device; it exists until DeleteVirtualMFADevice.
        root.unassigned_virtual_mfa_devices.push(device.serial);
    }
    world.record_mutation(&account_id, "iam:DeactivateMFADevice", &serial);
    Ok(query_success(
        Service::Iam,
        "DeactivateMFADevice",
        call.request_id,
        |_| {},
    ))
}

fn delete_virtual_mfa_device(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let serial = required(params, "SerialNumber")?.to_string();
    let missing = || {
        ApiError::new(
            404,
            "NoSuchEntity",
            format!("VirtualMFADevice with serial number {serial} doesn't exist."),
        )
    };
    let Holder::Root(account_id) = holder(world, call, params, Some(&serial))? else {
        return Err(missing());
    };
    let root = root_of_mut(world, &account_id)?;
    if root
        .mfa_devices
        .iter()
        .any(|device| device.serial == serial)
    {
        return Err(ApiError::new(
            409,
            "DeleteConflict",
            "MFA Device is still in use.",
        ));
    }
    let before = root.unassigned_virtual_mfa_devices.len();
    root.unassigned_virtual_mfa_devices
        .retain(|device| *device != serial);
    if root.unassigned_virtual_mfa_devices.len() == before {
        return Err(missing());
    }
    world.record_mutation(&account_id, "iam:DeleteVirtualMFADevice", &serial);
    Ok(query_success(
        Service::Iam,
        "DeleteVirtualMFADevice",
        call.request_id,
        |_| {},
    ))
}

//! AWS STS: `GetCallerIdentity` and `AssumeRoot`, with every rule of aws-facts.md §1 (who may
//! call, into which accounts, with which task policies, for how long).

use crate::load::Service;
use crate::policy::parse_task_policy_arn;
use crate::protocol::{ApiError, HttpResponse, iso8601, query_success};
use crate::scenario::{IAM_SERVICE_PRINCIPAL, PrincipalKind};
use crate::services::{Call, QueryParams, required};
use crate::world::{Caller, Session, World};

/// The longest AssumeRoot session AWS allows.
const MAX_DURATION_SECONDS: i64 = 900;

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    match call.operation {
        "GetCallerIdentity" => Ok(get_caller_identity(call)),
        "AssumeRoot" => assume_root(world, call, params),
        other => Err(ApiError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn get_caller_identity(call: &Call<'_>) -> HttpResponse {
    // sts:GetCallerIdentity cannot be denied, so root sessions may call it too.
    let user_id = match call.caller {
        Caller::Principal(principal) if principal.kind == PrincipalKind::User => {
            format!("AIDA{}", &principal.access_key_id[4..])
        }
        _ => call.caller.account_id().to_string(),
    };
    query_success(Service::Sts, "GetCallerIdentity", call.request_id, |xml| {
        xml.leaf("UserId", &user_id);
        xml.leaf("Account", call.caller.account_id());
        xml.leaf("Arn", &call.caller.arn());
    })
}

fn denied(caller_arn: &str, target: &str, reason: &str) -> ApiError {
    ApiError::access_denied(
        Service::Sts,
        format!(
            "User: {caller_arn} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root because {reason}"
        ),
    )
}

fn assume_root(
    world: &mut World,
    call: &Call<'_>,
    params: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    let target_principal = required(params, "TargetPrincipal")?;
    let task_policy_arn = required(params, "TaskPolicyArn.arn")?;
    let duration = match params.get("DurationSeconds") {
        None => MAX_DURATION_SECONDS,
        Some(text) => text.parse::<i64>().map_err(|_| {
            ApiError::new(
                400,
                "ValidationError",
                format!("Invalid DurationSeconds {text:?}"),
            )
        })?,
    };
    if !(0..=MAX_DURATION_SECONDS).contains(&duration) {
        return Err(ApiError::new(
            400,
            "ValidationError",
            format!(
                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 900"
            ),
        ));
    }
    let target = target_principal
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
        .unwrap_or(target_principal);
    if target.len() != 12 || !target.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            400,
            "ValidationError",
            format!(
                "Invalid TargetPrincipal {target_principal:?}: expected an account ID or arn:aws:iam::<account>:root"
            ),
        ));
    }
    let Some(task_policy) = parse_task_policy_arn(task_policy_arn) else {
        return Err(ApiError::new(
            400,
            "ValidationError",
            format!("The TaskPolicyArn {task_policy_arn} is not a valid root task policy"),
        ));
    };

    let caller_arn = call.caller.arn();
    let principal = match call.caller {
        Caller::RootSession { .. } => {
            return Err(denied(
                &caller_arn,
                target,
                "an explicit deny in a session policy",
            ));
        }
        Caller::Principal(principal) => principal,
    };
    if principal.kind == PrincipalKind::Root {
        return Err(denied(
            &caller_arn,
            target,
            "root user credentials cannot be used to call AssumeRoot",
        ));
    }
    let caller_account = principal.account_id.as_str();
    if !world.is_management(caller_account)
        && !world.is_delegated_admin(IAM_SERVICE_PRINCIPAL, caller_account)
    {
        return Err(denied(
            &caller_arn,
            target,
            "the caller is not the management account or the IAM delegated administrator",
        ));
    }
    if !world.iam_trusted_access() || !world.iam_feature_enabled("RootSessions") {
        return Err(denied(
            &caller_arn,
            target,
            "centralized root access (RootSessions) is not enabled for the organization",
        ));
    }
    let Some(account) = world.account(target) else {
        return Err(denied(
            &caller_arn,
            target,
            "the account is not a member of the organization",
        ));
    };
    if world.is_management(target) {
        return Err(denied(
            &caller_arn,
            target,
            "the target is the management account",
        ));
    }
    if account.state != "ACTIVE" {
        return Err(denied(
            &caller_arn,
            target,
            &format!("the account is {} and not ACTIVE", account.state),
        ));
    }

    let lifetime = match call.shaper.profile().session_lifetime_cap_seconds {
        Some(cap) => duration.min(i64::try_from(cap).unwrap_or(i64::MAX)),
        None => duration,
    };
    let mut rng = fastrand::Rng::new();
    let access_key_id = format!(
        "ASIA{}",
        token(&mut rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let secret_access_key = token(&mut rng, SECRET_ALPHABET, 40);
    let session_token = format!("IQoJb3JpZ2luX2Vj{}", token(&mut rng, SECRET_ALPHABET, 360));
    // AWS reports the expiry the caller asked for, even when the emulator's cap is shorter: the
    // client only learns about the cap from ExpiredToken, as it would from a revoked session.
    let reported_expiry = iso8601(call.now + duration as f64);
    world.issued_secrets.push(secret_access_key.clone());
    world.issued_secrets.push(session_token.clone());
    world.sessions.insert(
        access_key_id.clone(),
        Session {
            secret_access_key: secret_access_key.clone(),
            session_token: session_token.clone(),
            account_id: target.to_string(),
            task_policy,
            expires_at: call.now + lifetime as f64,
        },
    );
    Ok(query_success(
        Service::Sts,
        "AssumeRoot",
        call.request_id,
        |xml| {
            xml.open("Credentials");
            xml.leaf("AccessKeyId", &access_key_id);
            xml.leaf("SecretAccessKey", &secret_access_key);
            xml.leaf("SessionToken", &session_token);
            xml.leaf("Expiration", &reported_expiry);
            xml.close("Credentials");
            xml.leaf("SourceIdentity", "rootsweep-emulator");
        },
    ))
}

const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn token(rng: &mut fastrand::Rng, alphabet: &[u8], length: usize) -> String {
    (0..length)
        .map(|_| char::from(alphabet[rng.usize(..alphabet.len())]))
        .collect()
}

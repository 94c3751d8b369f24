//! `rootsweep enable`: turns on, idempotently, what centralized root access needs (trusted
//! access for IAM, `RootCredentialsManagement`, `RootSessions`, and optionally an IAM delegated
//! administrator). It reads the current state first, says what it will change, asks (unless
//! `--yes`), then changes only what is missing and reads the state back.

use std::io::{BufRead, Write};

use aws_sdk_iam::types::FeatureType;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rootsweep_core::AccountId;

use crate::cli::EnableArgs;
use crate::commands::App;
use crate::error::{CliError, CliResult};
use crate::exit;

const IAM: &str = "iam.amazonaws.com";

fn failure<E>(step: &str, error: &SdkError<E, HttpResponse>) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = rootsweep_core::limits::classify(error);
    CliError::usage(format!("{step} failed: {detail}")).with_code(exit::ACCOUNTS_FAILED).hint(
        "enable runs from the management account with organizations:EnableAWSServiceAccess, iam:EnableOrganizationsRootCredentialsManagement, iam:EnableOrganizationsRootSessions and iam:ListOrganizationsFeatures",
    )
}

pub(crate) async fn run(app: &App, args: &EnableArgs) -> CliResult<u8> {
    let delegated = match &args.delegated_admin {
        Some(text) => Some(
            AccountId::parse(text)
                .map_err(|error| CliError::usage(format!("--delegated-admin: {error}")))?,
        ),
        None => None,
    };
    if !args.yes && !app.terminal.interactive() {
        return Err(CliError::usage("enable changes the organization's settings and needs a confirmation, but stdin or stderr is not a terminal: nothing was changed")
            .hint("pass --yes"));
    }
    let aws = app.aws(rootsweep_core::Timeouts::default()).await?;
    let organizations = aws.organizations();
    let iam = aws.caller_iam();

    let trusted = organizations
        .list_aws_service_access_for_organization()
        .send()
        .await
        .map_err(|error| failure("reading trusted access", &error))?
        .enabled_service_principals()
        .iter()
        .any(|principal| principal.service_principal() == Some(IAM));
    let features: Vec<FeatureType> = if trusted {
        iam.list_organizations_features()
            .send()
            .await
            .map_err(|error| failure("reading the IAM organization features", &error))?
            .enabled_features()
            .to_vec()
    } else {
        Vec::new()
    };
    let admins: Vec<String> = organizations
        .list_delegated_administrators()
        .service_principal(IAM)
        .send()
        .await
        .map_err(|error| failure("reading delegated administrators", &error))?
        .delegated_administrators()
        .iter()
        .filter_map(|admin| admin.id().map(str::to_string))
        .collect();

    let mut steps = Vec::new();
    if !trusted {
        steps.push("enable trusted access for iam.amazonaws.com".to_string());
    }
    if !features.contains(&FeatureType::RootCredentialsManagement) {
        steps.push("enable RootCredentialsManagement".to_string());
    }
    if !features.contains(&FeatureType::RootSessions) {
        steps.push("enable RootSessions".to_string());
    }
    if let Some(id) = &delegated
        && !admins.iter().any(|admin| admin == id.as_str())
    {
        steps.push(format!("register {id} as the IAM delegated administrator"));
    }
    let mut stdout = std::io::stdout().lock();
    if steps.is_empty() {
        let _ = writeln!(
            stdout,
            "already enabled: trusted access for IAM, RootCredentialsManagement and RootSessions; nothing to change"
        );
        return Ok(exit::SUCCESS);
    }
    if !args.yes {
        app.note(&format!("rootsweep enable will:\n  {}", steps.join("\n  ")));
        let _ = write!(std::io::stderr(), "Type yes to continue: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|error| CliError::usage(format!("cannot read the confirmation: {error}")))?;
        if answer.trim() != "yes" {
            return Err(CliError::usage("not confirmed: nothing was changed"));
        }
    }
    if !trusted {
        organizations
            .enable_aws_service_access()
            .service_principal(IAM)
            .send()
            .await
            .map_err(|error| failure("EnableAWSServiceAccess", &error))?;
        let _ = writeln!(stdout, "enabled trusted access for iam.amazonaws.com");
    }
    if !features.contains(&FeatureType::RootCredentialsManagement) {
        iam.enable_organizations_root_credentials_management()
            .send()
            .await
            .map_err(|error| failure("EnableOrganizationsRootCredentialsManagement", &error))?;
        let _ = writeln!(stdout, "enabled RootCredentialsManagement");
    }
    if !features.contains(&FeatureType::RootSessions) {
        iam.enable_organizations_root_sessions()
            .send()
            .await
            .map_err(|error| failure("EnableOrganizationsRootSessions", &error))?;
        let _ = writeln!(stdout, "enabled RootSessions");
    }
    if let Some(id) = &delegated
        && !admins.iter().any(|admin| admin == id.as_str())
    {
        match organizations
            .register_delegated_administrator()
            .account_id(id.as_str())
            .service_principal(IAM)
            .send()
            .await
        {
            Ok(_) => {
                let _ = writeln!(stdout, "registered {id} as the IAM delegated administrator");
            }
            Err(error) if error.code() == Some("AccountAlreadyRegisteredException") => {
                let _ = writeln!(stdout, "{id} was already the IAM delegated administrator");
            }
            Err(error) => return Err(failure("RegisterDelegatedAdministrator", &error)),
        }
    }
    let enabled = iam
        .list_organizations_features()
        .send()
        .await
        .map_err(|error| failure("reading the features back", &error))?;
    let names: Vec<&str> = enabled
        .enabled_features()
        .iter()
        .map(FeatureType::as_str)
        .collect();
    let _ = writeln!(
        stdout,
        "now enabled: {}; check with `rootsweep doctor`",
        names.join(", ")
    );
    Ok(exit::SUCCESS)
}

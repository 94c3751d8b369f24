//! Reading root credentials with a root session: `read` lists the kinds asked for (every
//! page) into an [`Inventory`], for audit; `read_kind` lists one kind, for delete, which lists
//! each kind on its own and again to verify.

use std::collections::BTreeSet;
use std::future::Future;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::clock::format_datetime;
use crate::limits::ErrorClass;
use crate::outcome::{
    AccessKeyInfo, CredentialKind, Inventory, MfaDeviceInfo, MfaKind, PasswordInfo,
    SigningCertificateInfo,
};
use crate::session::{AccountContext, CallFailure, PageTokens};

/// Reads the root user's credentials of the given kinds. `last_used` also reads when each
/// access key was last used (one call per key; the audit policy allows it, and so does delete).
///
/// The kinds are read at once: they do not depend on each other, and one after another they
/// would make the account's chain of calls, and so the tail of a sweep, four round trips long
/// instead of one. Every kind asked for is read even if another fails; if several fail, the
/// failure reported is the first in the order password, access keys, signing certificates,
/// MFA devices, not whichever came first, so that outcomes do not depend on latency.
pub(crate) async fn read(
    context: &AccountContext,
    kinds: &BTreeSet<CredentialKind>,
    last_used: bool,
) -> Result<Inventory, CallFailure> {
    let wanted = |kind| kinds.contains(&kind);
    let (password, access_keys, signing_certificates, mfa_devices) = futures::join!(
        async {
            if wanted(CredentialKind::Password) {
                read_password(context).await
            } else {
                Ok(None)
            }
        },
        async {
            if wanted(CredentialKind::AccessKeys) {
                read_access_keys(context, last_used).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if wanted(CredentialKind::SigningCertificates) {
                read_signing_certificates(context).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if wanted(CredentialKind::MfaDevices) {
                read_mfa_devices(context).await
            } else {
                Ok(Vec::new())
            }
        },
    );
    Ok(Inventory {
        password: password?,
        access_keys: access_keys?,
        signing_certificates: signing_certificates?,
        mfa_devices: mfa_devices?,
    })
}

/// Reads the root user's credentials of one kind (not when access keys were last used).
///
/// An account's future holds this once per kind while the kinds are worked on side by side, so
/// it awaits only the one kind's reader: [`read`]'s future holds all four readers at once.
pub(crate) async fn read_kind(
    context: &AccountContext,
    kind: CredentialKind,
) -> Result<Inventory, CallFailure> {
    let mut inventory = Inventory::default();
    match kind {
        CredentialKind::Password => inventory.password = read_password(context).await?,
        CredentialKind::AccessKeys => {
            inventory.access_keys = read_access_keys(context, false).await?;
        }
        CredentialKind::SigningCertificates => {
            inventory.signing_certificates = read_signing_certificates(context).await?;
        }
        CredentialKind::MfaDevices => inventory.mfa_devices = read_mfa_devices(context).await?,
    }
    Ok(inventory)
}

async fn read_password(context: &AccountContext) -> Result<Option<PasswordInfo>, CallFailure> {
    match context
        .iam("iam:GetLoginProfile", |iam| async move {
            iam.get_login_profile().send().await
        })
        .await
    {
        Ok(output) => Ok(Some(PasswordInfo {
            created: output
                .login_profile()
                .map(|profile| format_datetime(profile.create_date())),
        })),
        // NoSuchEntity: the root user has no console password.
        Err(failure) if failure.class() == ErrorClass::NotFound => Ok(None),
        Err(failure) => Err(failure),
    }
}

async fn read_access_keys(
    context: &AccountContext,
    last_used: bool,
) -> Result<Vec<AccessKeyInfo>, CallFailure> {
    let mut keys = list_all(
        context,
        "iam:ListAccessKeys",
        |iam, marker| async move { iam.list_access_keys().set_marker(marker).send().await },
        |page, items| {
            items.extend(page.access_key_metadata().iter().filter_map(|key| {
                Some(AccessKeyInfo {
                    id: key.access_key_id()?.to_string(),
                    status: key.status().map(|status| status.as_str().to_string()),
                    created: key.create_date().map(format_datetime),
                    last_used: None,
                    last_used_service: None,
                    last_used_region: None,
                })
            }));
            page.marker()
                .map(str::to_string)
                .filter(|_| page.is_truncated())
        },
    )
    .await?;
    if !last_used {
        return Ok(keys);
    }
    // The root user has at most two keys; their lookups are independent too.
    let ids: Vec<String> = keys.iter().map(|key| key.id.clone()).collect();
    let lookups = ids.into_iter().map(|id| {
        context.iam("iam:GetAccessKeyLastUsed", move |iam| {
            let id = id.clone();
            async move {
                iam.get_access_key_last_used()
                    .access_key_id(id)
                    .send()
                    .await
            }
        })
    });
    let outputs = futures::future::join_all(lookups).await;
    for (key, output) in keys.iter_mut().zip(outputs) {
        if let Some(used) = output?.access_key_last_used() {
            key.last_used = used.last_used_date().map(format_datetime);
            key.last_used_service =
                Some(used.service_name().to_string()).filter(|name| name != "N/A");
            key.last_used_region = Some(used.region().to_string()).filter(|region| region != "N/A");
        }
    }
    Ok(keys)
}

async fn read_signing_certificates(
    context: &AccountContext,
) -> Result<Vec<SigningCertificateInfo>, CallFailure> {
    list_all(
        context,
        "iam:ListSigningCertificates",
        |iam, marker| async move {
            iam.list_signing_certificates()
                .set_marker(marker)
                .send()
                .await
        },
        |page, items| {
            items.extend(
                page.certificates()
                    .iter()
                    .map(|certificate| SigningCertificateInfo {
                        id: certificate.certificate_id().to_string(),
                        status: Some(certificate.status().as_str().to_string()),
                        uploaded: certificate.upload_date().map(format_datetime),
                    }),
            );
            page.marker()
                .map(str::to_string)
                .filter(|_| page.is_truncated())
        },
    )
    .await
}

async fn read_mfa_devices(context: &AccountContext) -> Result<Vec<MfaDeviceInfo>, CallFailure> {
    list_all(
        context,
        "iam:ListMFADevices",
        |iam, marker| async move { iam.list_mfa_devices().set_marker(marker).send().await },
        |page, items| {
            items.extend(page.mfa_devices().iter().map(|device| MfaDeviceInfo {
                kind: MfaKind::from_serial(device.serial_number()),
                serial: device.serial_number().to_string(),
                enabled: Some(format_datetime(device.enable_date())),
            }));
            page.marker()
                .map(str::to_string)
                .filter(|_| page.is_truncated())
        },
    )
    .await
}

/// Every page of an IAM list operation: `request` makes one call from a marker, `collect`
/// takes the page's items and returns the next marker (none when the list is complete).
async fn list_all<T, O, E, F, Fut>(
    context: &AccountContext,
    operation: &str,
    request: F,
    mut collect: impl FnMut(&O, &mut Vec<T>) -> Option<String>,
) -> Result<Vec<T>, CallFailure>
where
    F: Fn(aws_sdk_iam::Client, Option<String>) -> Fut,
    Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut items = Vec::new();
    let mut markers = PageTokens::default();
    let mut marker: Option<String> = None;
    loop {
        let page = context
            .iam(operation, |iam| request(iam, marker.clone()))
            .await?;
        marker = markers.next(operation, collect(&page, &mut items).as_deref())?;
        if marker.is_none() {
            return Ok(items);
        }
    }
}

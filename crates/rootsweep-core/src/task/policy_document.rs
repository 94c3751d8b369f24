//! Telling a resource policy that locks everyone out from an ordinary one:
//! [`denies_everyone`]. Find mode deletes only the former, so the test is deliberately narrow:
//! an unconditional `Deny` of every principal and every action of the service.

use serde_json::Value;

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// True when every principal is named: `"*"`, `{"AWS": "*"}` or a list holding `"*"`.
fn names_every_principal(principal: &Value) -> bool {
    match principal {
        Value::String(text) => text == "*",
        Value::Object(map) => map
            .get("AWS")
            .is_some_and(|aws| as_list(aws).iter().any(|item| item.as_str() == Some("*"))),
        _ => false,
    }
}

/// True when every action of `service` is named: `"*"`, `"service:*"` or a list holding one.
fn names_every_action(action: &Value, service: &str) -> bool {
    let every = format!("{service}:*");
    as_list(action).iter().any(|item| {
        item.as_str()
            .is_some_and(|text| text == "*" || text.eq_ignore_ascii_case(&every))
    })
}

/// Whether `policy` (a JSON document) has an unconditional statement that denies every
/// principal every action of `service` (`s3`, `sqs`). Conditional denials (TLS only, a VPC
/// endpoint, an organization ID) and `NotPrincipal`/`NotAction` forms are not "everyone": they
/// are ordinary policies and are left alone. A document that does not parse is not treated as
/// denying everyone either.
pub fn denies_everyone(policy: &str, service: &str) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let Some(statements) = document.get("Statement") else {
        return false;
    };
    as_list(statements).into_iter().any(|statement| {
        statement.get("Effect").and_then(Value::as_str) == Some("Deny")
            && statement
                .get("Principal")
                .is_some_and(names_every_principal)
            && statement
                .get("Action")
                .is_some_and(|action| names_every_action(action, service))
            && statement.get("Condition").is_none_or(|condition| {
                condition.as_object().is_some_and(serde_json::Map::is_empty)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_policies_are_recognized() {
        let locked = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        assert!(denies_everyone(locked, "s3"));
        let locked_single = r#"{"Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["sqs:SendMessage","*"],"Resource":"x"}}"#;
        assert!(denies_everyone(locked_single, "sqs"));
        let empty_condition =
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"S3:*","Condition":{}}]}"#;
        assert!(denies_everyone(empty_condition, "s3"));
    }

    #[test]
    fn ordinary_policies_are_left_alone() {
        for policy in [
            // TLS only: conditional.
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
            // One action only.
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject"}]}"#,
            // One principal only.
            r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*"}]}"#,
            // An allow.
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}"#,
            // NotPrincipal form.
            r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*"}]}"#,
            // Another service's wildcard.
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*"}]}"#,
            "not json",
            "{}",
        ] {
            assert!(!denies_everyone(policy, "s3"), "{policy}");
        }
    }
}

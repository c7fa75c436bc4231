//! `ferry account ...`: directly on a data dir (opening its store), or
//! against a running server through its `/_ferry/accounts` endpoints.

use anyhow::{Context, bail};
use ferry_sigv4::Credentials;
use http::Method;
use serde_json::{Value, json};

use ferry_core::accounts::AccountSummary;

use crate::cli::{AccountCommand, Target};
use crate::client::Client;
use crate::wiring::{OperatorFile, operator_path};

fn print(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn operator_credentials(target: &Target) -> anyhow::Result<Credentials> {
    if let (Ok(k), Ok(s)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok(Credentials::new(k, s));
    }
    let settings = target.store.settings()?;
    let path = operator_path(&settings.data_dir);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and no {}",
            path.display()
        )
    })?;
    let f: OperatorFile = serde_json::from_str(&text)?;
    Ok(Credentials::new(f.access_key_id, f.secret_access_key))
}

async fn remote(
    endpoint: &str,
    target: &Target,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let client = Client::new(endpoint, operator_credentials(target)?)?;
    let (status, v) = client.call(method, path, body).await?;
    if status != 200 {
        bail!(
            "{} ({}): {}",
            v.get("code").and_then(Value::as_str).unwrap_or("Error"),
            status,
            v.get("message").and_then(Value::as_str).unwrap_or("")
        );
    }
    Ok(v)
}

pub async fn run(cmd: AccountCommand) -> anyhow::Result<()> {
    match cmd {
        AccountCommand::Create {
            name,
            tier,
            email,
            target,
        } => {
            let tier: ferry_types::Tier = tier.parse()?;
            if let Some(ep) = &target.endpoint {
                let body = json!({"name": name, "tier": tier.as_str(), "email": email});
                return print(
                    &remote(ep, &target, Method::POST, "/_ferry/accounts", Some(body)).await?,
                );
            }
            let (ferry, settings) = local(&target).await?;
            let created = ferry.create_account(&name, email.as_deref(), tier).await?;
            ferry.placement().close().await;
            drop(settings);
            print(&serde_json::to_value(created)?)
        }
        AccountCommand::List { target } => {
            if let Some(ep) = &target.endpoint {
                return print(&remote(ep, &target, Method::GET, "/_ferry/accounts", None).await?);
            }
            let (ferry, _) = local(&target).await?;
            let accounts: Vec<AccountSummary> = ferry
                .list_all_accounts()
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
            ferry.placement().close().await;
            print(&serde_json::to_value(accounts)?)
        }
        AccountCommand::Key { account_id, target } => {
            let id: ferry_types::AccountId = account_id.parse()?;
            if let Some(ep) = &target.endpoint {
                let path = format!("/_ferry/accounts/{id}/keys");
                return print(&remote(ep, &target, Method::POST, &path, None).await?);
            }
            let (ferry, _) = local(&target).await?;
            let key = ferry.create_admin_key(id).await?;
            ferry.placement().close().await;
            print(&serde_json::to_value(key)?)
        }
    }
}

/// Opens the data dir's store directly (the server may be running on it:
/// SQLite in WAL mode takes both). Bootstraps the operator on a fresh dir.
async fn local(
    target: &Target,
) -> anyhow::Result<(std::sync::Arc<ferry_core::Ferry>, ferry_config::Settings)> {
    let settings = target.store.settings()?;
    let (ferry, _audit) = crate::wiring::open_ferry(&settings).await?;
    crate::wiring::ensure_operator(&ferry, &settings.data_dir).await?;
    Ok((ferry, settings))
}

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ferry_types::{AccountId, Tier};

use crate::{Account, Store, StoreError};

/// Which blob root holds an account's object bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobRoot {
    /// The shared root of pooled accounts (keys are prefixed by account).
    Shared,
    /// A siloed account's own root.
    Silo(AccountId),
}

/// Opens the private store of a siloed account (its own SQLite file, or its
/// own Postgres schema), creating and migrating it on first use.
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// Opens (creating if needed) the silo of `account`.
    async fn open_silo(&self, account: AccountId) -> Result<Arc<dyn Store>, StoreError>;
}

/// Decides where an account's rows live. This is the only place that looks
/// at a tier: services ask for "the store of account X" and never branch.
pub struct Placement {
    main: Arc<dyn Store>,
    factory: Arc<dyn StoreFactory>,
    // std locks: held only for map lookups, never across an await.
    tiers: RwLock<HashMap<AccountId, Tier>>,
    silos: tokio::sync::Mutex<HashMap<AccountId, Arc<dyn Store>>>,
}

impl Placement {
    /// A placement over the main store, opening silos through `factory`.
    pub fn new(main: Arc<dyn Store>, factory: Arc<dyn StoreFactory>) -> Self {
        Placement {
            main,
            factory,
            tiers: RwLock::new(HashMap::new()),
            silos: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The main store, which also holds the catalog (accounts, key index).
    pub fn catalog(&self) -> &Arc<dyn Store> {
        &self.main
    }

    fn cached_tier(&self, account: AccountId) -> Option<Tier> {
        self.tiers
            .read()
            .map(|t| t.get(&account).copied())
            .unwrap_or(None)
    }

    /// Records an account's tier (and opens its silo), so the next
    /// `for_account` needs no catalog read. Call before writing to a new
    /// account's store.
    pub async fn register(&self, account: &Account) -> Result<Arc<dyn Store>, StoreError> {
        if let Ok(mut t) = self.tiers.write() {
            t.insert(account.id, account.tier);
        }
        self.open(account.id, account.tier).await
    }

    /// The store that holds `account`'s rows. An unknown account maps to the
    /// main store, where it has no rows.
    pub async fn for_account(&self, account: AccountId) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self.existing(account).await? {
            Some(s) => s,
            None => self.main.clone(),
        })
    }

    /// The store of an account that exists; `None` for an unknown account
    /// (so nothing is ever written for an account id a client made up).
    pub async fn existing(&self, account: AccountId) -> Result<Option<Arc<dyn Store>>, StoreError> {
        let tier = match self.cached_tier(account) {
            Some(t) => t,
            None => match self.main.get_account(account).await? {
                Some(a) => {
                    if let Ok(mut t) = self.tiers.write() {
                        t.insert(a.id, a.tier);
                    }
                    a.tier
                }
                None => return Ok(None),
            },
        };
        self.open(account, tier).await.map(Some)
    }

    async fn open(&self, account: AccountId, tier: Tier) -> Result<Arc<dyn Store>, StoreError> {
        match tier {
            Tier::Pooled => Ok(self.main.clone()),
            Tier::Siloed => {
                let mut silos = self.silos.lock().await;
                if let Some(s) = silos.get(&account) {
                    return Ok(s.clone());
                }
                let s = self.factory.open_silo(account).await?;
                silos.insert(account, s.clone());
                Ok(s)
            }
        }
    }

    /// The blob root of `account`: decided here, with the metadata store,
    /// so bytes and rows of a siloed account are apart together.
    pub async fn blob_root(&self, account: AccountId) -> Result<BlobRoot, StoreError> {
        let tier = match self.cached_tier(account) {
            Some(t) => t,
            None => self
                .main
                .get_account(account)
                .await?
                .map(|a| a.tier)
                .unwrap_or(Tier::Pooled),
        };
        Ok(match tier {
            Tier::Pooled => BlobRoot::Shared,
            Tier::Siloed => BlobRoot::Silo(account),
        })
    }

    /// Every store currently open (main first), e.g. for the outbox relay.
    pub async fn open_stores(&self) -> Vec<Arc<dyn Store>> {
        let mut all = vec![self.main.clone()];
        all.extend(self.silos.lock().await.values().cloned());
        all
    }

    /// Opens the silo of every siloed account in the catalog, so background
    /// work sees them all after a restart.
    pub async fn open_all(&self) -> Result<(), StoreError> {
        for a in self.main.list_accounts().await? {
            self.register(&a).await?;
        }
        Ok(())
    }

    /// Closes every store.
    pub async fn close(&self) {
        for s in self.open_stores().await {
            s.close().await;
        }
    }
}

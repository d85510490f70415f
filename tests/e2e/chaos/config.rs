//! The campaign's configuration: declared keys and accounts, and the random mutations of it.

use super::*;

/// A declared key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    /// `description = "build N"`, or none.
    pub(super) description: Option<u32>,
    /// `rotation = "rN"`, or none.
    pub(super) rotation: Option<u32>,
}

impl Key {
    pub(super) fn random(rng: &mut StdRng) -> Key {
        Key {
            description: rng.random_bool(0.3).then_some(1),
            rotation: rng.random_bool(0.5).then_some(1),
        }
    }

    /// Whether changing `self` to `new` replaces the key: a new description, or a new rotation
    /// value where both have one (a key without a recorded value is taken to match).
    pub(super) fn replaced_by(&self, new: &Key) -> bool {
        self.description != new.description
            || matches!((self.rotation, new.rotation), (Some(a), Some(b)) if a != b)
    }
}

/// A declared service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Account {
    pub(super) active: bool,
    pub(super) keys: BTreeMap<&'static str, Key>,
}

impl Account {
    /// An active account with up to [`MAX_KEYS`] random keys.
    pub(super) fn random(rng: &mut StdRng) -> Account {
        let mut keys = BTreeMap::new();
        for _ in 0..rng.random_range(0..=MAX_KEYS) {
            let name = KEYS[rng.random_range(0..KEYS.len())];
            keys.insert(name, Key::random(rng));
        }
        Account { active: true, keys }
    }
}

/// The configuration the campaign keeps changing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Config {
    /// Declared projects and their accounts.
    pub(super) projects: BTreeMap<&'static str, BTreeMap<&'static str, Account>>,
    /// Secrets go to the `[secrets] command` instead of `.kcform/secrets`.
    pub(super) command_sink: bool,
}

/// One change to the configuration.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mutation {
    DeclareProject(&'static str),
    AddAccount(&'static str, &'static str),
    RemoveAccount(&'static str, &'static str),
    Deactivate(&'static str, &'static str),
    Activate(&'static str, &'static str),
    AddKey(&'static str, &'static str, &'static str),
    RemoveKey(&'static str, &'static str, &'static str),
    Rotate(&'static str, &'static str, &'static str),
    Describe(&'static str, &'static str, &'static str),
}

impl Config {
    /// The first configuration: one project with two accounts.
    pub(super) fn initial(rng: &mut StdRng) -> Config {
        let accounts = ACCOUNTS[..2]
            .iter()
            .map(|&name| (name, Account::random(rng)))
            .collect();
        Config {
            projects: [(PROJECTS[0], accounts)].into(),
            command_sink: false,
        }
    }

    /// Every change that can be made to this configuration, in a stable order.
    pub(super) fn mutations(&self) -> Vec<Mutation> {
        let mut all = Vec::new();
        for project in PROJECTS {
            let Some(accounts) = self.projects.get(project) else {
                all.push(Mutation::DeclareProject(project));
                continue;
            };
            for account in ACCOUNTS {
                let Some(declared) = accounts.get(account) else {
                    if accounts.len() < MAX_ACCOUNTS {
                        all.push(Mutation::AddAccount(project, account));
                    }
                    continue;
                };
                all.push(Mutation::RemoveAccount(project, account));
                if !declared.active {
                    all.push(Mutation::Activate(project, account));
                    continue;
                }
                all.push(Mutation::Deactivate(project, account));
                for key in KEYS {
                    if declared.keys.contains_key(key) {
                        all.push(Mutation::RemoveKey(project, account, key));
                        all.push(Mutation::Rotate(project, account, key));
                        all.push(Mutation::Describe(project, account, key));
                    } else if declared.keys.len() < MAX_KEYS {
                        all.push(Mutation::AddKey(project, account, key));
                    }
                }
            }
        }
        all
    }

    /// Makes one to three random changes (and sometimes switches the sink); returns them.
    pub(super) fn mutate(&mut self, rng: &mut StdRng) -> Vec<String> {
        let mut done = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            let all = self.mutations();
            let mutation = all[rng.random_range(0..all.len())];
            self.apply(mutation, rng);
            done.push(format!("{mutation:?}"));
        }
        if rng.random_bool(0.2) {
            self.command_sink = !self.command_sink;
            done.push(if self.command_sink {
                "secrets to the command".to_string()
            } else {
                "secrets to .kcform/secrets".to_string()
            });
        }
        done
    }

    pub(super) fn apply(&mut self, mutation: Mutation, rng: &mut StdRng) {
        fn account<'a>(config: &'a mut Config, project: &str, account: &str) -> &'a mut Account {
            config
                .projects
                .get_mut(project)
                .and_then(|accounts| accounts.get_mut(account))
                .expect("a mutation names a declared account")
        }
        match mutation {
            Mutation::DeclareProject(project) => {
                let accounts = ACCOUNTS[..rng.random_range(1..=2)]
                    .iter()
                    .map(|&name| (name, Account::random(rng)))
                    .collect();
                self.projects.insert(project, accounts);
            }
            Mutation::AddAccount(project, name) => {
                let new = Account::random(rng);
                self.projects.get_mut(project).unwrap().insert(name, new);
            }
            Mutation::RemoveAccount(project, name) => {
                self.projects.get_mut(project).unwrap().remove(name);
            }
            Mutation::Deactivate(project, name) => {
                // An inactive account declares no keys.
                *account(self, project, name) = Account {
                    active: false,
                    keys: BTreeMap::new(),
                };
            }
            Mutation::Activate(project, name) => {
                *account(self, project, name) = Account::random(rng);
            }
            Mutation::AddKey(project, name, key) => {
                let new = Key::random(rng);
                account(self, project, name).keys.insert(key, new);
            }
            Mutation::RemoveKey(project, name, key) => {
                account(self, project, name).keys.remove(key);
            }
            Mutation::Rotate(project, name, key) => {
                let key = account(self, project, name).keys.get_mut(key).unwrap();
                key.rotation = Some(key.rotation.map_or(1, |r| r + 1));
            }
            Mutation::Describe(project, name, key) => {
                let key = account(self, project, name).keys.get_mut(key).unwrap();
                key.description = Some(key.description.map_or(1, |d| d + 1));
            }
        }
    }

    /// The configuration file; a command sink writes each secret to a new file in `vault`.
    pub(super) fn render(&self, vault: &std::path::Path) -> String {
        let mut text = String::new();
        if self.command_sink {
            // The command cannot know which key a secret is for: each delivery gets a new
            // file, which appears (renamed to `*.json`) only once complete. A kcform killed in
            // the middle of a delivery closes the command's stdin early, which `cat` cannot
            // tell from the end: what lacks the JSON's closing line is no delivery.
            let script = format!(
                "t=$(mktemp {}/.delivery.XXXXXX) && cat > \"$t\" && grep -q '^}}$' \"$t\" && mv \"$t\" \"$t.json\" || {{ rm -f \"$t\"; exit 1; }}",
                vault.display()
            );
            let _ = writeln!(
                text,
                "[secrets]\ncommand = [\"sh\", \"-c\", {}]\n",
                quote(&script)
            );
        }
        for (project, accounts) in &self.projects {
            let _ = writeln!(text, "[project.{project}]\nnickname = \"{project}\"\n");
            for (name, account) in accounts {
                let _ = writeln!(text, "[project.{project}.service_account.{name}]");
                if !account.active {
                    let _ = writeln!(text, "status = \"inactive\"");
                }
                text.push('\n');
                for (key, spec) in &account.keys {
                    let _ = writeln!(
                        text,
                        "[project.{project}.service_account.{name}.access_key.{key}]"
                    );
                    if let Some(description) = spec.description {
                        let _ = writeln!(text, "description = \"build {description}\"");
                    }
                    if let Some(rotation) = spec.rotation {
                        let _ = writeln!(text, "rotation = \"r{rotation}\"");
                    }
                    text.push('\n');
                }
            }
        }
        text
    }

    pub(super) fn key(&self, project: &str, account: &str, key: &str) -> Option<&Key> {
        self.projects.get(project)?.get(account)?.keys.get(key)
    }
}

/// A TOML basic string (a JSON string is one).
pub(super) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

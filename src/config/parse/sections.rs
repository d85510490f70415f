//! The top-level sections of one file: `[provider]`, `[secrets]` and `[lock]`.

use std::ops::Range;

use crate::model::{LockBackend, Provider, SecretsSink};

use super::{Key, LOCK_KEYS, PROVIDER_KEYS, SECRETS_KEYS, Section, Value, Walker};
use crate::config::diagnostic::Problem;
use crate::config::rules::{self, MAX_PARALLELISM};

impl Walker<'_> {
    pub(super) fn provider(
        &mut self,
        key: &Key<'_>,
        value: &Value<'_>,
    ) -> Option<Section<Provider>> {
        let table = self.table(value, "`provider`", "a table `[provider]`")?;
        let mut provider = Provider::default();
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "endpoint" => {
                    if let Some(text) = self.string(v, "`provider.endpoint`") {
                        match rules::endpoint(text) {
                            Ok(endpoint) => provider.endpoint = endpoint,
                            Err(rejection) => {
                                let mut problem =
                                    Problem::at(self.loc(v.span()), rejection.message)
                                        .label("invalid endpoint");
                                if let Some(help) = rejection.help {
                                    problem = problem.help(help);
                                }
                                self.report(problem);
                            }
                        }
                    }
                }
                "parallelism" => {
                    if let Some(n) = self.integer(v, "`provider.parallelism`") {
                        match usize::try_from(n) {
                            Ok(n) if (1..=MAX_PARALLELISM).contains(&n) => provider.parallelism = n,
                            _ => self.error(
                                v.span(),
                                format!("`provider.parallelism` is {n}; it must be from 1 to {MAX_PARALLELISM}"),
                                "out of range",
                            ),
                        }
                    }
                }
                _ => self.unknown_key(k, "`[provider]`", PROVIDER_KEYS, None),
            }
        }
        Some(Section {
            value: provider,
            origin: self.origin(key, value),
        })
    }

    pub(super) fn secrets(
        &mut self,
        key: &Key<'_>,
        value: &Value<'_>,
    ) -> Option<Section<SecretsSink>> {
        let table = self.table(value, "`secrets`", "a table `[secrets]`")?;
        let mut dir: Option<(String, Range<usize>)> = None;
        let mut command: Option<(Vec<String>, Range<usize>)> = None;
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "dir" => {
                    if let Some(text) = self.string(v, "`secrets.dir`") {
                        if text.trim().is_empty() {
                            self.error(v.span(), "`secrets.dir` is empty".into(), "empty");
                        } else {
                            dir = Some((text.to_string(), k.span()));
                        }
                    }
                }
                "command" => {
                    if let Some(args) = self.strings(v, "`secrets.command`") {
                        match args.first() {
                            None => self.error(
                                v.span(),
                                "`secrets.command` is empty; it needs at least the program to run"
                                    .into(),
                                "empty",
                            ),
                            Some((program, span)) if program.trim().is_empty() => self.error(
                                span.clone(),
                                "the program of `secrets.command` is empty".into(),
                                "empty",
                            ),
                            Some(_) => {
                                let mut usable = true;
                                for (arg, span) in &args {
                                    if let Err(problem) = crate::placeholders::check(arg) {
                                        usable = false;
                                        self.error(
                                            span.clone(),
                                            format!(
                                                "`secrets.command`: {problem}; the placeholders are {}",
                                                crate::placeholders::NAMES
                                                    .map(|n| format!("`{{{n}}}`"))
                                                    .join(", ")
                                            ),
                                            "here",
                                        );
                                    }
                                }
                                if usable {
                                    command = Some((
                                        args.into_iter().map(|(s, _)| s).collect(),
                                        k.span(),
                                    ));
                                }
                            }
                        }
                    }
                }
                _ => self.unknown_key(k, "`[secrets]`", SECRETS_KEYS, None),
            }
        }
        let sink = match (dir, command) {
            (Some((_, dir_span)), Some((_, command_span))) => {
                let problem = Problem::at(
                    self.loc(command_span),
                    "`[secrets]` sets both `dir` and `command`",
                )
                .label("second delivery method")
                .related(self.loc(dir_span), "first delivery method")
                .help("new secrets go either to files under `dir` or to `command`; keep one");
                self.report(problem);
                SecretsSink::default()
            }
            (Some((dir, _)), None) => SecretsSink::Dir(dir.into()),
            (None, Some((command, _))) => SecretsSink::Command(command),
            (None, None) => SecretsSink::default(),
        };
        Some(Section {
            value: sink,
            origin: self.origin(key, value),
        })
    }

    pub(super) fn lock(
        &mut self,
        key: &Key<'_>,
        value: &Value<'_>,
    ) -> Option<Section<LockBackend>> {
        let table = self.table(value, "`lock`", "a table `[lock]`")?;
        let mut backend = LockBackend::default();
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "backend" => {
                    if let Some(text) = self.string(v, "`lock.backend`") {
                        match rules::lock_backend(text) {
                            Ok(b) => backend = b,
                            Err(rejection) => {
                                let mut problem =
                                    Problem::at(self.loc(v.span()), rejection.message)
                                        .label("invalid lock backend");
                                if let Some(help) = rejection.help {
                                    problem = problem.help(help);
                                }
                                self.report(problem);
                            }
                        }
                    }
                }
                _ => self.unknown_key(k, "`[lock]`", LOCK_KEYS, None),
            }
        }
        Some(Section {
            value: backend,
            origin: self.origin(key, value),
        })
    }
}

//! The module graph of `src/` has no cycle. Every `crate::…` and `super::…` path in the
//! library's code (comments, strings and `#[cfg(test)]` items left out: tests may use any
//! module, as a dev-dependency would) is read as an edge between top-level modules —
//! `src/<m>.rs` or `src/<m>/` — and the graph must be acyclic, so each module can be read
//! knowing only the modules below it. A failure prints every cycle with a line that makes each
//! of its edges. `main.rs` is a crate of its own (it uses `kcform::…`) and is not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where an edge comes from: `src/<file>:<line>`.
type Evidence = String;

/// Top-level module → module it uses → the first line that uses it.
type Graph = BTreeMap<String, BTreeMap<String, Evidence>>;

#[test]
fn src_has_no_module_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    assert!(
        graph.len() > 10,
        "too few modules read from {}: {graph:?}",
        src.display()
    );
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "module cycles in src/ (each module must use only modules below it):\n{}",
        cycles.join("\n")
    );
}

/// The pipeline sits between the commands and the modules it orchestrates: the commands use
/// it, and `exit`, which reads its error type to map it to an exit code; nothing else does,
/// and it uses neither (docs/design.md#modules).
#[test]
fn only_the_commands_use_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    let users: Vec<String> = graph
        .iter()
        .filter_map(|(module, uses)| {
            uses.get("pipeline")
                .map(|evidence| format!("{module} ({evidence})"))
        })
        .collect();
    assert_eq!(
        users
            .iter()
            .map(|u| u.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["commands", "exit"],
        "modules that use the pipeline: {users:?}"
    );
    let used = &graph["pipeline"];
    assert!(!used.contains_key("commands"), "{used:?}");
    assert!(!used.contains_key("exit"), "{used:?}");
    for needed in ["plan", "apply", "state", "cloud", "connection"] {
        assert!(
            used.contains_key(needed),
            "the pipeline no longer uses {needed}: {used:?}"
        );
    }
}

#[test]
fn every_form_of_path_is_an_edge_and_test_code_is_not() {
    let source = r#"
        //! Uses crate::doc_only in a comment.
        use crate::a::Thing;
        use crate::{b, c::{D, E}};
        use super::*;
        mod inner {
            use super::super::f;
        }
        fn run() {
            let _ = crate::d::go();
            let _ = "crate::in_a_string";
            let _ = '{';
            super::e::call();
        }
        #[cfg(test)]
        mod tests {
            use crate::test_only;
        }
        #[cfg(test)]
        mod fixtures;
    "#;
    let (edges, test_modules) = references(source, &["top".to_string()]);
    let targets: BTreeSet<&str> = edges.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        targets,
        BTreeSet::from(["a", "b", "c", "d", "e", "f"]),
        "{edges:?}"
    );
    assert_eq!(test_modules, ["fixtures"]);
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string(), format!("src/{from}.rs:1"));
    }
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a -> b -> c -> a"), "{found:?}");
    graph.get_mut("c").unwrap().remove("a");
    assert!(cycles(&graph).is_empty());
}

/// The module path of a file under `src/` (`src/a/b.rs` and `src/a/b/mod.rs` → `[a, b]`);
/// `None` for `main.rs`.
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [only] if only == "main" => return None,
        [only] if only == "lib" => return Some(Vec::new()),
        _ => {}
    }
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    Some(parts)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("src/ is readable").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The graph of the library under `src`.
/// The flow's rules (docs/design.md#modules): `graph` orders operations knowing neither plans
/// nor their execution, and the pure core — `config`, `plan`, `graph`, `render`, `import` —
/// uses no module that talks to the network, keeps state or runs the emulator.
#[test]
fn graph_knows_neither_plan_nor_apply_and_the_pure_core_does_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    let mut broken = Vec::new();
    for forbidden in ["plan", "apply"] {
        if let Some(evidence) = graph["graph"].get(forbidden) {
            broken.push(format!("graph uses {forbidden} ({evidence})"));
        }
    }
    const IO: [&str; 9] = [
        "cloud",
        "state",
        "emulator",
        "apply",
        "pipeline",
        "commands",
        "connection",
        "settings",
        "env",
    ];
    for pure in ["config", "plan", "graph", "render", "import"] {
        for (used, evidence) in &graph[pure] {
            if IO.contains(&used.as_str()) {
                broken.push(format!("{pure} uses {used} ({evidence})"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // The rule is read from real edges: the core does use the modules below it.
    assert!(graph["plan"].contains_key("graph"), "{:?}", graph["plan"]);
    assert!(
        graph["render"].contains_key("plan"),
        "{:?}",
        graph["render"]
    );
}

fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut modules = BTreeMap::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut read = Vec::new();
    for file in files {
        let Some(path) = module_path(src, &file) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).expect("source is UTF-8");
        let (edges, tests) = references(&source, &path);
        for name in tests {
            let mut test_path = path.clone();
            test_path.push(name);
            test_only.insert(test_path);
        }
        if let Some(top) = path.first() {
            modules.insert(top.clone(), BTreeMap::new());
        }
        read.push((file, path, edges));
    }
    let mut graph: Graph = modules;
    for (file, path, edges) in read {
        let Some(top) = path.first() else {
            continue;
        };
        if (1..=path.len()).any(|n| test_only.contains(&path[..n])) {
            continue;
        }
        let shown = file.strip_prefix(src.parent().unwrap()).unwrap().display();
        for (target, line) in edges {
            if target != *top && graph.contains_key(&target) {
                graph
                    .get_mut(top)
                    .unwrap()
                    .entry(target)
                    .or_insert_with(|| format!("{shown}:{line}"));
            }
        }
    }
    graph
}

/// `source` with comments, string and character literals blanked (newlines kept, so offsets
/// keep their lines).
fn strip(source: &str) -> Vec<char> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = chars.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(chars.len())] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.starts_with(&['/', '/']) {
            let end = (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len());
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            let mut j = i;
            while j < chars.len() {
                if chars[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if chars[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if chars[i] == 'r'
            && (i == 0
                || !is_ident(chars[i - 1])
                || (chars[i - 1] == 'b' && (i < 2 || !is_ident(chars[i - 2]))))
            && matches!(rest.get(1), Some('"' | '#'))
        {
            // A raw string: r"…" or r#"…"#.
            let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                i += 1;
                continue;
            }
            let mut closing = vec!['"'];
            closing.extend(std::iter::repeat_n('#', hashes));
            let mut j = i + 2 + hashes;
            while j < chars.len() && !chars[j..].starts_with(&closing) {
                j += 1;
            }
            let end = j + closing.len();
            blank(&mut out, i, end);
            i = end;
        } else if chars[i] == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if chars[i] == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime (left alone).
            let end = if rest.get(1) == Some(&'\\') {
                (i + 3..chars.len()).find(|&j| chars[j] == '\'')
            } else if rest.get(2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end + 1);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A token of stripped source: an identifier, `::`, or one punctuation character.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Path,
    Punct(char),
}

fn tokens(chars: &[char]) -> Vec<(Token, usize)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            out.push((Token::Ident(chars[start..i].iter().collect()), line));
        } else if chars[i..].starts_with(&[':', ':']) {
            out.push((Token::Path, line));
            i += 2;
        } else {
            out.push((Token::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// Removes the item after each `#[cfg(test)]` (an inline module, a function, a `use`…);
/// returns the names of test modules declared as files (`#[cfg(test)] mod name;`).
fn drop_test_items(tokens: &mut Vec<(Token, usize)>) -> Vec<String> {
    let cfg_test = [
        Token::Punct('#'),
        Token::Punct('['),
        Token::Ident("cfg".into()),
        Token::Punct('('),
        Token::Ident("test".into()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    let mut file_modules = Vec::new();
    let mut i = 0;
    while i + cfg_test.len() <= tokens.len() {
        let here = tokens[i..i + cfg_test.len()].iter().map(|(t, _)| t);
        if !here.eq(cfg_test.iter()) {
            i += 1;
            continue;
        }
        let mut j = i + cfg_test.len();
        let mut depth = 0usize;
        let item_start = j;
        while j < tokens.len() {
            match &tokens[j].0 {
                Token::Punct('(' | '[' | '{') => depth += 1,
                Token::Punct(')' | ']') => depth = depth.saturating_sub(1),
                Token::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                Token::Punct(';') if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let item: Vec<&Token> = tokens[item_start..j].iter().map(|(t, _)| t).collect();
        if let [
            ..,
            Token::Ident(keyword),
            Token::Ident(name),
            Token::Punct(';'),
        ] = item.as_slice()
            && keyword == "mod"
        {
            file_modules.push(name.clone());
        }
        tokens.drain(i..j);
    }
    file_modules
}

/// The top-level modules `source` (the file of module `path`) refers to, each with a line;
/// and the test-only modules it declares as files.
fn references(source: &str, path: &[String]) -> (Vec<(String, usize)>, Vec<String>) {
    let mut tokens = tokens(&strip(source));
    let test_modules = drop_test_items(&mut tokens);
    let ident = |i: usize| match tokens.get(i) {
        Some((Token::Ident(name), _)) => Some(name.as_str()),
        _ => None,
    };
    let mut edges = Vec::new();
    // Inline modules the cursor is in: the brace depth each one opened at.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Punct('{') => {
                if i >= 2 && ident(i - 2) == Some("mod") && ident(i - 1).is_some() {
                    inline.push(depth);
                }
                depth += 1;
            }
            Token::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
            }
            _ => {}
        }
        let preceded_by_path = i > 0 && tokens[i - 1].0 == Token::Path;
        let from_root = match ident(i) {
            Some("crate") if !preceded_by_path => Some(i + 1),
            Some("super") if !preceded_by_path => {
                let mut supers = 0;
                let mut j = i;
                while ident(j) == Some("super")
                    && tokens.get(j + 1).map(|t| &t.0) == Some(&Token::Path)
                {
                    supers += 1;
                    j += 2;
                }
                (supers >= path.len() + inline.len()).then_some(j - 1)
            }
            _ => None,
        };
        if let Some(at) = from_root
            && tokens.get(at).map(|t| &t.0) == Some(&Token::Path)
        {
            let line = tokens[at].1;
            match tokens.get(at + 1).map(|t| &t.0) {
                Some(Token::Ident(name)) => edges.push((name.clone(), line)),
                Some(Token::Punct('{')) => {
                    // `crate::{a, b::c}`: the first name of each path in the group.
                    let mut level = 0;
                    let mut expect_name = true;
                    for (token, line) in &tokens[at + 1..] {
                        match token {
                            Token::Punct('{') => {
                                level += 1;
                                expect_name = level == 1;
                            }
                            Token::Punct('}') => {
                                level -= 1;
                                if level == 0 {
                                    break;
                                }
                            }
                            Token::Punct(',') if level == 1 => expect_name = true,
                            Token::Ident(name) if expect_name && level == 1 => {
                                edges.push((name.clone(), *line));
                                expect_name = false;
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    edges.retain(|(name, _)| name != "self" && name != "super" && name != "crate");
    (edges, test_modules)
}

/// Every cycle of `graph`, one per strongly connected component of two or more modules, as
/// `a -> b -> a` followed by the line that makes each edge.
fn cycles(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen: BTreeSet<&String> = BTreeSet::new();
    for start in graph.keys() {
        if seen.contains(start) {
            continue;
        }
        // The modules on a path back to `start`: reachable from it and reaching it.
        let from = reachable(start, |m| {
            graph.get(m).into_iter().flat_map(|e| e.keys()).collect()
        });
        let to = reachable(start, |m| {
            graph
                .iter()
                .filter(|(_, e)| e.contains_key(m))
                .map(|(k, _)| k)
                .collect()
        });
        let component: BTreeSet<&String> = from.intersection(&to).copied().collect();
        seen.extend(&component);
        if component.len() < 2 {
            continue;
        }
        // A shortest way round, through the component.
        let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut last = None;
        'search: while let Some(m) = queue.pop_front() {
            for next in graph[m].keys() {
                if next == start {
                    last = Some(m);
                    break 'search;
                }
                if component.contains(next) && !previous.contains_key(next) {
                    previous.insert(next, m);
                    queue.push_back(next);
                }
            }
        }
        let mut back = Vec::new();
        let mut at = last.expect("a component of two has a way round");
        while at != start {
            back.push(at.clone());
            at = previous[at];
        }
        let ring: Vec<String> = std::iter::once(start.clone())
            .chain(back.into_iter().rev())
            .chain(std::iter::once(start.clone()))
            .collect();
        let mut text = ring.join(" -> ");
        for pair in ring.windows(2) {
            text.push_str(&format!(
                "\n    {} -> {}: {}",
                pair[0], pair[1], graph[&pair[0]][&pair[1]]
            ));
        }
        let others: Vec<&str> = component
            .iter()
            .filter(|m| !ring.contains(m))
            .map(|m| m.as_str())
            .collect();
        if !others.is_empty() {
            text.push_str(&format!(
                "\n    (also in this cycle: {})",
                others.join(", ")
            ));
        }
        found.push(text);
    }
    found
}

fn reachable<'a>(
    start: &'a String,
    next: impl Fn(&'a String) -> Vec<&'a String>,
) -> BTreeSet<&'a String> {
    let mut seen = BTreeSet::from([start]);
    let mut stack = vec![start];
    while let Some(m) = stack.pop() {
        for n in next(m) {
            if seen.insert(n) {
                stack.push(n);
            }
        }
    }
    seen
}

//! The layout is the architecture (README "Design"): `core` is pure and depends on no other layer;
//! `server` and `node` depend on `core` only, never on each other's internals' callers (`cli`); nothing
//! below `cli` goes back up to it. Checked on the source itself, so that a new `use` that breaks the
//! one-way dependencies fails here instead of going unnoticed.

use std::path::{Path, PathBuf};

/// The folder of a layer's sources: `core` is the crate crates/eidb-core, the others are folders of src/.
fn layer_root(layer: &str) -> PathBuf {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    match layer.strip_prefix("core") {
        Some(rest) => repository
            .join("crates/eidb-core/src")
            .join(rest.trim_start_matches('/')),
        None => repository.join("src").join(layer),
    }
}

fn sources(folder: &str) -> Vec<PathBuf> {
    let root = layer_root(folder);
    if root.is_file() {
        return vec![root];
    }
    let mut found = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    assert!(!found.is_empty(), "no sources under {}", root.display());
    found
}

/// Lines of code (not comments) of the non-test part of a file that contain any of `forbidden`.
fn offending(folder: &str, forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    // test_support.rs is a test-only module (`#[cfg(test)] mod test_support`).
    for path in sources(folder)
        .into_iter()
        .filter(|p| !p.ends_with("test_support.rs"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        // The unit tests may read fixtures; the rules are for what ships.
        let shipped = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (i, line) in shipped.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if let Some(word) = forbidden.iter().find(|w| code.contains(*w)) {
                out.push(format!(
                    "{}:{}: `{word}` in: {}",
                    path.display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    out
}

#[test]
fn core_is_pure_and_depends_on_no_other_layer() {
    // The other layers and the driver are out of reach of the crate (below); std is not, so its file,
    // environment and network reading is looked for here.
    let found = offending(
        "core",
        &[
            "std::fs",
            "std::env",
            "std::process",
            "TcpStream",
            "read_dir",
            ".is_file()",
            ".is_dir()",
            ".exists()",
        ],
    );
    assert!(
        found.is_empty(),
        "core must read nothing and use no other layer:\n{}",
        found.join("\n")
    );
}

/// The core crate's dependencies: none of eidb's other layers (it could not name them anyway: they are
/// the crate above it), no database driver, no async runtime, nothing that does I/O.
#[test]
fn the_core_crate_depends_on_no_driver_runtime_or_layer() {
    let manifest = std::fs::read_to_string(layer_root("core").join("../Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&manifest).unwrap();
    let dependencies: Vec<&String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .collect();
    assert!(!dependencies.is_empty(), "{manifest:?}");
    for forbidden in [
        "eidb",
        "sqlx",
        "tokio",
        "futures-util",
        "tempfile",
        "libc",
        "quick-xml",
    ] {
        assert!(
            !dependencies.iter().any(|d| *d == forbidden),
            "crates/eidb-core depends on {forbidden}: core is pure, that belongs to a layer above it"
        );
    }
}

#[test]
fn server_and_node_do_not_reach_up_into_the_shell_or_each_other() {
    let mut found = offending("server", &["crate::cli", "crate::node"]);
    found.extend(offending("node", &["crate::cli", "crate::server", "sqlx"]));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_node_plan_and_the_xml_editor_read_and_write_nothing() {
    let pure = ["std::fs", "fs::", "std::env", "sqlx", "tokio", "read_dir"];
    let mut found = offending("node/plan.rs", &pure);
    found.extend(offending("node/conf", &pure));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_checks_above_can_fail() {
    // The scanner finds what it looks for: the shell does use the server side, and the node files are
    // read and written in node/files.rs.
    assert!(!offending("cli", &["crate::server"]).is_empty());
    assert!(!offending("node/files.rs", &["fs::"]).is_empty());
}

/// Lines of the shipped code where a string literal holds a run of `run` spaces: a message continued on
/// the next source line without its `\` keeps that line's indentation inside the text the user reads.
fn spaces_in_strings(run: usize) -> Vec<String> {
    let mut out = Vec::new();
    for path in sources("").into_iter().chain(sources("core")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let shipped = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (i, line) in shipped.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            // Spaces at the start of a literal are indentation on purpose (report lines); a run after
            // text inside it is the mistake.
            let (mut inside, mut escaped, mut spaces, mut text_before) = (false, false, 0, false);
            for c in line.chars() {
                match c {
                    '\\' if inside && !escaped => escaped = true,
                    '"' if !escaped => {
                        inside = !inside;
                        text_before = false;
                        spaces = 0;
                        continue;
                    }
                    ' ' if inside => {
                        spaces += 1;
                        if spaces >= run && text_before {
                            out.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                            break;
                        }
                        escaped = false;
                        continue;
                    }
                    _ => escaped = false,
                }
                if c != '\\' {
                    escaped = false;
                }
                text_before |= inside;
                spaces = 0;
            }
        }
    }
    out
}

#[test]
fn no_message_holds_a_run_of_spaces() {
    let found = spaces_in_strings(8);
    assert!(
        found.is_empty(),
        "a string continued without `\\` at the line end keeps the next line's indentation:\n{}",
        found.join("\n")
    );
}

/// The modules of a layer (`src/LAYER/NAME.rs` or `src/LAYER/NAME/`) and which of them each one uses, from
/// `crate::LAYER::NAME` and the `super::` path that names the layer, in the shipped code.
fn module_graph(
    layer: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = layer_root(layer);
    // The core crate names its own modules `crate::NAME`.
    let own = if layer == "core" {
        "crate::".to_string()
    } else {
        format!("crate::{layer}::")
    };
    let mut graph = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for path in sources(layer) {
        let relative = path.strip_prefix(&root).unwrap();
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let module = parts[0].trim_end_matches(".rs").to_string();
        if module == "mod" || module == "lib" {
            continue;
        }
        // How deep below the layer's own module the file's module is: `super::` repeated once more
        // than that names the layer (`conf/mod.rs` is `conf`: depth 0; `conf/axis2.rs`: depth 1).
        let depth = parts.len() - 1 - usize::from(parts.last().is_some_and(|p| p == "mod.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        let shipped = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let mut uses = std::collections::BTreeSet::new();
        for line in shipped.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let prefixes = [own.clone(), "super::".repeat(depth + 1)];
            for prefix in &prefixes {
                for (at, _) in code.match_indices(prefix.as_str()) {
                    let rest = &code[at + prefix.len()..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(list) => list.split('}').next().unwrap_or("").split(',').collect(),
                        None => vec![rest],
                    };
                    for name in names {
                        let name: String = name
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != module && name != "self" {
                            uses.insert(name);
                        }
                    }
                }
            }
        }
        graph.entry(module).or_default().extend(uses);
    }
    // Only edges between the layer's modules (not `super::SomeType` re-exported at the layer root).
    let modules: std::collections::BTreeSet<String> = graph.keys().cloned().collect();
    for uses in graph.values_mut() {
        uses.retain(|name| modules.contains(name));
    }
    graph
}

/// A cycle of the graph, as `a -> b -> a`, if it has one.
fn a_cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<String> {
    fn visit(
        node: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle.join(" -> "));
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_layer_has_a_module_cycle() {
    for layer in ["core", "node", "server", "cli"] {
        let graph = module_graph(layer);
        assert!(graph.len() > 3, "{layer} has modules: {graph:?}");
        assert_eq!(
            a_cycle(&graph),
            None,
            "the modules of {layer} use each other in a cycle: move what both need below both"
        );
    }
}

#[test]
fn the_cycle_check_can_fail() {
    // The graph is read from the source: node::plan uses node::files, server::connect uses retry.
    assert!(module_graph("node")["plan"].contains("files"));
    assert!(module_graph("server")["connect"].contains("retry"));
    let mut graph = module_graph("node");
    graph.get_mut("files").unwrap().insert("plan".to_string());
    assert!(a_cycle(&graph).is_some_and(|c| c.contains("files") && c.contains("plan")));
}

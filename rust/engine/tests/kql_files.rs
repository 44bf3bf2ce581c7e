//! The committed queries under kql/ are exactly what the generator writes now: a change to
//! the query text that was not regenerated (./build.ps1 Kql) fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn kql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kql")
}

#[test]
fn committed_queries_are_what_the_generator_writes() {
    let dir = kql_dir();
    for (name, text) in mailaccess_engine::kql::files() {
        let path = dir.join(&name);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run ./build.ps1 Kql)", path.display()));
        // Compared line by line: a checkout with CRLF line ends holds the same queries.
        let committed: Vec<&str> = committed.lines().collect();
        let generated: Vec<&str> = text.lines().collect();
        assert!(committed == generated, "{name} differs from what the generator writes now: run ./build.ps1 Kql");
    }
}

#[test]
fn no_query_file_is_left_that_the_generator_does_not_write() {
    let expected: BTreeSet<String> = mailaccess_engine::kql::files().into_iter().map(|(name, _)| name).collect();
    let mut found = BTreeSet::new();
    for table in std::fs::read_dir(kql_dir()).unwrap() {
        let table = table.unwrap().path();
        if !table.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&table).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "kql") {
                let table_name = table.file_name().unwrap().to_string_lossy();
                found.insert(format!("{table_name}/{}", file.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    assert_eq!(found, expected);
}

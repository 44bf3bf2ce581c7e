//! Writes the KQL files under `kql/` from the engine's one source of query text, or checks that
//! they are current.
//!
//!   maf-kql-files <kql folder>           write every query file
//!   maf-kql-files --check <kql folder>   exit 1, naming the files, when any differs
//!   maf-kql-files --json                 every default query as [{"Name", "Text"}] on stdout

use std::path::Path;
use std::process::ExitCode;

use mailaccess_engine::kql;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--json"] => {
            let queries: Vec<serde_json::Value> =
                kql::files().into_iter().map(|(name, text)| serde_json::json!({ "Name": name, "Text": text })).collect();
            println!("{}", serde_json::Value::Array(queries));
            ExitCode::SUCCESS
        }
        ["--check", dir] => {
            let stale: Vec<String> = kql::files()
                .into_iter()
                .filter(|(name, text)| std::fs::read_to_string(Path::new(dir).join(name)).ok().as_deref() != Some(text.as_str()))
                .map(|(name, _)| name)
                .collect();
            if stale.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("kql/ is not what the generator writes now ({}): run ./build.ps1 Kql", stale.join(", "));
                ExitCode::FAILURE
            }
        }
        [dir] if !dir.starts_with('-') => {
            for (name, text) in kql::files() {
                let path = Path::new(dir).join(&name);
                if let Err(e) =
                    std::fs::create_dir_all(path.parent().expect("a file in a folder")).and_then(|()| std::fs::write(&path, text))
                {
                    eprintln!("{}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: maf-kql-files <kql folder> | --check <kql folder> | --json");
            ExitCode::from(64)
        }
    }
}

//! Writes `events/{function}.json`, one sample event per function, from `devstack::events::SAMPLES`.

fn main() -> Result<(), String> {
    let dir = devstack::repo_root().join("events");
    let mut changed = 0;
    for (file, text) in devstack::events::files() {
        let path = dir.join(&file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            changed += 1;
        }
    }
    println!("events/: {changed} file(s) written");
    Ok(())
}

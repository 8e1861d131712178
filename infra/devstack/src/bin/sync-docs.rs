//! Rewrites docs/permissions.md from the route table's access rules.

fn main() -> Result<(), String> {
    let path = devstack::docs::permissions_path();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = devstack::docs::permissions();
    if generated == current {
        println!("docs/permissions.md is up to date");
    } else {
        std::fs::write(&path, generated).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("docs/permissions.md: rewritten from the route table");
    }
    Ok(())
}

//! Rewrites the generated functions section of template.yaml from the route table.

fn main() -> Result<(), String> {
    let path = devstack::template::template_path();
    let template = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let synced = devstack::template::synced(&template)?;
    if synced == template {
        println!("template.yaml is up to date");
    } else {
        std::fs::write(&path, synced).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("template.yaml: functions section rewritten from the route table");
    }
    Ok(())
}

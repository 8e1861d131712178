//! Rewrites the generated functions section of template.yaml, infra/build/Makefile and infra/edge.yaml
//! from the route table.

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
    let makefile = devstack::template::makefile_path();
    let wanted = devstack::template::makefile();
    if std::fs::read_to_string(&makefile).ok().as_deref() == Some(wanted.as_str()) {
        println!("infra/build/Makefile is up to date");
    } else {
        std::fs::create_dir_all(makefile.parent().expect("has a parent")).map_err(|e| e.to_string())?;
        std::fs::write(&makefile, wanted).map_err(|e| format!("{}: {e}", makefile.display()))?;
        println!("infra/build/Makefile: rewritten from the route table");
    }
    let edge = devstack::edge_template::edge_template_path();
    let wanted = devstack::edge_template::edge_template();
    if std::fs::read_to_string(&edge).ok().as_deref() == Some(wanted.as_str()) {
        println!("infra/edge.yaml is up to date");
    } else {
        std::fs::write(&edge, wanted).map_err(|e| format!("{}: {e}", edge.display()))?;
        println!("infra/edge.yaml: rewritten from the route table");
    }
    Ok(())
}

//! `docs/permissions.md`, generated from the route table's access rules (`accounts::operations::ALL`,
//! `accounts::operations::Access`). `cargo run -p devstack --bin sync-docs` writes it; a contract test fails
//! when it is out of date.

use accounts::operations::ALL;
use accounts::operations::Access;

/// Where the generated permissions document lives.
pub fn permissions_path() -> std::path::PathBuf {
    crate::repo_root().join("docs/permissions.md")
}

const CLASSES: &[Access] = &[
    Access::Public,
    Access::AnyMember,
    Access::TeamManagerOrAdmin(""),
    Access::Admin(""),
    Access::AdminOrOwner(""),
    Access::OwnerOrDeletionGrantee(""),
    Access::Owner(""),
    Access::SuperUser(""),
];

/// The text of `docs/permissions.md`.
pub fn permissions() -> String {
    let mut out = String::new();
    out.push_str("# Permissions\n\n");
    out.push_str(
        "<!-- Generated from shared/core/src/operations.rs by `cargo run -p devstack --bin sync-docs`; do not edit. -->\n\n",
    );
    out.push_str(
        "Who may call each route, and on which targets. The class is checked by `dispatch::dispatch` before the \
         handler runs: a route that is not public authenticates its caller once (one BatchGetItem of the \
         identity, its organization and the session or token) and refuses a caller of an excluded class. The \
         target rules are enforced by the domain functions the table names.\n\n",
    );
    out.push_str("Answers, as in WEBKNOSSOS:\n\n");
    out.push_str("- **401** (`auth.required`, `auth.invalid`, `user.deactivated`, `organization.deleted`): no credential, an invalid, expired or revoked one, a deactivated identity, or an organization being deleted; on every route that is not public.\n");
    out.push_str("- **403** with the route's code: an active caller whose class the route excludes, whatever the target; and target rules that refuse a visible target (e.g. a field only admins change).\n");
    out.push_str("- **404**: a target the caller may not see, in particular every id or token of another organization (nothing is revealed about it).\n\n");
    out.push_str("## Classes\n\n| class | admits |\n| --- | --- |\n");
    for class in CLASSES {
        out.push_str(&format!("| {} | {} |\n", class.name(), class.description()));
    }
    out.push_str("\nDataset managers have no user-administration rights: they are members for every route. A super user \
                  is admitted by SuperUser routes for any organization, and otherwise has the rights of its identity.\n");
    out.push_str(
        "\n## Routes\n\n| route | operation | who | refused (403) | targets |\n| --- | --- | --- | --- | --- |\n",
    );
    for op in ALL {
        let refused = op.access.refusal_code().map(|code| format!("`{code}`")).unwrap_or_else(|| "-".to_owned());
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} |\n",
            op.route(),
            op.name,
            op.access.name(),
            refused,
            op.targets
        ));
    }
    out
}

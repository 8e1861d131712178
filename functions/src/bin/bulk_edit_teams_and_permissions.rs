//! Lambda function for the `bulk_edit_teams_and_permissions` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::BULK_EDIT_TEAMS_AND_PERMISSIONS)
}

//! Lambda function for the `list_team_members` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::LIST_TEAM_MEMBERS)
}

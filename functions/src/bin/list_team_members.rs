//! Lambda function for the `list_team_members` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::LIST_TEAM_MEMBERS)
}

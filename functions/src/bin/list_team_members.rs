//! Lambda function for the `list_team_members` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::LIST_TEAM_MEMBERS)
}

//! Lambda function for the `delete_team` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::DELETE_TEAM)
}

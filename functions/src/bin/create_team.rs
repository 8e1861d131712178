//! Lambda function for the `create_team` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::CREATE_TEAM)
}

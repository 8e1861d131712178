//! Lambda function for the `organization_by_invite` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::ORGANIZATION_BY_INVITE)
}

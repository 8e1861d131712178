//! Lambda function for the `organization_by_invite` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::ORGANIZATION_BY_INVITE)
}

//! Lambda function for the `delete_sso_connection` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::DELETE_SSO_CONNECTION)
}

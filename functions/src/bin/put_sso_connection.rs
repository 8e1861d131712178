//! Lambda function for the `put_sso_connection` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::PUT_SSO_CONNECTION)
}

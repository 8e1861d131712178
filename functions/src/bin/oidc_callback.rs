//! Lambda function for the `oidc_callback` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::OIDC_CALLBACK)
}

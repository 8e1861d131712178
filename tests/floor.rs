//! The benchmark's floor (`bash infra/bench.sh`): the least any function of this bundle must do, on the
//! same runtime settings (`accounts::lambda::runtime`) and logging: serve API Gateway requests with
//! lambda_http, each answered after one DynamoDB GetItem on `TABLE_NAME` (at `DYNAMODB_ENDPOINT`, empty:
//! AWS). The benchmark prints every function's init and cold start next to this one's.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Response};

fn main() -> Result<(), Error> {
    accounts::lambda::init_tracing();
    accounts::lambda::runtime()?.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(endpoint) = std::env::var("DYNAMODB_ENDPOINT").ok().filter(|e| !e.trim().is_empty()) {
            config = config.endpoint_url(endpoint);
        }
        let client = aws_sdk_dynamodb::Client::from_conf(config.build());
        let table = std::env::var("TABLE_NAME")?;
        let (client, table) = (&client, table.as_str());
        lambda_http::run(lambda_http::service_fn(move |_request| async move {
            let read = client
                .get_item()
                .table_name(table)
                .key("PK", AttributeValue::S("FLOOR".into()))
                .key("SK", AttributeValue::S("FLOOR".into()))
                .send()
                .await;
            let status = if read.is_ok() { 200 } else { 503 };
            Ok::<_, Error>(Response::builder().status(status).body(Body::Text("{}".into()))?)
        }))
        .await
    })
}

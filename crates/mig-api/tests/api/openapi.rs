//! The OpenAPI document lists exactly the routes the router serves: every
//! documented method and path is routed (never Go's plain 404), every route
//! has a summary, and the other methods of a documented path are not routed.

use crate::common;

use common::Server;
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() => openapi_document_matches_the_router);

const PLAIN_404: &str = "404 page not found\n";

async fn openapi_document_matches_the_router<S: Store>(server: Server<S>) {
    let response = server
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: serde_json::Value =
        serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(document["openapi"], "3.0.3");
    assert_eq!(
        document["servers"][0]["url"],
        format!("{}/api/v1", common::HOST)
    );
    let paths = document["paths"].as_object().unwrap();
    let mut documented = 0;
    for (path, operations) in paths {
        let concrete = path.replace("{fingerprint}", "0000");
        for method in ["get", "post", "put", "delete"] {
            let request = server.client.request(
                method.to_uppercase().parse().unwrap(),
                server.url(&format!("/api/v1{concrete}")),
            );
            let text = request.send().await.unwrap().text().await.unwrap();
            match operations.get(method) {
                Some(operation) => {
                    documented += 1;
                    assert!(
                        !operation["summary"].as_str().unwrap().is_empty(),
                        "{method} {path} has no summary"
                    );
                    assert_ne!(
                        text, PLAIN_404,
                        "{method} {path} is documented but not routed"
                    );
                }
                None => assert_eq!(
                    text, PLAIN_404,
                    "{method} {path} is routed but not documented"
                ),
            }
        }
    }
    let config = mig_api::ApiConfig::for_tests();
    let routes = mig_api::routing::routes(mig_api::AppState::new(config, server.store.clone()));
    assert_eq!(
        documented,
        routes.len(),
        "every registered route is documented"
    );
    server.stop().await;
}

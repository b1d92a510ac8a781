//! Discovery (RFC 7644 §4): what this server supports, stated exactly.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::error::ScimError;
use crate::http::{self, MAX_BODY_BYTES, MAX_RESULTS, node_of};
use crate::json::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let base = http::base_url(&req, node_of(&req)?);
    Ok(http::json_response(&json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": MAX_BODY_BYTES},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The token generated for this node (idgate scim enable NODE_ID).",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })))
}

fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group (an idgate team)",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub async fn resource_type_list(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let base = http::base_url(&req, node_of(&req)?);
    let all = resource_types(&base);
    Ok(http::json_response(&http::list_response(
        i64::try_from(all.len()).unwrap_or(i64::MAX),
        1,
        &all,
    )))
}

pub async fn resource_type(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ScimError> {
    let base = http::base_url(&req, node_of(&req)?);
    resource_types(&base)
        .into_iter()
        .find(|t| {
            t["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&path.1))
        })
        .map(|t| http::json_response(&t))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {}", path.1)))
}

fn schemas(base: &str) -> Result<Vec<Value>, ScimError> {
    let defs = scim_v2::models::scim_schema::get_schemas(vec!["user", "group", "enterprise_user"])
        .map_err(|e| {
            ScimError::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                None,
                format!("schema definitions: {e}"),
            )
        })?;
    defs.into_iter()
        .map(|schema| {
            let mut value = serde_json::to_value(schema).map_err(|e| {
                ScimError::new(
                    actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    e.to_string(),
                )
            })?;
            if let Value::Object(obj) = &mut value {
                let id = obj
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if id == GROUP_SCHEMA {
                    require(obj, "displayName");
                }
                obj.insert("schemas".into(), json!([SCHEMA_SCHEMA]));
                obj.insert(
                    "meta".into(),
                    json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}),
                );
            }
            Ok(value)
        })
        .collect()
}

/// Marks an attribute required: idgate refuses resources without it (a team needs a name).
fn require(schema: &mut serde_json::Map<String, Value>, attribute: &str) {
    let attributes = schema.get_mut("attributes").and_then(Value::as_array_mut);
    for attr in attributes.into_iter().flatten() {
        if attr["name"].as_str() == Some(attribute) {
            attr["required"] = Value::Bool(true);
        }
    }
}

pub async fn schema_list(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let base = http::base_url(&req, node_of(&req)?);
    let all = schemas(&base)?;
    Ok(http::json_response(&http::list_response(
        i64::try_from(all.len()).unwrap_or(i64::MAX),
        1,
        &all,
    )))
}

pub async fn schema(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ScimError> {
    let base = http::base_url(&req, node_of(&req)?);
    schemas(&base)?
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&path.1))
        })
        .map(|s| http::json_response(&s))
        .ok_or_else(|| ScimError::not_found(format!("no schema {}", path.1)))
}

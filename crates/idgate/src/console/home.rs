//! The console's start page: nodes and their provisioning methods.

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use idgate_store::{Store, nodes, scim, sso};

use super::current;
use crate::pages::render;

struct NodeRow {
    name: String,
    id: String,
    sso_methods: usize,
    scim: &'static str,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage<'a> {
    admin: &'a str,
    csrf: &'a str,
    nodes: Vec<NodeRow>,
}

pub async fn home(req: HttpRequest, store: web::Data<Store>) -> HttpResponse {
    let Some(session) = current(&req, &store).await else {
        return HttpResponse::SeeOther()
            .insert_header((LOCATION, "/console/login"))
            .finish();
    };
    let rows = store
        .run(|c| {
            nodes::list(c)?
                .into_iter()
                .map(|node| {
                    let methods = sso::list_for_node(c, node.id)?.len();
                    let scim = match scim::get(c, node.id)?.map(|m| m.status) {
                        None => "not set up",
                        Some(scim::ScimStatus::Pending) => "Pending",
                        Some(scim::ScimStatus::Active) => "Active",
                    };
                    Ok(NodeRow {
                        name: node.name,
                        id: node.id.to_string(),
                        sso_methods: methods,
                        scim,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
    match rows {
        Ok(nodes) => render(&HomePage {
            admin: &session.admin.username,
            csrf: &session.csrf_token,
            nodes,
        }),
        Err(err) => {
            tracing::error!(error = %err, "cannot list nodes");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("The console is temporarily unavailable.")
        }
    }
}

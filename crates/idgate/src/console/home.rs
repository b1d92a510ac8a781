//! The console's start page: nodes with their provisioning methods, and creating a node.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::{Store, nodes, scim, sso, teams};
use serde::Deserialize;

use super::{Admin, Chrome, Done, notice, see_other, unavailable, with_status};
use crate::actions::{self, ActionError};
use crate::pages::render;

pub(super) struct NodeRow {
    name: String,
    id: String,
    sso_methods: usize,
    scim: &'static str,
    pending_teams: usize,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage<'a> {
    chrome: Chrome,
    nodes: Vec<NodeRow>,
    name: &'a str,
}

/// The SCIM status as the console shows it.
pub(super) fn scim_label(method: Option<&scim::ScimMethod>) -> &'static str {
    match method.map(|m| m.status) {
        None => "not set up",
        Some(scim::ScimStatus::Pending) => "Pending",
        Some(scim::ScimStatus::Active) => "Active",
    }
}

async fn rows(store: &Store) -> Result<Vec<NodeRow>, idgate_store::StorageError> {
    store
        .run(|c| {
            nodes::list(c)?
                .into_iter()
                .map(|node| {
                    Ok(NodeRow {
                        sso_methods: sso::list_for_node(c, node.id)?.len(),
                        scim: scim_label(scim::get(c, node.id)?.as_ref()),
                        pending_teams: teams::pending(c, Some(node.id))?.len(),
                        name: node.name,
                        id: node.id.to_string(),
                    })
                })
                .collect()
        })
        .await
}

async fn page(store: &Store, chrome: Chrome, name: &str, status: StatusCode) -> HttpResponse {
    match rows(store).await {
        Ok(nodes) => with_status(
            render(&HomePage {
                chrome,
                nodes,
                name,
            }),
            status,
        ),
        Err(err) => unavailable(&err),
    }
}

pub async fn home(admin: Admin, store: web::Data<Store>, query: web::Query<Done>) -> HttpResponse {
    let chrome = admin.chrome(notice(query.done.as_deref()), None);
    page(&store, chrome, "", StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    csrf: String,
    name: String,
}

pub async fn create_node(
    admin: Admin,
    store: web::Data<Store>,
    form: web::Form<NameForm>,
) -> HttpResponse {
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    match actions::create_node(&store, &admin.actor, &form.name).await {
        Ok(node) => see_other(&format!("/console/nodes/{}?done=node-created", node.id)),
        Err(ActionError::Invalid(why)) => {
            let chrome = admin.chrome(None, Some(&why));
            page(&store, chrome, &form.name, StatusCode::BAD_REQUEST).await
        }
        Err(err) => admin.failed(&err),
    }
}

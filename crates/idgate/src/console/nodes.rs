//! One node: rename it, its SSO methods (and adding one), its SCIM method (and its token).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::scim::TokenChange;
use idgate_store::{NodeId, Store, nodes, scim, sso, teams};
use serde::Deserialize;

use super::home::scim_label;
use super::{Admin, Chrome, ConfirmForm, Done, notice, see_other, unavailable, with_status};
use crate::actions::{self, ActionError, NewSso};
use crate::cli::rfc3339;
use crate::config::Config;
use crate::pages::render;

struct SsoRow {
    id: String,
    name: String,
    idp: Option<String>,
    jit: bool,
    domains: String,
}

struct ScimView {
    status: &'static str,
    last_request: String,
    token_created: String,
}

/// What the "add an SSO method" form holds (kept when it comes back with a message).
#[derive(Debug, Default, Deserialize)]
pub struct SsoForm {
    csrf: String,
    name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    entity_id: String,
    jit: Option<String>,
    idp_initiated: Option<String>,
}

#[derive(Template)]
#[template(path = "console/node.html")]
struct NodePage<'a> {
    chrome: Chrome,
    id: String,
    name: &'a str,
    rename: &'a str,
    sso: Vec<SsoRow>,
    scim: Option<ScimView>,
    scim_base: String,
    pending_teams: usize,
    form: &'a SsoForm,
}

#[derive(Template)]
#[template(path = "console/scim_token.html")]
struct TokenPage<'a> {
    chrome: Chrome,
    id: String,
    name: &'a str,
    base_url: &'a str,
    token: &'a str,
    rotated: bool,
}

struct Loaded {
    node: nodes::Node,
    sso: Vec<SsoRow>,
    scim: Option<ScimView>,
    pending_teams: usize,
}

async fn load(
    store: &Store,
    node_id: NodeId,
) -> Result<Option<Loaded>, idgate_store::StorageError> {
    store
        .run(move |c| {
            let Some(node) = nodes::get(c, node_id)? else {
                return Ok(None);
            };
            let mut rows = Vec::new();
            for summary in sso::list_for_node(c, node_id)? {
                if let Some(m) = sso::get(c, summary.sso_id)? {
                    rows.push(SsoRow {
                        id: m.sso_id.to_string(),
                        domains: m.domains_joined(", "),
                        name: m.name,
                        idp: m.idp_entity_id,
                        jit: m.jit,
                    });
                }
            }
            let method = scim::get(c, node_id)?;
            let scim = method.as_ref().map(|m| ScimView {
                status: scim_label(Some(m)),
                last_request: m.last_used_at.map_or_else(|| "never".to_owned(), rfc3339),
                token_created: rfc3339(m.token_created_at),
            });
            Ok(Some(Loaded {
                node,
                sso: rows,
                scim,
                pending_teams: teams::pending(c, Some(node_id))?.len(),
            }))
        })
        .await
}

/// What the node page shows besides the node: messages, the forms' values, the status.
struct Shown<'a> {
    chrome: Chrome,
    rename: Option<&'a str>,
    form: &'a SsoForm,
    status: StatusCode,
}

/// Renders the node page (or its 404), with the forms as given.
async fn page(
    admin: &Admin,
    store: &Store,
    config: &Config,
    node_id: NodeId,
    shown: Shown<'_>,
) -> HttpResponse {
    match load(store, node_id).await {
        Ok(Some(loaded)) => with_status(
            render(&NodePage {
                chrome: shown.chrome,
                id: node_id.to_string(),
                name: &loaded.node.name,
                rename: shown.rename.unwrap_or(&loaded.node.name),
                sso: loaded.sso,
                scim: loaded.scim,
                scim_base: idgate_scim::node_base_url(&config.base_url, node_id),
                pending_teams: loaded.pending_teams,
                form: shown.form,
            }),
            shown.status,
        ),
        Ok(None) => admin.not_found(&format!("There is no node with id {node_id}.")),
        Err(err) => unavailable(&err),
    }
}

pub async fn show(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<NodeId>,
    query: web::Query<Done>,
) -> HttpResponse {
    let chrome = admin.chrome(notice(query.done.as_deref()), None);
    let form = SsoForm {
        jit: Some("on".to_owned()),
        ..SsoForm::default()
    };
    page(
        &admin,
        &store,
        &config,
        *path,
        Shown {
            chrome,
            rename: None,
            form: &form,
            status: StatusCode::OK,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    csrf: String,
    name: String,
}

pub async fn rename(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<NodeId>,
    form: web::Form<RenameForm>,
) -> HttpResponse {
    let node_id = *path;
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    match actions::rename_node(&store, &admin.actor, node_id, &form.name).await {
        Ok(()) => see_other(&format!("/console/nodes/{node_id}?done=renamed")),
        Err(ActionError::Invalid(why)) => {
            let chrome = admin.chrome(None, Some(&why));
            let blank = SsoForm::default();
            page(
                &admin,
                &store,
                &config,
                node_id,
                Shown {
                    chrome,
                    rename: Some(&form.name),
                    form: &blank,
                    status: StatusCode::BAD_REQUEST,
                },
            )
            .await
        }
        Err(err) => admin.failed(&err),
    }
}

pub async fn create_sso(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<NodeId>,
    form: web::Form<SsoForm>,
) -> HttpResponse {
    let node_id = *path;
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let new = NewSso {
        name: form.name.clone(),
        entity_id: Some(form.entity_id.clone()),
        domain: Some(form.domain.clone()),
        jit: Some(form.jit.is_some()),
        idp_initiated: form.idp_initiated.is_some(),
    };
    match actions::create_sso(&store, &admin.actor, node_id, new).await {
        Ok(sso_id) => see_other(&format!("/console/sso/{sso_id}?done=sso-created")),
        Err(ActionError::Invalid(why)) => {
            let chrome = admin.chrome(None, Some(&why));
            page(
                &admin,
                &store,
                &config,
                node_id,
                Shown {
                    chrome,
                    rename: None,
                    form: &form,
                    status: StatusCode::BAD_REQUEST,
                },
            )
            .await
        }
        Err(err) => admin.failed(&err),
    }
}

/// Generates the node's SCIM token (creating its SCIM method the first time) and shows it once.
pub async fn generate_token(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<NodeId>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let node_id = *path;
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let found = store
        .run(move |c| Ok(nodes::get(c, node_id)?.map(|node| (node, scim::get(c, node_id)))))
        .await;
    let found = match found {
        Ok(Some((node, Ok(method)))) => Ok(Some((node, method))),
        Ok(Some((_, Err(err)))) | Err(err) => Err(err),
        Ok(None) => Ok(None),
    };
    if let Ok(Some((_, Some(_)))) = &found
        && form.confirm.is_none()
    {
        let chrome = admin.chrome(
            None,
            Some("Not rotated: tick the box to confirm that the current token stops working now."),
        );
        let blank = SsoForm::default();
        return page(
            &admin,
            &store,
            &config,
            node_id,
            Shown {
                chrome,
                rename: None,
                form: &blank,
                status: StatusCode::BAD_REQUEST,
            },
        )
        .await;
    }
    let name = match found {
        Ok(Some((node, _))) => node.name,
        Ok(None) => {
            return admin.failed(&ActionError::NotFound(format!(
                "There is no node with id {node_id}."
            )));
        }
        Err(err) => return unavailable(&err),
    };
    match actions::generate_scim_token(&store, &admin.actor, node_id).await {
        Ok((token, change)) => render(&TokenPage {
            chrome: admin.chrome(None, None),
            id: node_id.to_string(),
            name: &name,
            base_url: &idgate_scim::node_base_url(&config.base_url, node_id),
            token: &token,
            rotated: change == TokenChange::Rotated,
        }),
        Err(err) => admin.failed(&err),
    }
}

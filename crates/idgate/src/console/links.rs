//! A user's identity links on the console: listed on the user's page (method, NameID, first and
//! last use), each with an Unlink button.

use actix_web::{HttpResponse, web};
use idgate_store::links::ListedLink;
use idgate_store::{NodeId, SsoId, Store, UserId};
use serde::Deserialize;

use super::{Admin, see_other};
use crate::actions;
use crate::cli::rfc3339;

/// A link as the user's page shows it.
pub(super) struct LinkRow {
    pub sso_id: String,
    pub method: String,
    pub name_id: String,
    pub format: String,
    pub first_used: String,
    pub last_used: String,
}

impl LinkRow {
    pub(super) fn of(listed: &ListedLink) -> Self {
        LinkRow {
            sso_id: listed.link.sso_id.to_string(),
            method: listed.method_name.clone(),
            name_id: listed.link.name_id.clone(),
            format: listed
                .link
                .name_id_format
                .as_deref()
                .map(|f| f.rsplit(':').next().unwrap_or(f).to_owned())
                .unwrap_or_default(),
            first_used: rfc3339(listed.link.created_at),
            last_used: rfc3339(listed.link.last_used_at),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct UnlinkForm {
    csrf: String,
    sso: String,
}

pub async fn unlink(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<(NodeId, UserId)>,
    form: web::Form<UnlinkForm>,
) -> HttpResponse {
    let (node_id, user_id) = path.into_inner();
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let Ok(sso_id) = form.sso.parse::<SsoId>() else {
        return admin.not_found("There is no such SSO method.");
    };
    let back = format!("/console/nodes/{node_id}/users/{user_id}?done=unlinked");
    match actions::unlink_identity(&store, &admin.actor, node_id, user_id, sso_id).await {
        Ok(_) => see_other(&back),
        Err(err) => admin.failed(&err),
    }
}

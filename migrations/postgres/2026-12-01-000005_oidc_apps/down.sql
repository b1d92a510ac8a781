DROP TABLE oidc_app_nodes;
DROP TABLE oidc_apps;

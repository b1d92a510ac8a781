"""An application that knows only OIDC discovery signs users in through idgate, driven by
authlib (an independent OpenID Connect client): discovery, authorization with PKCE S256,
the node's SAML sign-in (this script plays the IdP: responses signed by the xmlsec1
command with a throw-away key), the code exchange, the ID token verified against the JWKS,
userinfo, refresh, IdP-initiated sign-in into the application, RP-initiated logout; and the
refusals, each by its error code.

Usage: oidc_authlib.py BASE_URL IDGATE_BIN IDP_DIR NODE_ID SSO_ID OTHER_NODE_ID
(the IdP's key and certificate in IDP_DIR; the idgate binary for the admin's commands,
with the server's IDGATE_* environment).
"""

import base64
import html
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlparse

import requests

from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from authlib.deprecate import AuthlibDeprecationWarning

# authlib announces that authlib.jose moves to another package; it works as it is.
warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

BASE, BIN, IDP_DIR, NODE, SSO, OTHER_NODE = sys.argv[1:7]
REDIRECT = "http://127.0.0.1:9/callback"
BYE = "http://127.0.0.1:9/bye"
INITIATE = "http://127.0.0.1:9/login"
IDP_ENTITY = "https://idp.interop.test/"
FAILURES = []


def check(condition, what):
    print(("  ok   " if condition else "  FAIL ") + what)
    if not condition:
        FAILURES.append(what)


def idgate(*args):
    out = subprocess.run([BIN, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"idgate {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def app(name, *extra, nodes=(NODE,)):
    args = ["app", "create", "--name", name, "--redirect-uri", REDIRECT,
            "--post-logout-redirect-uri", BYE, "--json", *extra]
    for node in nodes:
        args += ["--node", node]
    return json.loads(idgate(*args))


def instant(delta=0):
    t = datetime.now(timezone.utc) + timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def saml_response(in_response_to, email):
    """A Response whose assertion is signed by the IdP (xmlsec1)."""
    acs = f"{BASE}/api/rest/sso/saml/{SSO}"
    aid, rid = "_a" + uuid.uuid4().hex, "_r" + uuid.uuid4().hex
    irt = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    sig = (
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ds:Reference URI="#{aid}"><ds:Transforms>'
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"
        "<ds:SignatureValue></ds:SignatureValue></ds:Signature>"
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{rid}" Version="2.0" IssueInstant="{instant()}" Destination="{acs}"{irt}>'
        f"<saml:Issuer>{IDP_ENTITY}</saml:Issuer><samlp:Status><samlp:StatusCode "
        'Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{instant()}">'
        f"<saml:Issuer>{IDP_ENTITY}</saml:Issuer>{sig}<saml:Subject>"
        '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">'
        f"{email}</saml:NameID>"
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData NotOnOrAfter="{instant(300)}" Recipient="{acs}"{irt}/>'
        "</saml:SubjectConfirmation></saml:Subject>"
        f'<saml:Conditions NotBefore="{instant(-60)}" NotOnOrAfter="{instant(300)}">'
        f"<saml:AudienceRestriction><saml:Audience>{acs}</saml:Audience>"
        "</saml:AudienceRestriction></saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{instant()}" SessionIndex="s1"><saml:AuthnContext>'
        "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:"
        "PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>"
        "</saml:AuthnStatement><saml:AttributeStatement>"
        f'<saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue>'
        '</saml:Attribute><saml:Attribute Name="firstname"><saml:AttributeValue>Jane'
        '</saml:AttributeValue></saml:Attribute><saml:Attribute Name="lastname">'
        "<saml:AttributeValue>Doe</saml:AttributeValue></saml:Attribute>"
        "</saml:AttributeStatement></saml:Assertion></samlp:Response>"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(xml)
    signed = subprocess.run(
        ["xmlsec1", "--sign", "--privkey-pem",
         f"{IDP_DIR}/idp-key.pem,{IDP_DIR}/idp-cert.pem",
         "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", f.name],
        capture_output=True, check=True)
    return base64.b64encode(signed.stdout).decode()


def through_idp(browser, authorization_url, email="jane@interop.test"):
    """The browser follows the authorization URL through the SAML sign-in; returns the
    redirect to the application (its Location)."""
    r = browser.get(authorization_url, allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    encoded = re.search(r'name="SAMLRequest" value="([^"]+)"', r.text).group(1)
    request = base64.b64decode(encoded).decode()
    request_id = re.search(r' ID="([^"]+)"', request).group(1)
    r = browser.post(f"{BASE}/api/rest/sso/saml/{SSO}",
                     data={"SAMLResponse": saml_response(request_id, email)},
                     allow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    r = browser.get(BASE + r.headers["location"], allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    return r.headers["location"]


def rp(client_id, secret, **kw):
    return OAuth2Session(client_id, secret, scope="openid email profile groups",
                         redirect_uri=REDIRECT, code_challenge_method="S256", **kw)


def start(client, meta, **params):
    verifier, nonce = generate_token(48), generate_token(16)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params)
    return url, verifier, nonce


def error_of(fn):
    try:
        fn()
    except OAuthError as err:
        return err.error
    return None


def query(location):
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def main():
    meta = requests.get(f"{BASE}/.well-known/openid-configuration").json()
    check(meta["issuer"] == BASE, "discovery names the issuer")
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
    wiki = app("authlib wiki")
    other = app("authlib other node", nodes=(OTHER_NODE,))
    public = app("authlib spa", "--public")

    def id_token_claims(token, client_id, nonce):
        claims = jwt.decode(
            token["id_token"], keys, claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": meta["issuer"]},
                            "aud": {"essential": True, "value": client_id}},
            claims_params={"nonce": nonce, "client_id": client_id})
        claims.validate()
        return claims

    # A code obtained now, exchanged after it expired (a minute), at the end.
    late_client = rp(wiki["client_id"], wiki["client_secret"])
    url, late_verifier, _ = start(late_client, meta, organization=NODE)
    late_location = through_idp(requests.Session(), url)
    late_at = time.monotonic()

    # SP-initiated: the whole flow.
    client = rp(wiki["client_id"], wiki["client_secret"])
    browser = requests.Session()
    url, verifier, nonce = start(client, meta, organization=NODE)
    location = through_idp(browser, url)
    check(query(location).get("iss") == BASE, "the code comes back with iss (RFC 9207)")
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location,
                               code_verifier=verifier)
    claims = id_token_claims(token, wiki["client_id"], nonce)
    check(claims["email"] == "jane@interop.test", "the ID token verifies and names the user")
    check(claims["org_id"] == NODE and claims["sso_id"] == SSO, "org_id and sso_id")
    check(claims["given_name"] == "Jane" and claims["family_name"] == "Doe", "profile claims")
    info = client.get(meta["userinfo_endpoint"]).json()
    check(info["sub"] == claims["sub"] and info["email"] == claims["email"], "userinfo")
    old_refresh = token["refresh_token"]
    renewed = client.refresh_token(meta["token_endpoint"])
    check(renewed["refresh_token"] != old_refresh, "refresh rotates the refresh token")
    check(id_token_claims(renewed, wiki["client_id"], None)["sub"] == claims["sub"],
          "the refreshed ID token verifies")
    check(error_of(lambda: client.refresh_token(meta["token_endpoint"],
                                                refresh_token=old_refresh)) == "invalid_grant",
          "a replaced refresh token is refused: invalid_grant")
    check(client.get(meta["userinfo_endpoint"]).status_code == 401,
          "... and its grant revoked (userinfo 401)")
    check(error_of(lambda: client.fetch_token(meta["token_endpoint"],
                                              authorization_response=location,
                                              code_verifier=verifier)) == "invalid_grant",
          "a reused code is refused: invalid_grant")

    # The session answers a second application's request without the IdP.
    spa = rp(public["client_id"], None, token_endpoint_auth_method="none")
    url, verifier, nonce = start(spa, meta)
    r = browser.get(url, allow_redirects=False)
    check(r.status_code == 302 and r.headers["location"].startswith(REDIRECT),
          "an existing session is used (no second trip to the IdP)")
    token = spa.fetch_token(meta["token_endpoint"], authorization_response=r.headers["location"],
                            code_verifier=verifier)
    check(id_token_claims(token, public["client_id"], nonce)["sub"] == claims["sub"],
          "a public client with PKCE and no secret")

    # Refusals.
    client = rp(wiki["client_id"], wiki["client_secret"])
    url, verifier, _ = start(client, meta, organization=NODE)
    location = through_idp(requests.Session(), url)
    check(error_of(lambda: client.fetch_token(meta["token_endpoint"],
                                              authorization_response=location,
                                              code_verifier=generate_token(48))) == "invalid_grant",
          "a PKCE verifier that does not match: invalid_grant")
    wrong = rp(wiki["client_id"], "not-the-secret")
    url, verifier, _ = start(wrong, meta, organization=NODE)
    location = through_idp(requests.Session(), url)
    check(error_of(lambda: wrong.fetch_token(meta["token_endpoint"],
                                             authorization_response=location,
                                             code_verifier=verifier)) == "invalid_client",
          "a wrong client secret: invalid_client")
    evil = OAuth2Session(wiki["client_id"], wiki["client_secret"], scope="openid",
                         redirect_uri="http://127.0.0.1:9/elsewhere",
                         code_challenge_method="S256")
    url, _, _ = start(evil, meta)
    r = requests.get(url, allow_redirects=False)
    check(r.status_code == 400 and "location" not in r.headers,
          "an unregistered redirect URI: a page, never a redirect")
    stranger = rp(other["client_id"], other["client_secret"])
    url, _, _ = start(stranger, meta, organization=NODE)
    r = requests.get(url, allow_redirects=False)
    check(query(r.headers.get("location", "")).get("error") == "access_denied",
          "a client not granted the node: access_denied")

    # IdP-initiated: the tile lands in the default application, which signs the user in.
    idgate("app", "set", wiki["client_id"], "--initiate-login-uri", INITIATE)
    idgate("sso", "set", SSO, "--idp-initiated", "on", "--default-app", wiki["client_id"])
    tile = requests.Session()
    r = tile.post(f"{BASE}/api/rest/sso/saml/{SSO}",
                  data={"SAMLResponse": saml_response(None, "jane@interop.test")},
                  allow_redirects=False)
    r = tile.get(BASE + r.headers["location"], allow_redirects=False)
    initiated = query(r.headers["location"])
    check(r.headers["location"].startswith(INITIATE) and initiated.get("iss") == BASE,
          "the tile leads to the application's initiate-login URI with iss")
    client = rp(wiki["client_id"], wiki["client_secret"])
    url, verifier, nonce = start(client, meta, login_hint=initiated["login_hint"])
    r = tile.get(url, allow_redirects=False)
    check(r.status_code == 200 and "Continue to authlib wiki?" in r.text,
          "a session from an unsolicited response is confirmed by the user first (login CSRF)")
    hidden = {html.unescape(k): html.unescape(v) for k, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text)}
    r = tile.post(f"{BASE}/oauth2/authorize", data=hidden, headers={"Origin": BASE},
                  allow_redirects=False)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=r.headers["location"],
                               code_verifier=verifier)
    tile_claims = id_token_claims(token, wiki["client_id"], nonce)
    check(tile_claims["email"] == "jane@interop.test", "... and its code flow completes from the session")

    # RP-initiated logout.
    end = meta["end_session_endpoint"] + "?" + urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": BYE, "state": "bye"})
    r = tile.get(end, allow_redirects=False)
    check(r.status_code == 303 and r.headers["location"] == BYE + "?state=bye",
          "RP-initiated logout returns to the registered address with state")
    check(tile.get(f"{BASE}/auth/session").status_code == 401, "... and the session has ended")

    # A locked user: no tokens, userinfo 401.
    client = rp(wiki["client_id"], wiki["client_secret"])
    url, verifier, _ = start(client, meta, organization=NODE)
    location = through_idp(requests.Session(), url)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location,
                               code_verifier=verifier)
    url, pending_verifier, _ = start(client, meta, organization=NODE)
    pending = through_idp(requests.Session(), url)
    idgate("user", "lock", NODE, claims["sub"])
    check(client.get(meta["userinfo_endpoint"]).status_code == 401, "a locked user: userinfo 401")
    check(error_of(lambda: client.fetch_token(meta["token_endpoint"], authorization_response=pending,
                                              code_verifier=pending_verifier)) == "invalid_grant",
          "a locked user gets no tokens: invalid_grant")
    check(error_of(lambda: client.refresh_token(meta["token_endpoint"])) == "invalid_grant",
          "a locked user's refresh token: invalid_grant")
    idgate("user", "unlock", NODE, claims["sub"])

    # The code obtained first has expired by now.
    time.sleep(max(0, 61 - (time.monotonic() - late_at)))
    check(error_of(lambda: late_client.fetch_token(meta["token_endpoint"],
                                                   authorization_response=late_location,
                                                   code_verifier=late_verifier)) == "invalid_grant",
          "an expired code: invalid_grant")

    if FAILURES:
        print(f"oidc: {len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("oidc: every check passed")


main()

#!/usr/bin/env python3
"""Keystone compatibility check: OpenStack's own identity client, keystoneauth1, against the
kcform emulator (or any Keystone v3 endpoint).

Authenticates with the `v3applicationcredential` method, first by access key ID and secret,
then by key name, secret and user ID; lists the user's application credentials through the
service catalog; validates the token; and checks that a wrong secret is refused. Prints one
JSON line describing what it saw (never the secret) and exits 0, or names the failed check
on stderr and exits 1.

Input (environment, so the secret never appears in a process listing):
  KCFORM_AUTH_URL      e.g. http://127.0.0.1:8787/identity/v3
  KCFORM_KEY_ID        access key ID
  KCFORM_KEY_NAME      access key name
  KCFORM_KEY_SECRET    secret access key
  KCFORM_USER_ID       the key owner's user ID
"""

import json
import os
import sys

from keystoneauth1 import exceptions, loading, session

IDENTITY = {"service_type": "identity", "interface": "public"}


class CheckFailed(Exception):
    """A compatibility check did not hold."""


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def authenticate(auth_url, **options):
    """A keystoneauth1 session using the `v3applicationcredential` plugin."""
    loader = loading.get_plugin_loader("v3applicationcredential")
    auth = loader.load_from_options(auth_url=auth_url, **options)
    return session.Session(auth=auth)


def list_credentials(sess, user_id):
    response = sess.get(
        "/users/%s/application_credentials" % user_id, endpoint_filter=IDENTITY
    )
    check(response.status_code == 200, "listing answered %d" % response.status_code)
    return response.json()["application_credentials"]


def main():
    auth_url = os.environ["KCFORM_AUTH_URL"]
    key_id = os.environ["KCFORM_KEY_ID"]
    key_name = os.environ["KCFORM_KEY_NAME"]
    secret = os.environ["KCFORM_KEY_SECRET"]
    user_id = os.environ["KCFORM_USER_ID"]

    by_id = authenticate(
        auth_url, application_credential_id=key_id, application_credential_secret=secret
    )
    check(by_id.get_user_id() == user_id, "the token's user is the key's owner")
    access = by_id.auth.get_access(by_id)
    check(
        access.application_credential["id"] == key_id,
        "the token names the application credential it was issued from",
    )
    token = by_id.get_token()
    credentials = list_credentials(by_id, user_id)
    check(key_id in [c["id"] for c in credentials], "the key is in its owner's list")
    check(all("secret" not in c for c in credentials), "no secret in the list")
    one = by_id.get(
        "/users/%s/application_credentials/%s" % (user_id, key_id),
        endpoint_filter=IDENTITY,
    ).json()["application_credential"]
    check(one["name"] == key_name and "secret" not in one, "get shows the key without secret")
    validated = by_id.get(
        "/auth/tokens", endpoint_filter=IDENTITY, headers={"X-Subject-Token": token}
    )
    check(
        validated.json()["token"]["user"]["id"] == user_id,
        "the token validates with X-Subject-Token",
    )

    by_name = authenticate(
        auth_url,
        application_credential_name=key_name,
        application_credential_secret=secret,
        user_id=user_id,
    )
    check(by_name.get_user_id() == user_id, "name + secret + user ID authenticates")
    by_name_list = list_credentials(by_name, user_id)
    check(
        sorted(c["id"] for c in by_name_list) == sorted(c["id"] for c in credentials),
        "both tokens list the same credentials",
    )

    wrong = authenticate(
        auth_url,
        application_credential_id=key_id,
        application_credential_secret=secret + "-wrong",
    )
    try:
        wrong.get_token()
    except exceptions.Unauthorized:
        pass
    else:
        raise CheckFailed("a wrong secret is refused")

    print(
        json.dumps(
            {
                "user_id": user_id,
                "project": access.project_name,
                "roles": sorted(access.role_names),
                "application_credentials": sorted(c["name"] for c in credentials),
            }
        )
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as failed:
        print("keystoneauth1 check failed: %s" % failed, file=sys.stderr)
        sys.exit(1)
    except exceptions.ClientException as error:
        print("keystoneauth1 error: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        sys.exit(1)

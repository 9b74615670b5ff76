"""Provider-computed outputs per resource type, formed the way each service forms them.

`COMPUTED` maps a type token to a function of (context, physical name) returning the resource id
and the outputs the provider adds (ARNs, ids, client ids). The context is the resource's inputs
with secrets unwrapped, plus what `PlanMocks` knows of the stack: `__account`, `__region`,
`__okta` (the Okta org URL), `__now` and `__seed` (the resource name and its replacement trigger).
Every value is derived from these, never random, so planning a stack twice gives the same bytes;
types whose id changes on replacement (KMS keys, Atlas API keys) derive it from `__seed`.
A type not listed gets `<name>-id` and no outputs beyond its inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

Computed = Callable[[dict[str, Any], str], tuple[str, dict[str, Any]]]

KMS_KEY = "aws:kms/key:Key"


def _suffix(seed: str, length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """A deterministic pseudo-random suffix, so plans are stable across runs."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _hex(seed: str, length: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _okta_id(prefix: str, name: str) -> str:
    return prefix + _suffix(
        name, 17, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    )


def _iam_role(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return name, {
        "arn": f"arn:aws:iam::{i['__account']}:role{i.get('path', '/')}{name}",
        "uniqueId": "AROA" + _hex(name, 17).upper(),
    }


def _secret(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    arn = (
        f"arn:aws:secretsmanager:{i['__region']}:{i['__account']}:secret:{name}-{_suffix(name, 6)}"
    )
    return arn, {"arn": arn}


def _secret_version(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    version = _hex(str(i.get("secretString", name)), 32)
    return f"{i['secretId']}|{version}", {"versionId": version, "arn": i["secretId"]}


def _mwaa(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    arn = f"arn:aws:airflow:{i['__region']}:{i['__account']}:environment/{name}"
    return name, {
        "arn": arn,
        "webserverUrl": f"{_hex(name, 8)}.{i['__region']}.airflow.amazonaws.com",
    }


def _bucket_object(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """A versioned bucket's object: S3 gives every upload a new version id (here: derived from the
    bucket, key and content hash, so a changed package shows a new version)."""
    seed = f"{i['bucket']}/{i['key']}/{i.get('sourceHash') or i.get('content', '')}"
    return f"{i['bucket']}/{i['key']}", {
        "versionId": _suffix(
            seed, 32, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
        ),
        "arn": f"arn:aws:s3:::{i['bucket']}/{i['key']}",
    }


def _kms_key(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """A key id shaped like KMS' (a UUID), new for every replacement."""
    h = _hex(f"kms/{i['__seed']}", 32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    arn = f"arn:aws:kms:{i['__region']}:{i['__account']}:key/{key_id}"
    return key_id, {"arn": arn, "keyId": key_id}


def _atlas_role(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return f"{i['projectId']}-{i['roleName']}", {}


def _atlas_user(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return f"{i['projectId']}-{i['username']}-{i['authDatabaseName']}", {}


def _atlas_auditing(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return i["projectId"], {"configurationType": "FILTER_JSON"}


def _atlas_idp(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    idp_id = _hex(f"idp/{name}")
    return f"{i['federationSettingsId']}-{idp_id}", {
        "idpId": idp_id,
        "oktaIdpId": _okta_id("0oa", name),
    }


def _atlas_org_config(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return f"{i['federationSettingsId']}-{i['orgId']}", {}


def _atlas_api_key(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    seed = i["__seed"]
    api_key_id = _hex(f"api-key/{seed}")
    return api_key_id, {
        "apiKeyId": api_key_id,
        "publicKey": _suffix(f"public/{seed}", 8, "abcdefghijklmnopqrstuvwxyz"),
        # Shaped like an Atlas private key; never a real one (the plan masks it anyway).
        "privateKey": "mock-" + _hex(f"private/{seed}", 31),
    }


def _atlas_access_list(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    entry = i.get("cidrBlock") or i.get("ipAddress")
    return f"{i['orgId']}-{i['apiKeyId']}-{entry}", {}


def _okta_server(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    server_id = _okta_id("aus", name)
    return server_id, {"issuer": f"{i['__okta']}/oauth2/{server_id}"}


def _okta_app(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    client_id = _okta_id("0oa", str(i.get("label", name)))
    return client_id, {"clientId": client_id}


def _okta_child(prefix: str) -> Computed:
    return lambda i, name: (_okta_id(prefix, f"{i.get('authServerId')}/{name}"), {})


def _time_static(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    stamp = i.get("rfc3339") or i["__now"]
    return stamp, {"rfc3339": stamp}


def _time_rotating(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    stamp = i.get("rfc3339") or i["__now"]
    base = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    rotation = base + timedelta(
        minutes=float(i.get("rotationMinutes", 0)),
        hours=float(i.get("rotationHours", 0)),
        days=float(i.get("rotationDays", 0)),
    )
    return stamp, {"rfc3339": stamp, "rotationRfc3339": rotation.strftime("%Y-%m-%dT%H:%M:%SZ")}


COMPUTED: dict[str, Computed] = {
    "mongodbatlas:index/projectApiKey:ProjectApiKey": _atlas_api_key,
    "mongodbatlas:index/accessListApiKey:AccessListApiKey": _atlas_access_list,
    "okta:auth/server:Server": _okta_server,
    "okta:auth/serverScope:ServerScope": _okta_child("scp"),
    "okta:auth/serverPolicy:ServerPolicy": _okta_child("00p"),
    "okta:auth/serverPolicyRule:ServerPolicyRule": _okta_child("0pr"),
    "okta:app/oAuth:OAuth": _okta_app,
    KMS_KEY: _kms_key,
    "time:index/static:Static": _time_static,
    "time:index/rotating:Rotating": _time_rotating,
    (
        "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
    ): _atlas_idp,
    "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig": _atlas_org_config,
    "aws:iam/role:Role": _iam_role,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:secretsmanager/secretVersion:SecretVersion": _secret_version,
    "aws:mwaa/environment:Environment": _mwaa,
    "aws:s3/bucketObjectv2:BucketObjectv2": _bucket_object,
    "mongodbatlas:index/customDbRole:CustomDbRole": _atlas_role,
    "mongodbatlas:index/databaseUser:DatabaseUser": _atlas_user,
    "mongodbatlas:index/auditing:Auditing": _atlas_auditing,
}

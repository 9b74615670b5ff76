"""Run the real Pulumi program under the mock engine and record what it declares.

No Pulumi CLI, cloud account or network is involved: `pulumi.runtime.set_mocks` stands in for the
engine. `PlanMocks` fills in the outputs a provider would compute (ARNs, ids, client ids) the way
the real service forms them, so the recorded plan shows the values that will be wired together.
Used by `infra.plan` and by the tests.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

PROGRAM = Path(__file__).resolve().parent / "__main__.py"
SECRET = "[secret]"  # noqa: S105 (the mask, not a credential)
UNKNOWN = "[unknown]"
STACK_TYPE = "pulumi:pulumi:Stack"


def _suffix(seed: str, length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """A deterministic pseudo-random suffix, so plans are stable across runs."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _hex(seed: str, length: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _plain(value: Any) -> Any:
    """Inputs with the secret wrappers removed (what a provider would see)."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def mask_secrets(value: Any) -> Any:
    """Secrets shown as "[secret]", unknowns (preview) as "[unknown]", whole numbers as integers.

    The engine's wire format (protobuf Struct) carries every number as a float; a provider reads
    `3600.0` as the integer it was declared as, so the plan shows `3600`.
    """
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pulumi.FileAsset):
        # The engine uploads the file's bytes; the plan names the file (its hash is an input).
        return {"fileAsset": str(value.path)}
    return value


MOCK_NOW = "2026-11-01T00:00:00Z"


@dataclass(kw_only=True)
class PlanMocks(pulumi.runtime.Mocks):
    """Provider outputs formed as AWS, Atlas and Okta form them, from the stack's account/region.

    KMS keys get an id derived from the resource name and its replacement trigger, and
    `aws:kms/getPublicKey` answers with a real P-256 public key derived from that id, so plans
    are deterministic and a replacement yields a new key.
    """

    account_id: str = "123456789012"
    region: str = "eu-west-1"
    okta_org_url: str = "https://example.okta.com"
    now: str = MOCK_NOW
    """What `time` resources read as the current time."""
    replacement_triggers: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(type, name) -> replacement trigger, filled in by RecordingMonitor."""
    kms: Any = None
    """A boto3 KMS client that really creates the planned keys and answers `getPublicKey`
    (the runtime integration tests point it at moto); None: derived keys, no service."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = _plain(args.inputs)
        outputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        if args.typ == KMS_KEY and self.kms is not None:
            return self._create_kms_key(inputs, outputs)
        computed: Callable[[dict[str, Any], str], tuple[str, dict[str, Any]]] | None = (
            _COMPUTED.get(args.typ)
        )
        if computed is None:
            return f"{args.name}-id", outputs
        context = {
            **inputs,
            "__account": self.account_id,
            "__region": self.region,
            "__okta": self.okta_org_url,
            "__now": self.now,
            "__seed": f"{args.name}|{self.replacement_triggers.get((args.typ, args.name))}",
        }
        resource_id, extra = computed(context, name)
        outputs.update(extra)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        if args.token == KMS_GET_PUBLIC_KEY:
            key_id = str(_plain(args.args)["keyId"])
            if self.kms is not None:
                der = self.kms.get_public_key(KeyId=key_id)["PublicKey"]
                return _public_key_result(key_id, serialization.load_der_public_key(der)), []
            return _public_key_result(key_id, kms_private_key(key_id).public_key()), []
        raise NotImplementedError(
            f"invoke {args.token} is not mocked: the program must not depend on it offline"
        )

    def _create_kms_key(
        self, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        metadata = self.kms.create_key(
            Description=inputs.get("description", ""),
            KeySpec=inputs["customerMasterKeySpec"],
            KeyUsage=inputs["keyUsage"],
            Policy=inputs["policy"],
            Tags=[{"TagKey": k, "TagValue": v} for k, v in sorted(inputs.get("tags", {}).items())],
        )["KeyMetadata"]
        return metadata["KeyId"], {**outputs, "arn": metadata["Arn"], "keyId": metadata["KeyId"]}


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


def _atlas_role(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return f"{i['projectId']}-{i['roleName']}", {}


def _atlas_user(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return f"{i['projectId']}-{i['username']}-{i['authDatabaseName']}", {}


def _atlas_auditing(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return i["projectId"], {"configurationType": "FILTER_JSON"}


def _okta_id(prefix: str, name: str) -> str:
    return prefix + _suffix(
        name, 17, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    )


def _okta_server(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    server_id = _okta_id("aus", name)
    return server_id, {"issuer": f"{i['__okta']}/oauth2/{server_id}"}


def _okta_app(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    client_id = _okta_id("0oa", str(i.get("label", name)))
    return client_id, {"clientId": client_id}


def _okta_child(prefix: str) -> Callable[[dict[str, Any], str], tuple[str, dict[str, Any]]]:
    return lambda i, name: (_okta_id(prefix, f"{i.get('authServerId')}/{name}"), {})


KMS_KEY = "aws:kms/key:Key"
KMS_GET_PUBLIC_KEY = "aws:kms/getPublicKey:getPublicKey"
P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def kms_private_key(key_id: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key the mock KMS "holds" for a key id (deterministic; tests sign with it)."""
    scalar = int.from_bytes(hashlib.sha256(key_id.encode()).digest(), "big") % (P256_ORDER - 1)
    return ec.derive_private_key(scalar + 1, ec.SECP256R1())


def _public_key_result(key_id: str, public: Any) -> dict[str, Any]:
    """What `aws.kms.getPublicKey` returns for an ECC_NIST_P256 signing key."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "id": key_id,
        "keyId": key_id,
        "arn": key_id,
        "customerMasterKeySpec": "ECC_NIST_P256",
        "keySpec": "ECC_NIST_P256",
        "keyUsage": "SIGN_VERIFY",
        "signingAlgorithms": ["ECDSA_SHA_256"],
        "encryptionAlgorithms": [],
        "publicKey": base64.b64encode(der).decode(),
        "publicKeyPem": pem.decode(),
    }


def _kms_key(i: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """A key id shaped like KMS' (a UUID), new for every replacement."""
    h = _hex(f"kms/{i['__seed']}", 32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    arn = f"arn:aws:kms:{i['__region']}:{i['__account']}:key/{key_id}"
    return key_id, {"arn": arn, "keyId": key_id}


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


_COMPUTED: dict[str, Callable[[dict[str, Any], str], tuple[str, dict[str, Any]]]] = {
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


@dataclass(frozen=True, kw_only=True)
class Registration:
    """One resource as the program declared it (inputs keep their secret wrappers)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    inputs: dict[str, Any]
    replacement_trigger: Any = None
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    provider: str = ""
    """The provider reference (`urn::id`) the engine would use, "" for none or a component."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Engine input name -> URNs of the resources whose outputs flowed into it."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also records parent, protect and the stack's outputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine forms them: the parent's full qualified type, minus the stack."""
        qualified = type_
        if parent:
            parent_qualified = parent.split("::")[2]
            if parent_qualified != STACK_TYPE:
                qualified = f"{parent_qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        trigger = None
        if request.HasField("replacement_trigger"):
            trigger = mask_secrets(json_format.MessageToDict(request.replacement_trigger))
            if isinstance(self.mocks, PlanMocks):
                self.mocks.replacement_triggers[(request.type, request.name)] = trigger
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK_TYPE:
            self.stack_urn = response.urn
        else:
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    replacement_trigger=trigger,
                    retain_on_delete=bool(request.retainOnDelete),
                    ignore_changes=tuple(request.ignoreChanges),
                    provider=request.provider,
                    dependencies=tuple(request.dependencies),
                    property_dependencies={
                        key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.stack_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str) -> Registration:
        found = [r for r in self.registrations if r.type == type_token and r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.by_type(type_token))
            raise AssertionError(f"expected one {type_token} named {name}, found {names}")
        return found[0]


@dataclass(kw_only=True)
class ProgramRun:
    project: str
    stack: str
    monitor: RecordingMonitor
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What the program logged with pulumi.log.warn (the CLI would show these)."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_program_code: list[Any] = []


def _run_main_program() -> None:
    """Execute `infra/__main__.py` as `__main__`, its code object compiled once per process.

    The loader reads the bytecode cache (runpy.run_path recompiles the source every time) and the
    program runs one `exec` below this frame instead of runpy's three.
    """
    if not _program_code:
        spec = importlib.util.spec_from_file_location("__main__", PROGRAM)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the program {PROGRAM}")
        _program_code.append(spec.loader.get_code("__main__"))  # type: ignore[attr-defined]
    exec(_program_code[0], {"__name__": "__main__", "__file__": str(PROGRAM)})  # noqa: S102


# The SDK version whose private stack-capture hook `without_stack_traces` replaces; checked, so an
# upgrade that moves or renames the hook fails loudly instead of silently planning slower.
STACK_TRACE_SDK_VERSION = "3.272.0"
STACK_TRACE_HOOK = "_get_stack_trace"
STACK_TRACE_CALLERS = ("register_resource", "read_resource")


class StackTraceHookMoved(RuntimeError):
    """The SDK no longer has the private hook the offline plan replaces."""


def _check_stack_trace_hook(module: Any, version: str) -> Callable[[], Any]:
    if version != STACK_TRACE_SDK_VERSION:
        raise StackTraceHookMoved(
            f"pulumi {version} is installed; infra/offline.py replaces the stack capture of "
            f"pulumi {STACK_TRACE_SDK_VERSION}. Check that pulumi/runtime/resource.py still calls "
            f"{STACK_TRACE_HOOK}() once per registration, then update STACK_TRACE_SDK_VERSION."
        )
    hook = getattr(module, STACK_TRACE_HOOK, None)
    callers = [getattr(module, name, None) for name in STACK_TRACE_CALLERS]
    if not callable(hook) or not all(
        callable(c) and STACK_TRACE_HOOK in c.__code__.co_names for c in callers
    ):
        raise StackTraceHookMoved(
            f"pulumi {version}: pulumi.runtime.resource.{STACK_TRACE_HOOK} is gone or no longer "
            f"called by {', '.join(STACK_TRACE_CALLERS)}; remove or adapt without_stack_traces"
        )
    return hook  # type: ignore[no-any-return]


def _empty_stack_trace() -> Any:
    return source_pb2.StackTrace()


@contextmanager
def without_stack_traces(module: Any = sdk_resource, version: str | None = None) -> Iterator[None]:
    """Skip the SDK's per-registration stack capture inside the block (offline plan only).

    The SDK walks the whole Python stack (`traceback.extract_stack`) for every resource to send
    the engine a source position; the mock monitor never reads it, and it cost 2.3-3.3 s of a
    1000-pipeline plan (issue 15). The SDK has no switch for it, so the private hook is replaced
    for the block, after checking that this SDK version has it where it is expected.
    """
    sdk_version = importlib.metadata.version("pulumi") if version is None else version
    original = _check_stack_trace_hook(module, sdk_version)
    setattr(module, STACK_TRACE_HOOK, _empty_stack_trace)
    try:
        yield
    finally:
        setattr(module, STACK_TRACE_HOOK, original)


def to_config_strings(project: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file values as the Pulumi CLI passes them to a program: namespaced strings.

    Scalars become strings (`true`, `3600`), lists and maps become JSON, exactly like the engine.
    """
    result: dict[str, str] = {}
    for key, value in values.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, bool):
            result[full] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            result[full] = json.dumps(value)
        else:
            result[full] = str(value)
    return result


def run_program(
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    mocks: PlanMocks,
    preview: bool = False,
    program: Callable[[], None] | None = None,
) -> ProgramRun:
    """Run `infra/__main__.py` (or `program`) under mocks with `config`; restore runtime after."""
    saved_config = dict(pulumi.runtime.config.CONFIG.get())
    monitor = RecordingMonitor(mocks)
    collected = _Collect()
    logger = logging.getLogger(f"infra.offline.{project}.{stack}")
    logger.propagate = False
    logger.handlers = [collected]
    try:
        runtime_settings.ROOT.set(None)
        pulumi.runtime.set_all_config(dict(config))
        pulumi.runtime.set_mocks(
            mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger
        )
        # set_mocks registers (and closes) a root stack of its own; run the program the way the
        # language host does under `pulumi up`, in a fresh stack whose exports get registered.
        runtime_settings.ROOT.set(None)
        body = program or _run_main_program
        with without_stack_traces():
            _sync_await(run_in_stack(body))
        return ProgramRun(
            project=project,
            stack=stack,
            monitor=monitor,
            outputs=monitor.stack_outputs,
            warnings=collected.messages,
        )
    finally:
        # Back to the SDK's empty defaults, so one run never leaks into the next.
        runtime_settings.reset_options()
        pulumi.runtime.set_all_config(saved_config)

"""Log samples in the formats their owners document, written in their storage layouts, for the
evidence tests (tests/audit_trail/) and the evidence benchmark (bench/audit_trail.py).

- Atlas audit messages: MongoDB manual, "mongo Schema Audit Messages": `{atype, ts: {$date},
  uuid: {$binary, $type: "04"}, local, remote, users: [{user, db}], roles: [{role, db}], param,
  result}`; `authenticate` param `{user, db, mechanism}` (0, 18 Authentication Failed),
  `authCheck` param `{command, ns, args}` (0, 13 Unauthorized), `renameCollection` param
  `{old, new}`, `dropCollection` param `{ns}`. Written as gzip JSON lines under the push-based
  log export's layout `{prefix}/{cluster}/{hostname}/{logType}/{YYYY-MM-DD}/
  {timestamp}-{logType}.log` (Atlas Admin API, log integrations, `useLegacyPathStructure`),
  one file per 5 minutes ("Atlas exports logs every 5 minutes").
- CloudTrail: AWS CloudTrail User Guide, "CloudTrail record contents" and "CloudTrail log file
  examples" (`{"Records": [...]}` gzip files named
  `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz` under
  `AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/`), "CloudTrail digest file
  structure"; IAM User Guide, "Logging IAM and AWS STS API calls with AWS CloudTrail" (the
  AssumeRole example: `requestParameters.tags` as `[{key, value}]`, `sourceIdentity`,
  `responseElements.credentials.expiration` written "Oct 2, 2019, 11:12:29 PM"); AWS KMS
  Developer Guide, "Sign" (requestParameters `{messageType, keyId, signingAlgorithm}`).
- Vault: entries shaped as OpenBao's file audit device writes them (the real server's lines
  are checked in test_openbao_join.py).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EXPORT_INTERVAL = timedelta(minutes=5)
AUDIT_LOG_TYPE = "mongod-audit-log"
REGION = "eu-west-1"
TRAIL = "aai-audit"
WORKER_IP = "10.40.0.7"
AGENT_USER = "ops-monitoring-agent"
"""A database user of the operators' monitoring, which the stack does not create."""


def iso_ms(at: datetime) -> str:
    """MongoDB's relaxed Extended JSON date: ISO 8601 with milliseconds and offset."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def iso_s(at: datetime) -> str:
    """CloudTrail's eventTime: ISO 8601, seconds, `Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudtrail_expiration(at: datetime) -> str:
    """`responseElements.credentials.expiration` as the IAM User Guide's example writes it."""
    at = at.astimezone(UTC)
    return f"{at:%b} {at.day}, {at.year}, {at.hour % 12 or 12}:{at:%M:%S} {at:%p}"


def vault_time(at: datetime) -> str:
    """Vault's audit `time`: RFC 3339 with nanoseconds, `Z` (as OpenBao writes it)."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}000Z"


def hmac_of(value: str) -> str:
    """A stand-in for the audit device's salted HMAC: stable per value, as Vault's is."""
    return "hmac-sha256:" + hashlib.sha256(b"salt:" + value.encode()).hexdigest()


# -- Atlas -------------------------------------------------------------------------------


def atlas_message(
    *,
    atype: str,
    at: datetime,
    users: Sequence[Mapping[str, str]],
    roles: Sequence[Mapping[str, str]],
    param: Mapping[str, Any],
    result: int = 0,
    connection: str | None = None,
    remote_port: int = 53210,
) -> dict[str, Any]:
    message: dict[str, Any] = {"atype": atype, "ts": {"$date": iso_ms(at)}}
    if connection is not None:
        message["uuid"] = {"$binary": connection, "$type": "04"}
    message |= {
        "local": {"ip": "192.168.248.10", "port": 27017},
        "remote": {"ip": WORKER_IP, "port": remote_port},
        "users": [dict(u) for u in users],
        "roles": [dict(r) for r in roles],
        "param": dict(param),
        "result": result,
    }
    return message


def authenticate(
    *, at: datetime, user: str, db: str, mechanism: str, connection: str, result: int = 0
) -> dict[str, Any]:
    return atlas_message(
        atype="authenticate",
        at=at,
        users=[{"user": user, "db": db}] if result == 0 else [],
        roles=[],
        param={"user": user, "db": db, "mechanism": mechanism},
        result=result,
        connection=connection,
    )


def auth_check(
    *,
    at: datetime,
    user: str,
    db: str,
    role: str,
    command: str,
    ns: str,
    connection: str,
    result: int = 0,
) -> dict[str, Any]:
    collection = ns.split(".", 1)[1] if "." in ns else ""
    return atlas_message(
        atype="authCheck",
        at=at,
        users=[{"user": user, "db": db}],
        roles=[{"role": role, "db": "admin"}],
        param={
            "command": command,
            "ns": ns,
            "args": {command: collection, "$db": ns.split(".", 1)[0]},
        },
        result=result,
        connection=connection,
    )


# -- CloudTrail --------------------------------------------------------------------------


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[1]


def assumed_role_identity(
    *, session_arn: str, role_arn: str, access_key_id: str, source_identity: str | None
) -> dict[str, Any]:
    """`userIdentity` of a call made with an assumed role's temporary credentials."""
    account = role_arn.split(":")[4]
    context: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROA" + hashlib.sha256(role_arn.encode()).hexdigest()[:17].upper(),
            "arn": role_arn,
            "accountId": account,
            "userName": _role_name(role_arn),
        },
        "attributes": {"creationDate": "2026-12-01T00:00:00Z", "mfaAuthenticated": "false"},
    }
    if source_identity is not None:
        context["sourceIdentity"] = source_identity
    return {
        "type": "AssumedRole",
        "principalId": context["sessionIssuer"]["principalId"] + ":" + session_arn.rsplit("/")[-1],
        "arn": session_arn,
        "accountId": account,
        "accessKeyId": access_key_id,
        "sessionContext": context,
    }


def assume_role_record(
    *,
    at: datetime,
    caller: Mapping[str, Any],
    role_arn: str,
    session_name: str,
    source_identity: str,
    tags: Mapping[str, str],
    duration_seconds: int,
    access_key_id: str,
) -> dict[str, Any]:
    account = role_arn.split(":")[4]
    session_arn = f"arn:aws:sts::{account}:assumed-role/{_role_name(role_arn)}/{session_name}"
    return {
        "eventVersion": "1.08",
        "userIdentity": dict(caller),
        "eventTime": iso_s(at),
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole",
        "awsRegion": REGION,
        "sourceIPAddress": WORKER_IP,
        "userAgent": "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux",
        "requestParameters": {
            "roleArn": role_arn,
            "roleSessionName": session_name,
            "sourceIdentity": source_identity,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "durationSeconds": duration_seconds,
        },
        "responseElements": {
            "credentials": {
                "accessKeyId": access_key_id,
                "expiration": cloudtrail_expiration(at + timedelta(seconds=duration_seconds)),
                "sessionToken": "IQoJb3JpZ2luX2VjE" + access_key_id,
            },
            "assumedRoleUser": {
                "assumedRoleId": "AROAEXAMPLE:" + session_name,
                "arn": session_arn,
            },
            "sourceIdentity": source_identity,
        },
        "requestID": _uuid(f"request:{session_arn}:{at}"),
        "eventID": _uuid(f"event:{session_arn}:{at}"),
        "readOnly": True,
        "resources": [{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def kms_sign_record(*, at: datetime, identity: Mapping[str, Any], key_arn: str) -> dict[str, Any]:
    account = key_arn.split(":")[4]
    return {
        "eventVersion": "1.08",
        "userIdentity": dict(identity),
        "eventTime": iso_s(at),
        "eventSource": "kms.amazonaws.com",
        "eventName": "Sign",
        "awsRegion": REGION,
        "sourceIPAddress": WORKER_IP,
        "userAgent": "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux",
        "requestParameters": {
            "messageType": "RAW",
            "keyId": key_arn,
            "signingAlgorithm": "ECDSA_SHA_256",
        },
        "responseElements": None,
        "requestID": _uuid(f"sign:{identity['arn']}:{at}"),
        "eventID": _uuid(f"sign-event:{identity['arn']}:{at}"),
        "readOnly": True,
        "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def _uuid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


# -- Vault -------------------------------------------------------------------------------


def vault_login_response(
    *, at: datetime, mount: str, role: str, token: str, metadata: Mapping[str, str]
) -> dict[str, Any]:
    auth = {
        "client_token": hmac_of(token),
        "accessor": hmac_of("accessor:" + token),
        "display_name": f"{mount}-{metadata.get('client_arn', '').rsplit('/', 2)[-2]}",
        "policies": ["default", role],
        "token_policies": ["default", role],
        "metadata": dict(metadata),
        "entity_id": _uuid("entity:" + role),
        "token_type": "service",
        "token_ttl": 3600,
    }
    return {
        "time": vault_time(at),
        "type": "response",
        "auth": auth,
        "request": {
            "id": _uuid("login:" + token),
            "operation": "update",
            "mount_point": f"auth/{mount}/",
            "mount_type": "aws",
            "mount_class": "auth",
            "namespace": {"id": "root"},
            "path": f"auth/{mount}/login",
            "data": {"iam_http_request_method": hmac_of("POST"), "role": hmac_of(role)},
            "remote_address": WORKER_IP,
        },
        "response": {"auth": auth, "mount_point": f"auth/{mount}/", "mount_type": "aws"},
    }


def vault_creds_response(
    *, at: datetime, creds_path: str, token: str, metadata: Mapping[str, str], username: str
) -> dict[str, Any]:
    mount = creds_path.split("/", 1)[0]
    auth = {
        "client_token": hmac_of(token),
        "accessor": hmac_of("accessor:" + token),
        "display_name": "aws",
        "policies": ["default"],
        "metadata": dict(metadata),
        "token_type": "service",
        "token_ttl": 3600,
    }
    request = {
        "id": _uuid("creds:" + username),
        "operation": "read",
        "mount_point": f"{mount}/",
        "mount_type": "database",
        "mount_class": "secret",
        "namespace": {"id": "root"},
        "path": creds_path,
        "remote_address": WORKER_IP,
    }
    return {
        "time": vault_time(at),
        "type": "response",
        "auth": auth,
        "request": request,
        "response": {
            "mount_point": f"{mount}/",
            "mount_type": "database",
            "secret": {"lease_id": f"{creds_path}/{_uuid('lease:' + username)[:24]}"},
            "data": {"password": hmac_of("password:" + username), "username": username},
        },
    }


# -- a day of logs -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Run:
    """What the evidence should find for one task run's connection."""

    pipeline: str
    dag_id: str
    run_id: str
    task_id: str
    session: str
    user: str


@dataclass(frozen=True, kw_only=True)
class PipelineFacts:
    """One pipeline as the plan declares it (exports and resources)."""

    name: str
    auth_mode: str
    role_arn: str
    atlas_user: str | None
    custom_role: str
    project_id: str
    cluster: str
    grants: tuple[tuple[str, str], ...]
    vault_creds_path: str | None
    vault_auth_mount: str | None
    kms_key_arn: str | None


def pipelines_of(plan: Mapping[str, Any]) -> dict[str, PipelineFacts]:
    """Every pipeline of a plan (snapshot form), read from its exports and resources."""
    outputs = plan["outputs"]
    rows = outputs["accessMatrix"]
    projects = {
        r["inputs"]["roleName"]: r["inputs"]["projectId"]
        for r in plan["resources"]
        if r["type"] == "mongodbatlas:index/customDbRole:CustomDbRole"
    }
    facts: dict[str, PipelineFacts] = {}
    for name in sorted({r["pipeline"] for r in rows}):
        mine = [r for r in rows if r["pipeline"] == name]
        first = mine[0]
        identity = str(first["identity"])
        conn = outputs["connectionDefinitions"][first["connectionId"]]
        settings = conn["extra"]["atlas_identity"]
        key = settings.get("signing_key", {}).get("kms_key_arn")
        facts[name] = PipelineFacts(
            name=name,
            auth_mode=first["authMode"],
            role_arn=outputs["pipelineRoleArns"][name],
            atlas_user=None if identity.startswith("vault:") else identity,
            custom_role=first["customRole"],
            project_id=projects[first["customRole"]],
            cluster=first["cluster"],
            grants=tuple((r["database"], r["collection"]) for r in mine),
            vault_creds_path=identity.removeprefix("vault:")
            if identity.startswith("vault:")
            else None,
            vault_auth_mount=settings.get("vault", {}).get("auth_mount"),
            kms_key_arn=key,
        )
    return facts


@dataclass
class Day:
    """A day of Atlas, CloudTrail and Vault logs for one stack's plan, built run by run."""

    plan: Mapping[str, Any]
    seed: int = 7
    messages: dict[tuple[str, str, str], list[tuple[datetime, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    records: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    vault: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    made_by: dict[tuple[datetime, str], Run] = field(default_factory=dict)
    """(time, user) of every message a task run made -> that run."""

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)  # noqa: S311 (reproducible samples)
        self.pipelines = pipelines_of(self.plan)
        self.account = self.plan["outputs"]["executionRoleArn"].split(":")[4]
        self.worker = assumed_role_identity(
            session_arn=f"arn:aws:sts::{self.account}:assumed-role/"
            f"{_role_name(self.plan['outputs']['executionRoleArn'])}/mwaa-worker",
            role_arn=self.plan["outputs"]["executionRoleArn"],
            access_key_id="ASIAWORKEREXAMPLE0001",
            source_identity=None,
        )

    # -- primitives ----------------------------------------------------------------------

    def connection(self) -> str:
        return base64.b64encode(self.random.randbytes(16)).decode()

    def host(self, cluster: str) -> str:
        return f"{cluster}-shard-00-00.x7k2p.mongodb.net"

    def add_message(self, pipeline_or_cluster: str, at: datetime, message: dict[str, Any]) -> None:
        p = self.pipelines.get(pipeline_or_cluster)
        project = p.project_id if p else next(iter(self.pipelines.values())).project_id
        cluster = p.cluster if p else pipeline_or_cluster
        self.messages[(project, cluster, self.host(cluster))].append((at, message))

    def session(
        self, p: PipelineFacts, *, dag_id: str, run_id: str, task_id: str, at: datetime
    ) -> tuple[str, str]:
        """An AssumeRole of the pipeline role by the worker, as the runtime makes it."""
        session_name = f"{dag_id}.{task_id}.{run_id}".replace(":", "-").replace("+", "-")[:64]
        access_key = "ASIA" + hashlib.sha256(session_name.encode()).hexdigest()[:16].upper()
        record = assume_role_record(
            at=at,
            caller=self.worker,
            role_arn=p.role_arn,
            session_name=session_name,
            source_identity=dag_id,
            tags={"dag_id": dag_id, "task_id": task_id, "run_id": run_id},
            duration_seconds=3600,
            access_key_id=access_key,
        )
        self.records.append((at, record))
        return record["responseElements"]["assumedRoleUser"]["arn"], access_key

    def granted(self, p: PipelineFacts) -> list[tuple[str, str]]:
        """A find on every namespace the pipeline's grants name."""
        return [
            ("find", f"{database}.{collection if collection != '*' else 'anything'}")
            for database, collection in p.grants
        ]

    # -- one task run per auth mode ------------------------------------------------------

    def task_run(
        self,
        pipeline: str,
        *,
        at: datetime,
        run_id: str,
        task_id: str = "sync",
        namespaces: Sequence[tuple[str, str]] | None = None,
    ) -> Run:
        """A task run of `pipeline` as the runtime makes it, with its accesses."""
        p = self.pipelines[pipeline]
        dag_id = f"{pipeline.replace('-', '_')}_daily"
        session_arn, access_key = self.session(
            p, dag_id=dag_id, run_id=run_id, task_id=task_id, at=at
        )
        auth_at = at + timedelta(seconds=2)
        audited_user, db, mechanism = self.audited_user(p)
        if p.auth_mode == "okta-oidc":
            identity = assumed_role_identity(
                session_arn=session_arn,
                role_arn=p.role_arn,
                access_key_id=access_key,
                source_identity=dag_id,
            )
            sign_at = at + timedelta(seconds=1)
            self.records.append(
                (
                    sign_at,
                    kms_sign_record(at=sign_at, identity=identity, key_arn=p.kms_key_arn or ""),
                )
            )
        elif p.auth_mode == "vault-dynamic":
            audited_user = self.vault_user(p, session_arn=session_arn, at=at)
        run = Run(
            pipeline=pipeline,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            session=session_arn,
            user=audited_user,
        )
        self.runs.append(run)
        self.connect(
            p,
            user=audited_user,
            db=db,
            mechanism=mechanism,
            at=auth_at,
            run=run,
            namespaces=self.granted(p) if namespaces is None else namespaces,
        )
        return run

    def connect(
        self,
        p: PipelineFacts,
        *,
        user: str,
        db: str,
        mechanism: str,
        at: datetime,
        namespaces: Sequence[tuple[str, str]],
        run: Run | None = None,
        result: int = 0,
    ) -> None:
        """A connection that authenticates at `at` and runs one command per namespace."""
        connection = self.connection()
        self.add_message(
            p.name,
            at,
            authenticate(at=at, user=user, db=db, mechanism=mechanism, connection=connection),
        )
        for index, (command, ns) in enumerate(namespaces):
            when = at + timedelta(seconds=index + 1)
            self.add_message(
                p.name,
                when,
                auth_check(
                    at=when,
                    user=user,
                    db=db,
                    role=p.custom_role,
                    command=command,
                    ns=ns,
                    connection=connection,
                    result=result,
                ),
            )
        if run is not None:
            self.made_by[(at, user)] = run
            for index in range(len(namespaces)):
                self.made_by[(at + timedelta(seconds=index + 1), user)] = run

    def audited_user(self, p: PipelineFacts) -> tuple[str, str, str]:
        """(user, auth db, mechanism) as Atlas audits the pipeline's own identity."""
        if p.auth_mode == "aws-iam":
            role = _role_name(p.role_arn)
            return f"arn:aws:sts::{self.account}:assumed-role/{role}/*", "$external", "MONGODB-AWS"
        if p.auth_mode == "okta-oidc":
            return p.atlas_user or "", "$external", "MONGODB-OIDC"
        name = f"v-aws-{p.name[:10]}-{self.random.getrandbits(60):015x}-0"
        return name, "admin", "SCRAM-SHA-256"

    def orphan_access(
        self, pipeline: str, *, at: datetime, namespaces: Sequence[tuple[str, str]]
    ) -> str:
        """The pipeline's identity used with no credential session, lease or signature."""
        p = self.pipelines[pipeline]
        user, db, mechanism = self.audited_user(p)
        self.connect(p, user=user, db=db, mechanism=mechanism, at=at, namespaces=namespaces)
        return user

    def vault_user(self, p: PipelineFacts, *, session_arn: str, at: datetime) -> str:
        """A Vault AWS login by the session, then a creds read: the issued `v-` user."""
        assert p.vault_creds_path is not None
        token = f"hvs.{self.random.getrandbits(64):016x}"
        metadata = {
            "account_id": self.account,
            "auth_type": "iam",
            "canonical_arn": p.role_arn,
            "client_arn": session_arn,
            "client_user_id": "AROAEXAMPLE",
            "role_id": _uuid("role:" + p.name),
        }
        login_at = at + timedelta(milliseconds=800)
        self.vault.append(
            (
                login_at,
                vault_login_response(
                    at=login_at,
                    mount=p.vault_auth_mount or "aws",
                    role=p.name,
                    token=token,
                    metadata=metadata,
                ),
            )
        )
        username = f"v-aws-{p.name[:10]}-{self.random.getrandbits(60):015x}-{int(at.timestamp())}"
        creds_at = at + timedelta(milliseconds=1200)
        self.vault.append(
            (
                creds_at,
                vault_creds_response(
                    at=creds_at,
                    creds_path=p.vault_creds_path,
                    token=token,
                    metadata=metadata,
                    username=username,
                ),
            )
        )
        return username

    def agent_heartbeats(
        self,
        *,
        start: datetime,
        end: datetime,
        user: str = AGENT_USER,
        every: timedelta = timedelta(minutes=4),
    ) -> None:
        """An operations agent authenticating on every cluster's host, as a live cluster sees."""
        for cluster in sorted({p.cluster for p in self.pipelines.values()}):
            at = start
            while at <= end:
                self.add_message(
                    cluster,
                    at,
                    authenticate(
                        at=at,
                        user=user,
                        db="admin",
                        mechanism="SCRAM-SHA-256",
                        connection=self.connection(),
                    ),
                )
                at += every

    # -- writing -------------------------------------------------------------------------

    def write(self, root: Path) -> Inputs:
        atlas = root / "atlas"
        for (project, cluster, host), items in self.messages.items():
            write_atlas_host(atlas / "atlas-audit" / project / cluster / host, items)
        trail = root / "cloudtrail"
        write_trail(trail, self.records, account=self.account)
        vault = root / "vault-audit.log"
        vault.write_text(
            "".join(json.dumps(entry) + "\n" for _, entry in sorted(self.vault, key=lambda x: x[0]))
        )
        return Inputs(atlas=atlas, cloudtrail=trail, vault=vault)


@dataclass(frozen=True, kw_only=True)
class Inputs:
    atlas: Path
    cloudtrail: Path
    vault: Path


def _window(at: datetime, step: timedelta) -> datetime:
    start = datetime(at.year, at.month, at.day, tzinfo=UTC)
    return start + step * ((at - start) // step)


def write_atlas_host(
    host_dir: Path, items: Iterable[tuple[datetime, dict[str, Any]]]
) -> list[Path]:
    """One gzip JSON-lines file per 5-minute export window of one host."""
    windows: dict[datetime, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for at, message in items:
        windows[_window(at, EXPORT_INTERVAL)].append((at, message))
    written = []
    for start, batch in sorted(windows.items()):
        path = (
            host_dir
            / AUDIT_LOG_TYPE
            / f"{start:%Y-%m-%d}"
            / f"{int(start.timestamp())}-{AUDIT_LOG_TYPE}.log.gz"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            for _, message in sorted(batch, key=lambda x: x[0]):
                handle.write(json.dumps(message) + "\n")
        written.append(path)
    return written


def trail_key(account: str, at: datetime, unique: str) -> str:
    return (
        f"AWSLogs/{account}/CloudTrail/{REGION}/{at:%Y/%m/%d}/"
        f"{account}_CloudTrail_{REGION}_{at:%Y%m%dT%H%MZ}_{unique}.json.gz"
    )


def digest_key(account: str, end: datetime) -> str:
    return (
        f"AWSLogs/{account}/CloudTrail-Digest/{REGION}/{end:%Y/%m/%d}/"
        f"{account}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_{end:%Y%m%dT%H%M%SZ}.json.gz"
    )


def write_trail(
    root: Path, records: Iterable[tuple[datetime, dict[str, Any]]], *, account: str
) -> None:
    """Log files per 5-minute delivery and an hourly chain of digest files listing them."""
    windows: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    for at, record in sorted(records, key=lambda x: x[0]):
        windows[_window(at, EXPORT_INTERVAL)].append(record)
    by_hour: dict[datetime, list[str]] = defaultdict(list)
    for start, batch in sorted(windows.items()):
        delivered = start + EXPORT_INTERVAL
        key = trail_key(account, delivered, hashlib.sha256(str(start).encode()).hexdigest()[:16])
        write_gzip_json(root / key, {"Records": batch})
        by_hour[_window(start, timedelta(hours=1))].append(key)
    if not by_hour:
        return
    hour, last = min(by_hour), max(by_hour)
    previous: str | None = None
    while hour <= last:
        end = hour + timedelta(hours=1)
        key = digest_key(account, end)
        digest: dict[str, Any] = {
            "awsAccountId": account,
            "digestStartTime": iso_s(hour),
            "digestEndTime": iso_s(end),
            "digestS3Bucket": "aai-audit-trail",
            "digestS3Object": key,
            "digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",
            "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Bucket": "aai-audit-trail" if previous else None,
            "previousDigestS3Object": previous,
            "logFiles": [
                {
                    "s3Bucket": "aai-audit-trail",
                    "s3Object": k,
                    "hashValue": hashlib.sha256(k.encode()).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                }
                for k in by_hour.get(hour, [])
            ],
        }
        write_gzip_json(root / key, digest)
        previous, hour = key, end


def write_gzip_json(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

"""Run the real Pulumi program under the mock engine and record what it declares.

No Pulumi CLI, cloud account or network is involved: `pulumi.runtime.set_mocks` stands in for the
engine. `PlanMocks` fills in the outputs a provider would compute (ARNs, ids, client ids) the way
the real service forms them, so the recorded plan shows the values that will be wired together.
Used by `infra.plan` and by the tests.

Callers import from here. The modules split the engine by what changes together:
- `devtools/offline/values.py`: a wire value as a provider reads it (`unwrap_secrets`) and as the
  plan shows it (`mask_secrets`, `SECRET`, `UNKNOWN`);
- `devtools/offline/computed.py`: the outputs each resource type gets (`COMPUTED`: add a type here);
- `devtools/offline/mocks.py`: `PlanMocks`, which feeds `COMPUTED` with the stack's account, region,
  Okta org and clock, and answers the one invoke the program makes, `aws:kms/getPublicKey`;
- `devtools/offline/recording.py`: `RecordingMonitor` and the `Registration`s it records;
- `devtools/offline/stack_traces.py`: the SDK's stack capture, skipped while planning, and the guard
  on the SDK version;
- `devtools/offline/harness.py`: `run_program` (config in, `ProgramRun` out), `to_config_strings`.
"""

from devtools.offline.computed import KMS_KEY
from devtools.offline.harness import PROGRAM, ProgramRun, run_program, to_config_strings
from devtools.offline.mocks import (
    KMS_GET_PUBLIC_KEY,
    MOCK_NOW,
    MOCK_OKTA_ORG_URL,
    P256_ORDER,
    PlanMocks,
    kms_private_key,
)
from devtools.offline.recording import STACK_TYPE, RecordingMonitor, Registration
from devtools.offline.stack_traces import (
    STACK_TRACE_CALLERS,
    STACK_TRACE_HOOK,
    STACK_TRACE_SDK_VERSION,
    StackTraceHookMoved,
    without_stack_traces,
)
from devtools.offline.values import SECRET, UNKNOWN, mask_secrets

__all__ = [
    "KMS_GET_PUBLIC_KEY",
    "KMS_KEY",
    "MOCK_NOW",
    "MOCK_OKTA_ORG_URL",
    "P256_ORDER",
    "PROGRAM",
    "SECRET",
    "STACK_TRACE_CALLERS",
    "STACK_TRACE_HOOK",
    "STACK_TRACE_SDK_VERSION",
    "STACK_TYPE",
    "UNKNOWN",
    "PlanMocks",
    "ProgramRun",
    "RecordingMonitor",
    "Registration",
    "StackTraceHookMoved",
    "kms_private_key",
    "mask_secrets",
    "run_program",
    "to_config_strings",
    "without_stack_traces",
]

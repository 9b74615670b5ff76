"""The Pulumi program (`Pulumi.yaml` main): stack settings and the entry point.

`infra.plan`, `infra.snapshot` and `infra.settings.generate` are only the developer tools'
command names; the tools themselves live in devtools/.
"""

"""Bootstrap program: the keyless deployer of one environment (run once per AWS account)."""

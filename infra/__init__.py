"""The Pulumi program: stack settings, the entry point and the offline plan."""

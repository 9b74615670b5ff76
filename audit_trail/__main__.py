from audit_trail.cli import main

raise SystemExit(main())

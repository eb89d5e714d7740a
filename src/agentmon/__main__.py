from agentmon.cli import main

raise SystemExit(main())

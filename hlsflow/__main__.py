from hlsflow.cli import main

raise SystemExit(main())

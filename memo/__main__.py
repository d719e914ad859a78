from memo.cli.app import main

raise SystemExit(main())

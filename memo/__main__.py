from memo.cli import main

raise SystemExit(main())

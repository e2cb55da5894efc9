from avatarcall.cli import main

raise SystemExit(main())

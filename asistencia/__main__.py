from asistencia.cli import main

raise SystemExit(main())

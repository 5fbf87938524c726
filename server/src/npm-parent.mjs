// Loaded first by `npm start` (package.json), before tsx compiles the server, which takes seconds:
// the pid of the process that started this one, read while it is surely still there. main.ts
// watches it (stopWhenOrphanedByNpm); read there, npm stopped in those seconds would be missed.
process.env.LOOM_STARTED_BY_PID ??= String(process.ppid);

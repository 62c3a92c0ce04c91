// Preloaded into a bench's worker (`--import`; plain JS, as it loads before tsx): SIGWINCH starts
// a CPU profile of the main thread, the next SIGWINCH writes it to $BENCH_PROFILE_FILE. Lets a
// bench profile one phase of a run (a maintenance burst) instead of the process's whole life.
// Not SIGUSR2: the Temporal SDK's runtime shuts the worker down on it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import process from 'node:process';

const session = new Session();
session.connect();
let profiling = false;

process.on('SIGWINCH', () => {
  void (async () => {
    if (!profiling) {
      profiling = true;
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      return;
    }
    profiling = false;
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(process.env.BENCH_PROFILE_FILE ?? 'phase.cpuprofile', JSON.stringify(profile));
  })();
});

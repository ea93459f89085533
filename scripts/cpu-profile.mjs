// Preload (NODE_OPTIONS=--import …) that records a V8 CPU profile of the process
// and writes it to SOT_CPU_PROF_DIR on exit, as `node --cpu-prof` would (which is
// not allowed in NODE_OPTIONS). With SOT_CPU_PROF_ON_SIGNAL set, recording starts
// at the first SIGUSR2 (after a warm-up), not at start-up. Used by `npm run bench
// -- --cpu-prof=<dir>`; open the files in Chrome DevTools (Performance tab).
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.SOT_CPU_PROF_DIR || process.cwd();
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 100 });
if (process.env.SOT_CPU_PROF_ON_SIGNAL) process.once('SIGUSR2', () => session.post('Profiler.start'));
else session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});

// Preloaded into a measured command (`node --import`): at exit, writes the process's peak RSS in MB to the file
// GPUIDX_BENCH_RSS_FILE names, so a benchmark can time the real `gpuidx` binary and still report its memory.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.GPUIDX_BENCH_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS / 1024));
});

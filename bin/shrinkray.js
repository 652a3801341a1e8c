#!/usr/bin/env node
// The only place that exits the process: everything below returns an exit code.
import { main } from '../dist/src/cli/main.js';
import { removePendingOutputs } from '../dist/src/io/pending.js';

// Interrupted: no half-written output or temp file may outlive the run (issue 14).
// 128 + signal number, as shells report it.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    removePendingOutputs();
    process.exit(code);
  });
}

process.exit(await main(process.argv.slice(2)));

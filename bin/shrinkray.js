#!/usr/bin/env node
// The only place that exits the process: everything below returns an exit code.
import { main } from '../dist/src/cli/main.js';

process.exit(await main(process.argv.slice(2)));

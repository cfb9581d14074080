// Entry point: `npm run relay`, `npx ts86-relay` (through bin/ts86-relay.js).
import { runRelay } from './run.ts';

process.exitCode = await runRelay(process.argv.slice(2));

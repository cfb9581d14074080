#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx ts86` works straight from a clone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL("../src/cli/main.ts", import.meta.url).href);
process.exit(await main(process.argv.slice(2)));

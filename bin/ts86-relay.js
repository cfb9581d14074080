#!/usr/bin/env node
// `npx ts86-relay`: runs relay/main.ts through tsx's ESM loader, so the relay
// ships as TypeScript source with no build step. register() hooks .ts
// imports for this process only.
import { register } from 'tsx/esm/api';

register();
await import('../relay/main.ts');

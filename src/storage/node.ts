// Node-only storage entry point: host files for the CLI.
export * from './index.ts';
export { openNodeFile, openFileDisk, openFileMetadata } from './backends/node-file.ts';

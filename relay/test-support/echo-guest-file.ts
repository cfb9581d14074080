// Writes the generated echo guest into a directory, for tests that boot it.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { echoGuestElf } from '../guest/test-guests.ts';

export async function writeEchoGuest(dir: string, name = 'echo.elf'): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, echoGuestElf());
  return file;
}

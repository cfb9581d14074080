// The BIOS e820 memory map the machine reports: conventional memory, the
// EBDA and ROM holes, extended memory, and regions devices reserve (ACPI
// tables, APIC/IOAPIC windows).

export const E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3;

export interface E820Entry { base: number; length: number; type: number }

export function buildE820(ramBytes: number, reserved: E820Entry[] = []): E820Entry[] {
  const map: E820Entry[] = [
    { base: 0, length: 0x9fc00, type: E820_RAM },
    { base: 0x9fc00, length: 0x400, type: E820_RESERVED },
    { base: 0xf0000, length: 0x10000, type: E820_RESERVED },
  ];
  // Extended memory, minus any reserved regions carved out of its top (e.g. ACPI tables).
  let top = ramBytes;
  for (const r of reserved) {
    if (r.base >= 0x100000 && r.base < top && r.base + r.length >= top - 0x10000) top = Math.min(top, r.base);
  }
  map.push({ base: 0x100000, length: top - 0x100000, type: E820_RAM });
  for (const r of reserved) map.push(r);
  return map.sort((a, b) => a.base - b.base);
}

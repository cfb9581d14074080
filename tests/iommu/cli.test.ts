import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli/args.ts';

describe('ts86 --iommu', () => {
  it('is a boot option, off by default', () => {
    expect(parseCli(['boot', '--kernel', 'k', '--iommu']).iommu).toBe(true);
    expect(parseCli(['boot', '--kernel', 'k']).iommu).toBe(false);
  });

  it('is refused for "run" (multiboot kernels get no disks to translate)', () => {
    expect(() => parseCli(['run', 'kernel.elf', '--iommu'])).toThrow(UsageError);
  });
});

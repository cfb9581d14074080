// Strategy selection: the first match wins; forms no strategy claims get default values.
import { relativeBranch, returns, indirectBranch } from './branch.ts';
import { divide } from './divide.ts';
import { addressOnly, asciiAdjustImm, bitScan, bitTest, bound, compareExchange, xlat } from './misc.ts';
import { shifts } from './shift.ts';
import { stack } from './stack.ts';
import { strings } from './string.ts';
import type { Strategy } from './types.ts';
import { x87 } from './x87.ts';
import type { FormVariant } from '../test-case.ts';

export const STRATEGIES: readonly Strategy[] = [
  x87, relativeBranch, returns, indirectBranch, strings, stack, divide, shifts, bitTest, compareExchange, bitScan, bound, asciiAdjustImm, xlat, addressOnly,
];

export const DEFAULT_STRATEGY: Strategy = { name: 'default', matches: () => true };

export function strategyFor(v: FormVariant): Strategy {
  return STRATEGIES.find((s) => s.matches(v)) ?? DEFAULT_STRATEGY;
}

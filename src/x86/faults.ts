// CPU exceptions. Raising one records the vector and error code on the CPU
// and throws a single preallocated signal object, so a fault costs no
// allocation; the interpreter loop catches it and delivers the exception.

export const enum Vec {
  DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
  SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19,
}

export const VECTOR_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'CSO', '#TS', '#NP', '#SS', '#GP', '#PF', 'RES15', '#MF', '#AC', '#MC', '#XM'];

/** Vectors whose exceptions push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/** The thrown signal; the details live on the CPU (faultVector, faultCode). */
export class CpuFaultSignal {
  readonly isCpuFault = true;
}
export const FAULT = new CpuFaultSignal();

/** Thrown (and not caught by the interpreter) when the machine must stop: an emulator bug or unsupported state. */
export class EmulatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorError';
  }
}

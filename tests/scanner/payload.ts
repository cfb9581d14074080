// The signature for the routine tests/scanner/asm/scan.asm runs: mov eax,
// 0x5eedc0de / xor eax, 0x13572468 / two bytes (nop nop, or inc eax nop) / ret.
export const PAYLOAD_NDB = 'Test.Payload:0:*:b8dec0ed5e35{-2}(57|58)13??(90|91)c3\n';
